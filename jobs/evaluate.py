"""Measure a night against a simulator's ground truth (<truth>/_truth/), printed as JSON.

Only evaluation reads the truth; nothing in the pipeline does. The report is composed of
sections, each a function `(ctx, truth_dir, night) -> dict` registered in SECTIONS, so later
steps add their own measure by adding one function and one line:
- linkage: pairwise precision and recall of the rings over counterfeit sellers, the largest
  cluster against the largest true ring, clusters that fuse honest sellers, rings found;
- model: the champion's listing-level PR-AUC and precision in the top 1%, against the full truth
  (not the partial labels), beside the rules-only baseline;
- leads: precision of the top ring leads (a lead is true when most of its members are fakes).
A section whose tables do not exist yet is reported as {"skipped": reason}.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from datetime import date
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.runtime import catalog
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext
from training.baseline import rules_score
from training.metrics import listing_order, ranking_metrics
from training.scoring import live_listings

HELP = "quality of a night against a simulator's _truth/ (JSON): rings, model, leads"

Section = Callable[[JobContext, str, date], dict[str, Any]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--truth", required=True, help="the simulator's landing folder (holding _truth/)"
    )
    add_night_argument(parser, "the night to evaluate")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated sections (default: all of {', '.join(SECTIONS)})",
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    report = evaluate(ctx, args.truth, args.date, args.sections.split(","))
    print(json.dumps(report, indent=2, sort_keys=True))


def evaluate(ctx: JobContext, truth: str, night: date, sections: list[str]) -> dict[str, Any]:
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown evaluation sections {unknown}; known: {sorted(SECTIONS)}")
    report: dict[str, Any] = {"date": night.isoformat()}
    for name in sections:
        report[name] = SECTIONS[name](ctx, truth, night)
    return report


def _truth(ctx: JobContext, truth: str, name: str) -> DataFrame:
    return ctx.spark.read.parquet(f"{truth}/_truth/{name}.parquet")


# ---------------------------------------------------------------------------------------------
# linkage


def linkage_section(ctx: JobContext, truth: str, night: date) -> dict[str, Any]:
    lake = ctx.lakehouse
    if not lake.exists(catalog.ACCOUNT_CLUSTERS):
        return {"skipped": f"{catalog.ACCOUNT_CLUSTERS} does not exist"}
    clusters = lake.read_night(catalog.ACCOUNT_CLUSTERS, night)
    # Judge against the accounts the pipeline could know on the night.
    known = lake.read(catalog.SELLERS_CURRENT).select("seller_id")
    sellers = _truth(ctx, truth, "sellers").join(known, "seller_id", "left_semi")
    return linkage_quality(clusters, sellers)


def _pairs(members: DataFrame, group: str) -> DataFrame:
    a, b = members.alias("a"), members.alias("b")
    return a.join(
        b,
        (F.col(f"a.{group}") == F.col(f"b.{group}"))
        & (F.col("a.seller_id") < F.col("b.seller_id")),
    ).select(F.col("a.seller_id").alias("s1"), F.col("b.seller_id").alias("s2"))


def linkage_quality(
    clusters: DataFrame, truth_sellers: DataFrame, *, family_size: int = 2
) -> dict[str, Any]:
    """Rings against the true rings.

    - pairwise_precision: of the predicted same-ring pairs involving a counterfeit seller, the
      share that are truly in one ring; pairwise_recall: of the true same-ring pairs, the share
      predicted (pairs are bounded by ring sizes, so both stay small);
    - largest_cluster vs largest_true_ring: the giant-component health check;
    - clusters_fusing_honest_sellers: clusters holding more than `family_size` honest sellers
      (an honest operator may run a couple of stores from one device: that is a true link, not a
      fusion); honest_in_counterfeit_rings: honest sellers put in a cluster with a counterfeiter;
    - rings_found: clusters with at least two counterfeit sellers, of true_rings (with >= 2 known
      members)."""
    fakes = truth_sellers.where("is_counterfeit").select(
        "seller_id", F.col("ring_id").alias("true_ring")
    )
    true_pairs = _pairs(fakes, "true_ring")
    predicted = clusters.select("seller_id", "ring_id")
    fake_flags = fakes.select("seller_id", F.lit(1).alias("fake"))
    predicted_pairs = (
        _pairs(predicted, "ring_id")
        .join(
            fake_flags.withColumnRenamed("seller_id", "s1").withColumnRenamed("fake", "f1"),
            "s1",
            "left",
        )
        .join(
            fake_flags.withColumnRenamed("seller_id", "s2").withColumnRenamed("fake", "f2"),
            "s2",
            "left",
        )
        .where(F.col("f1").isNotNull() | F.col("f2").isNotNull())
        .select("s1", "s2")
    )
    hits = predicted_pairs.join(true_pairs, ["s1", "s2"]).count()
    n_predicted, n_true = predicted_pairs.count(), true_pairs.count()

    honest = truth_sellers.where("NOT is_counterfeit").select("seller_id", F.lit(1).alias("honest"))
    per_cluster = (
        predicted.join(honest, "seller_id", "left")
        .join(fake_flags, "seller_id", "left")
        .groupBy("ring_id")
        .agg(
            F.count(F.lit(1)).alias("size"),
            F.sum(F.coalesce("honest", F.lit(0))).alias("honest"),
            F.sum(F.coalesce("fake", F.lit(0))).alias("fakes"),
        )
    )
    stats = per_cluster.agg(
        F.count(F.lit(1)).alias("clusters"),
        F.max("size").alias("largest"),
        F.sum((F.col("honest") > family_size).cast("int")).alias("fusing"),
        F.max("honest").alias("max_honest"),
        F.sum(F.when(F.col("fakes") > 0, F.col("honest")).otherwise(0)).alias("honest_mixed"),
        F.sum((F.col("fakes") >= 2).cast("int")).alias("rings_found"),
    ).first()
    true_rings = (
        fakes.groupBy("true_ring")
        .count()
        .agg(F.max("count").alias("largest"), F.sum((F.col("count") >= 2).cast("int")).alias("n"))
        .first()
    )
    assert stats is not None and true_rings is not None
    largest, largest_true = int(stats["largest"] or 0), int(true_rings["largest"] or 0)
    precision = hits / n_predicted if n_predicted else 1.0
    recall = hits / n_true if n_true else 1.0
    return {
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "pairwise_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "predicted_pairs": n_predicted,
        "true_pairs": n_true,
        "clusters": int(stats["clusters"]),
        "rings_found": int(stats["rings_found"] or 0),
        "true_rings": int(true_rings["n"] or 0),
        "largest_cluster": largest,
        "largest_true_ring": largest_true,
        "largest_cluster_vs_true": largest / largest_true if largest_true else None,
        "clusters_fusing_honest_sellers": int(stats["fusing"] or 0),
        "max_honest_in_one_cluster": int(stats["max_honest"] or 0),
        "honest_in_counterfeit_rings": int(stats["honest_mixed"] or 0),
    }


# ---------------------------------------------------------------------------------------------
# model


def model_section(ctx: JobContext, truth: str, night: date) -> dict[str, Any]:
    """The night's scores against the full truth (not the partial labels): ranking over every
    scored listing, the review queue (the flagged listings), and the fakes of new accounts of
    rings that were already operating (the whack-a-mole case the ring context is for)."""
    lake = ctx.lakehouse
    if not lake.exists(catalog.LISTING_SCORES):
        return {"skipped": f"{catalog.LISTING_SCORES} does not exist"}
    listings = _truth(ctx, truth, "listings")
    scored = lake.read_night(catalog.LISTING_SCORES, night)
    features = live_listings(lake.read_night(catalog.LISTING_FEATURES, night))  # as scored
    registered = lake.read(catalog.SELLERS_CURRENT).select(
        "seller_id", F.to_date("registered_at").alias("registered")
    )
    return score_quality(
        scored,
        listings,
        _truth(ctx, truth, "sellers"),
        registered,
        rules_score(features, ctx.conf.training.rules_max_price_to_reference),
        night=night,
        top_share=0.01,
    )


def score_quality(
    scored: DataFrame,
    truth_listings: DataFrame,
    truth_sellers: DataFrame,
    registered: DataFrame,
    rules: DataFrame,
    *,
    night: date,
    top_share: float,
) -> dict[str, Any]:
    """- champion / rules_baseline: PR-AUC, ROC-AUC and precision in the top `top_share` of the
      scored listings, labels from the truth;
    - flagged: the review queue's size and precision (share of flagged listings that are fakes);
    - new_ring_accounts: fake listings of ring accounts registered on the night whose ring had an
      account registered before it: how many, and the share flagged or in the top `top_share`."""
    label = F.col("is_counterfeit").cast("int").alias("label")
    # listing_id lets ranking_metrics break score ties by a hash of the id, not by the label.
    labelled = scored.join(truth_listings, "listing_id").select(
        "listing_id", "seller_id", "score", "flagged", label
    )
    champion = ranking_metrics(labelled, top_share=top_share)
    queue = (
        labelled.where("flagged")
        .agg(F.count(F.lit(1)).alias("n"), F.sum("label").alias("fakes"))
        .first()
    )
    assert queue is not None
    flagged = int(queue["n"])

    k = max(1, math.ceil(int(champion["examples"]) * top_share))
    top = (
        labelled.orderBy(F.col("score").desc(), listing_order().asc())
        .limit(k)
        .select("listing_id", F.lit(True).alias("in_top"))
    )
    accounts = truth_sellers.where("is_counterfeit").join(registered, "seller_id")
    ring_start = accounts.groupBy("ring_id").agg(F.min("registered").alias("ring_start"))
    newcomers = (
        accounts.join(ring_start, "ring_id")
        .where((F.col("registered") == F.lit(night)) & (F.col("ring_start") < F.lit(night)))
        .select("seller_id")
    )
    caught = (
        labelled.where(F.col("label") == 1)
        .join(newcomers, "seller_id", "left_semi")
        .join(top, "listing_id", "left")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum((F.col("flagged") | F.coalesce("in_top", F.lit(False))).cast("int")).alias("hit"),
            F.countDistinct("seller_id").alias("accounts"),
        )
        .first()
    )
    assert caught is not None
    fakes_of_newcomers = int(caught["n"])
    return {
        "champion": champion,
        "rules_baseline": ranking_metrics(
            rules.join(truth_listings, "listing_id").select("listing_id", "score", label),
            top_share=top_share,
        ),
        "flagged": flagged,
        "flagged_precision": int(queue["fakes"] or 0) / flagged if flagged else None,
        "new_ring_accounts": int(caught["accounts"]),
        "new_ring_account_fakes": fakes_of_newcomers,
        "new_ring_account_fakes_caught": (
            int(caught["hit"] or 0) / fakes_of_newcomers if fakes_of_newcomers else None
        ),
    }


# ---------------------------------------------------------------------------------------------
# leads


def leads_section(ctx: JobContext, truth: str, night: date) -> dict[str, Any]:
    lake = ctx.lakehouse
    if not lake.exists(catalog.RING_LEADS):
        return {"skipped": f"{catalog.RING_LEADS} does not exist"}
    leads = lake.read_night(catalog.RING_LEADS, night)
    return lead_precision(leads, _truth(ctx, truth, "sellers"), top=20)


def lead_precision(leads: DataFrame, truth_sellers: DataFrame, *, top: int) -> dict[str, Any]:
    """Of the `top` leads by lead_rank, how many are true rings (most members counterfeiters).

    A world with fewer counterfeit rings than `top` caps the precision at rings / top, so the
    ranks of the true leads are reported too: all true rings first is the best a ranking can do.
    """
    ranked = (
        leads.orderBy("lead_rank")
        .limit(top)
        .select("ring_id", "lead_rank", F.explode("member_sellers").alias("seller_id"))
    )
    per_lead = (
        ranked.join(truth_sellers.select("seller_id", "is_counterfeit"), "seller_id")
        .groupBy("ring_id", "lead_rank")
        .agg(F.avg(F.col("is_counterfeit").cast("double")).alias("fake_share"))
    )
    rows = per_lead.collect()  # bounded: at most `top` leads
    true_ranks = sorted(r["lead_rank"] for r in rows if r["fake_share"] > 0.5)
    return {
        "top": len(rows),
        "true_rings": len(true_ranks),
        "precision": len(true_ranks) / len(rows) if rows else 0.0,
        "true_lead_ranks": true_ranks,
        "true_rings_ranked_first": true_ranks == list(range(1, len(true_ranks) + 1)),
    }


SECTIONS: dict[str, Section] = {
    "linkage": linkage_section,
    "model": model_section,
    "leads": leads_section,
}
