"""Spark ML pipelines that train and score distributed: logistic regression, boosted trees, and
boosted trees under monotone constraints; and the calibration of a fitted pipeline.

All start the same way: every feature cast to double (booleans become 0/1), nulls imputed with the
median, one vector. Class imbalance is handled with a per-row weight (labelled fakes are rarer than
genuine listings in some weeks and more common in others). The score is P(counterfeit).

Unconstrained trees learn whatever separates the labelled listings, including the absurd (brands
also report genuine listings priced far above the reference, so "very expensive = fake" can
separate their notices). Where domain knowledge fixes the direction of an effect (a lower price
against the brand's reference is never less suspicious, nor are more confirmed takedowns), the
xgboost trees are constrained to it: `monotone_boosted_trees`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import cast

from pyspark.ml import Estimator, Pipeline, PipelineModel, Transformer
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import Imputer, SQLTransformer, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from xgboost.spark import SparkXGBClassifier, SparkXGBClassifierModel

from features.listings import names_a_brand

log = logging.getLogger("radar.training")

SCORE = "score"
CALIBRATED = "calibrated_probability"  # written by a calibrated pipeline; `score` prefers it
MONOTONE_SIGNS = (-1, 0, 1)  # never increasing, free, never decreasing (as the feature grows)
# xgboost predicts in float32: a probability within float32's resolution of 0 or 1 is saturated,
# and its logit says no more than the last representable one (Platt is fitted on clipped logits).
_FLOAT32_RESOLUTION = 2.0**-24


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


def monotone_boosted_trees(
    columns: Sequence[str],
    *,
    constraints: Mapping[str, int],
    seed: int,
    max_iter: int,
    max_depth: int,
    learning_rate: float | None = None,
    num_workers: int = 1,
) -> Pipeline:
    """Boosted trees (xgboost.spark, trained distributed on `num_workers` Spark tasks) whose score
    can only move in the direction domain knowledge fixes: `constraints` maps a feature to +1 (the
    score never decreases as the feature grows), -1 (never increases) or 0 (free; also any feature
    not named). A constrained feature can still matter as much as the data says; it only cannot be
    used backwards, e.g. to learn "expensive = fake" from notices that brands file against genuine
    listings priced far above the reference.

    A name in `constraints` that is not among `columns` is ignored with a warning: feature sets
    change, and a constraint on a feature the model does not read constrains nothing. Deterministic
    for a seed and an input order (no row or column subsampling; one worker by default, since
    another worker count partitions the data, and so the histogram sketch, differently).
    `learning_rate` None is xgboost's own default (0.3)."""
    model = SparkXGBClassifier(
        features_col="features_raw",
        label_col="label",
        weight_col="weight",
        n_estimators=max_iter,
        max_depth=max_depth,
        learning_rate=learning_rate,
        monotone_constraints=monotone_signs(columns, constraints),
        random_state=seed,
        num_workers=num_workers,
        verbose=False,  # no per-round log lines from every training task
    )
    return Pipeline(stages=[*_prepare(columns), model])


def monotone_signs(columns: Sequence[str], constraints: Mapping[str, int]) -> tuple[int, ...]:
    """The constraint of each input column, in the order of `columns` (xgboost's vector order)."""
    bad = {name: sign for name, sign in constraints.items() if sign not in MONOTONE_SIGNS}
    if bad:
        raise ValueError(f"monotone constraints must be one of {MONOTONE_SIGNS}, got {bad}")
    unknown = sorted(set(constraints) - set(columns))
    if unknown:
        log.warning(
            "monotone constraints on features the model does not read, ignored: %s", unknown
        )
    return tuple(int(constraints.get(c, 0)) for c in columns)


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


