"""Labels see no future, the split follows time, the metrics are right, and the promotion gate
guards the champion: end to end through MLflow on a small synthetic features + notices world."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import mlflow
import mlflow.spark
import pytest
from mlflow import MlflowClient
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from features.night import NightInputs, night_features
from jobs.runtime.context import JobContext
from jobs.train import TrainResult, read_examples, train
from tests.conftest import conf_for
from tests.test_night_features import Params as FeatureParams
from training import models
from training.baseline import rules_score
from training.examples import feature_columns, labelled_notices, training_set
from training.fit import Skipped, Split, TrainingParams, split_examples
from training.metrics import pr_curve, ranking_metrics
from training.population import Difference
from training.promotion import Choice, choose_candidate, decide, training_due
from training.split import split_boundary, time_split

NOTICES = (
    "notice_id string, brand string, listing_id string, seller_id string, received_at timestamp, "
    "verdict string, verdict_at timestamp, _ingest_date date"
)
FEATURES = (
    "listing_id string, seller_id string, feature_date date, ring_id string, "
    "brand_canonical string, category string, is_basic_template boolean, "
    "price_to_reference double, brand_term_match boolean, store_modules int, "
    "seller_listings bigint, shared_identifier_score double, ring_size int, leak_canary double"
)
NIGHT = date(2026, 11, 8)
FIRST_DAY = date(2026, 11, 1)
CANARY = 777.0  # only in feature rows dated on or after the listing's notice: never trained on


# ---------------------------------------------------------------------------------------------
# pure parts: labels, split, metrics, rules, gate, schedule


def test_training_set_never_sees_a_feature_from_after_the_notice(spark: SparkSession) -> None:
    notices = spark.createDataFrame(
        [
            ("n1", "B", "l1", "s1", datetime(2026, 11, 2, 9), "pending", None, date(2026, 11, 2)),
            (
                "n1",
                "B",
                "l1",
                "s1",
                datetime(2026, 11, 2, 9),
                "confirmed",
                datetime(2026, 11, 4, 1),
                date(2026, 11, 4),
            ),
            (
                "n2",
                "B",
                "l2",
                "s2",
                datetime(2026, 11, 3, 9),
                "rejected",
                datetime(2026, 11, 6, 1),
                date(2026, 11, 6),
            ),
        ],
        NOTICES,
    )
    features = spark.createDataFrame(
        [
            ("l1", date(2026, 11, 1), 0.2),  # the day before the notice: the example's
            ("l1", date(2026, 11, 2), 999.0),  # the notice's own day: built after it came in
            ("l1", date(2026, 11, 3), 999.0),  # only exists after the notice: must never be used
            ("l2", date(2026, 11, 1), 0.8),  # no row on the 2nd: the latest before it is used
            ("l2", date(2026, 11, 4), 999.0),
        ],
        "listing_id string, feature_date date, price_to_reference double",
    )
    # By the 4th only n1 is decided; n2's verdict (the 6th) is still in the future.
    examples = training_set(labelled_notices(notices, date(2026, 11, 4)), features).collect()
    assert [
        (r["listing_id"], r["label"], r["feature_date"], r["price_to_reference"]) for r in examples
    ] == [("l1", 1, date(2026, 11, 1), 0.2)]
    later = {
        r["listing_id"]: (r["label"], r["feature_date"], r["price_to_reference"])
        for r in training_set(labelled_notices(notices, date(2026, 11, 6)), features).collect()
    }
    assert later == {"l1": (1, date(2026, 11, 1), 0.2), "l2": (0, date(2026, 11, 1), 0.8)}


def test_an_example_takes_the_features_of_the_day_before_its_notice(spark: SparkSession) -> None:
    # l1 is reported on the 3rd and confirmed that evening; the night's features, built at the
    # end of the 3rd, already show it (a planted tell and a takedown). The example is the 2nd's.
    # l2 is reported on its first day: it has no feature row from before its notice, no example.
    notices = spark.createDataFrame(
        [
            (
                "n1",
                "B",
                "l1",
                "s1",
                datetime(2026, 11, 3, 9),
                "confirmed",
                datetime(2026, 11, 3, 18),
                date(2026, 11, 3),
            ),
            (
                "n2",
                "B",
                "l2",
                "s1",
                datetime(2026, 11, 2, 9),
                "rejected",
                datetime(2026, 11, 2, 18),
                date(2026, 11, 2),
            ),
        ],
        NOTICES,
    )
    features = spark.createDataFrame(
        [
            ("l1", date(2026, 11, 1), 0.0, 0),
            ("l1", date(2026, 11, 2), 0.0, 0),
            ("l1", date(2026, 11, 3), 1.0, 1),  # the notice's own day: reveals its verdict
            ("l2", date(2026, 11, 2), 0.0, 0),
            ("l2", date(2026, 11, 3), 0.0, 0),
        ],
        "listing_id string, feature_date date, verdict_tell double, seller_confirmed_takedowns int",
    )
    examples = training_set(labelled_notices(notices, date(2026, 11, 4)), features)
    expected = spark.createDataFrame(
        [("n1", "l1", date(2026, 11, 3), 1, date(2026, 11, 2), 0.0, 0)],
        "notice_id string, listing_id string, received_date date, label int, "
        "feature_date date, verdict_tell double, seller_confirmed_takedowns int",
    )
    assertDataFrameEqual(examples.select(*expected.columns), expected)


def test_an_examples_takedown_counts_hold_neither_its_own_notice_nor_its_days_verdicts(
    spark: SparkSession,
) -> None:
    # s1 sells L1 and L2. L1 is reported on the 10th at 09:00 and confirmed at 17:00; L2's
    # notice of the 7th is confirmed on the 10th at 12:00, after L1's notice came in. Features
    # are built by the night's own functions for the 9th and the 10th; L1's example must count
    # no takedown of s1: its own notice is its label, and L2's verdict came after it.
    day = date(2026, 11, 10)
    listings = spark.createDataFrame(
        [
            ("L1", "s1", "Lumorra tote", None, "Lumorra", "bags", 40.0, None, "active"),
            ("L2", "s1", "Lumorra bag", None, "Lumorra", "bags", 30.0, None, "active"),
        ],
        "listing_id string, seller_id string, title string, description string, brand string, "
        "category string, price_usd double, image_phash string, status string",
    )
    notices = spark.createDataFrame(
        [
            ("n1", "B", "L1", "s1", datetime(2026, 11, 10, 9), "pending", None, day),
            (
                "n1",
                "B",
                "L1",
                "s1",
                datetime(2026, 11, 10, 9),
                "confirmed",
                datetime(2026, 11, 10, 17),
                day,
            ),
            ("n2", "B", "L2", "s1", datetime(2026, 11, 7, 9), "pending", None, date(2026, 11, 7)),
            (
                "n2",
                "B",
                "L2",
                "s1",
                datetime(2026, 11, 7, 9),
                "confirmed",
                datetime(2026, 11, 10, 12),
                day,
            ),
        ],
        NOTICES,
    )
    inputs = NightInputs(
        listings=listings,
        sellers=spark.createDataFrame(
            [("s1", datetime(2026, 10, 1), "basic", 0)],
            "seller_id string, registered_at timestamp, store_template string, store_modules int",
        ),
        identifiers=spark.createDataFrame(
            [],
            "seller_id string, identifier_type string, identifier string, first_seen date, "
            "last_seen date",
        ),
        reviews=spark.createDataFrame(
            [],
            "review_id string, listing_id string, buyer_id string, rating int, "
            "review_text string, created_at timestamp, buyer_device_id string, buyer_ip string",
        ),
        notices=notices,
        registry=spark.createDataFrame(
            [("Lumorra", "bags", 200.0, 150.0, [], [])],
            "brand string, category string, reference_price double, "
            "min_authorized_price double, authorized_seller_ids array<string>, "
            "protected_terms array<string>",
        ),
        clusters=spark.createDataFrame(
            [],
            "seller_id string, ring_id string, ring_size int, ring_confirmed_share double, "
            "ring_confirmed_takedowns int, ring_confirmed_sellers int, ring_age_days int, "
            "ring_listings int, ring_signal_types array<string>, link_strength double, "
            "link_evidence double",
        ),
    )
    params = FeatureParams()
    nights = [day - timedelta(days=1), day]
    features = None
    for night in nights:
        built = night_features(inputs, night=night, params=params, linkage=params)
        rows = built.listings.withColumn("feature_date", F.lit(night))
        features = rows if features is None else features.unionByName(rows)
    assert features is not None
    examples = training_set(labelled_notices(notices, day + timedelta(days=1)), features)
    expected = spark.createDataFrame(
        [("n1", "L1", day, 1, day - timedelta(days=1), 0, 0, 0, 0)],
        "notice_id string, listing_id string, received_date date, label int, "
        "feature_date date, seller_confirmed_takedowns int, ring_confirmed_takedowns int, "
        "seller_neighbour_confirmed_takedowns int, seller_identifiers_shared_with_confirmed int",
    )
    assertDataFrameEqual(
        examples.select(*[F.col(f.name).cast(f.dataType) for f in expected.schema.fields]),
        expected,
    )


def test_latest_verdict_wins_and_pending_notices_are_not_labels(spark: SparkSession) -> None:
    notices = spark.createDataFrame(
        [
            # confirmed, then overturned on appeal two days later: genuine from the 5th on
            (
                "n1",
                "B",
                "l1",
                "s1",
                datetime(2026, 11, 1, 9),
                "confirmed",
                datetime(2026, 11, 3, 1),
                date(2026, 11, 3),
            ),
            (
                "n1",
                "B",
                "l1",
                "s1",
                datetime(2026, 11, 1, 9),
                "rejected",
                datetime(2026, 11, 5, 1),
                date(2026, 11, 5),
            ),
            ("n2", "B", "l2", "s2", datetime(2026, 11, 2, 9), "pending", None, date(2026, 11, 2)),
        ],
        NOTICES,
    )
    labels = {
        night: {r["listing_id"]: r["label"] for r in labelled_notices(notices, night).collect()}
        for night in (date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 5))
    }
    assert labels == {
        date(2026, 11, 2): {},
        date(2026, 11, 4): {"l1": 1},
        date(2026, 11, 5): {"l1": 0},
    }


def _split_world(
    spark: SparkSession, eval_verdicts: tuple[str, ...] = ("confirmed", "rejected")
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Ten listings with a feature row every day from the 1st to the 5th; l10 names no brand.
    l1-l4 are reported on the 2nd (l1, l2 confirmed; l3, l4 rejected), l5 and l6 on the 4th with
    `eval_verdicts`. Returns (examples, features, reported) as read_examples gives them at the 5th."""
    day = [date(2026, 11, d) for d in range(1, 6)]
    verdicts = [
        ("l1", day[1], "confirmed"),
        ("l2", day[1], "confirmed"),
        ("l3", day[1], "rejected"),
        ("l4", day[1], "rejected"),
        ("l5", day[3], eval_verdicts[0]),
        ("l6", day[3], eval_verdicts[1]),
    ]
    notices = spark.createDataFrame(
        [
            (
                f"n-{listing}",
                "B",
                listing,
                "s1",
                datetime.combine(received, datetime.min.time()).replace(hour=9),
                verdict,
                datetime.combine(received, datetime.min.time()).replace(hour=18),
                received,
            )
            for listing, received, verdict in verdicts
        ],
        NOTICES,
    )
    features = spark.createDataFrame(
        [(f"l{i}", d, i != 10, False, 0, False, float(i)) for i in range(1, 11) for d in day],
        "listing_id string, feature_date date, brand_term_match boolean, "
        "brand_fuzzy_match boolean, counterfeit_keywords int, image_of_confirmed_fake boolean, "
        "price_to_reference double",
    )
    examples = training_set(labelled_notices(notices, day[4]), features).withColumn(
        "labelled", F.lit(True)
    )
    reported = notices.select("listing_id").distinct()
    return examples, features, reported


