"""Upstream sources on hand-made tables: an origin two rings share is a source lead joining both,
a payee two confirmed sellers share is one too; a hub origin, a payee of one ring, a photo of one
ring and an honest seller, and a shared IP are not."""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from training.sources import source_leads, with_sources

NIGHT = date(2026, 11, 5)


def d(day: int) -> date:
    return date(2026, 11, day)


def test_an_origin_shared_by_two_rings_is_a_source_lead_joining_both(spark: SparkSession) -> None:
    identifiers = spark.createDataFrame(
        [
            ("s1", "ship_origin", "CN-SZ", d(1), d(5)),  # the planted origin of R1 ...
            ("s3", "ship_origin", "CN-SZ", d(3), d(4)),  # ... that R2 also ships from
            ("s1", "ship_origin", "FC-1", d(1), d(5)),  # a fulfilment centre: a hub
            ("s3", "ship_origin", "FC-1", d(1), d(5)),
            ("h1", "ship_origin", "FC-1", d(1), d(5)),
            ("s1", "payee", "p2", d(1), d(5)),  # one ring's own payee: no upstream source
            ("s2", "payee", "p2", d(1), d(5)),
            ("c1", "payee", "p1", d(2), d(2)),  # two confirmed sellers outside any ring
            ("c2", "payee", "p1", d(4), d(5)),
            ("s1", "image", "img1", d(1), d(5)),  # one ring and an honest seller
            ("h2", "image", "img1", d(1), d(5)),
            ("s2", "ip", "81.2.69.142", d(1), d(5)),  # not a source type
            ("s3", "ip", "81.2.69.142", d(1), d(5)),
        ],
        "seller_id string, identifier_type string, identifier string, first_seen date, "
        "last_seen date",
    )
    hubs = spark.createDataFrame(
        [("ship_origin", "FC-1", 300)], "identifier_type string, identifier string, degree long"
    )
    clusters = spark.createDataFrame(
        [("s1", "R1"), ("s2", "R1"), ("s3", "R2"), ("h1", None), ("c1", None), ("c2", None)],
        "seller_id string, ring_id string",
    )
    takedowns = spark.createDataFrame(
        [("s3", 2), ("c1", 1), ("c2", 1), ("h2", 0)], "seller_id string, confirmed_takedowns int"
    )
    risk = spark.createDataFrame(
        [("s1", 0.9), ("s3", 0.7), ("c1", 0.4), ("c2", 0.2), ("h2", 0.1)],
        "seller_id string, risk double",
    )
    scores = spark.createDataFrame(
        [
            ("l1", "s1", True, "Lumora"),
            ("l2", "s1", False, "Orvique"),
            ("l3", "s3", True, "Orvique"),
            ("l4", "c1", True, "Lumora"),
            ("l5", "c2", False, "Lumora"),
        ],
        "listing_id string, seller_id string, flagged boolean, brand string",
    )
    sources = source_leads(
        identifiers,
        hubs,
        clusters,
        takedowns,
        risk,
        scores,
        min_rings=2,
        min_confirmed_sellers=2,
        night=NIGHT,
    )
    expected = spark.createDataFrame(
        [
            (
                "ship_origin",
                "CN-SZ",
                NIGHT,
                1,
                0.8,
                2,
                ["R1", "R2"],
                2,
                ["s1", "s3"],
                1,
                2,
                3,
                2,
                ["Lumora", "Orvique"],
                d(1),
                d(5),
            ),
            (
                "payee",
                "p1",
                NIGHT,
                2,
                0.3,
                0,
                [],
                2,
                ["c1", "c2"],
                2,
                2,
                2,
                1,
                ["Lumora"],
                d(2),
                d(5),
            ),
        ],
        "source_type string, source string, score_date date, source_rank int, risk double, "
        "ring_count int, rings array<string>, sellers int, seller_ids array<string>, "
        "confirmed_sellers int, confirmed_takedowns int, listings int, flagged_listings int, "
        "brands array<string>, first_seen date, last_seen date",
    )
    assertDataFrameEqual(sources, expected)

    leads = spark.createDataFrame([("R1",), ("R2",), ("R3",)], "ring_id string")
    named = with_sources(leads, sources)
    assertDataFrameEqual(
        named,
        spark.createDataFrame(
            [
                ("R1", [("ship_origin", "CN-SZ")]),
                ("R2", [("ship_origin", "CN-SZ")]),
                ("R3", []),
            ],
            "ring_id string, sources array<struct<source_type:string,source:string>>",
        ),
    )
