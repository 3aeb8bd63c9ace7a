"""The evaluation command's measures, on rings whose answer is known by construction."""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.evaluate import lead_precision, linkage_quality, score_quality

TRUTH = "seller_id string, is_counterfeit boolean, ring_id string"


def test_linkage_quality_counts_pairs_rings_and_honest_fusions(spark: SparkSession) -> None:
    truth = spark.createDataFrame(
        [
            ("a1", True, "T1"), ("a2", True, "T1"), ("a3", True, "T1"),  # a ring of 3
            ("b1", True, "T2"), ("b2", True, "T2"),  # a ring of 2
            ("h1", False, None), ("h2", False, None), ("h3", False, None), ("h4", False, None),
        ],
        TRUTH,
    )  # fmt: skip
    # Found: a1-a2 (a3 missed), b1-b2 but with one honest seller; h2..h4 fused together.
    clusters = spark.createDataFrame(
        [("a1", "R1"), ("a2", "R1"), ("b1", "R2"), ("b2", "R2"), ("h1", "R2"),
         ("h2", "R3"), ("h3", "R3"), ("h4", "R3")],
        "seller_id string, ring_id string",
    )  # fmt: skip
    quality = linkage_quality(clusters, truth, family_size=2)
    # True pairs: a1a2, a1a3, a2a3, b1b2 = 4; predicted pairs touching a fake: a1a2, b1b2,
    # b1h1, b2h1 = 4, of which a1a2 and b1b2 are true.
    assert (quality["true_pairs"], quality["predicted_pairs"]) == (4, 4)
    assert quality["pairwise_precision"] == 0.5 and quality["pairwise_recall"] == 0.5
    assert quality["pairwise_f1"] == 0.5
    assert (quality["rings_found"], quality["true_rings"]) == (2, 2)
    assert (quality["largest_cluster"], quality["largest_true_ring"]) == (3, 3)
    assert quality["clusters_fusing_honest_sellers"] == 1  # R3: three honest sellers
    assert quality["honest_in_counterfeit_rings"] == 1  # h1 in R2


def test_lead_precision_judges_leads_in_rank_order(spark: SparkSession) -> None:
    truth = spark.createDataFrame(
        [("a1", True, "T1"), ("a2", True, "T1"), ("h1", False, None), ("h2", False, None),
         ("b1", True, "T2"), ("h3", False, None)],
        TRUTH,
    )  # fmt: skip
    leads = spark.createDataFrame(
        [("R1", 1, 0.9, ["a1", "a2"]), ("R2", 2, 0.8, ["h1", "h2"]), ("R3", 3, 0.7, ["b1", "h3"])],
        "ring_id string, lead_rank int, risk double, member_sellers array<string>",
    )
    top2 = lead_precision(leads, truth, top=2)
    assert (top2["top"], top2["true_rings"], top2["precision"]) == (2, 1, 0.5)
    assert top2["true_lead_ranks"] == [1] and top2["true_rings_ranked_first"]
    # R3 is half fake: not a true ring (most members must be counterfeiters).
    assert lead_precision(leads, truth, top=3)["true_rings"] == 1


def test_score_quality_judges_the_queue_and_the_new_accounts_of_known_rings(
    spark: SparkSession,
) -> None:
    night = date(2026, 11, 4)
    truth = spark.createDataFrame(
        [("old", True, "T1"), ("new", True, "T1"), ("solo", True, "T2"), ("h", False, None)],
        TRUTH,
    )
    registered = spark.createDataFrame(
        [("old", date(2026, 11, 1)), ("new", night), ("solo", night), ("h", date(2026, 1, 1))],
        "seller_id string, registered date",
    )
    # 100 listings: 4 fakes of the new account of ring T1, 1 of the lone new ring T2 (its ring
    # has no older account: not counted), 95 genuine.
    listings = [("n1", "new", 0.99, True, True), ("n2", "new", 0.2, False, True),
                ("n3", "new", 0.1, False, True), ("n4", "new", 0.05, False, True),
                ("s1", "solo", 0.98, True, True)]  # fmt: skip
    listings += [(f"g{i:02d}", "h", 0.5 - i / 1000, i < 1, False) for i in range(95)]
    scored = spark.createDataFrame(
        [(i, s, p, f) for i, s, p, f, _ in listings],
        "listing_id string, seller_id string, score double, flagged boolean",
    )
    truth_listings = spark.createDataFrame(
        [(i, fake) for i, *_, fake in listings], "listing_id string, is_counterfeit boolean"
    )
    rules = scored.select("listing_id", F.lit(0.5).alias("score"))
    quality = score_quality(
        scored, truth_listings, truth, registered, rules, night=night, top_share=0.01
    )
    # Flagged: n1, s1 and g00 -> 2 of 3 fakes.
    assert quality["flagged"] == 3 and quality["flagged_precision"] == 2 / 3
    # The new account of T1 has 4 fakes; n1 is flagged (and the top 1% is n1 alone).
    assert quality["new_ring_accounts"] == 1 and quality["new_ring_account_fakes"] == 4
    assert quality["new_ring_account_fakes_caught"] == 0.25
    assert quality["champion"]["k_at_top_share"] == 1
    assert quality["champion"]["precision_at_top_share"] == 1.0
