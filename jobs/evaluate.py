"""Measure a night against a simulator's ground truth (<truth>/_truth/), printed as JSON.

Only evaluation reads the truth; nothing in the pipeline does. Sections:
- linkage: pairwise precision and recall of the rings over counterfeit sellers, the largest
  cluster against the largest true ring, clusters that fuse honest sellers;
- model: the champion's listing-level PR-AUC and precision in the top 1%, against the full truth
  (not the partial labels), beside the rules-only baseline;
- leads: precision of the top ring leads (a lead is true when most of its members are fakes).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.context import JobContext

HELP = "quality of a night against a simulator's _truth/ (JSON): rings, model, leads"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from jobs.cli import iso_date

    parser.add_argument(
        "--truth", required=True, help="the simulator's landing folder (holding _truth/)"
    )
    parser.add_argument("--date", type=iso_date, required=True, help="the night to evaluate")
    parser.add_argument(
        "--sections", default="linkage,model,leads", help="comma-separated sections"
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    print(
        json.dumps(
            evaluate(ctx, args.truth, args.date, args.sections.split(",")), indent=2, sort_keys=True
        )
    )


def evaluate(ctx: JobContext, truth: str, night: date, sections: list[str]) -> dict[str, Any]:
    report: dict[str, Any] = {"date": night.isoformat()}
    sellers = ctx.spark.read.parquet(f"{truth}/_truth/sellers.parquet")
    lake = ctx.lakehouse
    if "linkage" in sections:
        clusters = lake.read("graph.account_clusters").where(F.col("feature_date") == F.lit(night))
        known = lake.read("silver.sellers_current").select("seller_id")
        report["linkage"] = linkage_quality(clusters, sellers.join(known, "seller_id", "left_semi"))
    if "model" in sections and lake.exists("gold.listing_scores"):
        from training.evaluate import ranking_metrics

        listings = ctx.spark.read.parquet(f"{truth}/_truth/listings.parquet")
        scored = lake.read("gold.listing_scores").where(F.col("score_date") == F.lit(night))
        labelled = scored.join(listings, "listing_id").select(
            "score", F.col("is_counterfeit").cast("int").alias("label")
        )
        report["model"] = {"champion": ranking_metrics(labelled, top_share=0.01)}
        features = lake.read("features.listing_features").where(
            F.col("feature_date") == F.lit(night)
        )
        from training.rules import rules_score

        rules = rules_score(features, ctx.conf.training.rules_max_price_to_reference).join(
            listings, "listing_id"
        )
        report["model"]["rules_baseline"] = ranking_metrics(
            rules.select("score", F.col("is_counterfeit").cast("int").alias("label")),
            top_share=0.01,
        )
    if "leads" in sections and lake.exists("gold.ring_leads"):
        leads = lake.read("gold.ring_leads").where(F.col("score_date") == F.lit(night))
        report["leads"] = lead_precision(leads, sellers, top=20)
    return report


def _pairs(members: DataFrame, group: str) -> DataFrame:
    a, b = members.alias("a"), members.alias("b")
    return a.join(
        b,
        (F.col(f"a.{group}") == F.col(f"b.{group}"))
        & (F.col("a.seller_id") < F.col("b.seller_id")),
    ).select(F.col("a.seller_id").alias("s1"), F.col("b.seller_id").alias("s2"))


def linkage_quality(clusters: DataFrame, truth_sellers: DataFrame) -> dict[str, Any]:
    """Pairwise precision/recall over counterfeit sellers; cluster sizes; honest fusion."""
    fakes = truth_sellers.where("is_counterfeit").select(
        "seller_id", F.col("ring_id").alias("true_ring")
    )
    true_pairs = _pairs(fakes, "true_ring")
    predicted = clusters.select("seller_id", "ring_id")
    involved = predicted.join(fakes, "seller_id", "left")
    predicted_pairs = (
        _pairs(involved, "ring_id")
        .join(fakes.select(F.col("seller_id").alias("s1"), F.lit(1).alias("f1")), "s1", "left")
        .join(fakes.select(F.col("seller_id").alias("s2"), F.lit(1).alias("f2")), "s2", "left")
        .where(F.col("f1").isNotNull() | F.col("f2").isNotNull())
        .select("s1", "s2")
    )
    hits = predicted_pairs.join(true_pairs, ["s1", "s2"]).count()
    n_predicted, n_true = predicted_pairs.count(), true_pairs.count()
    honest = truth_sellers.where("NOT is_counterfeit").select("seller_id")
    honest_per_cluster = predicted.join(honest, "seller_id").groupBy("ring_id").count()
    sizes = predicted.groupBy("ring_id").count()
    largest = sizes.agg(F.max("count")).first()
    largest_true = fakes.groupBy("true_ring").count().agg(F.max("count")).first()
    return {
        "pairwise_precision": hits / n_predicted if n_predicted else 1.0,
        "pairwise_recall": hits / n_true if n_true else 1.0,
        "predicted_pairs": n_predicted,
        "true_pairs": n_true,
        "rings_found": sizes.count(),
        "largest_cluster": int(largest[0] or 0) if largest else 0,
        "largest_true_ring": int(largest_true[0] or 0) if largest_true else 0,
        # Honest families are 2-3 linked stores; a cluster with more honest sellers was fused.
        "clusters_fusing_honest_sellers": honest_per_cluster.where("count > 3").count(),
    }


def lead_precision(leads: DataFrame, truth_sellers: DataFrame, *, top: int) -> dict[str, Any]:
    ranked = (
        leads.orderBy(F.desc("risk"), "ring_id")
        .limit(top)
        .select("ring_id", "risk", F.explode("member_sellers").alias("seller_id"))
    )
    per_lead = (
        ranked.join(truth_sellers, "seller_id")
        .groupBy("ring_id")
        .agg(F.avg(F.col("is_counterfeit").cast("double")).alias("fake_share"))
    )
    rows = per_lead.collect()  # bounded: at most `top` leads
    true_leads = sum(1 for r in rows if r["fake_share"] > 0.5)
    return {
        "top": len(rows),
        "true_rings": true_leads,
        "precision": true_leads / len(rows) if rows else 0.0,
    }
