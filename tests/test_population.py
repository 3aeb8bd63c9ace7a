"""Positive-unlabelled training and population evaluation, on hand-built cases with known answers."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from training.metrics import ranking_metrics
from training.population import (
    class_weights,
    evaluation_population,
    paired_difference,
    population_metrics,
    top_membership,
    unlabelled_sample,
)
from training.promotion import decide

SCORED = "listing_id string, score double, label int"


def test_pu_weights_balance_positives_against_prior_corrected_negatives() -> None:
    weights = class_weights(2, 1, 4, prior=0.25)
    # 7 rows; negatives' mass = 1 + 0.75 * 4 = 4 rejected-equivalents; each class carries 3.5.
    assert (weights.positive, weights.rejected, weights.unlabelled) == (1.75, 0.875, 0.65625)
    assert 2 * weights.positive == weights.rejected + 4 * weights.unlabelled == 3.5
    # Without unlabelled rows it is plain class balancing: n / (2 n_class).
    plain = class_weights(3, 1, 0, prior=0.25)
    assert (plain.positive, plain.rejected) == (4 / 6, 2.0)


def test_weight_column_tells_positives_rejected_and_unlabelled_apart(spark: SparkSession) -> None:
    rows = spark.createDataFrame(
        [("p", 1, True), ("r", 0, True), ("u", 0, False)],
        "listing_id string, label int, labelled boolean",
    )
    weighted = rows.withColumn("weight", class_weights(1, 1, 1, prior=0.5).column())
    # 3 rows; negatives' mass 1 + 0.5 = 1.5; per negative 3 / 3 = 1.
    expected = spark.createDataFrame(
        [("p", 1, True, 1.5), ("r", 0, True, 1.0), ("u", 0, False, 0.5)],
        "listing_id string, label int, labelled boolean, weight double",
    )
    assertDataFrameEqual(weighted, expected)


def test_unlabelled_sample_never_draws_a_reported_or_out_of_scope_listing(
    spark: SparkSession,
) -> None:
    features = spark.createDataFrame(
        [("l1", True), ("l2", True), ("l3", False), ("l4", True), ("l5", True)],
        "listing_id string, brand_term_match boolean",
    )
    reported = spark.createDataFrame([("l2",), ("l9",)], "listing_id string")
    everything = unlabelled_sample(
        features, reported, size=10, seed=1, in_scope=F.col("brand_term_match")
    )
    expected = spark.createDataFrame(
        [("l1", True, 0, False), ("l4", True, 0, False), ("l5", True, 0, False)],
        "listing_id string, brand_term_match boolean, label int, labelled boolean",
    )
    assertDataFrameEqual(everything, expected)
    # A smaller sample is a seeded subset: the same listings twice.
    many = spark.range(2000).select(
        F.concat(F.lit("x"), F.col("id").cast("string")).alias("listing_id"),
        F.lit(True).alias("brand_term_match"),
    )
    draw = unlabelled_sample(many, reported, size=200, seed=1, in_scope=F.lit(True))
    again = unlabelled_sample(many, reported, size=200, seed=1, in_scope=F.lit(True))
    assertDataFrameEqual(draw, again)
    other = unlabelled_sample(many, reported, size=200, seed=2, in_scope=F.lit(True))
    assert draw.join(other, "listing_id", "left_anti").count() > 0


def test_evaluation_population_leaves_out_listings_labelled_in_training(
    spark: SparkSession,
) -> None:
    night = spark.createDataFrame(
        [("a", 0.1), ("b", 0.2), ("c", 0.3), ("d", 0.4)], "listing_id string, x double"
    )
    evaluation = spark.createDataFrame([("c", 0.9, 1)], "listing_id string, x double, label int")
    training = spark.createDataFrame([("a", 0.1, 0)], "listing_id string, x double, label int")
    population = evaluation_population(night, evaluation, training)
    # c keeps its features as of the notice (0.9, not the night's 0.3); a was labelled in
    # training: out; b and d are unlabelled.
    expected = spark.createDataFrame(
        [("c", 0.9, 1), ("b", 0.2, None), ("d", 0.4, None)],
        "listing_id string, x double, label int",
    )
    assertDataFrameEqual(population, expected)


def _population(spark: SparkSession, rows: list[tuple[str, float, int | None]]) -> DataFrame:
    return spark.createDataFrame(rows, SCORED)


def test_population_metrics_count_confirmed_listings_among_everything_scored(
    spark: SparkSession,
) -> None:
    # 20 listings: 3 confirmed, 2 rejected, 15 unlabelled; scores distinct.
    rows: list[tuple[str, float, int | None]] = [
        ("p1", 0.99, 1), ("r1", 0.98, 0), ("u1", 0.97, None), ("p2", 0.96, 1),
        ("r2", 0.50, 0), ("p3", 0.10, 1),
    ]  # fmt: skip
    rows += [(f"u{i}", 0.9 - i * 0.02, None) for i in range(2, 16)]
    metrics = population_metrics(
        _population(spark, rows), budget=4, top_share=0.1, label_frequency=0.5
    )
    assert (metrics["population"], metrics["population_positives"]) == (20, 3)
    assert metrics["population_rejected"] == 2
    # Top 4: p1 r1 u1 p2 -> 2 of 3 confirmed found, 1 rejected sent to review.
    assert metrics["k_at_budget"] == 4 and metrics["recall_at_budget"] == 2 / 3
    assert metrics["labelled_precision_at_budget"] == 0.5
    assert metrics["rejected_at_budget"] == 1
    assert metrics["pu_precision_at_budget"] == 1.0  # 2 / (4 * 0.5)
    # Top 10% = 2 rows: p1 r1.
    assert metrics["k_at_top_share"] == 2 and metrics["recall_at_top_share"] == 1 / 3
    assert metrics["pu_precision_at_top_share"] == 1.0  # 1 / (2 * 0.5)


def test_gate_refuses_a_model_better_on_notices_but_worse_on_the_population(
    spark: SparkSession,
) -> None:
    """The notices-only trap: a model that separates confirmed from rejected notices perfectly
    while ranking dozens of never-reported listings above every fake."""
    positives = [f"p{i}" for i in range(4)]
    rejected = [f"r{i}" for i in range(4)]
    unlabelled = [f"u{i:02d}" for i in range(40)]
    candidate = _population(
        spark,
        [(p, 0.5, 1) for p in positives]
        + [(r, 0.0, 0) for r in rejected]
        + [(u, 0.6 + i * 0.005, None) for i, u in enumerate(unlabelled)],
    )
    champion = _population(
        spark,
        [(p, 0.9, 1) for p in positives]
        + [(r, 0.95, 0) for r in rejected]
        + [(u, 0.1, None) for u in unlabelled],
    )
    notices = {
        name: ranking_metrics(scored.where("label IS NOT NULL"))["pr_auc"]
        for name, scored in (("candidate", candidate), ("champion", champion))
    }
    assert notices["candidate"] == 1.0 and notices["champion"] < 0.7

    # Top 20% of 48 = 10 rows: the champion's hold the 4 rejected and all 4 confirmed listings,
    # the candidate's none of them.
    tops = {
        name: top_membership(scored, top_share=0.2)
        for name, scored in (("candidate", candidate), ("champion", champion))
    }
    gain = paired_difference(
        tops["candidate"], tops["champion"], replicates=50, confidence=0.9, seed=3
    )
    assert (gain.estimate, gain.low, gain.high, gain.positives) == (-1.0, -1.0, -1.0, 4)
    decision = decide(
        positives=4, min_positives=4, versus_champion=gain, versus_rules=None, margin=0.01
    )
    assert decision.alias == "challenger"
    assert "not better than the champion beyond the noise" in decision.reason


def test_bootstrap_interval_widens_with_noise_and_is_reproducible(spark: SparkSession) -> None:
    # 40 confirmed listings: the candidate finds 30, the reference 20, 10 found by both.
    ids = [f"p{i:02d}" for i in range(40)]
    candidate = spark.createDataFrame(
        [(i, int(n < 30)) for n, i in enumerate(ids)], "listing_id string, in_top int"
    )
    reference = spark.createDataFrame(
        [(i, int(n >= 20)) for n, i in enumerate(ids)], "listing_id string, in_top int"
    )
    gain = paired_difference(candidate, reference, replicates=200, confidence=0.9, seed=7)
    again = paired_difference(candidate, reference, replicates=200, confidence=0.9, seed=7)
    assert gain == again
    assert gain.estimate == 0.25 and gain.positives == 40  # (30 - 20) / 40
    assert gain.low < 0.25 < gain.high
