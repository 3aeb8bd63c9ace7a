"""Seller and listing features for one night (feature_date = the night), ring features joined in.

Reads silver (listings, sellers, identifiers), bronze (reviews, takedown notices, brand registry)
and graph.account_clusters of the night, each limited to what was known on the night; writes
features.seller_features and features.listing_features with replaceWhere on feature_date.
The listing universe is every listing active on the night plus every listing with a notice.
Each listing carries its seller's features (`seller_` prefix) and its ring's record (ring_*,
link_*), with its own verdict taken back out (features.listings.without_own_verdict).
"""

from __future__ import annotations

import argparse
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import sellers as seller_features
from features.account_links import identifiers_in_window, usable_identifiers
from features.brands import brand_matches, brand_terms
from features.listings import (
    with_brand_prices,
    with_image_reuse,
    with_keywords,
    without_own_verdict,
)
from features.reviews import review_anomalies
from features.verdicts import end_of, verdicts_known
from jobs.runtime import catalog
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse

HELP = "seller and listing features for a night (features.* tables)"

# Ring context, copied onto each listing under its own name (the seller columns get `seller_`).
RING_COLUMNS = (
    "ring_id",
    "ring_size",
    "ring_confirmed_share",
    "ring_confirmed_takedowns",
    "ring_confirmed_sellers",
    "ring_age_days",
    "ring_listings",
    "ring_signal_count",
    "link_strength",
    "link_evidence",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the feature date")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    build_features(ctx, args.date)


def build_features(ctx: JobContext, night: date) -> None:
    lake, conf, linkage_conf = ctx.lakehouse, ctx.conf.features, ctx.conf.linkage
    with ctx.step("features", night) as entry:
        listings_all = lake.read_history(catalog.LISTINGS_CURRENT, until=night)
        notices = lake.read_history(catalog.bronze("takedown_notices"), until=night)
        verdicts = verdicts_known(notices, night)
        noticed = verdicts.select("listing_id").distinct()
        registry = _latest_snapshot(lake, night)
        listings = listings_all.where(F.col("status") == "active").unionByName(
            listings_all.join(noticed, "listing_id", "left_semi").where(F.col("status") != "active")
        )
        matches = brand_matches(
            listings,
            brand_terms(registry),
            max_distance=conf.fuzzy_max_distance,
            min_length=conf.fuzzy_min_length,
        )
        confirmed = verdicts.where(F.col("verdict") == "confirmed")
        listing_rows = (
            listings.transform(with_brand_prices, matches, registry)
            .transform(with_keywords, conf.counterfeit_keywords)
            .transform(with_image_reuse, listings_all, confirmed)
        ).persist()

        sellers = lake.read(catalog.SELLERS_CURRENT).where(F.col("registered_at") < end_of(night))
        identifiers = lake.read_history(catalog.SELLER_IDENTIFIERS, until=night)
        reviews = lake.read_history(catalog.bronze("reviews"), until=night).where(
            F.col("created_at") < end_of(night)
        )
        kit = identifiers.where(F.col("identifier_type").isin("device", "ip")).select(
            "seller_id", "identifier"
        )
        clusters = lake.read_night(catalog.ACCOUNT_CLUSTERS, night).select(
            *[c for c in RING_COLUMNS if c != "ring_signal_count"],
            "seller_id",
            F.size("ring_signal_types").alias("ring_signal_count"),
        )
        takedowns = seller_features.takedown_history(verdicts)
        # The identifiers the linkage could use tonight (its window, under its hub cap).
        usable = usable_identifiers(
            identifiers_in_window(identifiers, night, linkage_conf.window_days),
            cap=linkage_conf.hub_degree_cap,
            salt_buckets=linkage_conf.salt_buckets,
        )
        seller_rows = (
            seller_features.storefront(sellers, night)
            .join(seller_features.catalog(listing_rows), "seller_id", "left")
            .join(
                review_anomalies(
                    reviews,
                    listings_all.select("listing_id", "seller_id"),
                    kit,
                    burst_per_day=conf.burst_reviews_per_day,
                    duplicate_min=conf.duplicate_text_min,
                ),
                "seller_id",
                "left",
            )
            .join(takedowns, "seller_id", "left")
            .join(seller_features.neighbour_takedowns(usable, takedowns), "seller_id", "left")
            .join(
                seller_features.shared_with_confirmed(
                    identifiers, confirmed.select("seller_id"), types=("ship_origin", "payee")
                ),
                "seller_id",
                "left",
            )
            .join(clusters, "seller_id", "left")
            .transform(_fill_counts)
        )
        lake.write_night(catalog.SELLER_FEATURES, seller_rows, night)

        seller_side = lake.read_night(catalog.SELLER_FEATURES, night).drop("feature_date")
        prefixed = seller_side.select(
            "seller_id",
            *RING_COLUMNS,
            *[
                F.col(c).alias(f"seller_{c}")
                for c in seller_side.columns
                if c not in ("seller_id", *RING_COLUMNS)
            ],
        ).withColumnRenamed("seller_is_basic_template", "is_basic_template")
        features = (
            listing_rows.select(
                "listing_id",
                "seller_id",
                "brand_canonical",
                "category",
                "price_usd",
                "price_to_reference",
                "price_to_min_authorized",
                "below_min_authorized",
                "brand_term_match",
                "brand_fuzzy_match",
                "brand_field_missing",
                "is_authorized_seller",
                "counterfeit_keywords",
                "image_other_sellers",
                "image_of_confirmed_fake",
            )
            .join(prefixed, "seller_id", "left")
            .transform(without_own_verdict, verdicts)
        )
        lake.write_night(catalog.LISTING_FEATURES, features, night)
        listing_rows.unpersist()
        entry.rows_out = lake.read_night(catalog.LISTING_FEATURES, night).count()


def _latest_snapshot(lake: Lakehouse, night: date) -> DataFrame:
    """The brand registry as its newest snapshot ingested by the night delivered it."""
    registry = catalog.bronze("brand_registry")
    latest = lake.latest_night(registry, until=night)
    rows = lake.read(registry)
    return rows.limit(0) if latest is None else lake.read_night(registry, latest)


def _fill_counts(sellers: DataFrame) -> DataFrame:
    """Absent counts are zero (no reviews, no takedowns, no neighbour caught). An unlinked seller
    has no ring: its ring size, record, age and link strength are 0 (`in_ring` false tells it
    from a new ring with a clean record), and ring_id stays null."""
    zero = {
        c: 0
        for c in (
            "listing_count",
            "distinct_brands",
            "review_count",
            "max_reviews_per_listing_day",
            "review_bursts",
            "confirmed_takedowns",
            "rejected_takedowns",
            "identifiers_shared_with_confirmed",
            "neighbour_confirmed_sellers",
            "neighbour_confirmed_takedowns",
            "ring_size",
            "ring_confirmed_takedowns",
            "ring_confirmed_sellers",
            "ring_age_days",
            "ring_listings",
            "ring_signal_count",
        )
    }
    shares = {
        c: 0.0
        for c in (
            "branded_share",
            "five_star_share",
            "duplicate_review_share",
            "self_review_share",
            "ring_confirmed_share",
            "link_strength",
            "link_evidence",
        )
    }
    return sellers.fillna({**zero, **shares}).withColumn("in_ring", F.col("ring_id").isNotNull())
