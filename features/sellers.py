"""Seller features as of a night: what a seller's store, prices, reviews and history say.

Each function takes DataFrames already limited to what was known on the night (the job filters
inputs by date; labels come from verdicts known by then) and returns one row per seller.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def storefront(sellers: DataFrame, night: date) -> DataFrame:
    """Account age and storefront effort: counterfeit stores are young and keep the bare `basic`
    template with few modules, because they expect to be taken down."""
    return sellers.select(
        "seller_id",
        F.datediff(F.lit(night), F.to_date("registered_at")).alias("account_age_days"),
        (F.col("store_template") == "basic").alias("is_basic_template"),
        F.col("store_modules").cast("int").alias("store_modules"),
    )


def catalog(listings: DataFrame) -> DataFrame:
    """Listing count, brand mix and prices against the brand reference (median and lowest): a
    catalog of many brands far below their reference prices is a counterfeiter's."""
    branded = F.col("brand_canonical").isNotNull()
    return listings.groupBy("seller_id").agg(
        F.count(F.lit(1)).cast("int").alias("listing_count"),
        F.avg(branded.cast("double")).alias("branded_share"),
        F.countDistinct("brand_canonical").cast("int").alias("distinct_brands"),
        F.percentile_approx("price_to_reference", 0.5, 100).alias("median_price_to_reference"),
        F.min("price_to_reference").alias("min_price_to_reference"),
    )


def takedown_history(verdicts: DataFrame) -> DataFrame:
    """Confirmed and rejected takedowns known so far: a seller caught before is likely again."""
    return verdicts.groupBy("seller_id").agg(
        F.sum((F.col("verdict") == "confirmed").cast("int")).alias("confirmed_takedowns"),
        F.sum((F.col("verdict") == "rejected").cast("int")).alias("rejected_takedowns"),
    )


def shared_with_confirmed(
    identifiers: DataFrame, confirmed: DataFrame, *, types: tuple[str, ...]
) -> DataFrame:
    """How many of a seller's ship origins and payee accounts are also used by a seller with a
    confirmed takedown: parcels and money of a known counterfeiter."""
    mine = identifiers.where(F.col("identifier_type").isin(*types)).select(
        "seller_id", "identifier_type", "identifier"
    )
    tainted = mine.join(confirmed.select("seller_id"), "seller_id").select(
        "identifier_type", "identifier", F.col("seller_id").alias("confirmed_seller")
    )
    return (
        mine.join(tainted, ["identifier_type", "identifier"])
        .where(F.col("seller_id") != F.col("confirmed_seller"))
        .groupBy("seller_id")
        .agg(
            F.countDistinct("identifier_type", "identifier")
            .cast("int")
            .alias("identifiers_shared_with_confirmed")
        )
    )


def neighbour_takedowns(usable_identifiers: DataFrame, takedowns: DataFrame) -> DataFrame:
    """(seller_id, neighbour_confirmed_sellers, neighbour_confirmed_takedowns): the other sellers
    with a confirmed takedown that share an identifier with the seller, and their takedowns.

    The direct version of the ring record, for a seller the linkage did not put in a ring: one
    payee, one photo or one ship origin shared with a known counterfeiter is too little to call
    it the same operator, but it is still a lead. `usable_identifiers`: (seller_id,
    identifier_type, identifier) restricted to identifiers below the hub cap
    (features.account_links.usable_identifiers), so a marketplace warehouse or a carrier's NAT address
    shared with a caught seller taints no one, and each identifier yields at most cap^2 pairs.
    `takedowns`: (seller_id, confirmed_takedowns) known by the night; the seller's own never
    count."""
    mine = usable_identifiers.select("seller_id", "identifier_type", "identifier")
    caught = takedowns.where(F.col("confirmed_takedowns") > 0).select(
        F.col("seller_id").alias("neighbour_id"), "confirmed_takedowns"
    )
    neighbours = (
        mine.join(
            mine.withColumnRenamed("seller_id", "neighbour_id"), ["identifier_type", "identifier"]
        )
        .where(F.col("seller_id") != F.col("neighbour_id"))
        .select("seller_id", "neighbour_id")
        .distinct()
    )
    return (
        neighbours.join(caught, "neighbour_id")
        .groupBy("seller_id")
        .agg(
            F.count(F.lit(1)).cast("int").alias("neighbour_confirmed_sellers"),
            F.sum("confirmed_takedowns").cast("int").alias("neighbour_confirmed_takedowns"),
        )
    )