def test_the_split_trains_on_notices_and_unreported_brand_listings_and_judges_the_population(
    spark: SparkSession, tmp_path: Path
) -> None:
    # eval_days 1: the newest notice is the 4th, so the 3rd is the last training day. The
    # unlabelled sample (size ceil(1.0 x 4 notices) = 4, of 3 available: all of them) is the 3rd's
    # unreported listings that name a brand: l7-l9, not l10. The evaluation population is the
    # 4th's listings less those labelled in training: l5, l6 with their labels, l7-l10 unlabelled.
    params = conf_for(
        tmp_path,
        "training.eval_days=1",
        "training.min_labels=4",
        "training.unlabelled_per_notice=1",
    ).training
    examples, features, reported = _split_world(spark)
    split = split_examples(
        examples,
        night=date(2026, 11, 5),
        features=features,
        reported=reported,
        columns=feature_columns(features),
        params=params,
    )
    assert isinstance(split, Split), split
    assert split.boundary == date(2026, 11, 3)
    assert split.counts == {
        "train_examples": 4,
        "train_positives": 2,
        "train_unlabelled": 3,
        "eval_examples": 2,
        "eval_positives": 1,
        "eval_population": 6,
    }
    kinds = "listing_id string, label int, labelled boolean, feature_date date"
    assertDataFrameEqual(
        split.train_rows.select("listing_id", "label", "labelled", "feature_date"),
        spark.createDataFrame(
            [(f"l{i}", int(i <= 2), True, date(2026, 11, 1)) for i in range(1, 5)]
            + [(f"l{i}", 0, False, date(2026, 11, 3)) for i in range(7, 10)],
            kinds,
        ),
    )
    assertDataFrameEqual(
        split.population.select("listing_id", "label", "feature_date"),
        spark.createDataFrame(
            [("l5", 1, date(2026, 11, 3)), ("l6", 0, date(2026, 11, 3))]
            + [(f"l{i}", None, date(2026, 11, 4)) for i in range(7, 11)],
            "listing_id string, label int, feature_date date",
        ),
    )
    split.release()


