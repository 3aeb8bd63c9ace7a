"""Spark ML pipelines that train and score distributed: logistic regression and boosted trees.

Both start the same way: every feature cast to double (booleans become 0/1), nulls imputed with the
median, one vector. Class imbalance is handled with a per-row weight (labelled fakes are rarer than
genuine listings in some weeks and more common in others). The score is P(counterfeit).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.ml import Estimator, Pipeline, PipelineModel, Transformer
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import Imputer, SQLTransformer, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.listings import names_a_brand

SCORE = "score"


def _prepare(columns: Sequence[str]) -> list[Transformer | Estimator]:
    casts = ", ".join(f"CAST(`{c}` AS DOUBLE) AS `{c}__x`" for c in columns)
    inputs = [f"{c}__x" for c in columns]
    return [
        SQLTransformer(statement=f"SELECT *, {casts} FROM __THIS__"),
        Imputer(inputCols=inputs, outputCols=[f"{c}__i" for c in columns], strategy="median"),
        VectorAssembler(
            inputCols=[f"{c}__i" for c in columns], outputCol="features_raw", handleInvalid="keep"
        ),
    ]


def logistic_regression(
    columns: Sequence[str], *, max_iter: int = 100, reg_param: float = 0.01
) -> Pipeline:
    """The baseline: standardised inputs, L2-regularised logistic regression (deterministic)."""
    scaler = StandardScaler(inputCol="features_raw", outputCol="features")
    model = LogisticRegression(
        featuresCol="features",
        labelCol="label",
        weightCol="weight",
        maxIter=max_iter,
        regParam=reg_param,
    )
    return Pipeline(stages=[*_prepare(columns), scaler, model])


def boosted_trees(columns: Sequence[str], *, seed: int, max_iter: int, max_depth: int) -> Pipeline:
    """Gradient-boosted trees on the raw (imputed) inputs: trees need no scaling."""
    model = GBTClassifier(
        featuresCol="features_raw",
        labelCol="label",
        weightCol="weight",
        maxIter=max_iter,
        maxDepth=max_depth,
        seed=seed,
    )
    return Pipeline(stages=[*_prepare(columns), model])


def with_class_weights(examples: DataFrame) -> DataFrame:
    """weight = n / (2 * n_class): both classes weigh the same in the loss, whatever the share
    of confirmed notices that week."""
    counts = examples.groupBy("label").count().collect()  # bounded: two rows
    total = sum(r["count"] for r in counts)
    weights = {r["label"]: total / (2.0 * r["count"]) for r in counts}
    weight = F.lit(1.0)
    for label, w in weights.items():
        weight = F.when(F.col("label") == label, F.lit(w)).otherwise(weight)
    return examples.withColumn("weight", weight)


def input_columns(model: PipelineModel) -> list[str]:
    """The feature columns a fitted pipeline reads (what the score step must select)."""
    assembler = next(s for s in model.stages if isinstance(s, VectorAssembler))
    return [c.removesuffix("__i") for c in assembler.getInputCols()]


def score(model: PipelineModel, features: DataFrame) -> DataFrame:
    """The features with `score` = P(counterfeit), in [0, 1] (the model's own columns too:
    `probability`, `prediction`, ...; select what you need). A listing that points at no brand
    scores 0: no label was ever drawn from such listings (features.listings.names_a_brand)."""
    probability = vector_to_array(F.col("probability")).getItem(1)
    return model.transform(features).withColumn(
        SCORE, F.when(names_a_brand(), probability).otherwise(F.lit(0.0))
    )


def importances(model: PipelineModel, columns: Sequence[str]) -> dict[str, float]:
    """Feature importance: tree importances, or |coefficient| on standardised inputs for LR."""
    last = model.stages[-1]
    if hasattr(last, "featureImportances"):
        values = last.featureImportances.toArray()
    else:
        values = [abs(v) for v in last.coefficients.toArray()]  # type: ignore[attr-defined]
    return {c: float(v) for c, v in zip(columns, values, strict=True)}
