"""The evaluation command's measures, on rings whose answer is known by construction."""

from __future__ import annotations

from pyspark.sql import SparkSession

from jobs.evaluate import lead_precision, linkage_quality

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
