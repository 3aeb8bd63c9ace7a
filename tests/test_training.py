"""Labels see no future, the split follows time, and the promotion gate guards the champion."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import SparkSession

from training.labels import labelled_notices, time_split, training_set
from training.promotion import decide, training_due

NOTICES = "notice_id string, brand string, listing_id string, seller_id string, received_at timestamp, verdict string, verdict_at timestamp, _ingest_date date"


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
            ("l1", date(2026, 11, 1), 0.2),
            ("l1", date(2026, 11, 2), 0.3),
            ("l1", date(2026, 11, 3), 999.0),  # only exists after the notice: must never be used
            ("l2", date(2026, 11, 3), 0.9),
        ],
        "listing_id string, feature_date date, price_to_reference double",
    )
    # By the 4th only n1 is decided; n2's verdict (the 6th) is still in the future.
    examples = training_set(labelled_notices(notices, date(2026, 11, 4)), features).collect()
    assert [
        (r["listing_id"], r["label"], r["feature_date"], r["price_to_reference"]) for r in examples
    ] == [("l1", 1, date(2026, 11, 2), 0.3)]
    later = {
        r["listing_id"]: r["price_to_reference"]
        for r in training_set(labelled_notices(notices, date(2026, 11, 6)), features).collect()
    }
    assert later == {"l1": 0.3, "l2": 0.9}
    assert 999.0 not in later.values()


def test_time_split_trains_on_the_past_and_evaluates_on_the_last_days(spark: SparkSession) -> None:
    examples = spark.createDataFrame(
        [(f"l{d}", date(2026, 11, d), d % 2) for d in range(1, 7)],
        "listing_id string, received_date date, label int",
    )
    train, evaluation = time_split(examples, eval_days=2)
    assert max(r["received_date"] for r in train.collect()) < min(
        r["received_date"] for r in evaluation.collect()
    )
    assert {r["listing_id"] for r in evaluation.collect()} == {"l5", "l6"}


def test_gate_refuses_a_worse_model_and_a_first_model_that_does_not_beat_the_rules() -> None:
    assert decide(0.80, champion_pr_auc=0.90, rules_pr_auc=0.4, margin=0.01).alias == "challenger"
    assert decide(0.905, champion_pr_auc=0.90, rules_pr_auc=0.4, margin=0.01).alias == "challenger"
    assert decide(0.95, champion_pr_auc=0.90, rules_pr_auc=0.4, margin=0.01).alias == "champion"
    assert decide(0.35, champion_pr_auc=None, rules_pr_auc=0.4, margin=0.01).alias == "challenger"
    assert decide(0.60, champion_pr_auc=None, rules_pr_auc=0.4, margin=0.01).alias == "champion"
    assert decide(0.405, champion_pr_auc=None, rules_pr_auc=0.4, margin=0.01).alias == "champion"
    assert decide(0.40, champion_pr_auc=None, rules_pr_auc=0.4, margin=0.01).alias == "challenger"


def test_training_is_due_without_a_champion_or_on_schedule() -> None:
    assert training_due(date(2026, 11, 3), date(2026, 11, 2), has_champion=False, every_days=7)
    assert not training_due(date(2026, 11, 3), date(2026, 11, 2), has_champion=True, every_days=7)
    assert training_due(date(2026, 11, 9), date(2026, 11, 2), has_champion=True, every_days=7)
