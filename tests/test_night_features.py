"""The composition of a night's features (features/night.py) on hand-built inputs, without I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from features.night import NightInputs, night_features

NIGHT = date(2026, 11, 10)
EARLIER = date(2026, 11, 1)


@dataclass(frozen=True)
class Params:
    counterfeit_keywords: tuple[str, ...] = ("replica",)
    fuzzy_max_distance: int = 1
    fuzzy_min_length: int = 5
    burst_reviews_per_day: int = 4
    duplicate_text_min: int = 3
    window_days: int = 30
    hub_degree_cap: int = 3


def _inputs(spark: SparkSession) -> NightInputs:
    """s1 (basic store, ring R1 with s2) sells L1 and the withdrawn L2, confirmed fake by the
    night; s2 sells L3, and L4 withdrawn without a notice (outside the night's universe)."""
    listings = spark.createDataFrame(
        [
            ("L1", "s1", "Lumorra handbag replica", None, None, "bags", 40.0, "aaaa", "active"),
            ("L2", "s1", "Lumorr tote", None, None, "bags", 100.0, "aaaa", "removed"),
            ("L3", "s2", "Plain canvas tote", None, None, "bags", 30.0, None, "active"),
            ("L4", "s2", "Lumorra bag", None, None, "bags", 20.0, None, "removed"),
        ],
        "listing_id string, seller_id string, title string, description string, brand string, "
        "category string, price_usd double, image_phash string, status string",
    )
    sellers = spark.createDataFrame(
        [
            ("s1", datetime(2026, 11, 1, 8), "basic", 0),
            ("s2", datetime(2024, 11, 10, 8), "boutique", 7),
        ],
        "seller_id string, registered_at timestamp, store_template string, store_modules int",
    )
    identifiers = spark.createDataFrame(
        [("s1", "payee", "P1", EARLIER, NIGHT), ("s2", "payee", "P1", EARLIER, NIGHT)],
        "seller_id string, identifier_type string, identifier string, first_seen date, "
        "last_seen date",
    )
    reviews = spark.createDataFrame(
        [("r1", "L1", "b1", 5, "great", datetime(2026, 11, 9, 10), "dev-x", "9.9.9.1")],
        "review_id string, listing_id string, buyer_id string, rating int, review_text string, "
        "created_at timestamp, buyer_device_id string, buyer_ip string",
    )
    notices = spark.createDataFrame(
        [
            (
                "n1",
                "L2",
                "s1",
                datetime(2026, 11, 2),
                "confirmed",
                datetime(2026, 11, 3),
                date(2026, 11, 3),
            )
        ],
        "notice_id string, listing_id string, seller_id string, received_at timestamp, "
        "verdict string, verdict_at timestamp, _ingest_date date",
    )
    registry = spark.createDataFrame(
        [("Lumorra", "bags", 200.0, 150.0, [], [])],
        "brand string, category string, reference_price double, min_authorized_price double, "
        "authorized_seller_ids array<string>, protected_terms array<string>",
    )
    clusters = spark.createDataFrame(
        [
            ("s1", "R1", 2, 0.5, 1, 1, 9, 3, ["payee"], 1.0, 1.0),
            ("s2", "R1", 2, 0.5, 1, 1, 9, 3, ["payee"], 1.0, 1.0),
        ],
        "seller_id string, ring_id string, ring_size int, ring_confirmed_share double, "
        "ring_confirmed_takedowns int, ring_confirmed_sellers int, ring_age_days int, "
        "ring_listings int, ring_signal_types array<string>, link_strength double, "
        "link_evidence double",
    )
    return NightInputs(listings, sellers, identifiers, reviews, notices, registry, clusters)


def _as(actual: DataFrame, expected: DataFrame) -> DataFrame:
    """`actual` with the expected columns cast to the expected types: the values are pinned, the
    widths of integer counts are the functions' own business."""
    return actual.select(*[F.col(f.name).cast(f.dataType) for f in expected.schema.fields])


def test_night_features_compose_listing_seller_and_ring_signals(spark: SparkSession) -> None:
    params = Params()
    night = night_features(_inputs(spark), night=NIGHT, params=params, linkage=params)
    listings = night.listings.select(
        "listing_id",
        "seller_id",
        "brand_canonical",
        "price_to_reference",
        "counterfeit_keywords",
        "image_other_sellers",
        "seller_listing_count",
        "seller_review_count",
        "seller_confirmed_takedowns",
        "is_basic_template",
        "ring_id",
        "ring_confirmed_takedowns",
        "ring_confirmed_sellers",
        "ring_signal_count",
    )
    # L2's own confirmed notice is its label: taken out of its seller's and ring's record; L1
    # still sees s1 confirmed through L2. L4 (withdrawn, never reported) is not in the night.
    expected = spark.createDataFrame(
        [
            ("L1", "s1", "Lumorra", 0.2, 1, 0, 2, 1, 1, True, "R1", 1, 1, 1),
            ("L2", "s1", "Lumorra", 0.5, 0, 0, 2, 1, 0, True, "R1", 0, 0, 1),
            ("L3", "s2", None, None, 0, 0, 1, 0, 0, False, "R1", 1, 1, 1),
        ],
        "listing_id string, seller_id string, brand_canonical string, "
        "price_to_reference double, counterfeit_keywords int, image_other_sellers int, "
        "seller_listing_count int, seller_review_count int, seller_confirmed_takedowns int, "
        "is_basic_template boolean, ring_id string, ring_confirmed_takedowns int, "
        "ring_confirmed_sellers int, ring_signal_count int",
    )
    assertDataFrameEqual(_as(listings, expected), expected)

    sellers = night.sellers.select(
        "seller_id",
        "account_age_days",
        "listing_count",
        "confirmed_takedowns",
        "identifiers_shared_with_confirmed",
        "neighbour_confirmed_sellers",
        "in_ring",
    )
    expected_sellers = spark.createDataFrame(
        [("s1", 9, 2, 1, 0, 0, True), ("s2", 730, 1, 0, 1, 1, True)],
        "seller_id string, account_age_days int, listing_count int, confirmed_takedowns int, "
        "identifiers_shared_with_confirmed int, neighbour_confirmed_sellers int, "
        "in_ring boolean",
    )
    assertDataFrameEqual(_as(sellers, expected_sellers), expected_sellers)
