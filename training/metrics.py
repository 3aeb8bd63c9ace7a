"""Ranking metrics on (score, label) DataFrames, computed in Spark.

Brand protection reviews a fixed number of listings a day (the review budget), so besides PR-AUC
and ROC-AUC what matters is precision and recall among the top-scored listings: the budget, and the
top 1% of everything scored. Nothing here brings more than a bounded number of rows to the driver:
the AUCs come from Spark's BinaryClassificationEvaluator, the top-k counts from a distributed
top-k, the precision-recall curve from a fixed number of score bins.
"""

from __future__ import annotations

import math
from typing import Any

from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

METRIC_NAMES = (
    "pr_auc",
    "roc_auc",
    "precision_at_budget",
    "recall_at_budget",
    "precision_at_top_share",
    "recall_at_top_share",
)


def listing_order() -> Column:
    """The order of listings with equal scores, wherever scores are ranked (these metrics, the
    review flags): a hash of the listing id, deterministic and independent of the label (listing
    ids could be ordered by creation)."""
    return F.xxhash64("listing_id")


def _tie_break(scored: DataFrame) -> Column:
    # Coarse scores (the rules baseline) tie a lot.
    if "listing_id" in scored.columns:
        return listing_order().asc()
    return F.col("label").asc()  # no id: pessimistic, negatives first among ties


def ranking_metrics(
    scored: DataFrame, *, budget: int | None = None, top_share: float | None = None
) -> dict[str, Any]:
    """PR-AUC, ROC-AUC, precision/recall in the top `budget` rows and in the top `top_share`.

    `scored` has `score` (higher = more likely counterfeit) and `label` (1 counterfeit, 0 genuine),
    optionally `listing_id` (for deterministic tie-breaking). With one class only, the AUCs are None.
    """
    tie = _tie_break(scored)
    data = scored.select(
        F.col("score").cast("double").alias("score"),
        F.col("label").cast("double").alias("label"),
        *(["listing_id"] if "listing_id" in scored.columns else []),
    ).persist()
    try:
        counts = data.agg(F.count(F.lit(1)).alias("n"), F.sum("label").alias("positives")).first()
        assert counts is not None
        n, positives = int(counts["n"]), int(counts["positives"] or 0)
        metrics: dict[str, Any] = {"examples": n, "positives": positives}
        if n == 0 or positives in (0, n):
            return {**metrics, "pr_auc": None, "roc_auc": None}
        evaluator = BinaryClassificationEvaluator(rawPredictionCol="score", labelCol="label")
        metrics["pr_auc"] = evaluator.setMetricName("areaUnderPR").evaluate(data)
        metrics["roc_auc"] = evaluator.setMetricName("areaUnderROC").evaluate(data)
        for name, k in (
            ("budget", budget),
            ("top_share", None if top_share is None else max(1, math.ceil(n * top_share))),
        ):
            if k is None:
                continue
            top = data.orderBy(F.col("score").desc(), tie).limit(k).agg(F.sum("label")).first()
            hits = float(top[0] or 0) if top else 0.0
            metrics[f"precision_at_{name}"] = hits / min(k, n)
            metrics[f"recall_at_{name}"] = hits / positives
            metrics[f"k_at_{name}"] = min(k, n)
        return metrics
    finally:
        data.unpersist()


def pr_curve(scored: DataFrame, bins: int = 200) -> list[tuple[float, float]]:
    """(recall, precision) when flagging every row with score >= each of `bins` score levels.

    One aggregation into at most bins + 1 rows (scores are probabilities in [0, 1]), cumulated on
    the driver from the top: bounded in size for plotting whatever the number of rows.
    """
    level = F.least(F.floor(F.col("score") * bins), F.lit(bins)).cast("int")
    per_bin = (
        scored.groupBy(level.alias("bin"))
        .agg(F.count(F.lit(1)).alias("n"), F.sum(F.col("label").cast("long")).alias("tp"))
        .orderBy(F.desc("bin"))
        .collect()  # bounded: at most bins + 1 rows
    )
    positives = sum(int(r["tp"] or 0) for r in per_bin)
    if positives == 0:
        return []
    points: list[tuple[float, float]] = []
    flagged = hits = 0
    for row in per_bin:
        flagged += int(row["n"])
        hits += int(row["tp"] or 0)
        points.append((hits / positives, hits / flagged))
    return points