def test_the_split_says_why_there_is_nothing_to_train_on(
    spark: SparkSession, tmp_path: Path
) -> None:
    params = conf_for(tmp_path, "training.eval_days=1", "training.min_labels=5").training
    examples, features, reported = _split_world(spark)
    night = date(2026, 11, 5)

    def reason(examples: DataFrame, params: TrainingParams) -> str:
        result = split_examples(
            examples,
            night=night,
            features=features,
            reported=reported,
            columns=feature_columns(features),
            params=params,
        )
        assert isinstance(result, Skipped), result
        return result.reason

    assert reason(examples.limit(0), params) == (
        "no decided takedown notice with features by 2026-11-05"
    )
    assert reason(examples, params) == (
        "too few decided notices to train on by 2026-11-05: {0: 2, 1: 2}"
    )
    both_confirmed, _, _ = _split_world(spark, eval_verdicts=("confirmed", "confirmed"))
    assert reason(both_confirmed, params.model_copy(update={"min_labels": 4})) == (
        "evaluation notices after 2026-11-03 lack a class: {0: 0, 1: 2}"
    )


def test_time_split_trains_on_the_past_and_evaluates_on_the_last_days(spark: SparkSession) -> None:
    examples = spark.createDataFrame(
        [(f"l{d}", date(2026, 11, d), d % 2) for d in range(1, 7)],
        "listing_id string, received_date date, label int",
    )
    boundary = split_boundary(examples, eval_days=2)
    assert boundary == date(2026, 11, 4)
    train_rows, evaluation = time_split(examples, boundary)
    assert sorted(r["listing_id"] for r in train_rows.collect()) == ["l1", "l2", "l3", "l4"]
    assert sorted(r["listing_id"] for r in evaluation.collect()) == ["l5", "l6"]
    assert split_boundary(examples.limit(0), eval_days=2) is None