class PlattCalibration(
    Transformer, DefaultParamsReadable["PlattCalibration"], DefaultParamsWritable
):
    """The last stage of a calibrated pipeline: `calibrated_probability` from the classifier's
    `probability[1]` (see `with_calibration`).

    A Python stage rather than an SQLTransformer because Spark SQL cannot read an element of an ML
    vector (`vector_to_array` exists only in the DataFrame API). It holds nothing but its four
    params, so DefaultParamsWritable saves it as JSON metadata and PipelineModel.load (hence
    mlflow.spark.load_model) rebuilds it by importing this class; the transform itself is built-in
    column expressions, no Python UDF."""

    slope = Param(Params._dummy(), "slope", "Platt slope on logit(p)", TypeConverters.toFloat)
    intercept = Param(Params._dummy(), "intercept", "Platt intercept", TypeConverters.toFloat)
    labelFrequency = Param(
        Params._dummy(),
        "labelFrequency",
        "P(labelled | counterfeit), in (0, 1]",
        TypeConverters.toFloat,
    )
    knee = Param(
        Params._dummy(),
        "knee",
        "above this the corrected probability is compressed into [knee, 1]",
        TypeConverters.toFloat,
    )

    def __init__(
        self,
        *,
        slope: float | None = None,
        intercept: float | None = None,
        labelFrequency: float | None = None,
        knee: float | None = None,
    ) -> None:
        # Every param optional: PipelineModel.load builds the stage empty, then sets the saved ones.
        super().__init__()
        given = {
            "slope": slope,
            "intercept": intercept,
            "labelFrequency": labelFrequency,
            "knee": knee,
        }
        self._set(**{name: value for name, value in given.items() if value is not None})

    def _transform(self, dataset: DataFrame) -> DataFrame:
        probability = vector_to_array(F.col("probability")).getItem(1)
        return dataset.withColumn(
            CALIBRATED,
            calibrated_probability(
                probability,
                slope=self.getOrDefault(self.slope),
                intercept=self.getOrDefault(self.intercept),
                label_frequency=self.getOrDefault(self.labelFrequency),
                knee=self.getOrDefault(self.knee),
            ),
        )


def _logit(p: Column) -> Column:
    return F.ln(p) - F.log1p(-p)


def calibrated_probability(
    probability: Column, *, slope: float, intercept: float, label_frequency: float, knee: float
) -> Column:
    """P(counterfeit) from a classifier's P(label = 1): Platt's sigmoid(slope * logit(p) +
    intercept) is P(labelled), and P(counterfeit) = P(labelled) / c where c = P(labelled |
    counterfeit) (the positive-unlabelled correction of Elkan and Noto).

    Dividing by c < 1 can exceed 1 where the fit is inconsistent with c. A hard cap at 1 would tie
    every listing above c at exactly 1.0, the saturated queue this model exists to avoid, so above
    `knee` the corrected value [knee, 1/c] is mapped linearly onto [knee, 1]: below the knee the
    value is exactly Platt / c, above it within 1 - knee of it, and the map is strictly increasing
    in p (slope > 0), so the ranking is the model's, with no new ties. (In doubles, two top scores
    can still meet at 1.0 once 1 - calibrated falls below ~1e-16, which takes a Platt slope above
    ~2 on float32 scores near 1.) p = 0 and p = 1 map to 0 and 1."""
    platt = F.lit(1.0) / (F.lit(1.0) + F.exp(-(F.lit(slope) * _logit(probability) + intercept)))
    corrected = platt / F.lit(label_frequency)
    if label_frequency < 1.0:
        squeeze = (1.0 - knee) / (1.0 / label_frequency - knee)
        corrected = F.when(corrected <= knee, corrected).otherwise(
            F.lit(knee) + (corrected - F.lit(knee)) * F.lit(squeeze)
        )
    return (
        F.when(probability <= 0, F.lit(0.0))
        .when(probability >= 1, F.lit(1.0))
        .otherwise(corrected)
        .cast("double")
    )


def platt_coefficients(scored: DataFrame, *, max_iter: int = 100) -> tuple[float, float]:
    """(slope, intercept) of the maximum-likelihood logistic regression of `label` on
    logit(`score`), weighted by `weight` when the rows carry one, fitted in Spark (nothing but the
    two coefficients reaches the driver). Unregularised: two parameters need no shrinking, and the
    known answer of a hand-built case must come out."""
    clipped = F.least(
        F.greatest(F.col(SCORE).cast("double"), F.lit(_FLOAT32_RESOLUTION)),
        F.lit(1.0 - _FLOAT32_RESOLUTION),
    )
    weighted = "weight" in scored.columns
    inputs = [_logit(clipped).alias("platt_logit"), F.col("label").cast("double").alias("label")]
    if weighted:
        inputs.append(F.col("weight").cast("double").alias("weight"))
    rows = VectorAssembler(inputCols=["platt_logit"], outputCol="platt_features").transform(
        scored.select(*inputs)
    )
    regression = LogisticRegression(
        featuresCol="platt_features",
        labelCol="label",
        family="binomial",
        regParam=0.0,
        standardization=False,
        maxIter=max_iter,
        tol=1e-10,
    )
    if weighted:
        regression.setWeightCol("weight")
    fitted = regression.fit(rows)
    return float(fitted.coefficients[0]), float(fitted.intercept)


