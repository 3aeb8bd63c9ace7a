"""Data-quality drift: a night's metrics, judged against the nights before it and never after."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from data_contracts.drift import DriftParams, anomalies, table_metrics, volume_stops
from data_contracts.schemas import INGEST_DATE
from jobs.ingest import TableResult, VolumeDrift, _check_drift
from jobs.runtime.conf import Conf
from jobs.runtime.context import JobContext

NIGHT = date(2026, 11, 20)
PARAMS = DriftParams(
    window_nights=14,
    min_nights=5,
    warn_mads=5.0,
    min_relative_change=0.1,
    min_absolute_change=0.01,
    stop_volume_ratio=5.0,
)


def test_table_metrics_counts_rows_keys_and_null_shares_in_one_pass(spark: SparkSession) -> None:
    bronze = spark.createDataFrame(
        [("l1", "a", 1.0), ("l1", None, 2.0), ("l2", "b", None), ("l3", None, 4.0)],
        "listing_id string, title string, price double",
    ).withColumn("_ingest_date", F.lit(NIGHT))
    metrics = table_metrics(
        "listings", NIGHT, bronze, keys=["listing_id"], rows_read=5, rows_quarantined=1
    )
    expected = [
        ("rows", None, 5.0),
        ("quarantine_share", None, 0.2),
        ("distinct_keys", None, 3.0),
        ("null_share", "listing_id", 0.0),
        ("null_share", "title", 0.5),
        ("null_share", "price", 0.25),
    ]
    assertDataFrameEqual(
        metrics,
        [
            Row(metric_date=NIGHT, table_name="listings", metric=m, column_name=c, value=v)
            for m, c, v in expected
        ],
    )


def _history(spark: SparkSession, rows: list[tuple[str, str, str | None, int, float]]) -> DataFrame:
    return spark.createDataFrame(
        [(NIGHT + timedelta(days=offset), t, m, c, v) for t, m, c, offset, v in rows],
        "metric_date date, table_name string, metric string, column_name string, value double",
    )


# Six nights of listings volume: median 1000, absolute deviations 0,10,10,0,20,20 -> MAD 10.
# The band is median +- max(5 * 10, 10% of 1000, 0.01) = [900, 1100].
_VOLUMES = [1000.0, 1010.0, 990.0, 1000.0, 1020.0, 980.0]


def _volume_history(table: str, tonight: float) -> list[tuple[str, str, str | None, int, float]]:
    past = [(table, "rows", None, -6 + i, v) for i, v in enumerate(_VOLUMES)]
    return [*past, (table, "rows", None, 0, tonight)]


def test_a_volume_ten_times_the_median_stops_and_a_small_stray_warns(spark: SparkSession) -> None:
    rows = [
        *_volume_history("listings", 10_000.0),
        *_volume_history("orders", 1_150.0),
        *_volume_history("reviews", 1_050.0),
        # A later night (a past night re-run after it) must not move tonight's band.
        ("reviews", "rows", None, 1, 1_000_000.0),
        # Three nights of history only: no judgement yet.
        ("sellers", "rows", None, -2, 50.0),
        ("sellers", "rows", None, -1, 50.0),
        ("sellers", "rows", None, -3, 50.0),
        ("sellers", "rows", None, 0, 5_000.0),
        # A column that was never null: a share of 0.005 is noise, 0.3 is drift.
        *[("orders", "null_share", "buyer_id", -6 + i, 0.0) for i in range(6)],
        ("orders", "null_share", "buyer_id", 0, 0.3),
        *[("reviews", "null_share", "text", -6 + i, 0.0) for i in range(6)],
        ("reviews", "null_share", "text", 0, 0.005),
        # Outside the window (14 nights): ignored.
        ("reviews", "null_share", "text", -20, 0.9),
    ]
    judged = anomalies(_history(spark, rows), NIGHT, PARAMS)
    assertDataFrameEqual(
        judged.select(
            "table_name",
            "metric",
            "column_name",
            "median",
            "mad",
            "history_nights",
            "low",
            "high",
            "status",
        ),
        [
            Row("listings", "rows", None, 1000.0, 10.0, 6, 900.0, 1100.0, "stop"),
            Row("orders", "rows", None, 1000.0, 10.0, 6, 900.0, 1100.0, "warn"),
            Row("reviews", "rows", None, 1000.0, 10.0, 6, 900.0, 1100.0, "ok"),
            Row("sellers", "rows", None, 50.0, 0.0, 3, 45.0, 55.0, "new"),
            Row("orders", "null_share", "buyer_id", 0.0, 0.0, 6, -0.01, 0.01, "warn"),
            Row("reviews", "null_share", "text", 0.0, 0.0, 6, -0.01, 0.01, "ok"),
        ],
    )
    assert volume_stops(judged) == [
        "listings: 10,000 rows read, 10.0x the median 1,000 of the last 6 nights"
    ]


def test_a_volume_collapse_stops_too_and_a_zero_ratio_never_stops(spark: SparkSession) -> None:
    history = _history(spark, _volume_history("listings", 150.0))
    assert [r.status for r in anomalies(history, NIGHT, PARAMS).collect()] == ["stop"]
    never = dataclasses.replace(PARAMS, stop_volume_ratio=0.0)
    assert [r.status for r in anomalies(history, NIGHT, never).collect()] == ["warn"]


def test_a_night_with_ten_times_the_listings_stops_with_one_line_and_keeps_its_metrics(
    spark: SparkSession, conf: Conf
) -> None:
    ctx = JobContext(conf)
    lake = ctx.lakehouse
    week = [NIGHT - timedelta(days=d) for d in range(6, 0, -1)]
    lake.replace_date(
        "ops.table_metrics",
        _history(spark, [("listings", "rows", None, (day - NIGHT).days, 4.0) for day in week]),
        date_column="metric_date",
        day=week[0],
    )
    for day in week[1:]:
        lake.replace_date(
            "ops.table_metrics",
            _history(spark, [("listings", "rows", None, (day - NIGHT).days, 4.0)]),
            date_column="metric_date",
            day=day,
        )
    bronze = spark.range(40).selectExpr(
        "concat('l', id) AS listing_id", f"DATE'{NIGHT}' AS {INGEST_DATE}"
    )
    lake.replace_date("bronze.listings", bronze, date_column=INGEST_DATE, day=NIGHT)
    tonight = TableResult("listings", 40, 40, 0, [], 0.0)

    with pytest.raises(VolumeDrift) as stopped:
        _check_drift(ctx, NIGHT, [tonight])

    assert str(stopped.value) == (
        "listings: 40 rows read, 10.0x the median 4 of the last 6 nights "
        "(ingest.drift.stop_volume_ratio 5; bronze keeps the rows, nothing downstream ran)"
    )
    kept = lake.read("ops.table_metrics").where(F.col("metric_date") == F.lit(NIGHT))
    assertDataFrameEqual(
        kept.select("metric", "column_name", "value", "status"),
        [
            Row("rows", None, 40.0, "stop"),
            Row("quarantine_share", None, 0.0, "new"),
            Row("distinct_keys", None, 40.0, "new"),  # HyperLogLog++: exact this small
            Row("null_share", "listing_id", 0.0, "new"),
        ],
    )
