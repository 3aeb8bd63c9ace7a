"""The proactive KPIs of gold.daily_kpis on three hand-made nights: a known answer for the last,
and every night recomputed independently in plain Python from the same rows, with verdicts,
flags and orders from after the night in the tables (none of them may count)."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from training.kpis import daily_kpis

NIGHTS = [date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)]
LAST = NIGHTS[-1]


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour)


# listing -> created_at
CREATED = {
    "a": at(1), "b": at(2), "c": at(3), "d": at(3), "e": at(1), "f": at(4), "g": at(4),
    "h": at(2), "i": at(4),
}  # fmt: skip
# (listing, score_date, score, flagged)
SCORES = [
    ("a", 3, 0.9, True), ("d", 3, 0.8, True), ("h", 3, 0.7, True), ("c", 3, 0.1, False),
    ("a", 4, 0.9, True), ("b", 4, 0.8, True), ("i", 4, 0.7, True), ("d", 4, 0.2, False),
    ("a", 5, 0.4, False), ("b", 5, 0.6, False), ("d", 5, 0.2, False), ("e", 5, 0.8, True),
    ("f", 5, 0.7, True), ("h", 5, 0.3, False),
    ("g", 6, 0.9, True),  # a flag of a later night
]  # fmt: skip
# (notice, listing, received day, verdict, verdict day, ingest day)
NOTICES = [
    ("n1", "a", 4, "confirmed", 4, 4),
    ("n2", "b", 4, "pending", None, 4),
    ("n2", "b", 4, "confirmed", 5, 5),  # the notice again, with its verdict
    ("n3", "c", 3, "confirmed", 3, 3),
    ("n4", "d", 4, "rejected", 5, 5),
    ("n5", "e", 6, "confirmed", 6, 6),  # after the last night
    ("n6", "f", 5, "pending", None, 5),
    ("n7", "h", 3, "confirmed", 3, 3),
    ("n8", "i", 4, "pending", None, 4),
    ("n8", "i", 4, "confirmed", 6, 6),  # its verdict arrives after the last night
]
# (listing, ordered day)
ORDERS = [("a", 2), ("a", 5), ("h", 4), ("f", 6), ("b", 6)]


def _frames(spark: SparkSession) -> dict[str, DataFrame]:
    scores = spark.createDataFrame(
        [(lid, date(2026, 11, d), s, f) for lid, d, s, f in SCORES],
        "listing_id string, score_date date, score double, flagged boolean",
    )
    notices = spark.createDataFrame(
        [
            (nid, lid, "Lumora", at(r, 9), v, at(vd, 18) if vd else None, date(2026, 11, ing))
            for nid, lid, r, v, vd, ing in NOTICES
        ],
        "notice_id string, listing_id string, brand string, received_at timestamp, "
        "verdict string, verdict_at timestamp, _ingest_date date",
    )
    orders = spark.createDataFrame(
        [(lid, at(d, 10)) for lid, d in ORDERS], "listing_id string, ordered_at timestamp"
    )
    listings = spark.createDataFrame(
        list(CREATED.items()), "listing_id string, created_at timestamp"
    )
    return {"scores": scores, "notices": notices, "orders": orders, "listings": listings}


def _kpis(frames: dict[str, DataFrame], night: date) -> DataFrame:
    """What jobs/score.py passes: the night's scores, every night's flags, notices ingested by
    the night (later verdicts stay in the table: the function must ignore them too)."""
    return daily_kpis(
        frames["scores"].where(F.col("score_date") == F.lit(night)),
        frames["scores"],
        frames["notices"],
        frames["orders"],
        frames["listings"],
        night=night,
    )


def _by_hand(night: date) -> dict[str, Any]:
    """The same KPIs in plain Python over the tuples above."""
    day = night.day
    tonight = [s for s in SCORES if s[1] == day]
    first_flag: dict[str, int] = {}
    for lid, d, _, flagged in SCORES:
        if flagged and d <= day:
            first_flag[lid] = min(first_flag.get(lid, d), d)
    latest: dict[str, tuple[Any, ...]] = {}  # notice -> its latest row known by the night
    for row in NOTICES:
        nid, _, received, _, verdict_day, _ = row
        if received <= day and (verdict_day is None or verdict_day <= day):
            known = latest.get(nid)
            if known is None or (verdict_day or 0) >= (known[4] or 0):
                latest[nid] = row
    first_notice: dict[str, int] = {}
    confirmed, decided = set(), set()
    for _, lid, received, verdict, _, _ in latest.values():
        first_notice[lid] = min(first_notice.get(lid, received), received)
        confirmed |= {lid} if verdict == "confirmed" else set()
        decided |= {lid} if verdict in ("confirmed", "rejected") else set()
    first_order: dict[str, int] = {}
    for lid, d in ORDERS:
        if d <= day:
            first_order[lid] = min(first_order.get(lid, d), d)
    before_notice = [x for x in confirmed if x in first_flag and first_flag[x] < first_notice[x]]
    before_order = [
        x
        for x in confirmed
        if x in first_flag and (x not in first_order or first_flag[x] < first_order[x])
    ]
    days = [float((date(2026, 11, d) - CREATED[x].date()).days) for x, d in first_flag.items()]
    flags_decided = [x for x in first_flag if x in decided]
    flags_confirmed = [x for x in flags_decided if x in confirmed]
    return {
        "score_date": night,
        "listings_scored": len(tonight),
        "flagged": sum(1 for s in tonight if s[3]),
        "confirmed_listings": len(confirmed),
        "confirmed_flagged": len([x for x in confirmed if x in first_flag]),
        "flagged_before_notice": len(before_notice),
        "share_flagged_before_notice": len(before_notice) / len(confirmed) if confirmed else None,
        "flagged_before_first_order": len(before_order),
        "share_flagged_before_first_order": len(before_order) / len(confirmed)
        if confirmed
        else None,
        "listings_ever_flagged": len(first_flag),
        "median_days_to_flag": statistics.median(days) if days else None,
        "flags_decided": len(flags_decided),
        "flags_confirmed": len(flags_confirmed),
        "past_flag_precision": len(flags_confirmed) / len(flags_decided) if flags_decided else None,
        "estimated_prevalence": sum(s[2] for s in tonight) / len(tonight),
    }


def test_kpis_of_the_last_night_have_the_known_answer(spark: SparkSession) -> None:
    frames = _frames(spark)
    expected = spark.createDataFrame(
        [
            (
                LAST,
                6,  # listings scored tonight
                2,  # e and f flagged tonight
                4,  # a, b, c, h confirmed by the night (e's and i's verdicts come later)
                3,  # a, b, h were flagged (c never)
                1,  # a: flagged on the 3rd, notice on the 4th; b and h flagged on their day
                0.25,
                2,  # b (no order yet) and h (flagged the 3rd, first order the 4th); a sold first
                0.5,
                7,  # a b d e f h i (g's flag is of a later night)
                1.0,  # days to flag 0 0 1 1 2 2 4
                4,  # a b d h decided (d rejected)
                3,
                0.75,
                0.5,  # mean score of tonight's listings
            )
        ],
        "score_date date, listings_scored long, flagged long, confirmed_listings long, "
        "confirmed_flagged long, flagged_before_notice long, share_flagged_before_notice double, "
        "flagged_before_first_order long, share_flagged_before_first_order double, "
        "listings_ever_flagged long, median_days_to_flag double, flags_decided long, "
        "flags_confirmed long, past_flag_precision double, estimated_prevalence double",
    )
    assertDataFrameEqual(_kpis(frames, LAST), expected)


@pytest.mark.parametrize("night", NIGHTS)
def test_kpis_match_an_independent_recomputation_without_look_ahead(
    spark: SparkSession, night: date
) -> None:
    row = _kpis(_frames(spark), night).collect()
    assert len(row) == 1
    found, expected = row[0].asDict(), _by_hand(night)
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value), key


def test_a_night_with_no_verdict_yet_has_no_shares(spark: SparkSession) -> None:
    frames = _frames(spark)
    row = _kpis(frames, NIGHTS[0] - timedelta(days=1)).first()
    assert row is not None
    assert (row["listings_scored"], row["confirmed_listings"], row["flags_decided"]) == (0, 0, 0)
    assert row["share_flagged_before_notice"] is None and row["past_flag_precision"] is None
