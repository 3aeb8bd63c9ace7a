"""Brand case files: a brand's flagged listings of the night with reasons, ring and sources."""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from training.case_files import brand_cases, file_name

NIGHT = date(2026, 11, 5)


def test_a_brand_export_holds_its_flagged_listings_with_ring_and_sources(
    spark: SparkSession,
) -> None:
    scores = spark.createDataFrame(
        [
            (
                "l1",
                "s1",
                "R1",
                0.9,
                True,
                ["price_to_reference=0.10", "is_basic_template=1.00"],
                "Lumora",
            ),
            ("l2", "s2", None, 0.8, True, ["counterfeit_keywords=1.00"], "Lumora"),
            ("l3", "s1", "R1", 0.7, True, [], None),
            ("l4", "s3", "R2", 0.2, False, [], "Lumora"),  # not flagged: no case
        ],
        "listing_id string, seller_id string, ring_id string, score double, flagged boolean, "
        "reasons array<string>, brand string",
    )
    leads = spark.createDataFrame(
        [
            ("R1", "growing", 0.85, [("ship_origin", "CN-SZ"), ("payee", "p9")]),
            ("R2", "new", 0.2, []),
        ],
        "ring_id string, status string, risk double, "
        "sources array<struct<source_type:string,source:string>>",
    )
    expected = spark.createDataFrame(
        [
            (
                "(no brand)",
                "l3",
                "s1",
                0.7,
                "",
                "R1",
                "growing",
                0.85,
                "ship_origin:CN-SZ; payee:p9",
            ),
            (
                "Lumora",
                "l1",
                "s1",
                0.9,
                "price_to_reference=0.10; is_basic_template=1.00",
                "R1",
                "growing",
                0.85,
                "ship_origin:CN-SZ; payee:p9",
            ),
            ("Lumora", "l2", "s2", 0.8, "counterfeit_keywords=1.00", None, None, None, ""),
        ],
        "brand string, listing_id string, seller_id string, score double, reasons string, "
        "ring_id string, ring_status string, ring_risk double, ring_sources string",
    )
    assertDataFrameEqual(brand_cases(scores, leads), expected, checkRowOrder=True)
    assert file_name("Côte & Ciel/Paris") == "Côte___Ciel_Paris"
