"""Gold rows: pseudonymised IPs, the review budget, and ring leads that carry their evidence."""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from features.scoring import flag, ip_prefix, ring_leads, seller_risk

NIGHT = date(2026, 11, 3)


def test_ip_addresses_are_reduced_to_their_network(spark: SparkSession) -> None:
    ips = spark.createDataFrame(
        [("81.2.69.142",), ("2001:DB8:85a3:8d3:1319:8a2e:370:7348",)], "ip string"
    )
    assert [r[0] for r in ips.select(ip_prefix(F.col("ip"))).collect()] == [
        "81.2.69.0/24",
        "2001:db8:85a3::/48",
    ]


def test_flags_stop_at_the_review_budget(spark: SparkSession) -> None:
    scores = spark.createDataFrame(
        [(f"l{i}", i / 10) for i in range(10)], "listing_id string, score double"
    )
    flagged = {
        r["listing_id"] for r in flag(scores, threshold=0.5, budget=3).where("flagged").collect()
    }
    assert flagged == {"l9", "l8", "l7"}
    assert {
        r["listing_id"] for r in flag(scores, threshold=0.85, budget=3).where("flagged").collect()
    } == {"l9"}


def test_ring_lead_lists_members_brands_and_shared_identifiers(spark: SparkSession) -> None:
    listing_scores = spark.createDataFrame(
        [
            ("l1", "s1", "R1", NIGHT, 0.9, True, "Lumora"),
            ("l2", "s2", "R1", NIGHT, 0.8, True, "Orvique"),
            ("l3", "s3", None, NIGHT, 0.1, False, None),
        ],
        "listing_id string, seller_id string, ring_id string, score_date date, score double, flagged boolean, brand string",
    )
    identifiers = spark.createDataFrame(
        [
            ("R1", "payment", "pay-1", "s1", NIGHT, NIGHT),
            ("R1", "payment", "pay-1", "s2", NIGHT, NIGHT),
            ("R1", "ip", "10.9.8.7", "s1", NIGHT, NIGHT),
            ("R1", "ip", "10.9.8.7", "s2", NIGHT, NIGHT),
            ("R1", "payee", "payee-9", "s1", NIGHT, NIGHT),
            ("R1", "device", "only-s1", "s1", NIGHT, NIGHT),
        ],
        "ring_id string, identifier_type string, identifier string, seller_id string, first_seen date, last_seen date",
    )
    lead = ring_leads(listing_scores, seller_risk(listing_scores), identifiers).collect()
    assert len(lead) == 1
    row = lead[0]
    assert row["member_sellers"] == ["s1", "s2"] and row["ring_size"] == 2
    assert row["brands_hit"] == ["Lumora", "Orvique"] and row["flagged_listings"] == 2
    assert abs(row["risk"] - 0.85) < 1e-9
    shared = {
        (e["identifier_type"], e["identifier"], e["members"]) for e in row["shared_identifiers"]
    }
    assert shared == {
        ("payment", "pay-1", 2),
        ("ip", "10.9.8.0/24", 2),
    }  # one-member identifiers are not evidence
    assert row["payee_accounts"] == ["payee-9"]
