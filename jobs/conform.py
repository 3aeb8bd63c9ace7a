"""Conform one night's bronze rows into silver.

Reads the night's rows of bronze (by `_ingest_date`; for listings, those adopted tonight out of
quarantine instead of those of an earlier night, by `_adopted_date`) and merges them into:
- silver.listings_current: the latest version of each listing (newer `updated_at` wins), with
  `price_usd` (conf rates) and `first_seen`;
- silver.sellers_current: the latest snapshot row of each seller;
- silver.seller_identifiers: (seller, identifier type, value) with first and last night seen and
  the number of nights seen.
All three are MERGEs whose conditions make a re-run of the same night change nothing. When they
are done, the Delta version of each is pinned for the night in ops.night_versions, which later
steps of the night read them as of (jobs/runtime/night_versions.py); a re-run of a past night
keeps the pins of its first run.
"""

from __future__ import annotations

import argparse
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from data_contracts.schemas import ADOPTED_DATE, INGEST_DATE, SOURCE_FILE
from features.silver import latest_per_key, observed_identifiers, with_price_usd
from jobs.runtime import catalog, night_versions
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.catalog import Table
from jobs.runtime.context import JobContext

HELP = "merge the night's bronze rows into the silver tables (latest versions, identifiers)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night to conform")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    conform(ctx, args.date)


def _night(ctx: JobContext, raw: str, night: date) -> DataFrame:
    lake, table = ctx.lakehouse, catalog.bronze(raw)
    if not lake.exists(table):
        raise FileNotFoundError(f"{table} does not exist: run `radar ingest --date {night}` first")
    return lake.read_night(table, night)


def _listings_of_night(ctx: JobContext, night: date) -> DataFrame:
    """The listings the night brought: those ingested tonight, and the orphans adopted tonight
    (bronze keeps the night they arrived). A listing adopted on a later night is left out of
    its arrival night, so a re-run of that night does not make it known before it was."""
    arrived = _night(ctx, "listings", night)
    if ADOPTED_DATE not in arrived.columns:  # bronze written before adoptions were recorded
        return arrived
    adopted = ctx.lakehouse.read_history(catalog.bronze("listings"), before=night).where(
        F.col(ADOPTED_DATE) == F.lit(night)
    )
    return (
        arrived.where(F.col(ADOPTED_DATE).isNull() | (F.col(ADOPTED_DATE) == F.lit(night)))
        .unionByName(adopted)
        .drop(ADOPTED_DATE)
    )


def conform(ctx: JobContext, night: date) -> None:
    with ctx.step("conform", night) as entry:
        listings = with_price_usd(
            latest_per_key(
                _listings_of_night(ctx, night), "listing_id", F.col("updated_at").desc()
            ),
            ctx.conf.conform.rates_to_usd,
        ).withColumn("first_seen", F.lit(night))
        _merge_latest(
            ctx,
            catalog.LISTINGS_CURRENT,
            listings,
            newer="s.updated_at >= t.updated_at",
            keep=("first_seen",),
        )
        sellers = latest_per_key(
            _night(ctx, "sellers", night), "seller_id", F.col("registered_at").desc()
        )
        _merge_latest(
            ctx,
            catalog.SELLERS_CURRENT,
            sellers,
            newer=f"s.{INGEST_DATE} >= t.{INGEST_DATE}",
            keep=(),
        )

        # A past night's listings belong to the sellers they had then (its pinned version).
        past = night_versions.is_past_night(ctx.lakehouse, night)
        owners = (
            night_versions.night_pins(ctx.lakehouse, night).read(catalog.LISTINGS_CURRENT)
            if past
            else ctx.lakehouse.read(catalog.LISTINGS_CURRENT)
        ).select("listing_id", "seller_id")
        observed = observed_identifiers(
            night,
            sellers=sellers,
            sessions=_night(ctx, "seller_sessions", night),
            orders=_night(ctx, "orders", night),
            listings=listings,
            listing_owner=owners,
        )
        _merge_identifiers(ctx, observed, night)
        retention = catalog.retention_properties(ctx.conf.ops.backfill_days)
        for table in catalog.PINNED:
            ctx.lakehouse.ensure_properties(table, retention)
        night_versions.pin_tables(ctx.lakehouse, night, catalog.PINNED, run_id=ctx.run_id)
        entry.rows_out = ctx.lakehouse.read(catalog.LISTINGS_CURRENT).count()


def _merge_latest(
    ctx: JobContext, table: Table, rows: DataFrame, *, newer: str, keep: tuple[str, ...]
) -> None:
    """A newer version of an entity replaces all its columns but `keep`; an older one is ignored."""
    rows = rows.drop(SOURCE_FILE)
    update: dict[str, str | Column] = {
        c: f"s.`{c}`" for c in rows.columns if c not in (*keep, *table.keys)
    }
    ctx.lakehouse.merge_when(table, rows, updates=[(newer, update)])


def _merge_identifiers(ctx: JobContext, observed: DataFrame, night: date) -> None:
    rows = observed.select(
        "seller_id",
        "identifier_type",
        "identifier",
        F.col("seen").alias("first_seen"),
        F.col("seen").alias("last_seen"),
        F.lit(1).alias("days_seen"),
    )
    # Only a night later than the last one seen (or earlier than the first) counts again: a re-run
    # changes nothing.
    ctx.lakehouse.merge_when(
        catalog.SELLER_IDENTIFIERS,
        rows,
        updates=[
            (
                "s.last_seen > t.last_seen",
                {"last_seen": "s.last_seen", "days_seen": "t.days_seen + 1"},
            ),
            (
                "s.first_seen < t.first_seen",
                {"first_seen": "s.first_seen", "days_seen": "t.days_seen + 1"},
            ),
        ],
    )