def test_ranking_metrics_at_the_budget_and_top_share(spark: SparkSession) -> None:
    # Ranked: 1, 0, 1, 0, 0, 1, 0, 0, 0, 0 (3 positives in 10)
    labels = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    scored = spark.createDataFrame(
        [(f"l{i}", 1.0 - i / 10, y) for i, y in enumerate(labels)],
        "listing_id string, score double, label int",
    )
    metrics = ranking_metrics(scored, budget=4, top_share=0.1)
    assert (metrics["examples"], metrics["positives"]) == (10, 3)
    assert metrics["precision_at_budget"] == pytest.approx(2 / 4)
    assert metrics["recall_at_budget"] == pytest.approx(2 / 3)
    assert (metrics["k_at_top_share"], metrics["precision_at_top_share"]) == (1, 1.0)
    assert metrics["roc_auc"] == pytest.approx(17 / 21)  # 17 of the 21 (pos, neg) pairs in order
    assert 0.0 < metrics["pr_auc"] < 1.0
    curve = pr_curve(scored, bins=10)
    assert curve[0] == (pytest.approx(1 / 3), 1.0)  # the top row alone
    assert curve[-1] == (1.0, pytest.approx(0.3))  # everything flagged: the base rate
    assert len(curve) <= 11


def test_rules_baseline_ranks_listings_meeting_all_three_rules_first(spark: SparkSession) -> None:
    features = spark.createDataFrame(
        [
            ("all", True, 0.2, True),
            ("no_brand", True, 0.2, False),
            ("dear", True, 0.9, True),
            ("no_brand_known", True, None, True),  # no brand matched: no price ratio
            ("none", False, 1.1, False),
        ],
        "listing_id string, is_basic_template boolean, price_to_reference double, "
        "brand_term_match boolean",
    )
    rows = {r["listing_id"]: r for r in rules_score(features, 0.6).collect()}
    assert [k for k, r in rows.items() if r["rule_flag"]] == ["all"]
    assert rows["all"]["score"] == pytest.approx(1.0)
    assert rows["no_brand"]["score"] == pytest.approx(0.8)
    assert rows["dear"]["score"] == rows["no_brand_known"]["score"] == pytest.approx(0.6)
    assert rows["none"]["score"] == 0.0


