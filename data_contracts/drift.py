"""Data-quality drift: a night's table metrics, and whether they stray from the nights before.

A contract checks each row; drift is what no single row shows: a feed that delivers ten times its
usual volume (a duplicated export), half of it (a partial one), or a column that quietly turns
null. Each night every raw table gets a few metrics (`table_metrics`), kept in `ops.table_metrics`;
each metric is compared with its own recent past (`anomalies`), the way Deequ's anomaly detection
does: a value outside median +- k * MAD of the last nights is a warning, and a volume beyond a
ratio of the median stops the night before anything downstream reads it.

The median absolute deviation is robust to the odd bad night in the window (a mean and standard
deviation would be dragged by it), and it needs no distribution. A history with no spread at all
(MAD 0: the same row count every night) would make any change an anomaly, so a change must also
exceed a floor, relative to the median and absolute, before it warns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

METRICS_COLUMNS = ("metric_date", "table_name", "metric", "column_name", "value")

# approx_count_distinct's relative standard deviation: a distinct-key count to 1% costs one pass
# with bounded memory, where an exact one would shuffle every key of the night.
DISTINCT_RSD = 0.01


@dataclass(frozen=True)
class DriftParams:
    """The `quality` conf section: how far back to look and how far a metric may stray."""

    window_nights: int = 14  # the nights before tonight each metric is compared with
    min_nights: int = 5  # fewer nights of history than this: no judgement yet
    warn_mads: float = 5.0  # k: outside median +- k * MAD warns
    min_relative_change: float = 0.1  # ... and only if the change exceeds this share of the median
    min_absolute_change: float = 0.01  # ... and this much in absolute terms (shares are 0..1)
    stop_volume_ratio: float = (
        5.0  # rows above ratio x median, or below median / ratio, stop; 0 = never
    )


def table_metrics(
    table: str,
    night: date,
    bronze: DataFrame,
    *,
    keys: Sequence[str],
    rows_read: int,
    rows_quarantined: int,
) -> DataFrame:
    """One night's metrics of one raw table, in long form (one row per metric and column).

    `bronze` is the night's valid rows; `rows_read` and `rows_quarantined` come from the ingest's
    reconciliation. Metrics: `rows` (read), `quarantine_share`, `distinct_keys` (approximate),
    and `null_share` per column of the contract (`column_name` names it; null otherwise). All of
    them are computed in one aggregate pass over `bronze`."""
    columns = [c for c in bronze.columns if not c.startswith("_")]
    counted = bronze.agg(
        F.count(F.lit(1)).alias("_valid"),
        F.approx_count_distinct(F.struct(*keys), DISTINCT_RSD).alias("_keys"),
        *[F.count(F.col(c)).alias(f"_nonnull_{i}") for i, c in enumerate(columns)],
    )
    valid = F.col("_valid")
    null_shares = [
        F.struct(
            F.lit("null_share").alias("metric"),
            F.lit(c).alias("column_name"),
            F.when(valid > 0, 1 - F.col(f"_nonnull_{i}") / valid).otherwise(0.0).alias("value"),
        )
        for i, c in enumerate(columns)
    ]
    share = rows_quarantined / rows_read if rows_read else 0.0
    table_wide = [
        _metric("rows", F.lit(float(rows_read))),
        _metric("quarantine_share", F.lit(float(share))),
        _metric("distinct_keys", F.col("_keys").cast("double")),
    ]
    return counted.select(F.explode(F.array(*table_wide, *null_shares)).alias("m")).select(
        F.lit(night).alias("metric_date"),
        F.lit(table).alias("table_name"),
        "m.metric",
        "m.column_name",
        "m.value",
    )


def _metric(name: str, value: Column) -> Column:
    return F.struct(
        F.lit(name).alias("metric"),
        F.lit(None).cast("string").alias("column_name"),
        value.cast("double").alias("value"),
    )


def anomalies(metrics: DataFrame, night: date, params: DriftParams) -> DataFrame:
    """Tonight's metrics judged against the same metric over the nights before (never after).

    `metrics` holds `ops.table_metrics` rows of tonight and of earlier nights (later nights, if a
    past night is re-run, are ignored). One row per metric of tonight with `median`, `mad`,
    `history_nights`, `low`, `high` (the band) and `status`: `ok`, `warn` (outside the band),
    `stop` (the row count beyond `stop_volume_ratio` of the median) or `new` (too little history).
    """
    key = ["table_name", "metric", "column_name"]
    earliest = F.date_sub(F.lit(night), params.window_nights)
    past = metrics.where((F.col("metric_date") < F.lit(night)) & (F.col("metric_date") >= earliest))
    centre = past.groupBy(*key).agg(
        F.median("value").alias("median"), F.count(F.lit(1)).alias("history_nights")
    )
    spread = (
        _join_on_key(past, centre, key)
        .groupBy(*key)
        .agg(F.median(F.abs(F.col("value") - F.col("median"))).alias("mad"))
    )
    tonight = metrics.where(F.col("metric_date") == F.lit(night))
    judged = _join_on_key(_join_on_key(tonight, centre, key), spread, key)
    tolerance = F.greatest(
        F.lit(params.warn_mads) * F.col("mad"),
        F.lit(params.min_relative_change) * F.abs(F.col("median")),
        F.lit(params.min_absolute_change),
    )
    ratio = params.stop_volume_ratio
    stops = (
        (F.col("metric") == "rows")
        & F.lit(ratio > 0)
        & (
            (F.col("value") > F.lit(ratio) * F.col("median"))
            | (F.col("value") * F.lit(ratio) < F.col("median"))
        )
    )
    outside = (F.col("value") < F.col("low")) | (F.col("value") > F.col("high"))
    return (
        judged.withColumn("history_nights", F.coalesce(F.col("history_nights"), F.lit(0)))
        .withColumn("low", F.col("median") - tolerance)
        .withColumn("high", F.col("median") + tolerance)
        .withColumn(
            "status",
            F.when(F.col("history_nights") < params.min_nights, "new")
            .when(stops, "stop")
            .when(outside, "warn")
            .otherwise("ok"),
        )
        .select(*METRICS_COLUMNS, "median", "mad", "history_nights", "low", "high", "status")
    )


def _join_on_key(left: DataFrame, right: DataFrame, key: list[str]) -> DataFrame:
    """Left join on `key` where a null column_name (a table-wide metric) matches null; the
    right side's key columns are dropped, so the result has the left's columns and the right's
    others."""
    on = [left[c].eqNullSafe(right[c]) for c in key]
    return left.join(right, on, "left").select(
        left["*"], *[right[c] for c in right.columns if c not in key]
    )


def volume_stops(judged: DataFrame) -> list[str]:
    """One line per table whose volume stops the night (the judged frame is a few rows a table)."""
    rows = judged.where(F.col("status") == "stop").orderBy("table_name").collect()
    return [
        f"{r.table_name}: {r.value:,.0f} rows read, {r.value / r.median:.1f}x the median "
        f"{r.median:,.0f} of the last {r.history_nights} nights"
        for r in rows
    ]
