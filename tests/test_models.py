"""Monotone-constrained boosted trees (xgboost.spark), calibration, and their MLflow round-trip."""

from __future__ import annotations

import itertools
import logging
import math
from pathlib import Path

import mlflow
import mlflow.spark
import pytest
from pyspark.ml import PipelineModel
from pyspark.ml.linalg import Vectors
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from training import models

COLUMNS = ["counterfeit_keywords", "price_to_reference", "seller_confirmed_takedowns"]
LISTINGS = (
    "listing_id string, price_to_reference double, seller_confirmed_takedowns int, "
    "counterfeit_keywords int, brand_term_match boolean, brand_fuzzy_match boolean, "
    "image_of_confirmed_fake boolean"
)
RATIOS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.7, 2.0, 2.5, 3.0, 5.0)
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # low-discrepancy sequence: deterministic "coin flips"


def _training_rows(spark: SparkSession) -> DataFrame:
    """240 labelled brand listings in which a *higher* price_to_reference goes with more positives
    overall (correlation +0.32; brands confirming notices on expensive listings would do this), so
    an unconstrained model learns "high price = fake"; only the cheapest (< 0.4x reference) are
    fakes the way the constraint allows."""
    rows = []
    for i in range(240):
        ratio = 0.1 + (i % 24) * 0.125
        takedowns = (i // 24) % 4
        keywords = (i // 96) % 2
        p = min(0.95, (0.7 if ratio < 0.4 else ratio / 3.0) + 0.1 * takedowns)
        label = int((i * GOLDEN) % 1.0 < p)
        rows.append((f"t{i:03d}", ratio, takedowns, keywords, True, False, False, label, 1.0))
    return spark.createDataFrame(rows, f"{LISTINGS}, label int, weight double")


def _grid(spark: SparkSession) -> DataFrame:
    """Eight listings, each at every ratio of RATIOS (nothing else changes along a listing's grid)."""
    rows = [
        (f"g{takedowns}{keywords}-{step:02d}", ratio, takedowns, keywords, True, False, False)
        for takedowns in range(4)
        for keywords in range(2)
        for step, ratio in enumerate(RATIOS)
    ]
    return spark.createDataFrame(rows, LISTINGS)


def _grid_scores(model: PipelineModel, grid: DataFrame) -> dict[str, list[float]]:
    """Each grid listing's scores in increasing price_to_reference order (bounded: 96 rows)."""
    rows = models.score(model, grid).select("listing_id", "score").collect()
    by_listing: dict[str, list[tuple[str, float]]] = {}
    for row in rows:
        listing, step = row["listing_id"].split("-")
        by_listing.setdefault(listing, []).append((step, row["score"]))
    return {k: [s for _, s in sorted(v)] for k, v in by_listing.items()}


def _fit(spark: SparkSession, constraints: dict[str, int]) -> PipelineModel:
    pipeline = models.monotone_boosted_trees(
        COLUMNS, constraints=constraints, seed=7, max_iter=30, max_depth=3, learning_rate=0.3
    )
    return pipeline.fit(_training_rows(spark))


@pytest.fixture(scope="module")
def constrained(spark: SparkSession) -> PipelineModel:
    return _fit(spark, {"price_to_reference": -1, "seller_confirmed_takedowns": 1})


def test_raising_price_to_reference_never_raises_the_constrained_score(
    spark: SparkSession, constrained: PipelineModel
) -> None:
    scores = _grid_scores(constrained, _grid(spark))
    assert len(scores) == 8 and all(len(s) == len(RATIOS) for s in scores.values())
    for listing, along in scores.items():
        assert all(b <= a for a, b in itertools.pairwise(along)), (listing, along)
    # ... and it still learns what the constraint allows: the cheapest listings are the riskiest.
    assert all(along[0] > along[-1] for along in scores.values()), scores


def test_without_the_constraint_the_same_data_teaches_high_price_means_fake(
    spark: SparkSession,
) -> None:
    scores = _grid_scores(_fit(spark, {}), _grid(spark))
    rises = [k for k, along in scores.items() if any(b > a for a, b in itertools.pairwise(along))]
    assert rises, scores


def test_the_same_seed_and_data_train_the_same_model(
    spark: SparkSession, constrained: PipelineModel
) -> None:
    again = _fit(spark, {"price_to_reference": -1, "seller_confirmed_takedowns": 1})
    assert _grid_scores(again, _grid(spark)) == _grid_scores(constrained, _grid(spark))


def test_constraints_follow_the_column_order_and_unknown_features_are_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="radar.training"):
        signs = models.monotone_signs(
            ["a", "price_to_reference", "b"], {"price_to_reference": -1, "b": 1, "gone": 1}
        )
    assert signs == (0, -1, 1)
    assert "['gone']" in caplog.text
    with pytest.raises(ValueError, match="monotone constraints must be one of"):
        models.monotone_signs(["a"], {"a": 2})


def test_importances_are_xgboost_total_gain_by_column(constrained: PipelineModel) -> None:
    gains = models.classifier(constrained).get_feature_importances(  # type: ignore[attr-defined]
        importance_type="total_gain"
    )
    total = sum(gains.values())
    expected = {c: gains.get(f"f{i}", 0.0) / total for i, c in enumerate(COLUMNS)}
    assert models.importances(constrained, COLUMNS) == pytest.approx(expected, abs=0, rel=1e-12)
    assert models.input_columns(constrained) == COLUMNS


# Platt on two score levels: a two-parameter logistic fits two frequencies exactly, so the maximum
# likelihood answer is known in closed form. Scores 0.2 and 0.8 (logits -ln 4 and ln 4); labelled
# frequencies 0.1 (1 of 10) and 0.4 (weight 2 of 5): slope ln 6 / ln 16, intercept ln 6 / 2 - ln 9.
SLOPE, INTERCEPT = math.log(6.0) / math.log(16.0), math.log(6.0) / 2.0 - math.log(9.0)


def _two_levels(spark: SparkSession) -> DataFrame:
    rows = [(0.2, 1, 1.0)] + [(0.2, 0, 1.0)] * 9 + [(0.8, 1, 2.0)] + [(0.8, 0, 1.0)] * 3
    return spark.createDataFrame(rows, "score double, label int, weight double")


def _probabilities(spark: SparkSession, values: list[float]) -> DataFrame:
    rows = [(i, Vectors.dense([1.0 - p, p])) for i, p in enumerate(values)]
    return spark.createDataFrame(rows, ["rank", "probability"])


def test_platt_fit_gives_the_known_maximum_likelihood_answer(spark: SparkSession) -> None:
    slope, intercept = models.platt_coefficients(_two_levels(spark))
    assert slope == pytest.approx(SLOPE, abs=1e-6)
    assert intercept == pytest.approx(INTERCEPT, abs=1e-6)


def test_calibration_maps_scores_to_platt_divided_by_the_label_frequency(
    spark: SparkSession,
) -> None:
    empty = PipelineModel(stages=[])
    levels = _probabilities(spark, [0.2, 0.8])
    for c, expected in ((1.0, [0.1, 0.4]), (0.5, [0.2, 0.8])):
        model = models.with_calibration(empty, _two_levels(spark), label_frequency=c, knee=0.99)
        got = [
            r[0]
            for r in model.transform(levels).orderBy("rank").select(models.CALIBRATED).collect()
        ]
        assert got == pytest.approx(expected, abs=1e-6), c
    params = models.calibration_params(model)
    assert params is not None and params["labelFrequency"] == 0.5 and params["knee"] == 0.99
    with pytest.raises(ValueError, match="already calibrated"):
        models.with_calibration(model, _two_levels(spark), label_frequency=0.5, knee=0.99)


def test_calibration_keeps_the_exact_order_of_scores_and_stays_in_unit_interval(
    spark: SparkSession,
) -> None:
    # 0 and 1, float32's extremes, and a spread through the knee region (above p ~ 0.88 here).
    f32 = 2.0**-24
    raw = sorted({0.0, 1.0, f32, 2 * f32, 1 - f32, 1 - 2 * f32, *(i / 199 for i in range(1, 199))})
    model = models.with_calibration(
        PipelineModel(stages=[]), _two_levels(spark), label_frequency=0.5, knee=0.99
    )
    rows = model.transform(_probabilities(spark, raw)).orderBy("rank").collect()  # bounded: 204
    calibrated = [r[models.CALIBRATED] for r in rows]
    assert all(b > a for a, b in itertools.pairwise(calibrated)), "order or ties changed"
    assert calibrated[0] == 0.0 and calibrated[-1] == 1.0
    assert sum(v > 0.99 for v in calibrated) > 10  # the knee region is exercised


def test_mlflow_round_trip_of_a_calibrated_xgboost_pipeline_scores_the_same(
    spark: SparkSession, constrained: PipelineModel, tmp_path: Path
) -> None:
    training = models.score(constrained, _training_rows(spark))
    calibrated = models.with_calibration(constrained, training, label_frequency=0.5, knee=0.99)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment = mlflow.create_experiment("models", artifact_location=str(tmp_path / "art"))
        with mlflow.start_run(experiment_id=experiment):
            # Requirements given: inferring them loads the model again in a child process.
            info = mlflow.spark.log_model(
                calibrated, artifact_path="model", pip_requirements=["xgboost-cpu"]
            )
        loaded = mlflow.spark.load_model(info.model_uri)
    finally:
        mlflow.set_tracking_uri(previous)

    grid = _grid(spark)
    before = models.score(calibrated, grid).select("listing_id", "score", models.CALIBRATED)
    after = models.score(loaded, grid).select("listing_id", "score", models.CALIBRATED)
    assert sorted(after.collect()) == sorted(before.collect())  # bounded: 96 rows
    uncalibrated = models.score(constrained, grid).select("listing_id", F.col("score").alias("raw"))
    joined = before.join(uncalibrated, "listing_id").collect()
    assert any(r["score"] != r["raw"] for r in joined)  # the calibrated column is what scores
    no_brand = grid.limit(1).withColumn("brand_term_match", F.lit(False))
    assert models.score(loaded, no_brand).first()["score"] == 0.0  # the brand gate still holds
    assert models.input_columns(loaded) == COLUMNS
    assert models.importances(loaded, COLUMNS) == models.importances(constrained, COLUMNS)
    assert models.calibration_params(loaded) == models.calibration_params(calibrated)