def test_feature_columns_are_numeric_and_boolean_columns_but_ids_and_dates(
    spark: SparkSession,
) -> None:
    frame = spark.createDataFrame([], FEATURES)
    assert feature_columns(frame) == [
        "brand_term_match",
        "is_basic_template",
        "leak_canary",
        "price_to_reference",
        "ring_size",
        "seller_listings",
        "shared_identifier_score",
        "store_modules",
    ]


def _gain(estimate: float, low: float) -> Difference:
    return Difference(estimate, low, estimate + (estimate - low), 40, 0.9, 200)


def test_gate_refuses_a_worse_model_and_a_first_model_that_does_not_beat_the_rules() -> None:
    gate = {"positives": 40, "min_positives": 20, "margin": 0.01}
    rules = _gain(0.3, 0.1)
    # Against a champion: the gain must reach the margin and its interval must clear zero.
    worse, noisy, better = _gain(-0.1, -0.2), _gain(0.05, -0.01), _gain(0.05, 0.02)
    assert decide(versus_champion=worse, versus_rules=rules, **gate).alias == "challenger"
    assert decide(versus_champion=noisy, versus_rules=rules, **gate).alias == "challenger"
    assert decide(versus_champion=_gain(0.005, 0.001), versus_rules=rules, **gate).alias == (
        "challenger"
    )
    assert decide(versus_champion=better, versus_rules=rules, **gate).alias == "champion"
    # A first model goes on unless the rules beat it beyond the noise: a tie within the noise
    # (the test world's -0.071 on 28 listings) is no reason to score nothing.
    assert decide(versus_champion=None, versus_rules=rules, **gate).alias == "champion"
    assert decide(versus_champion=None, versus_rules=_gain(0.0, -0.1), **gate).alias == "champion"
    assert decide(versus_champion=None, versus_rules=_gain(-0.071, -0.2), **gate).alias == (
        "champion"
    )
    beaten = decide(versus_champion=None, versus_rules=_gain(-0.3, -0.5), **gate)
    assert beaten.alias == "challenger"
    assert beaten.reason.startswith("first model is worse than the rules baseline beyond the noise")
    # Too few confirmed listings to judge: never promoted, however good the figures.
    few = {**gate, "positives": 19}
    refused = decide(versus_champion=better, versus_rules=rules, **few)
    assert refused.alias == "challenger" and refused.reason.startswith("too little evidence: 19")
    assert decide(versus_champion=None, versus_rules=rules, **few).alias == "challenger"


