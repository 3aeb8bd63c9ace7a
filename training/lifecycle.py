"""A ring lead's life across nights: new, growing, shrinking, merged, split, dormant, re-emerged.

Counterfeiters play whack-a-mole: when a brand has an account taken down, the operator opens
another one and carries on. What an investigator wants from tonight's leads is therefore what
changed: which rings are new, which gained accounts, which came back, and which accounts were
opened after the ring's first confirmed takedown (the moles). All of it comes from the ring
lineage linkage wrote (graph.ring_lineage, features/account_links.py) and from state carried
from the previous night (its clusters and its leads), so a night costs one join with the night
before, not a scan of every past night.

Pure DataFrame functions; jobs/score.py reads the tables and writes gold.ring_leads.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.verdicts import verdicts_known

STATUSES = ("new", "merged", "split", "dormant", "re-emerged", "growing", "shrinking", "steady")


def _empty() -> Column:
    return F.array().cast("array<string>")


def ring_status(
    leads: DataFrame,
    lineage: DataFrame,
    clusters: DataFrame,
    previous_clusters: DataFrame | None,
    previous_leads: DataFrame | None,
) -> DataFrame:
    """`leads` (ring_id, ring_size, scored_members, ...) with status, previous_ring_ids,
    new_members, first_night and nights_active.

    - `lineage`: graph.ring_lineage of the night (ring_id, previous_ring_id, merge, split, event);
    - `clusters`: (seller_id, ring_id, ring_first_night) of the night;
    - `previous_clusters`: (seller_id, ring_id) of the previous linkage night, or None;
    - `previous_leads`: (ring_id, status, nights_active) of the previous night's leads, or None.

    The first status that holds, in this order: `new` (no member was in a ring last night),
    `merged` (it draws on two or more of last night's rings), `split` (last night's ring now
    lies in two or more rings), `dormant` (no member has a live listing tonight), `re-emerged`
    (live listings again after a dormant night), `growing` (accounts joined and none were lost
    on balance), `shrinking` (fewer members than last night), `steady`.
    `new_members`: tonight's members that were not in this ring last night (in another ring, or
    in none). `nights_active`: nights the ring had live listings, carried from the previous
    night's lead of the ring or of the rings it came from (a merge takes its longest part's)."""
    per_ring = lineage.groupBy("ring_id").agg(
        F.max((F.col("event") == "new").cast("int")).cast("boolean").alias("_new"),
        F.max(F.col("merge").cast("int")).cast("boolean").alias("_merged"),
        F.max(F.col("split").cast("int")).cast("boolean").alias("_split"),
        F.sort_array(F.collect_set("previous_ring_id")).alias("previous_ring_ids"),
    )
    members = clusters.select("seller_id", "ring_id")
    first_nights = clusters.groupBy("ring_id").agg(F.min("ring_first_night").alias("first_night"))
    if previous_clusters is None:
        before = members.select("seller_id", F.lit(None).cast("string").alias("_before"))
        previous_size = members.select(
            "ring_id", F.lit(None).cast("long").alias("_previous_size")
        ).distinct()
    else:
        before = previous_clusters.select("seller_id", F.col("ring_id").alias("_before"))
        previous_size = previous_clusters.groupBy("ring_id").agg(
            F.count(F.lit(1)).alias("_previous_size")
        )
    joined = (
        members.join(before, "seller_id", "left")
        .where(F.col("_before").isNull() | (F.col("_before") != F.col("ring_id")))
        .groupBy("ring_id")
        .agg(F.sort_array(F.collect_list("seller_id")).alias("new_members"))
    )
    if previous_leads is None:
        carried = per_ring.select(
            "ring_id",
            F.lit(None).cast("string").alias("_previous_status"),
            F.lit(None).cast("int").alias("_previous_nights"),
        )
    else:
        last = previous_leads.select(
            F.col("ring_id").alias("_from"), F.col("status").alias("_status"), "nights_active"
        )
        sources = per_ring.select(
            "ring_id",
            F.explode(F.array_union(F.array("ring_id"), "previous_ring_ids")).alias("_from"),
        )
        carried = (
            sources.join(last, "_from")
            .groupBy("ring_id")
            .agg(
                F.max(F.when(F.col("_from") == F.col("ring_id"), F.col("_status"))).alias(
                    "_previous_status"
                ),
                F.max("nights_active").cast("int").alias("_previous_nights"),
            )
        )
    dormant = F.coalesce(F.col("scored_members"), F.lit(0)) == 0
    new_members = F.coalesce(F.col("new_members"), _empty())
    size, previous = F.col("ring_size"), F.col("_previous_size")
    status = (
        F.when(F.coalesce(F.col("_new"), F.lit(True)), F.lit("new"))
        .when(F.col("_merged"), F.lit("merged"))
        .when(F.col("_split"), F.lit("split"))
        .when(dormant, F.lit("dormant"))
        .when(F.col("_previous_status") == "dormant", F.lit("re-emerged"))
        .when((F.size(new_members) > 0) & (size >= previous), F.lit("growing"))
        .when(size < previous, F.lit("shrinking"))
        .otherwise(F.lit("steady"))
    )
    return (
        leads.join(per_ring, "ring_id", "left")
        .join(joined, "ring_id", "left")
        .join(previous_size, "ring_id", "left")
        .join(carried, "ring_id", "left")
        .join(first_nights, "ring_id", "left")
        .withColumn("status", status)
        .withColumn(
            "nights_active",
            (
                F.coalesce(F.col("_previous_nights"), F.lit(0))
                + F.when(dormant, F.lit(0)).otherwise(F.lit(1))
            ).cast("int"),
        )
        .withColumn("previous_ring_ids", F.coalesce("previous_ring_ids", _empty()))
        .withColumn("new_members", new_members)
        .drop("_new", "_merged", "_split", "_previous_size", "_previous_status", "_previous_nights")
    )


def whack_a_mole(
    leads: DataFrame,
    clusters: DataFrame,
    notices: DataFrame,
    registrations: DataFrame,
    listing_scores: DataFrame,
    *,
    night: date,
) -> DataFrame:
    """`leads` with first_takedown_at, accounts_after_takedown and listings_after_takedown: the
    ring's first confirmed takedown known by the night (the earliest verdict over its members
    tonight), the members registered after it, and their listings scored tonight.

    - `clusters`: (seller_id, ring_id) of the night; `notices`: bronze.takedown_notices ingested
      by the night; `registrations`: (seller_id, registered_at), e.g. silver.sellers_current;
      `listing_scores`: gold.listing_scores of the night (listing_id, seller_id)."""
    members = clusters.where(F.col("ring_id").isNotNull()).select("seller_id", "ring_id")
    confirmed = (
        verdicts_known(notices, night)
        .where(F.col("verdict") == "confirmed")
        .groupBy("seller_id")
        .agg(F.min("verdict_at").alias("_first_takedown"))
    )
    first = (
        members.join(confirmed, "seller_id")
        .groupBy("ring_id")
        .agg(F.min("_first_takedown").alias("first_takedown_at"))
    )
    moles = (
        members.join(first, "ring_id")
        .join(registrations.select("seller_id", "registered_at"), "seller_id")
        .where(F.col("registered_at") > F.col("first_takedown_at"))
        .select("seller_id", "ring_id")
    )
    accounts = moles.groupBy("ring_id").agg(
        F.sort_array(F.collect_list("seller_id")).alias("accounts_after_takedown")
    )
    listings = (
        moles.join(listing_scores.select("listing_id", "seller_id"), "seller_id")
        .groupBy("ring_id")
        .agg(F.sort_array(F.collect_list("listing_id")).alias("listings_after_takedown"))
    )
    return (
        leads.join(first, "ring_id", "left")
        .join(accounts, "ring_id", "left")
        .join(listings, "ring_id", "left")
        .withColumn("accounts_after_takedown", F.coalesce("accounts_after_takedown", _empty()))
        .withColumn("listings_after_takedown", F.coalesce("listings_after_takedown", _empty()))
    )
