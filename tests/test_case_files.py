"""Brand case files: a brand's flagged listings of the night with reasons, ring and sources."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from jobs.reporting import templates
from jobs.reporting.ring_drawing import member_numbers, ring_figure, strongest_signal
from training.case_files import (
    brand_cases,
    case_leads,
    file_name,
    ring_links,
    ring_listings,
    ring_members,
    ring_timeline,
)

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


LEADS = (
    "ring_id string, lead_rank int, member_sellers array<string>, new_members array<string>, "
    "accounts_after_takedown array<string>"
)


def _leads(spark: SparkSession):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(
        [
            ("R1", 1, ["s1", "s2", "s3"], ["s3"], ["s3"]),
            ("R2", 2, ["s4", "s5"], None, None),
            ("R3", 3, ["s6", "s7"], [], []),  # past scoring.case_pages = 2: no page
        ],
        LEADS,
    )


def test_case_pages_go_to_the_first_leads_by_rank(spark: SparkSession) -> None:
    chosen = case_leads(_leads(spark), pages=2).select("ring_id")
    assertDataFrameEqual(chosen, spark.createDataFrame([("R1",), ("R2",)], "ring_id string"))


def test_ring_members_carry_their_risk_and_what_is_new(spark: SparkSession) -> None:
    risk = spark.createDataFrame(
        [("s1", 0.4, 3, 0), ("s2", 0.9, 5, 2), ("s3", 0.7, 1, 1), ("s4", 0.2, 2, 0)],
        "seller_id string, risk double, listings int, flagged_listings int",
    )  # s5 has no live listing tonight
    expected = spark.createDataFrame(
        [
            ("R1", "s2", 0.9, 5, 2, False, False),
            ("R1", "s3", 0.7, 1, 1, True, True),
            ("R1", "s1", 0.4, 3, 0, False, False),
            ("R2", "s4", 0.2, 2, 0, False, False),
            ("R2", "s5", None, 0, 0, False, False),
        ],
        "ring_id string, seller_id string, risk double, listings int, flagged_listings int, "
        "joined_tonight boolean, opened_after_takedown boolean",
    )
    members = ring_members(case_leads(_leads(spark), pages=2), risk)
    assertDataFrameEqual(members, expected, checkRowOrder=True)


def test_ring_timeline_keeps_the_last_nights_newest_first(spark: SparkSession) -> None:
    history = spark.createDataFrame(
        [
            ("R1", NIGHT - timedelta(days=d), "steady", 3, 0.5, 1, None)
            for d in range(4)  # four nights of R1
        ]
        + [("R9", NIGHT, "new", 2, 0.1, 0, ["s9"])],  # not a case lead
        "ring_id string, score_date date, status string, ring_size int, risk double, "
        "flagged_listings int, new_members array<string>",
    )
    expected = spark.createDataFrame(
        [("R1", NIGHT - timedelta(days=d), "steady", 3, 0.5, 1, []) for d in range(3)],
        "ring_id string, score_date date, status string, ring_size int, risk double, "
        "flagged_listings int, new_members array<string>",
    )
    timeline = ring_timeline(case_leads(_leads(spark), pages=2), history, nights=3)
    assertDataFrameEqual(timeline, expected, checkRowOrder=True)


def test_ring_listings_put_flagged_then_riskiest_first_and_stop_at_the_cap(
    spark: SparkSession,
) -> None:
    scores = spark.createDataFrame(
        [
            ("l1", "s1", "R1", 0.95, False, ["a"], "Lumora", "bags"),
            ("l2", "s2", "R1", 0.60, True, ["b", "c"], "Lumora", "bags"),
            ("l3", "s2", "R1", 0.90, True, [], None, "toys"),
            ("l4", "s4", "R2", 0.10, False, [], None, "toys"),
            ("l5", "s6", "R3", 0.99, True, [], None, "toys"),  # R3 has no page
        ],
        "listing_id string, seller_id string, ring_id string, score double, flagged boolean, "
        "reasons array<string>, brand string, category string",
    )
    expected = spark.createDataFrame(
        [
            ("R1", "l3", "s2", 0.90, True, None, "toys", ""),
            ("R1", "l2", "s2", 0.60, True, "Lumora", "bags", "b; c"),
            ("R2", "l4", "s4", 0.10, False, None, "toys", ""),
        ],
        "ring_id string, listing_id string, seller_id string, score double, flagged boolean, "
        "brand string, category string, reasons string",
    )
    listings = ring_listings(case_leads(_leads(spark), pages=2), scores, per_ring=2)
    assertDataFrameEqual(listings, expected, checkRowOrder=True)


def test_ring_links_are_the_links_inside_one_ring(spark: SparkSession) -> None:
    edges = spark.createDataFrame(
        [
            ("s1", "s2", ["device", "ip"], 0.9),
            ("s2", "s3", ["payment"], 1.0),
            ("s3", "s4", ["wifi"], 0.5),  # across two rings: no ring's link
            ("s4", "s5", ["phone"], 1.0),
        ],
        "src_seller_id string, dst_seller_id string, signal_types array<string>, weight double",
    )
    expected = spark.createDataFrame(
        [
            ("R1", "s1", "s2", ["device", "ip"], 0.9),
            ("R1", "s2", "s3", ["payment"], 1.0),
            ("R2", "s4", "s5", ["phone"], 1.0),
        ],
        "ring_id string, src_seller_id string, dst_seller_id string, "
        "signal_types array<string>, weight double",
    )
    links = ring_links(case_leads(_leads(spark), pages=2), edges)
    assertDataFrameEqual(links, expected, checkRowOrder=True)


@pytest.mark.parametrize("size", [3, 12, 40, 50, 70])
def test_a_ring_drawing_stays_legible_at_any_size(size: int) -> None:
    """Every drawn account carries its number, and no two labels overlap on the picture (the
    spring layout with ids and signal names written on it piled them up past a dozen)."""
    members = [f"S{i:015x}" for i in range(size)]
    links = [
        (members[i], members[j], ["device", "ip"] if (i + j) % 3 else ["wifi"])
        for i, j in itertools.combinations(range(size), 2)
        if j == i + 1 or (7 * i + j) % 5 == 0
    ]
    figure = ring_figure(members, links)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    axes = figure.axes[0]
    labels = [t for t in axes.texts]
    drawn = min(size, 60)
    assert sorted(int(t.get_text()) for t in labels) == list(range(1, drawn + 1))
    boxes = [t.get_window_extent(renderer) for t in labels]
    overlapping = [
        (a, b)
        for a, b in itertools.combinations(range(len(boxes)), 2)
        if boxes[a].overlaps(boxes[b])
    ]
    assert overlapping == []
    legend = axes.get_legend()
    signals = {strongest_signal(s) for _, _, s in links}
    assert {t.get_text() for t in legend.get_texts()} == signals
    assert axes.get_title() == ("" if size <= 60 else f"60 of {size} accounts drawn")
    assert member_numbers(members)[members[0]] == 1 and len(member_numbers(members)) == drawn


def test_a_link_is_coloured_by_its_strongest_signal() -> None:
    assert strongest_signal(["ip", "device", "payment"]) == "payment"
    assert strongest_signal(["ip"]) == "ip"
    assert strongest_signal(["tax_id", "zzz"]) == "tax_id"  # unknown types: the first by name


def test_pages_escape_what_they_show() -> None:
    """A value holding markup reaches the page as text (the .html.j2 names escaped nothing)."""
    page = (
        templates()
        .get_template("validation.html.j2")
        .render(
            table="sellers",
            night="2026-11-01",
            rows=1,
            success=False,
            passed=0,
            outcomes=[
                {
                    "rule": "utf8:title",
                    "expectation": "x",
                    "column": "title",
                    "success": False,
                    "unexpected_count": 1,
                    "unexpected_percent": 100.0,
                    "examples": ["<script>alert(1)</script>"],
                }
            ],
        )
    )
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
