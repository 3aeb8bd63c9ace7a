"""Ring leads across two hand-made nights: every status, the accounts that joined, the nights a
ring was active, and the accounts opened after a ring's first confirmed takedown."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from features.account_links import ring_lineage
from training.lifecycle import ring_status, whack_a_mole

NIGHT = date(2026, 11, 5)
# last night: ring -> members
BEFORE = {
    "A": ["s1", "s2"],
    "B": ["s3", "s4"],  # merges into C tonight
    "C": ["s5", "s6", "s7"],
    "D": ["s8", "s9"],  # no live listing tonight
    "E": ["s10", "s11"],  # dormant last night, live listings again tonight
    "H": ["s15", "s16", "s17"],  # loses s17
    "I": ["s18", "s19", "s20", "s21"],  # splits into I and J
}
TONIGHT = {
    "A": ["s1", "s2", "s12"],  # s12 opened after A's first confirmed takedown
    "C": ["s3", "s4", "s5", "s6", "s7"],
    "D": ["s8", "s9"],
    "E": ["s10", "s11"],
    "F": ["s13", "s14"],  # nobody was in a ring last night
    "H": ["s15", "s16"],
    "I": ["s18", "s19"],
    "J": ["s20", "s21"],
}
FIRST_NIGHT = {
    "A": date(2026, 11, 2), "C": date(2026, 11, 3), "D": date(2026, 11, 1),
    "E": date(2026, 11, 2), "F": NIGHT, "H": date(2026, 11, 4), "I": date(2026, 11, 4),
    "J": date(2026, 11, 4),
}  # fmt: skip
# ring -> (status, nights_active) of last night's lead
PREVIOUS_LEADS = {
    "A": ("steady", 3), "B": ("new", 1), "C": ("growing", 2), "D": ("steady", 4),
    "E": ("dormant", 2), "H": ("steady", 1), "I": ("new", 1),
}  # fmt: skip


def _clusters(spark: SparkSession, rings: dict[str, list[str]]) -> DataFrame:
    return spark.createDataFrame(
        [(s, ring, FIRST_NIGHT.get(ring)) for ring, members in rings.items() for s in members],
        "seller_id string, ring_id string, ring_first_night date",
    )


def _leads(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [(ring, len(m), 0 if ring == "D" else len(m)) for ring, m in TONIGHT.items()],
        "ring_id string, ring_size int, scored_members int",
    )


def test_ring_status_follows_the_lineage_and_the_previous_night(spark: SparkSession) -> None:
    tonight = _clusters(spark, TONIGHT)
    before = _clusters(spark, BEFORE).select("seller_id", "ring_id")
    previous_leads = spark.createDataFrame(
        [(r, s, n) for r, (s, n) in PREVIOUS_LEADS.items()],
        "ring_id string, status string, nights_active int",
    )
    found = ring_status(
        _leads(spark),
        ring_lineage(tonight.select("seller_id", "ring_id"), before),
        tonight,
        before,
        previous_leads,
    ).select(
        "ring_id", "status", "previous_ring_ids", "new_members", "first_night", "nights_active"
    )
    d = FIRST_NIGHT
    expected = spark.createDataFrame(
        [
            ("A", "growing", ["A"], ["s12"], d["A"], 4),
            ("C", "merged", ["B", "C"], ["s3", "s4"], d["C"], 3),  # B's 1 night, C's 2, tonight
            ("D", "dormant", ["D"], [], d["D"], 4),
            ("E", "re-emerged", ["E"], [], d["E"], 3),
            ("F", "new", [], ["s13", "s14"], NIGHT, 1),
            ("H", "shrinking", ["H"], [], d["H"], 2),
            ("I", "split", ["I"], [], d["I"], 2),
            ("J", "split", ["I"], ["s20", "s21"], d["J"], 2),
        ],
        "ring_id string, status string, previous_ring_ids array<string>, "
        "new_members array<string>, first_night date, nights_active int",
    )
    assertDataFrameEqual(found, expected)


def test_the_first_night_makes_every_ring_new(spark: SparkSession) -> None:
    tonight = _clusters(spark, {"A": ["s1", "s2"]})
    found = ring_status(
        _leads(spark).where("ring_id = 'A'"),
        ring_lineage(tonight.select("seller_id", "ring_id"), None),
        tonight,
        None,
        None,
    ).select("ring_id", "status", "new_members", "nights_active")
    expected = spark.createDataFrame(
        [("A", "new", ["s1", "s2"], 1)],
        "ring_id string, status string, new_members array<string>, nights_active int",
    )
    assertDataFrameEqual(found, expected)


def test_accounts_opened_after_the_first_confirmed_takedown_are_listed(
    spark: SparkSession,
) -> None:
    clusters = _clusters(spark, TONIGHT).select("seller_id", "ring_id")
    notices = spark.createDataFrame(
        [
            ("n1", "s1", datetime(2026, 11, 2, 9), "confirmed", datetime(2026, 11, 3, 10)),
            ("n2", "s2", datetime(2026, 11, 3, 9), "confirmed", datetime(2026, 11, 4, 10)),
            ("n3", "s5", datetime(2026, 11, 3, 9), "confirmed", datetime(2026, 11, 4, 8)),
            ("n4", "s6", datetime(2026, 11, 3, 9), "rejected", datetime(2026, 11, 3, 20)),
            ("n5", "s13", datetime(2026, 11, 4, 9), "confirmed", datetime(2026, 11, 6, 8)),  # later
        ],
        "notice_id string, seller_id string, received_at timestamp, verdict string, "
        "verdict_at timestamp",
    ).selectExpr("*", "DATE'2026-11-04' AS _ingest_date")
    registrations = spark.createDataFrame(
        [
            ("s1", datetime(2026, 10, 1)),
            ("s2", datetime(2026, 10, 1)),
            ("s12", datetime(2026, 11, 4)),  # after A's first takedown (the 3rd)
            ("s3", datetime(2026, 11, 4, 9)),  # after C's (the 4th, 08:00)
            ("s4", datetime(2026, 11, 4, 7)),  # before it
            ("s5", datetime(2026, 10, 1)),
            ("s14", datetime(2026, 11, 5)),  # F's takedown is not known yet
        ],
        "seller_id string, registered_at timestamp",
    )
    scores = spark.createDataFrame(
        [("l12a", "s12"), ("l12b", "s12"), ("l3", "s3"), ("l1", "s1"), ("l14", "s14")],
        "listing_id string, seller_id string",
    )
    found = whack_a_mole(
        _leads(spark), clusters, notices, registrations, scores, night=NIGHT
    ).select("ring_id", "first_takedown_at", "accounts_after_takedown", "listings_after_takedown")
    none: list[str] = []
    expected = spark.createDataFrame(
        [
            ("A", datetime(2026, 11, 3, 10), ["s12"], ["l12a", "l12b"]),
            ("C", datetime(2026, 11, 4, 8), ["s3"], ["l3"]),
            *[(r, None, none, none) for r in ("D", "E", "F", "H", "I", "J")],
        ],
        "ring_id string, first_takedown_at timestamp, accounts_after_takedown array<string>, "
        "listings_after_takedown array<string>",
    )
    assertDataFrameEqual(found, expected)
