"""Case files for brands: each brand's flagged listings of the night, with what to act on.

A brand-protection team works its own brand: the export holds its flagged listings with the
reasons, the ring and the ring's status, and the upstream sources the ring draws on, as flat
text columns so that the CSV opens in a spreadsheet. jobs/report.py writes one Parquet and one
CSV file per brand under reports/<night>/brands/. The rows are the night's flags, so their number
is bounded by the review budget (scoring.flag_budget).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
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
