"""Seller and listing features for one night (feature_date = the night), ring features joined in.

Reads silver (listings, sellers, identifiers, as of the versions the night pinned), bronze (reviews, takedown notices, brand registry)
and graph.account_clusters of the night, each limited to what was known on the night; writes
features.seller_features and features.listing_features with replaceWhere on feature_date.
What the features are and how they compose is features/night.py (pure, tested without I/O).
"""

from __future__ import annotations

import argparse
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.night import (
    NightInputs,
    night_listing_features,
    night_listings,
    night_seller_features,
)
from features.verdicts import end_of
from jobs.runtime import catalog, night_versions
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse

HELP = "seller and listing features for a night (features.* tables)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the feature date")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    build_features(ctx, args.date)


def night_inputs(lake: Lakehouse, night: date) -> NightInputs:
    """The features' inputs, each limited to what was known on the night: silver as of the
    version the night pinned (jobs/runtime/night_versions.py), the rest by their night column."""

    pinned = night_versions.night_pins(lake, night).version

    return NightInputs(
        listings=lake.read_history(
            catalog.LISTINGS_CURRENT, until=night, version=pinned(catalog.LISTINGS_CURRENT)
        ),
        sellers=lake.read(catalog.SELLERS_CURRENT, version=pinned(catalog.SELLERS_CURRENT)).where(
            F.col("registered_at") < end_of(night)
        ),
        identifiers=lake.read_history(
            catalog.SELLER_IDENTIFIERS, until=night, version=pinned(catalog.SELLER_IDENTIFIERS)
        ),
        reviews=lake.read_history(catalog.bronze("reviews"), until=night).where(
            F.col("created_at") < end_of(night)
        ),
        notices=lake.read_history(catalog.bronze("takedown_notices"), until=night),
        registry=_latest_snapshot(lake, night),
        clusters=lake.read_night(catalog.ACCOUNT_CLUSTERS, night),
    )


def build_features(ctx: JobContext, night: date) -> None:
    """features.night_features, with the seller features written before the listings read them
    back (the listing side then reads a table, not the whole seller plan again)."""
    lake, conf = ctx.lakehouse, ctx.conf
    with ctx.step("features", night) as entry:
        inputs = night_inputs(lake, night)
        listings = night_listings(inputs, night=night, params=conf.features).persist()
        sellers = night_seller_features(
            inputs, listings, night=night, params=conf.features, linkage=conf.linkage
        )
        lake.write_night(catalog.SELLER_FEATURES, sellers, night)
        written = lake.read_night(catalog.SELLER_FEATURES, night)
        features = night_listing_features(inputs, listings, written, night=night)
        lake.write_night(catalog.LISTING_FEATURES, features, night)
        listings.unpersist()
        entry.rows_out = lake.read_night(catalog.LISTING_FEATURES, night).count()


def _latest_snapshot(lake: Lakehouse, night: date) -> DataFrame:
    """The brand registry as its newest snapshot ingested by the night delivered it."""
    registry = catalog.bronze("brand_registry")
    latest = lake.latest_night(registry, until=night)
    rows = lake.read(registry)
    return rows.limit(0) if latest is None else lake.read_night(registry, latest)
