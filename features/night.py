"""A night's seller and listing features, composed from the feature functions: no I/O.

The features step (jobs/features.py) reads the inputs as they were on the night and writes what
`night_features` returns; tests and the bench call it on DataFrames of their own. The listing
universe is every listing active on the night plus every listing with a notice. Each listing
carries its seller's features (`seller_` prefix) and its ring's record (ring_*, link_*), with its
own verdict taken back out (features.listings.without_own_verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

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
from features.verdicts import verdicts_known

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
# The identifier types a seller shares with confirmed counterfeiters that count: the upstream
# sources (where parcels leave from, where the money goes).
SHARED_WITH_CONFIRMED = ("ship_origin", "payee")
LISTING_COLUMNS = (
    "listing_id",
    "seller_id",
    "brand_canonical",
    "category",
    "status",  # active, removed or sold_out on the night: only active listings are scored
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


class FeatureParams(Protocol):
    """The `features` section of the conf (jobs.runtime.conf.FeaturesConf fits)."""

    @property
    def counterfeit_keywords(self) -> Sequence[str]: ...
    @property
    def fuzzy_max_distance(self) -> int: ...
    @property
    def fuzzy_min_length(self) -> int: ...
    @property
    def burst_reviews_per_day(self) -> int: ...
    @property
    def duplicate_text_min(self) -> int: ...


class LinkageWindow(Protocol):
    """What the features need of the `linkage` section: the identifiers the linkage could use."""

    @property
    def window_days(self) -> int: ...
    @property
    def hub_degree_cap(self) -> int: ...


@dataclass(frozen=True)
class NightInputs:
    """The tables a night's features read, each already limited to what was known on the night."""

    listings: DataFrame  # silver.listings_current, first seen by the night
    sellers: DataFrame  # silver.sellers_current, registered by the end of the night
    identifiers: DataFrame  # silver.seller_identifiers, first seen by the night
    reviews: DataFrame  # bronze.reviews ingested and written by the end of the night
    notices: DataFrame  # bronze.takedown_notices ingested by the night
    registry: DataFrame  # the newest brand registry snapshot ingested by the night
    clusters: DataFrame  # graph.account_clusters of the night


@dataclass(frozen=True)
class NightFeatures:
    sellers: DataFrame  # one row per seller (features.seller_features without feature_date)
    listings: DataFrame  # one row per listing (features.listing_features without feature_date)


def night_features(
    inputs: NightInputs, *, night: date, params: FeatureParams, linkage: LinkageWindow
) -> NightFeatures:
    """Seller and listing features of the night."""
    listings = night_listings(inputs, night=night, params=params)
    sellers = night_seller_features(inputs, listings, night=night, params=params, linkage=linkage)
    return NightFeatures(sellers, night_listing_features(inputs, listings, sellers, night=night))


def night_listings(inputs: NightInputs, *, night: date, params: FeatureParams) -> DataFrame:
    """The night's listing universe with its brand, price, keyword and image signals."""
    verdicts = verdicts_known(inputs.notices, night)
    noticed = verdicts.select("listing_id").distinct()
    listings = inputs.listings.where(F.col("status") == "active").unionByName(
        inputs.listings.join(noticed, "listing_id", "left_semi").where(F.col("status") != "active")
    )
    matches = brand_matches(
        listings,
        brand_terms(inputs.registry),
        max_distance=params.fuzzy_max_distance,
        min_length=params.fuzzy_min_length,
    )
    confirmed = verdicts.where(F.col("verdict") == "confirmed")
    return (
        listings.transform(with_brand_prices, matches, inputs.registry)
        .transform(with_keywords, list(params.counterfeit_keywords))
        .transform(with_image_reuse, inputs.listings, confirmed)
    )


def night_seller_features(
    inputs: NightInputs,
    listings: DataFrame,
    *,
    night: date,
    params: FeatureParams,
    linkage: LinkageWindow,
) -> DataFrame:
    """One row per seller: storefront, catalog, reviews, takedowns (own, neighbours', shared
    sources) and ring context; `listings` are the night's (night_listings)."""
    verdicts = verdicts_known(inputs.notices, night)
    confirmed = verdicts.where(F.col("verdict") == "confirmed")
    identifiers = inputs.identifiers
    kit = identifiers.where(F.col("identifier_type").isin("device", "ip")).select(
        "seller_id", "identifier"
    )
    clusters = inputs.clusters.select(
        *[c for c in RING_COLUMNS if c != "ring_signal_count"],
        "seller_id",
        F.size("ring_signal_types").alias("ring_signal_count"),
    )
    takedowns = seller_features.takedown_history(verdicts)
    # The identifiers the linkage could use tonight (its window, under its hub cap).
    usable = usable_identifiers(
        identifiers_in_window(identifiers, night, linkage.window_days),
        cap=linkage.hub_degree_cap,
    )
    return (
        seller_features.storefront(inputs.sellers, night)
        .join(seller_features.catalog(listings), "seller_id", "left")
        .join(
            review_anomalies(
                inputs.reviews,
                inputs.listings.select("listing_id", "seller_id"),
                kit,
                burst_per_day=params.burst_reviews_per_day,
                duplicate_min=params.duplicate_text_min,
            ),
            "seller_id",
            "left",
        )
        .join(takedowns, "seller_id", "left")
        .join(seller_features.neighbour_takedowns(usable, takedowns), "seller_id", "left")
        .join(
            seller_features.shared_with_confirmed(
                identifiers, confirmed.select("seller_id"), types=SHARED_WITH_CONFIRMED
            ),
            "seller_id",
            "left",
        )
        .join(clusters, "seller_id", "left")
        .transform(fill_counts)
    )


def night_listing_features(
    inputs: NightInputs, listings: DataFrame, sellers: DataFrame, *, night: date
) -> DataFrame:
    """One row per listing: its own signals, its seller's features under `seller_` (the ring
    columns under their own names), its own verdict taken back out."""
    seller_side = sellers.drop("feature_date")
    prefixed = seller_side.select(
        "seller_id",
        *RING_COLUMNS,
        *[
            F.col(c).alias(f"seller_{c}")
            for c in seller_side.columns
            if c not in ("seller_id", *RING_COLUMNS)
        ],
    ).withColumnRenamed("seller_is_basic_template", "is_basic_template")
    return (
        listings.select(*LISTING_COLUMNS)
        .join(prefixed, "seller_id", "left")
        .transform(without_own_verdict, verdicts_known(inputs.notices, night))
    )


def fill_counts(sellers: DataFrame) -> DataFrame:
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
