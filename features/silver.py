"""Conform bronze into silver: latest versions, prices in one currency, identifiers per seller.

Pure DataFrame -> DataFrame functions; jobs/conform.py merges their output into silver.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from data_contracts.schemas import INGEST_DATE, SOURCE_FILE


def latest_per_key(rows: DataFrame, key: str, *order: Column) -> DataFrame:
    """One row per key: the first by `order` (newest first), ties broken by ingest date and file."""
    ranking = Window.partitionBy(key).orderBy(
        *order, F.col(INGEST_DATE).desc(), F.col(SOURCE_FILE).desc()
    )
    return rows.withColumn("_rank", F.row_number().over(ranking)).where("_rank = 1").drop("_rank")


def with_price_usd(listings: DataFrame, rates_to_usd: Mapping[str, float]) -> DataFrame:
    """price_usd = price x the conf rate of its currency, so prices compare across markets."""
    rates = F.create_map(
        *[x for code, rate in sorted(rates_to_usd.items()) for x in (F.lit(code), F.lit(rate))]
    )
    return listings.withColumn(
        "price_usd", F.col("price").cast("double") * F.element_at(rates, F.col("currency"))
    )


def observed_identifiers(
    night: date,
    *,
    sellers: DataFrame,
    sessions: DataFrame,
    orders: DataFrame,
    listings: DataFrame,
    listing_owner: DataFrame,
) -> DataFrame:
    """(seller_id, identifier_type, identifier) seen on one night, from every source that has one.

    Orders carry no seller: they are attributed through their listing (`listing_owner`:
    listing_id, seller_id). Null identifiers are dropped.
    """

    def pairs(frame: DataFrame, columns: Mapping[str, str]) -> DataFrame:
        stacked = F.explode(
            F.array(
                *[
                    F.struct(F.lit(t).alias("identifier_type"), F.col(c).alias("identifier"))
                    for t, c in columns.items()
                ]
            )
        )
        return frame.select("seller_id", stacked.alias("p")).select(
            "seller_id", "p.identifier_type", "p.identifier"
        )

    order_sellers = orders.join(listing_owner, "listing_id")
    observed = (
        pairs(
            sellers,
            {
                "id_doc": "id_doc_hash",
                "payment": "payment_account_hash",
                "bank": "bank_account_hash",
                "return_address": "return_address_hash",
                "phone": "phone_hash",
            },
        )
        .unionByName(pairs(sessions, {"device": "device_id", "wifi": "wifi_bssid", "ip": "ip"}))
        .unionByName(
            pairs(order_sellers, {"payee": "payee_account_hash", "ship_origin": "ship_origin"})
        )
        .unionByName(pairs(listings, {"image": "image_phash"}))
    )
    return (
        observed.where(F.col("identifier").isNotNull() & F.col("seller_id").isNotNull())
        .distinct()
        .withColumn("seen", F.lit(night))
    )
