"""Upstream sources: where the goods of several rings come from, and where their money goes.

Network source-tracing follows the fakes upstream: parcels of different rings handed over at one
origin, money of different rings settled to one payee account, one product photo used by several
rings, point at a common workshop or supplier. A source is a lead when it joins at least
`min_rings` rings or `min_confirmed_sellers` sellers with a confirmed takedown, once hubs are
left out (a marketplace's own fulfilment centres and escrow payees are shared by hundreds of
honest sellers: linkage keeps them in graph.hub_identifiers, and they are no source).

Pure DataFrame functions; jobs/score.py reads the tables and writes gold.source_leads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

SOURCE_TYPES = ("ship_origin", "payee", "image")
SOURCE_REF_TYPE = "array<struct<source_type:string,source:string>>"


def source_leads(
    identifiers: DataFrame,
    hubs: DataFrame,
    clusters: DataFrame,
    takedowns: DataFrame,
    seller_risk: DataFrame,
    listing_scores: DataFrame,
    *,
    min_rings: int,
    min_confirmed_sellers: int,
    night: date,
    types: Sequence[str] = SOURCE_TYPES,
) -> DataFrame:
    """One row per source of the night (source_type, source, rings, sellers, listings, brands,
    confirmed takedowns, first and last seen, risk, source_rank).

    - `identifiers`: silver.seller_identifiers within the linkage window (seller_id,
      identifier_type, identifier, first_seen, last_seen); `hubs`: graph.hub_identifiers of the
      night (identifier_type, identifier);
    - `clusters`: (seller_id, ring_id) of the night; `takedowns`: (seller_id,
      confirmed_takedowns) known by the night (features.sellers.takedown_history);
    - `seller_risk`, `listing_scores`: gold.seller_risk and gold.listing_scores of the night.

    `source` is the identifier as received: a payee digest, a photo's perceptual hash, an origin's
    region or warehouse code (no person's identifier). risk = the mean risk of its scored sellers:
    an origin two rings share with many honest sellers ranks below one only rings use."""
    used = (
        identifiers.where(F.col("identifier_type").isin(*types))
        .join(
            hubs.select("identifier_type", "identifier"),
            ["identifier_type", "identifier"],
            "left_anti",
        )
        .select(
            "seller_id",
            F.col("identifier_type").alias("source_type"),
            F.col("identifier").alias("source"),
            "first_seen",
            "last_seen",
        )
    )
    per_seller = listing_scores.groupBy("seller_id").agg(
        F.count(F.lit(1)).cast("int").alias("_listings"),
        F.sum(F.col("flagged").cast("int")).cast("int").alias("_flagged"),
        F.collect_set(F.when(F.col("flagged"), F.col("brand"))).alias("_brands"),
    )
    confirmed = F.coalesce(F.col("confirmed_takedowns"), F.lit(0))
    sellers = (
        used.join(clusters.select("seller_id", "ring_id"), "seller_id", "left")
        .join(takedowns.select("seller_id", "confirmed_takedowns"), "seller_id", "left")
        .join(seller_risk.select("seller_id", "risk"), "seller_id", "left")
        .join(per_seller, "seller_id", "left")
    )
    leads = (
        sellers.groupBy("source_type", "source")
        .agg(
            F.sort_array(F.collect_set("ring_id")).alias("rings"),
            F.sort_array(F.collect_set("seller_id")).alias("seller_ids"),
            F.countDistinct("seller_id").cast("int").alias("sellers"),
            F.sum((confirmed > 0).cast("int")).cast("int").alias("confirmed_sellers"),
            F.sum(confirmed).cast("int").alias("confirmed_takedowns"),
            F.sum(F.coalesce("_listings", F.lit(0))).cast("int").alias("listings"),
            F.sum(F.coalesce("_flagged", F.lit(0))).cast("int").alias("flagged_listings"),
            F.sort_array(
                F.array_distinct(
                    F.flatten(
                        F.collect_list(F.coalesce("_brands", F.array().cast("array<string>")))
                    )
                )
            ).alias("brands"),
            F.min("first_seen").alias("first_seen"),
            F.max("last_seen").alias("last_seen"),
            F.avg("risk").alias("risk"),
        )
        .where(
            (F.size("rings") >= min_rings) | (F.col("confirmed_sellers") >= min_confirmed_sellers)
        )
        .withColumn("score_date", F.lit(night))
    )
    order = Window.partitionBy("score_date").orderBy(
        F.desc_nulls_last("risk"), "source_type", "source"
    )
    return leads.withColumn("source_rank", F.row_number().over(order).cast("int")).select(
        "source_type",
        "source",
        "score_date",
        "source_rank",
        "risk",
        F.size("rings").cast("int").alias("ring_count"),
        "rings",
        "sellers",
        "seller_ids",
        "confirmed_sellers",
        "confirmed_takedowns",
        "listings",
        "flagged_listings",
        "brands",
        "first_seen",
        "last_seen",
    )


def ring_sources(sources: DataFrame) -> DataFrame:
    """(ring_id, sources): the source leads each ring draws on, as (source_type, source)."""
    return (
        sources.select("source_type", "source", F.explode("rings").alias("ring_id"))
        .groupBy("ring_id")
        .agg(F.sort_array(F.collect_list(F.struct("source_type", "source"))).alias("sources"))
    )


def with_sources(leads: DataFrame, sources: DataFrame) -> DataFrame:
    """`leads` with `sources`: the source leads the ring draws on (empty when none)."""
    return leads.join(ring_sources(sources), "ring_id", "left").withColumn(
        "sources", F.coalesce("sources", F.array().cast(SOURCE_REF_TYPE))
    )