def test_another_candidate_replaces_the_default_only_beyond_the_noise() -> None:
    estimates = {
        "logistic_regression": (0.5, 0.30),
        "gradient_boosted_trees": (0.5, 0.40),
        "monotone_boosted_trees": (0.5, 0.35),
    }
    choose = {
        "default": "monotone_boosted_trees",
        "point_estimates": estimates,
        "positives": 24,
        "min_positives": 20,
        "margin": 0.01,
    }
    # Two of 24 more in the top share, interval across zero: a lucky draw, not a better model.
    lucky = {"logistic_regression": _gain(0.0, -0.1), "gradient_boosted_trees": _gain(0.083, -0.04)}
    kept = choose_candidate(versus_default=lucky, **choose)
    assert kept == Choice(
        "monotone_boosted_trees", "default: no candidate beats it beyond the noise"
    )
    # Twelve of 24 with an interval above zero replace it; of two that do, the larger gain.
    clear = {"logistic_regression": _gain(0.2, 0.05), "gradient_boosted_trees": _gain(0.5, 0.3)}
    replaced = choose_candidate(versus_default=clear, **choose)
    assert replaced.candidate == "gradient_boosted_trees"
    assert replaced.reason.startswith(
        "beats the default monotone_boosted_trees beyond the noise: +0.5000"
    )
    # Below the margin, or too few confirmed listings to judge: the default stays.
    small = {"gradient_boosted_trees": _gain(0.005, 0.001)}
    assert choose_candidate(versus_default=small, **choose).candidate == "monotone_boosted_trees"
    few = choose_candidate(versus_default=clear, **{**choose, "positives": 2})
    assert few == Choice(
        "monotone_boosted_trees",
        "default: 2 confirmed listings are too few to prefer another candidate",
    )
    # No default: the best point estimate, recall first, then PU PR-AUC (the old choice).
    old = choose_candidate(versus_default={}, **{**choose, "default": None})
    assert old == Choice(
        "gradient_boosted_trees",
        "best point estimate (top-share recall, PU PR-AUC): 0.5000, 0.4000",
    )
    with pytest.raises(ValueError, match="'xgb' is not one of"):
        choose_candidate(versus_default={}, **{**choose, "default": "xgb"})


def test_training_is_due_without_a_champion_or_on_schedule() -> None:
    assert training_due(date(2026, 11, 3), date(2026, 11, 2), False, 7)
    assert training_due(date(2026, 11, 3), None, True, 7)
    assert not training_due(date(2026, 11, 3), date(2026, 11, 2), has_champion=True, every_days=7)
    assert not training_due(date(2026, 11, 8), date(2026, 11, 2), True, 7)
    assert training_due(date(2026, 11, 9), date(2026, 11, 2), has_champion=True, every_days=7)


# ---------------------------------------------------------------------------------------------
# end to end: a small synthetic world as Delta tables, trained and tracked in MLflow
# (one SQLite tracking store for the module: its migrations cost ~20 s each time)


@dataclass(frozen=True)
class World:
    ctx: JobContext
    listings: int
    late_feature_rows: int  # planted rows dated on or after their listing's notice (canaries)
    gap_listings: frozenset[str]  # listings without a feature row the day before their notice


