"""Review anomalies per seller as of a night: the traces of bought or self-written reviews.

Counterfeit stores buy their first ratings: many 5-star reviews of one listing on one day
(bursts), the same text pasted again and again, and reviews written from the seller's own
devices or IP addresses. The inputs are already limited to reviews created by the night.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def review_anomalies(
    reviews: DataFrame,
    listing_owner: DataFrame,
    seller_kit: DataFrame,
    *,
    burst_per_day: int,
    duplicate_min: int,
) -> DataFrame:
    """Review bursts, duplicated texts and reviews written from the seller's own devices or IPs:
    the traces of bought or self-written 5-star reviews.

    `seller_kit`: (seller_id, identifier) of the seller's devices and IPs."""
    rows = reviews.join(listing_owner, "listing_id")
    per_day = rows.groupBy("seller_id", "listing_id", F.to_date("created_at").alias("day")).agg(
        F.count(F.lit(1)).alias("n")
    )
    bursts = per_day.groupBy("seller_id").agg(
        F.max("n").cast("int").alias("max_reviews_per_listing_day"),
        F.sum(F.when(F.col("n") >= burst_per_day, 1).otherwise(0))
        .cast("int")
        .alias("review_bursts"),
    )
    text_count = F.count(F.lit(1)).over(Window.partitionBy("seller_id", "review_text"))
    own = (
        rows.join(
            seller_kit.withColumnRenamed("identifier", "buyer_device_id"),
            ["seller_id", "buyer_device_id"],
            "left_semi",
        )
        .unionByName(
            rows.join(
                seller_kit.withColumnRenamed("identifier", "buyer_ip"),
                ["seller_id", "buyer_ip"],
                "left_semi",
            )
        )
        .select("review_id")
        .distinct()
        .withColumn("own_kit", F.lit(1))
    )
    stats = (
        rows.withColumn(
            "duplicated", F.col("review_text").isNotNull() & (text_count >= duplicate_min)
        )
        .join(own, "review_id", "left")
        .groupBy("seller_id")
        .agg(
            F.count(F.lit(1)).cast("int").alias("review_count"),
            F.avg((F.col("rating") == 5).cast("double")).alias("five_star_share"),
            F.avg(F.col("duplicated").cast("double")).alias("duplicate_review_share"),
            F.avg(F.coalesce("own_kit", F.lit(0)).cast("double")).alias("self_review_share"),
        )
    )
    return stats.join(bursts, "seller_id", "left")