def with_calibration(
    model: PipelineModel, scored: DataFrame, *, label_frequency: float, knee: float
) -> PipelineModel:
    """`model` plus a last stage that writes `calibrated_probability` (read by `score`), so that a
    calibrated 0.9 means about 90% counterfeit.

    `scored` is the evaluation population scored by `model` (`score`, `label`, optional `weight`):
    rows the model answers for, i.e. inside the brand gate (`names_a_brand`), since the stage
    recalibrates the classifier's own probability. `label_frequency` is c = P(labelled |
    counterfeit), estimated elsewhere (1.0: every counterfeit in `scored` is labelled). Refuses a
    model whose scores do not rank the population (Platt slope <= 0 would flatten or reverse the
    ranking) and a model that is already calibrated (calibrate the uncalibrated pipeline)."""
    if not 0.0 < label_frequency <= 1.0:
        raise ValueError(f"label_frequency must be in (0, 1], got {label_frequency}")
    if not 0.0 < knee < 1.0:
        raise ValueError(f"knee must be in (0, 1), got {knee}")
    if any(isinstance(stage, PlattCalibration) for stage in model.stages):
        raise ValueError("the model is already calibrated: calibrate the uncalibrated pipeline")
    slope, intercept = platt_coefficients(scored)
    if not slope > 0.0:
        raise ValueError(
            f"Platt slope {slope} <= 0: the model's scores do not rank the evaluation population"
        )
    stage = PlattCalibration(
        slope=slope, intercept=intercept, labelFrequency=label_frequency, knee=knee
    )
    log.info(
        "calibration: P(counterfeit) = sigmoid(%.6g * logit(p) + %.6g) / %.4g (knee %.4g)",
        slope,
        intercept,
        label_frequency,
        knee,
    )
    return PipelineModel(stages=[*model.stages, stage])


def calibration_params(model: PipelineModel) -> dict[str, float] | None:
    """The calibration parameters of a calibrated pipeline (to log them), None if uncalibrated."""
    stage = next((s for s in model.stages if isinstance(s, PlattCalibration)), None)
    if stage is None:
        return None
    params = (stage.slope, stage.intercept, stage.labelFrequency, stage.knee)
    return {p.name: float(stage.getOrDefault(p)) for p in params}


def classifier(model: PipelineModel) -> Transformer:
    """The fitted classifier of a pipeline: its last stage, before any calibration."""
    return next(s for s in reversed(model.stages) if not isinstance(s, PlattCalibration))


def input_columns(model: PipelineModel) -> list[str]:
    """The feature columns a fitted pipeline reads (what the score step must select)."""
    assembler = next(s for s in model.stages if isinstance(s, VectorAssembler))
    return [c.removesuffix("__i") for c in assembler.getInputCols()]


def score(model: PipelineModel, features: DataFrame) -> DataFrame:
    """The features with `score` = P(counterfeit), in [0, 1] (the model's own columns too:
    `probability`, `prediction`, ...; select what you need): the calibrated probability when the
    model is calibrated, the classifier's `probability[1]` otherwise (models registered before
    calibration existed). A listing that points at no brand scores 0: no label was ever drawn
    from such listings (features.listings.names_a_brand)."""
    scored = model.transform(features)
    if CALIBRATED in scored.columns:
        probability = F.col(CALIBRATED)
    else:
        probability = vector_to_array(F.col("probability")).getItem(1)
    return scored.withColumn(SCORE, F.when(names_a_brand(), probability).otherwise(F.lit(0.0)))


def importances(model: PipelineModel, columns: Sequence[str]) -> dict[str, float]:
    """Feature importance: tree importances (xgboost: total gain, normalised to sum to 1 like
    MLlib's), or |coefficient| on standardised inputs for LR."""
    last = classifier(model)
    if isinstance(last, SparkXGBClassifierModel):
        # xgboost names the vector's features f0, f1, ... in the order of `columns`; a feature
        # no tree splits on is absent.
        gains = {
            name: cast(float, gain)  # one number per feature for a binary classifier
            for name, gain in last.get_feature_importances(importance_type="total_gain").items()
        }
        total = sum(gains.values())
        return {c: gains.get(f"f{i}", 0.0) / total if total else 0.0 for i, c in enumerate(columns)}
    if hasattr(last, "featureImportances"):
        values = last.featureImportances.toArray()
    else:
        values = [abs(v) for v in last.coefficients.toArray()]  # type: ignore[attr-defined]
    return {c: float(v) for c, v in zip(columns, values, strict=True)}
