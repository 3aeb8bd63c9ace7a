"""Seller and listing features on tiny hand-built data with known values, and no look-ahead."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from features.account_links import usable_identifiers
from features.brands import brand_matches, brand_terms
from features.listings import (
    with_brand_prices,
    with_image_reuse,
    with_keywords,
    without_own_verdict,
)
from features.reviews import review_anomalies
from features.sellers import (
    neighbour_takedowns,
    shared_with_confirmed,
    storefront,
    takedown_history,
)
from features.verdicts import verdicts_known

NIGHT = date(2026, 11, 10)


def _by(frame: DataFrame, key: str) -> dict[str, dict[str, object]]:
    return {r[key]: r.asDict() for r in frame.collect()}


def test_storefront_age_template_and_modules(spark: SparkSession) -> None:
    sellers = spark.createDataFrame(
        [
            ("s1", datetime(2026, 11, 1, 23, 0), "basic", 0),
            ("s2", datetime(2024, 11, 10, 8, 0), "boutique", 7),
        ],
        "seller_id string, registered_at timestamp, store_template string, store_modules int",
    )
    rows = _by(storefront(sellers, NIGHT), "seller_id")
    assert rows["s1"] == {
        "seller_id": "s1",
        "account_age_days": 9,
        "is_basic_template": True,
        "store_modules": 0,
    }
    assert rows["s2"]["account_age_days"] == 730 and rows["s2"]["is_basic_template"] is False


LISTINGS = "listing_id string, seller_id string, title string, description string, brand string, price_usd double, image_phash string"


def _registry(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [("Lumorra", "bags", 200.0, 150.0, ["s9"], ["lumora"])],
        "brand string, category string, reference_price double, min_authorized_price double, "
        "authorized_seller_ids array<string>, protected_terms array<string>",
    )


def test_brand_terms_match_fuzzy_and_prices_relate_to_the_reference(spark: SparkSession) -> None:
    listings = spark.createDataFrame(
        [
            ("L1", "s1", "Lumorra handbag leather", None, None, 40.0, None),
            ("L2", "s1", "Lumorr tote", None, None, 100.0, None),  # one edit: misspelt
            ("L3", "s2", "Plain canvas tote", None, None, 30.0, None),
            ("L4", "s2", "Premium bag", None, "LUMORA", 180.0, None),  # registered misspelling
            ("L5", "s9", "Lumorra classic", None, "Lumorra", 160.0, None),  # authorised
            ("L6", "s3", "Lumo bag", None, None, 10.0, None),  # too short to match fuzzily
        ],
        LISTINGS,
    )
    registry = _registry(spark)
    matches = brand_matches(listings, brand_terms(registry), max_distance=1, min_length=5)
    rows = _by(listings.transform(with_brand_prices, matches, registry), "listing_id")

    assert rows["L1"]["brand_canonical"] == "Lumorra" and rows["L1"]["brand_term_match"]
    assert rows["L1"]["price_to_reference"] == pytest.approx(0.2)
    assert rows["L1"]["price_to_min_authorized"] == pytest.approx(40 / 150)
    assert rows["L1"]["below_min_authorized"] and not rows["L1"]["brand_fuzzy_match"]
    assert rows["L2"]["brand_term_match"] and rows["L2"]["brand_fuzzy_match"]
    assert rows["L2"]["price_to_reference"] == pytest.approx(0.5)
    assert rows["L4"]["brand_canonical"] == "Lumorra" and not rows["L4"]["brand_fuzzy_match"]
    assert rows["L5"]["is_authorized_seller"] and not rows["L5"]["below_min_authorized"]
    for unmatched in ("L3", "L6"):
        assert rows[unmatched]["brand_term_match"] is False
        assert rows[unmatched]["brand_canonical"] is None
        assert rows[unmatched]["price_to_reference"] is None
    assert rows["L3"]["brand_field_missing"] and not rows["L4"]["brand_field_missing"]


def _old_brand_matches(
    listings: DataFrame, terms: DataFrame, *, max_distance: int, min_length: int
) -> DataFrame:
    """brand_matches as it was before the exact path and the length band: every word against
    every term of its 2-letter prefix, Levenshtein on each candidate."""
    words = listings.select(
        "listing_id",
        F.explode(
            F.array_distinct(
                F.concat(
                    *[
                        F.filter(
                            F.split(F.lower(F.coalesce(F.col(c), F.lit(""))), r"[^a-z0-9:]+"),
                            lambda w: F.length(w) > 0,
                        )
                        for c in ("title", "brand")
                    ]
                )
            )
        ).alias("word"),
    ).withColumn("prefix", F.substring("word", 1, 2))
    candidates = words.join(
        terms.withColumn("prefix", F.substring("term", 1, 2)), "prefix"
    ).withColumn("distance", F.levenshtein("word", "term"))
    matched = candidates.where(
        (F.col("distance") == 0)
        | ((F.col("distance") <= max_distance) & (F.length("word") >= min_length))
    )
    return (
        matched.groupBy("listing_id")
        .agg(
            F.min_by("brand", F.struct("distance", "brand")).alias("brand_canonical"),
            F.min("distance").alias("best_distance"),
        )
        .select(
            "listing_id",
            "brand_canonical",
            (F.col("best_distance") == 0).alias("brand_exact"),
            (F.col("best_distance") > 0).alias("brand_fuzzy"),
        )
    )


def test_brand_matches_exact_and_within_the_edit_band_as_before(spark: SparkSession) -> None:
    registry = spark.createDataFrame(
        [
            ("Lumorra", "bags", ["lumora"]),
            ("Vantele", "scarves", []),
            ("Oak", "furniture", []),
            ("Kalor", "shoes", []),
            ("Kalos", "shoes", []),
        ],
        "brand string, category string, protected_terms array<string>",
    )
    listings = spark.createDataFrame(
        [
            ("exact", "Lumorra bag", None),
            ("exact_short", "oak chair", None),  # a short word matches exactly
            ("claimed", "Plain scarf", "VANTELE"),  # the claimed brand field counts
            ("one_edit", "Lumorr tote", None),  # 1 from lumorra and from lumora
            ("one_insert", "Vantle scarf", None),
            ("two_edits", "Vamtelle shoes", None),  # 2 from vantele
            ("two_longer", "Lumxxrra bag", None),  # 2 from lumorra, 3 from lumora
            ("two_at_min_length", "Vante", None),  # 5 letters, 2 from vantele
            ("too_far", "luminous lumberjack", None),  # same prefix, more than 2 edits
            ("too_short", "Oaks", None),  # 1 from oak, but 4 letters
            ("other_prefix", "Xumorra", None),  # 1 edit, but in the first two letters
            ("tie", "kalox", None),  # 1 from kalor and kalos: the first brand by name
            ("exact_wins", "Lumorr Vantele", None),
            ("nothing", "Plain canvas tote", None),
        ],
        "listing_id string, title string, brand string",
    )
    terms = brand_terms(registry)
    schema = "listing_id string, brand_canonical string, brand_exact boolean, brand_fuzzy boolean"
    exact = [
        ("exact", "Lumorra", True, False),
        ("exact_short", "Oak", True, False),
        ("claimed", "Vantele", True, False),
        ("exact_wins", "Vantele", True, False),
    ]
    one_edit = [
        ("one_edit", "Lumorra", False, True),
        ("one_insert", "Vantele", False, True),
        ("tie", "Kalor", False, True),
    ]
    two_edits = [
        ("two_edits", "Vantele", False, True),
        ("two_longer", "Lumorra", False, True),
        ("two_at_min_length", "Vantele", False, True),
    ]
    for max_distance, expected in (
        (0, exact),
        (1, exact + one_edit),
        (2, exact + one_edit + two_edits),
    ):
        matches = brand_matches(listings, terms, max_distance=max_distance, min_length=5)
        assertDataFrameEqual(matches, spark.createDataFrame(expected, schema))
        old = _old_brand_matches(listings, terms, max_distance=max_distance, min_length=5)
        assertDataFrameEqual(matches, old)


def test_counterfeit_keywords_are_counted(spark: SparkSession) -> None:
    listings = spark.createDataFrame(
        [
            ("L1", "s1", "REPLICA bag 1:1", "mirror quality", None, 1.0, None),
            ("L2", "s1", "Leather bag", None, None, 1.0, None),
        ],
        LISTINGS,
    )
    keywords = ["replica", "1:1", "mirror quality", "dupe"]
    rows = _by(listings.transform(with_keywords, keywords), "listing_id")
    assert rows["L1"]["counterfeit_keywords"] == 3 and rows["L2"]["counterfeit_keywords"] == 0


def test_review_bursts_duplicates_and_self_reviews(spark: SparkSession) -> None:
    day1, day2 = datetime(2026, 11, 9, 10), datetime(2026, 11, 10, 9)
    reviews = spark.createDataFrame(
        [
            ("r1", "L1", "b1", 5, "great!!", day1, "dev-x", "9.9.9.1"),
            ("r2", "L1", "b2", 5, "great!!", day1, "dev-s1", "9.9.9.2"),  # seller's own device
            ("r3", "L1", "b3", 5, "great!!", day1, "dev-y", "1.1.1.1"),  # seller's own IP
            ("r4", "L1", "b4", 4, "ok", day1, None, None),
            ("r5", "L1", "b5", 3, "meh", day2, "dev-z", "8.8.8.8"),
            (
                "r6",
                "L2",
                "b6",
                5,
                "great!!",
                day1,
                "dev-s1",
                "1.1.1.1",
            ),  # s2's review: not s1's kit
        ],
        "review_id string, listing_id string, buyer_id string, rating int, review_text string, "
        "created_at timestamp, buyer_device_id string, buyer_ip string",
    )
    owners = spark.createDataFrame(
        [("L1", "s1"), ("L2", "s2")], "listing_id string, seller_id string"
    )
    kit = spark.createDataFrame(
        [("s1", "dev-s1"), ("s1", "1.1.1.1")], "seller_id string, identifier string"
    )
    rows = _by(
        review_anomalies(reviews, owners, kit, burst_per_day=4, duplicate_min=3), "seller_id"
    )
    s1 = rows["s1"]
    assert s1["review_count"] == 5
    assert s1["max_reviews_per_listing_day"] == 4 and s1["review_bursts"] == 1
    assert s1["duplicate_review_share"] == pytest.approx(3 / 5)
    assert s1["self_review_share"] == pytest.approx(2 / 5)
    assert s1["five_star_share"] == pytest.approx(3 / 5)
    s2 = rows["s2"]
    assert s2["review_bursts"] == 0 and s2["self_review_share"] == 0.0
    assert s2["duplicate_review_share"] == 0.0  # duplicates count within one seller


def _notices(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            # notice, listing, seller, received, verdict, verdict_at, ingested
            (
                "n1",
                "L1",
                "s1",
                datetime(2026, 11, 1),
                "confirmed",
                datetime(2026, 11, 5),
                date(2026, 11, 5),
            ),
            (
                "n2",
                "L2",
                "s1",
                datetime(2026, 11, 2),
                "rejected",
                datetime(2026, 11, 10, 22),
                date(2026, 11, 10),
            ),
            # decided after the night: pending on the night, confirmed later
            ("n3", "L3", "s1", datetime(2026, 11, 8), "pending", None, date(2026, 11, 8)),
            (
                "n3",
                "L3",
                "s1",
                datetime(2026, 11, 8),
                "confirmed",
                datetime(2026, 11, 12),
                date(2026, 11, 12),
            ),
            (
                "n4",
                "L4",
                "s2",
                datetime(2026, 11, 9),
                "confirmed",
                datetime(2026, 11, 11),
                date(2026, 11, 11),
            ),
            # received after the night
            (
                "n5",
                "L5",
                "s2",
                datetime(2026, 11, 11),
                "confirmed",
                datetime(2026, 11, 11),
                date(2026, 11, 11),
            ),
        ],
        "notice_id string, listing_id string, seller_id string, received_at timestamp, "
        "verdict string, verdict_at timestamp, _ingest_date date",
    )


def test_confirmed_takedowns_count_only_verdicts_known_by_the_night(spark: SparkSession) -> None:
    on_night = _by(takedown_history(verdicts_known(_notices(spark), NIGHT)), "seller_id")
    assert (on_night["s1"]["confirmed_takedowns"], on_night["s1"]["rejected_takedowns"]) == (1, 1)
    assert "s2" not in on_night or on_night["s2"]["confirmed_takedowns"] == 0
    later = _by(takedown_history(verdicts_known(_notices(spark), date(2026, 11, 12))), "seller_id")
    assert later["s1"]["confirmed_takedowns"] == 2 and later["s2"]["confirmed_takedowns"] == 2


def test_image_reuse_counts_other_sellers_and_other_confirmed_fakes(spark: SparkSession) -> None:
    listings = spark.createDataFrame(
        [
            ("L1", "s1", "t", None, None, 1.0, "aaaaaaaaaaaaaaaa"),
            ("L2", "s2", "t", None, None, 1.0, "aaaaaaaaaaaaaaaa"),
            ("L3", "s2", "t", None, None, 1.0, "aaaaaaaaaaaaaaaa"),
            ("L4", "s3", "t", None, None, 1.0, "bbbbbbbbbbbbbbbb"),
            ("L5", "s3", "t", None, None, 1.0, None),
        ],
        LISTINGS,
    )
    confirmed = spark.createDataFrame([("L1",), ("L4",)], "listing_id string")
    rows = _by(listings.transform(with_image_reuse, listings, confirmed), "listing_id")
    assert [rows[x]["image_other_sellers"] for x in ("L1", "L2", "L4", "L5")] == [1, 1, 0, 0]
    # L1's own verdict is its label, not a feature; L2 shares the photo of confirmed L1.
    assert [rows[x]["image_of_confirmed_fake"] for x in ("L1", "L2", "L3", "L4", "L5")] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_payee_and_ship_origin_shared_with_confirmed_sellers(spark: SparkSession) -> None:
    identifiers = spark.createDataFrame(
        [
            ("s1", "payee", "P1"),
            ("s1", "ship_origin", "SZ-9"),
            ("s2", "payee", "P1"),
            ("s2", "ship_origin", "SZ-9"),
            ("s3", "ship_origin", "SZ-9"),
            ("s3", "device", "D1"),
            ("s4", "device", "D1"),  # devices are not this feature's business
        ],
        "seller_id string, identifier_type string, identifier string",
    )
    confirmed = spark.createDataFrame([("s1",), ("s4",)], "seller_id string")
    rows = _by(
        shared_with_confirmed(identifiers, confirmed, types=("ship_origin", "payee")), "seller_id"
    )
    assert {s: r["identifiers_shared_with_confirmed"] for s, r in rows.items()} == {
        "s2": 2,
        "s3": 1,
    }


LISTING_RECORD = (
    "listing_id string, seller_id string, seller_confirmed_takedowns int, "
    "seller_rejected_takedowns int, ring_size int, ring_confirmed_takedowns int, "
    "ring_confirmed_sellers int, ring_confirmed_share double"
)


def test_a_listing_never_counts_its_own_verdict_in_its_sellers_or_rings_record(
    spark: SparkSession,
) -> None:
    # s1 (two confirmed takedowns, L1 and L2) and the new account s4 are in a ring of 4; s3's
    # only confirmed takedown is L5, in a ring of 2; s5 is unlinked (ring columns 0).
    notices = spark.createDataFrame(
        [
            ("n1", "L1", "s1", datetime(2026, 11, 1), "confirmed", datetime(2026, 11, 3)),
            ("n2", "L2", "s1", datetime(2026, 11, 2), "confirmed", datetime(2026, 11, 4)),
            ("n3", "L3", "s2", datetime(2026, 11, 2), "rejected", datetime(2026, 11, 4)),
            ("n5", "L5", "s3", datetime(2026, 11, 2), "confirmed", datetime(2026, 11, 4)),
            ("n7", "L7", "s5", datetime(2026, 11, 2), "confirmed", datetime(2026, 11, 4)),
            ("n8", "L8", "s4", datetime(2026, 11, 11), "confirmed", datetime(2026, 11, 12)),
        ],
        "notice_id string, listing_id string, seller_id string, received_at timestamp, "
        "verdict string, verdict_at timestamp",
    ).withColumn("_ingest_date", F.to_date("verdict_at"))
    listings = spark.createDataFrame(
        [
            ("L1", "s1", 2, 0, 4, 2, 1, 0.25),
            ("L2", "s1", 2, 0, 4, 2, 1, 0.25),
            ("L3", "s2", 0, 1, 4, 2, 1, 0.25),
            ("L4", "s4", 0, 0, 4, 2, 1, 0.25),  # the new account of the ring
            ("L8", "s4", 0, 0, 4, 2, 1, 0.25),  # its notice arrives after the night
            ("L5", "s3", 1, 0, 2, 1, 1, 0.5),
            ("L6", "s3", 1, 0, 2, 1, 1, 0.5),
            ("L7", "s5", 1, 0, 0, 0, 0, 0.0),
        ],
        LISTING_RECORD,
    )
    expected = spark.createDataFrame(
        [
            ("L1", "s1", 1, 0, 4, 1, 1, 0.25),  # s1 is still confirmed through L2
            ("L2", "s1", 1, 0, 4, 1, 1, 0.25),
            ("L3", "s2", 0, 0, 4, 2, 1, 0.25),  # its own rejection is its label too
            ("L4", "s4", 0, 0, 4, 2, 1, 0.25),
            ("L8", "s4", 0, 0, 4, 2, 1, 0.25),
            ("L5", "s3", 0, 0, 2, 0, 0, 0.0),  # s3 was confirmed only through L5
            ("L6", "s3", 1, 0, 2, 1, 1, 0.5),
            ("L7", "s5", 0, 0, 0, 0, 0, 0.0),  # no ring: nothing to take out
        ],
        LISTING_RECORD,
    )
    verdicts = verdicts_known(notices, NIGHT)
    assertDataFrameEqual(without_own_verdict(listings, verdicts), expected)


def test_usable_identifiers_are_those_shared_by_two_up_to_the_cap(spark: SparkSession) -> None:
    identifiers = spark.createDataFrame(
        [
            ("a", "payee", "P1"),
            ("b", "payee", "P1"),
            ("b", "payee", "P1"),  # the same seller twice counts once
            ("a", "phone", "P1"),  # the same value under another type is another identifier
            ("c", "phone", "P1"),
            ("d", "phone", "P1"),
            ("a", "device", "D1"),  # one seller only: links no one
            ("a", "device", None),
            ("b", "device", None),  # no identifier: links no one
            *[(s, "wifi", "HUB") for s in ("a", "b", "c", "d")],  # above the cap of 3
        ],
        "seller_id string, identifier_type string, identifier string",
    ).repartition(3)
    expected = spark.createDataFrame(
        [
            ("payee", "P1", "a", 2),
            ("payee", "P1", "b", 2),
            ("phone", "P1", "a", 3),
            ("phone", "P1", "c", 3),
            ("phone", "P1", "d", 3),
        ],
        "identifier_type string, identifier string, seller_id string, degree long",
    )
    assertDataFrameEqual(usable_identifiers(identifiers, cap=3), expected)


def test_sellers_sharing_a_non_hub_identifier_with_caught_sellers_inherit_their_takedowns(
    spark: SparkSession,
) -> None:
    identifiers = spark.createDataFrame(
        [
            ("a", "payee", "P1"),
            ("u", "payee", "P1"),
            ("v", "image", "IMG"),
            ("a", "image", "IMG"),
            ("c", "image", "IMG"),
            # a warehouse shared by 5 sellers, above the cap of 3: it taints no one
            *[(s, "ship_origin", "WH") for s in ("a", "u", "v", "x", "y")],
        ],
        "seller_id string, identifier_type string, identifier string",
    )
    takedowns = spark.createDataFrame(
        [("a", 2), ("c", 1), ("u", 0)], "seller_id string, confirmed_takedowns int"
    )
    usable = usable_identifiers(identifiers, cap=3)
    expected = spark.createDataFrame(
        [("u", 1, 2), ("v", 2, 3), ("a", 1, 1), ("c", 1, 2)],
        "seller_id string, neighbour_confirmed_sellers int, neighbour_confirmed_takedowns int",
    )
    assertDataFrameEqual(neighbour_takedowns(usable, takedowns), expected)