def _synthetic_world(spark: SparkSession) -> tuple[DataFrame, DataFrame, int, frozenset[str]]:
    """400 listings over 8 days, 30% fakes. Rules see template, discount and brand term; the
    models also see shared identifiers, which the rules ignore, so a model can beat the rules."""
    rng = random.Random(7)
    features, notices = [], []
    late_rows, gaps = 0, set()
    for i in range(400):
        listing, seller = f"l{i:04d}", f"s{i // 4:03d}"
        fake = rng.random() < 0.3
        static = (
            rng.random() < (0.75 if fake else 0.3),
            None if rng.random() < 0.1 else rng.uniform(*((0.15, 0.8) if fake else (0.5, 1.3))),
            rng.random() < (0.9 if fake else 0.5),
            rng.randint(0, 2) if fake else rng.randint(0, 8),
            rng.randint(1, 40),
            rng.gauss(1.6 if fake else 0.0, 0.8),
            rng.choice([3, 5, 7]) if fake and rng.random() < 0.6 else None,
        )
        received = None
        if rng.random() < (0.8 if fake else 0.5):
            received = FIRST_DAY + timedelta(days=rng.randint(1, 7))  # Nov 2 .. Nov 8
            verdict = "confirmed" if fake != (rng.random() < 0.05) else "rejected"
            received_at = datetime.combine(received, datetime.min.time()) + timedelta(hours=9)
            verdict_at = received_at + timedelta(days=1, hours=rng.randint(0, 5))
            pending: tuple[object, ...] = (f"n{i}", "B", listing, seller, received_at, "pending")
            notices.append((*pending, None, received))
            notices.append(
                (f"n{i}", "B", listing, seller, received_at, verdict, verdict_at, verdict_at.date())
            )
        skip_day = (
            received - timedelta(days=1) if received is not None and rng.random() < 0.1 else None
        )
        if skip_day is not None:
            gaps.add(listing)
        for d in range(8):
            day = FIRST_DAY + timedelta(days=d)
            if day == skip_day:
                continue
            after_notice = received is not None and day >= received
            late_rows += after_notice
            features.append(
                (
                    listing,
                    seller,
                    day,
                    None,
                    "Brand",
                    "bags",
                    *static,
                    CANARY if after_notice else 0.0,
                )
            )
    # Every listing names its brand, exactly or misspelt (features.listings.names_a_brand).
    brand_references = (
        (~F.col("brand_term_match")).alias("brand_fuzzy_match"),
        F.lit(0).alias("counterfeit_keywords"),
        F.lit(False).alias("image_of_confirmed_fake"),
    )
    return (
        spark.createDataFrame(features, FEATURES).select("*", *brand_references),
        spark.createDataFrame(notices, NOTICES).withColumn("_source_file", F.lit("synthetic")),
        late_rows,
        frozenset(gaps),
    )


