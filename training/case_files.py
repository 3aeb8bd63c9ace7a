"""Case files for brands: each brand's flagged listings of the night, with what to act on.

A brand-protection team works its own brand: the export holds its flagged listings with the
reasons, the ring and the ring's status, and the upstream sources the ring draws on, as flat
text columns so that the CSV opens in a spreadsheet. jobs/report.py writes one Parquet and one
CSV file per brand under reports/<night>/brands/. The rows are the night's flags, so their number
is bounded by the review budget (scoring.flag_budget).

And the rows of a ring's case page (jobs/report.py renders reports/<night>/rings/<ring>.html for
the first scoring.case_pages leads): its members with their risk, its timeline across nights,
its riskiest listings; every one bounded per ring.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def brand_cases(listing_scores: DataFrame, leads: DataFrame) -> DataFrame:
    """(brand, listing_id, seller_id, score, reasons, ring_id, ring_status, ring_risk,
    ring_sources) for the night's flagged listings, riskiest first within each brand.
    `listing_scores`, `leads`: gold.listing_scores and gold.ring_leads of the night."""
    rings = leads.select(
        "ring_id",
        F.col("status").alias("ring_status"),
        F.col("risk").alias("ring_risk"),
        F.concat_ws(
            "; ",
            F.transform("sources", lambda s: F.concat_ws(":", s["source_type"], s["source"])),
        ).alias("ring_sources"),
    )
    return (
        listing_scores.where("flagged")
        .join(rings, "ring_id", "left")
        .select(
            F.coalesce("brand", F.lit("(no brand)")).alias("brand"),
            "listing_id",
            "seller_id",
            "score",
            F.concat_ws("; ", "reasons").alias("reasons"),
            "ring_id",
            "ring_status",
            "ring_risk",
            F.coalesce("ring_sources", F.lit("")).alias("ring_sources"),
        )
        .orderBy("brand", F.desc("score"), "listing_id")
    )


def file_name(brand: str) -> str:
    """A brand's name as a file name: letters, digits, '-' and '_' kept, anything else '_'."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in brand) or "_"


# --- Ring case pages: what an investigator needs to act on one ring lead ------------------------


def case_leads(leads: DataFrame, *, pages: int) -> DataFrame:
    """The night's ring leads that get a case page: the first `pages` by lead_rank."""
    return leads.where(F.col("lead_rank") <= pages)


def ring_members(leads: DataFrame, seller_risk: DataFrame) -> DataFrame:
    """(ring_id, seller_id, risk, listings, flagged_listings, joined_tonight,
    opened_after_takedown) for every member of `leads` (case_leads of gold.ring_leads), riskiest
    first within a ring; `seller_risk`: gold.seller_risk of the night (a member with no live
    listing has null risk and 0 listings)."""
    members = leads.select(
        "ring_id",
        F.explode("member_sellers").alias("seller_id"),
        F.coalesce("new_members", F.array()).alias("_new"),
        F.coalesce("accounts_after_takedown", F.array()).alias("_after"),
    )
    return (
        members.join(
            seller_risk.select("seller_id", "risk", "listings", "flagged_listings"),
            "seller_id",
            "left",
        )
        .select(
            "ring_id",
            "seller_id",
            "risk",
            F.coalesce("listings", F.lit(0)).alias("listings"),
            F.coalesce("flagged_listings", F.lit(0)).alias("flagged_listings"),
            F.array_contains("_new", F.col("seller_id")).alias("joined_tonight"),
            F.array_contains("_after", F.col("seller_id")).alias("opened_after_takedown"),
        )
        .orderBy("ring_id", F.desc_nulls_last("risk"), "seller_id")
    )


def ring_timeline(leads: DataFrame, history: DataFrame, *, nights: int) -> DataFrame:
    """(ring_id, score_date, status, ring_size, risk, flagged_listings, new_members): each case
    lead's last `nights` nights in gold.ring_leads (`history`, up to the night), newest first."""
    window = Window.partitionBy("ring_id").orderBy(F.desc("score_date"))
    return (
        history.join(leads.select("ring_id"), "ring_id", "left_semi")
        .withColumn("_n", F.row_number().over(window))
        .where(F.col("_n") <= nights)
        .select(
            "ring_id",
            "score_date",
            "status",
            "ring_size",
            "risk",
            "flagged_listings",
            F.coalesce("new_members", F.array()).alias("new_members"),
        )
        .orderBy("ring_id", F.desc("score_date"))
    )


def ring_listings(leads: DataFrame, listing_scores: DataFrame, *, per_ring: int) -> DataFrame:
    """(ring_id, listing_id, seller_id, score, flagged, brand, category, reasons): each case lead's
    `per_ring` riskiest listings of the night (flagged ones first); `listing_scores`: the night."""
    window = Window.partitionBy("ring_id").orderBy(F.desc("flagged"), F.desc("score"), "listing_id")
    return (
        listing_scores.join(leads.select("ring_id"), "ring_id", "left_semi")
        .withColumn("_n", F.row_number().over(window))
        .where(F.col("_n") <= per_ring)
        .select(
            "ring_id",
            "listing_id",
            "seller_id",
            "score",
            "flagged",
            "brand",
            "category",
            F.concat_ws("; ", "reasons").alias("reasons"),
        )
        .orderBy("ring_id", F.desc("flagged"), F.desc("score"), "listing_id")
    )


def ring_links(leads: DataFrame, edges: DataFrame) -> DataFrame:
    """(ring_id, src_seller_id, dst_seller_id, signal_types, weight): the night's links between
    two members of the same case lead (`edges`: graph.linkage_edges of the night)."""
    members = leads.select("ring_id", F.explode("member_sellers").alias("seller_id"))
    return (
        edges.join(members.withColumnRenamed("seller_id", "src_seller_id"), "src_seller_id")
        .join(
            members.withColumnRenamed("seller_id", "dst_seller_id"),
            ["ring_id", "dst_seller_id"],
        )
        .select("ring_id", "src_seller_id", "dst_seller_id", "signal_types", "weight")
        .orderBy("ring_id", "src_seller_id", "dst_seller_id")
    )
