"""Takedown verdicts as they were known on a given night: the only labels, never from the future."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def end_of(night: date) -> Column:
    """The first instant after the night: everything known on the night happened before it."""
    return F.lit(datetime.combine(night + timedelta(days=1), time.min))


def verdicts_known(notices: DataFrame, night: date) -> DataFrame:
    """One row per notice received by the night: its latest verdict known by then (the latest
    `verdict_at` wins; a notice with no verdict yet is pending)."""
    known = notices.where(F.col("received_at") < end_of(night)).where(
        F.col("verdict_at").isNull() | (F.col("verdict_at") < end_of(night))
    )
    latest = Window.partitionBy("notice_id").orderBy(
        F.col("verdict_at").desc_nulls_last(), F.col("_ingest_date").desc()
    )
    return known.withColumn("_r", F.row_number().over(latest)).where("_r = 1").drop("_r")


def confirmed_sellers(notices: DataFrame, night: date) -> DataFrame:
    """Sellers with at least one confirmed takedown known by the night."""
    return (
        verdicts_known(notices, night)
        .where(F.col("verdict") == "confirmed")
        .select("seller_id")
        .distinct()
    )
