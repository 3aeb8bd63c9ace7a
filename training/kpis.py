"""Proactive KPIs of one night: is the radar finding fakes before brands and buyers do?

Public anchors: one large marketplace reports that 96% of its proactive removals happen before a
single sale; another that over 99% of suspected infringing listings are blocked before a brand
reports them. These figures say the same of this project, night after night, from what was known
by the night only (no look-ahead: a re-run of a past night after later nights gives the same row).

Pure DataFrame functions; jobs/score.py reads the tables and writes gold.daily_kpis. Every input
is reduced per listing (first flag, first notice, first order) before it is joined, and the
result is one row.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.verdicts import end_of, verdicts_known


def first_flags(flags: DataFrame, night: date) -> DataFrame:
    """(listing_id, first_flag_date): the first night each listing was flagged, up to the night.
    `flags`: rows of gold.listing_scores (listing_id, score_date, flagged)."""
    return (
        flags.where(F.col("flagged") & (F.col("score_date") <= F.lit(night)))
        .groupBy("listing_id")
        .agg(F.min("score_date").alias("first_flag_date"))
    )


def confirmed_listings(notices: DataFrame, night: date) -> DataFrame:
    """(listing_id, first_notice_date, confirmed, decided): every listing a brand reported by the
    night, with the day of its first notice; `confirmed` when a notice's latest verdict known by
    the night is confirmed, `decided` when one is confirmed or rejected."""
    verdicts = verdicts_known(notices, night)
    return verdicts.groupBy("listing_id").agg(
        F.to_date(F.min("received_at")).alias("first_notice_date"),
        F.max((F.col("verdict") == "confirmed").cast("int")).cast("boolean").alias("confirmed"),
        F.max(F.col("verdict").isin("confirmed", "rejected").cast("int"))
        .cast("boolean")
        .alias("decided"),
    )


def first_orders(orders: DataFrame, night: date) -> DataFrame:
    """(listing_id, first_order_date) of the orders placed by the end of the night."""
    return (
        orders.where(F.col("ordered_at") < end_of(night))
        .groupBy("listing_id")
        .agg(F.to_date(F.min("ordered_at")).alias("first_order_date"))
    )


def daily_kpis(
    scores: DataFrame,
    flags: DataFrame,
    notices: DataFrame,
    orders: DataFrame,
    listings: DataFrame,
    *,
    night: date,
) -> DataFrame:
    """The gold.daily_kpis row of the night (README "Proactive KPIs" defines each column).

    - `scores`: gold.listing_scores of the night (listing_id, score, flagged);
    - `flags`: gold.listing_scores of every night so far (listing_id, score_date, flagged);
    - `notices`: bronze.takedown_notices ingested by the night (their verdicts are taken as known
      by the night, features.verdicts);
    - `orders`: bronze.orders ingested by the night (listing_id, ordered_at);
    - `listings`: (listing_id, created_at) of the listings, e.g. silver.listings_current.

    A flag on night X precedes a notice or an order only if that arrived on a later day: the
    night's scores were computed from the day's data, so a notice received on day X may have
    been seen by them.
    """
    first = first_flags(flags, night)
    reported = confirmed_listings(notices, night)
    confirmed = (
        reported.where("confirmed")
        .join(first, "listing_id", "left")
        .join(first_orders(orders, night), "listing_id", "left")
    )
    flagged_first = F.col("first_flag_date").isNotNull()
    confirmed_row = confirmed.agg(
        F.count(F.lit(1)).cast("long").alias("confirmed_listings"),
        F.count(F.when(flagged_first, 1)).cast("long").alias("confirmed_flagged"),
        F.count(F.when(F.col("first_flag_date") < F.col("first_notice_date"), 1))
        .cast("long")
        .alias("flagged_before_notice"),
        F.count(
            F.when(
                flagged_first
                & (
                    F.col("first_order_date").isNull()
                    | (F.col("first_flag_date") < F.col("first_order_date"))
                ),
                1,
            )
        )
        .cast("long")
        .alias("flagged_before_first_order"),
    )
    created = listings.select("listing_id", F.to_date("created_at").alias("created_date"))
    ever = first.join(created, "listing_id", "left").join(
        reported.select("listing_id", "confirmed", "decided"), "listing_id", "left"
    )
    flags_row = ever.agg(
        F.count(F.lit(1)).cast("long").alias("listings_ever_flagged"),
        F.median(F.datediff("first_flag_date", "created_date").cast("double")).alias(
            "median_days_to_flag"
        ),
        F.count(F.when(F.col("decided"), 1)).cast("long").alias("flags_decided"),
        F.count(F.when(F.col("decided") & F.col("confirmed"), 1))
        .cast("long")
        .alias("flags_confirmed"),
    )
    tonight = scores.agg(
        F.count(F.lit(1)).cast("long").alias("listings_scored"),
        F.count(F.when(F.col("flagged"), 1)).cast("long").alias("flagged"),
        F.avg("score").alias("estimated_prevalence"),
    )

    def share(part: str, whole: str) -> Column:
        return F.when(F.col(whole) > 0, F.col(part) / F.col(whole))

    return (
        tonight.crossJoin(confirmed_row)
        .crossJoin(flags_row)
        .select(
            F.lit(night).alias("score_date"),
            "listings_scored",
            "flagged",
            "confirmed_listings",
            "confirmed_flagged",
            "flagged_before_notice",
            share("flagged_before_notice", "confirmed_listings").alias(
                "share_flagged_before_notice"
            ),
            "flagged_before_first_order",
            share("flagged_before_first_order", "confirmed_listings").alias(
                "share_flagged_before_first_order"
            ),
            "listings_ever_flagged",
            "median_days_to_flag",
            "flags_decided",
            "flags_confirmed",
            share("flags_confirmed", "flags_decided").alias("past_flag_precision"),
            "estimated_prevalence",
        )
    )
