"""Conform one night's bronze rows into silver.

Reads the night's rows of bronze (by `_ingest_date`) and merges them into:
- silver.listings_current: the latest version of each listing (newer `updated_at` wins), with
  `price_usd` (conf rates) and `first_seen`;
- silver.sellers_current: the latest snapshot row of each seller;
- silver.seller_identifiers: (seller, identifier type, value) with first and last night seen and
  the number of nights seen.
All three are MERGEs whose conditions make a re-run of the same night change nothing.
"""

from __future__ import annotations

import argparse
from datetime import date

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from data_contracts.schemas import INGEST_DATE, SOURCE_FILE
from features.silver import latest_per_key, observed_identifiers, with_price_usd
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext

HELP = "merge the night's bronze rows into the silver tables (latest versions, identifiers)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night to conform")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    conform(ctx, args.date)


def _night(ctx: JobContext, table: str, night: date) -> DataFrame:
    lake = ctx.lakehouse
    if not lake.exists(f"bronze.{table}"):
        raise FileNotFoundError(
            f"bronze.{table} does not exist: run `radar ingest --date {night}` first"
        )
    return lake.read(f"bronze.{table}").where(F.col(INGEST_DATE) == F.lit(night))


def conform(ctx: JobContext, night: date) -> None:
    with ctx.step("conform", night) as entry:
        listings = with_price_usd(
            latest_per_key(
                _night(ctx, "listings", night), "listing_id", F.col("updated_at").desc()
            ),
            ctx.conf.conform.rates_to_usd,
        ).withColumn("first_seen", F.lit(night))
        _merge_latest(
            ctx,
            "silver.listings_current",
            listings,
            "listing_id",
            newer="s.updated_at >= t.updated_at",
            keep=("first_seen",),
        )
        sellers = latest_per_key(
            _night(ctx, "sellers", night), "seller_id", F.col("registered_at").desc()
        )
        _merge_latest(
            ctx,
            "silver.sellers_current",
            sellers,
            "seller_id",
            newer=f"s.{INGEST_DATE} >= t.{INGEST_DATE}",
            keep=(),
        )

        owners = ctx.lakehouse.read("silver.listings_current").select("listing_id", "seller_id")
        observed = observed_identifiers(
            night,
            sellers=sellers,
            sessions=_night(ctx, "seller_sessions", night),
            orders=_night(ctx, "orders", night),
            listings=listings,
            listing_owner=owners,
        )
        _merge_identifiers(ctx, observed, night)
        entry.rows_out = ctx.lakehouse.read("silver.listings_current").count()


def _merge_latest(
    ctx: JobContext, table: str, rows: DataFrame, key: str, *, newer: str, keep: tuple[str, ...]
) -> None:
    lake = ctx.lakehouse
    rows = rows.drop(SOURCE_FILE)
    if not lake.exists(table):
        lake.overwrite(table, rows.limit(0))
    update: dict[str, str | Column] = {c: f"s.`{c}`" for c in rows.columns if c not in (*keep, key)}
    (
        DeltaTable.forPath(ctx.spark, lake.path(table))
        .alias("t")
        .merge(rows.alias("s"), f"t.{key} = s.{key}")
        .whenMatchedUpdate(condition=newer, set=update)
        .whenNotMatchedInsertAll()
        .execute()
    )


def _merge_identifiers(ctx: JobContext, observed: DataFrame, night: date) -> None:
    lake = ctx.lakehouse
    table = "silver.seller_identifiers"
    rows = observed.select(
        "seller_id",
        "identifier_type",
        "identifier",
        F.col("seen").alias("first_seen"),
        F.col("seen").alias("last_seen"),
        F.lit(1).alias("days_seen"),
    )
    if not lake.exists(table):
        lake.overwrite(table, rows.limit(0), partition_by=("identifier_type",))
    (
        DeltaTable.forPath(ctx.spark, lake.path(table))
        .alias("t")
        .merge(
            rows.alias("s"),
            "t.seller_id = s.seller_id AND t.identifier_type = s.identifier_type AND t.identifier = s.identifier",
        )
        # Only a night later than the last one seen counts again: a re-run changes nothing.
        .whenMatchedUpdate(
            condition="s.last_seen > t.last_seen",
            set={"last_seen": "s.last_seen", "days_seen": "t.days_seen + 1"},
        )
        .whenMatchedUpdate(
            condition="s.first_seen < t.first_seen",
            set={"first_seen": "s.first_seen", "days_seen": "t.days_seen + 1"},
        )
        .whenNotMatchedInsertAll()
        .execute()
    )
    lake.register(table)