@pytest.fixture(scope="module")
def world(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, session_root: Path
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("training")
    conf = conf_for(
        root,
        f"paths.metastore={session_root / 'metastore'}",
        "training.eval_days=2",
        "training.review_budget=20",
        "training.gbt_max_iter=8",
        "training.gbt_max_depth=3",
        "training.min_labels=30",
        "training.min_eval_positives=10",
    )
    ctx = JobContext(conf)
    features, notices, late_rows, gaps = _synthetic_world(spark)
    ctx.lakehouse.overwrite("features.listing_features", features, partition_by=("feature_date",))
    ctx.lakehouse.overwrite("bronze.takedown_notices", notices)
    yield World(ctx, 400, late_rows, gaps)
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # leave no module's store behind for the next test module


@pytest.fixture(scope="module")
def first(world: World) -> TrainResult:
    return train(world.ctx, NIGHT)


@pytest.fixture(scope="module")
def shuffled(world: World, first: TrainResult) -> TrainResult:
    return train(world.ctx, NIGHT, shuffle_labels=True)


@pytest.fixture(scope="module")
def again(world: World, first: TrainResult) -> TrainResult:
    return train(world.ctx, NIGHT)


def _client(world: World) -> MlflowClient:
    return MlflowClient(world.ctx.conf.mlflow.tracking_uri)


def test_training_examples_hold_no_feature_row_from_after_the_notice(world: World) -> None:
    lake = world.ctx.lakehouse
    table = lake.read("features.listing_features")
    assert table.where(F.col("leak_canary") == CANARY).count() == world.late_feature_rows > 0
    examples = read_examples(lake, NIGHT).examples
    stats = examples.agg(
        F.count(F.lit(1)).alias("n"),
        F.max("leak_canary").alias("canary"),
        F.sum((F.col("feature_date") >= F.col("received_date")).cast("int")).alias("future"),
    ).first()
    assert stats is not None
    assert stats["n"] > 100 and stats["canary"] == 0.0 and stats["future"] == 0
    # Only listings with no feature row the day before the notice fall back to an earlier day.
    before = F.date_sub(F.col("received_date"), 1)
    earlier = {r["listing_id"] for r in examples.where(F.col("feature_date") < before).collect()}
    assert earlier and earlier <= world.gap_listings
    # Notices received on the night itself are still pending: not labels.
    assert examples.agg(F.max("received_date")).first()[0] == NIGHT - timedelta(days=1)  # type: ignore[index]


@pytest.mark.integration
def test_first_model_beats_the_rules_and_is_registered_as_champion(
    world: World, first: TrainResult
) -> None:
    conf, client = world.ctx.conf, _client(world)
    assert first.alias == "champion" and first.version == "1", first.reason
    run = client.get_run(first.run_id or "")
    metrics = run.data.metrics
    for scorer in ("model", "logistic_regression", "gradient_boosted_trees", "rules_baseline"):
        for metric in ("pr_auc", "roc_auc", "precision_at_budget", "recall_at_budget"):
            assert 0.0 <= metrics[f"{scorer}_{metric}"] <= 1.0, (scorer, metric)
    assert metrics["model_pr_auc"] > metrics["rules_baseline_pr_auc"]
    assert metrics["model_pr_auc"] > 0.8  # the synthetic signal is strong
    params = run.data.params
    assert params["delta_version.features.listing_features"] == "0"
    assert params["delta_version.bronze.takedown_notices"] == "0"
    assert params["promotion"] == "champion" and run.data.tags["promotion"] == "champion"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "precision_recall.png",
        "feature_importance.png",
        "evaluation.csv",
        "evaluation.json",
    } <= artifacts
    version = client.get_model_version_by_alias(conf.mlflow.model_name, "champion")
    assert str(version.version) == first.version and version.run_id == first.run_id
    assert version.tags["promotion_reason"].startswith("first model")

    # What the score step does: load the champion by alias and score distributed.
    model = mlflow.spark.load_model(f"models:/{conf.mlflow.model_name}@champion")
    assert models.input_columns(model) == feature_columns(
        world.ctx.lakehouse.read("features.listing_features")
    )
    night_features = world.ctx.lakehouse.read("features.listing_features").where(
        F.col("feature_date") == F.lit(NIGHT - timedelta(days=1))
    )
    scores = (
        models.score(model, night_features)
        .agg(F.count(F.lit(1)).alias("n"), F.min("score").alias("lo"), F.max("score").alias("hi"))
        .first()
    )
    assert scores is not None and scores["n"] > 300 and 0.0 <= scores["lo"] < scores["hi"] <= 1.0


@pytest.mark.integration
def test_model_trained_on_shuffled_labels_is_refused_and_the_champion_stays(
    world: World, first: TrainResult, shuffled: TrainResult
) -> None:
    conf, client = world.ctx.conf, _client(world)
    assert shuffled.alias == "challenger", shuffled.reason
    assert "not better than the champion beyond the noise" in shuffled.reason
    name = conf.mlflow.model_name
    assert str(client.get_model_version_by_alias(name, "champion").version) == first.version
    assert str(client.get_model_version_by_alias(name, "challenger").version) == shuffled.version
    run = client.get_run(shuffled.run_id or "")
    assert run.data.tags["promotion"] == "challenger"
    assert run.data.tags["promotion_reason"] == shuffled.reason
    assert run.data.params["shuffled_labels"] == "True"
    # The champion was re-scored on the same evaluation notices and population: the figures it
    # earned itself; the useless model's gain over it does not clear zero.
    metrics = run.data.metrics
    assert metrics["champion_pr_auc"] == pytest.approx(first.metrics["model"]["pr_auc"])
    assert metrics["champion_population_recall_at_top_share"] == pytest.approx(
        first.metrics["model"]["population_recall_at_top_share"]
    )
    assert metrics["gain_over_champion_low"] <= 0.0


@pytest.mark.integration
def test_same_data_and_seed_give_the_same_metrics(first: TrainResult, again: TrainResult) -> None:
    for scorer in ("logistic_regression", "gradient_boosted_trees", "rules_baseline"):
        assert again.metrics[scorer] == first.metrics[scorer], scorer
    # An equal model does not beat the champion by the margin.
    assert again.alias == "challenger"
