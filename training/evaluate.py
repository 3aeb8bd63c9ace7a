"""Ranking metrics on (score, label) DataFrames, computed in Spark.

Brand protection reviews a fixed number of listings a day (the review budget), so besides PR-AUC
and ROC-AUC what matters is precision and recall among the top-scored listings.
"""

from __future__ import annotations

import math
from typing import Any

from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def ranking_metrics(
    scored: DataFrame, *, top_share: float | None = None, budget: int | None = None
) -> dict[str, Any]:
    """PR-AUC, ROC-AUC, and precision/recall in the top `budget` listings and top `top_share`."""
    data = scored.select(
        F.col("score").cast("double").alias("score"), F.col("label").cast("double").alias("label")
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
            top = data.orderBy(F.desc("score")).limit(k).agg(F.sum("label")).first()
            hits = float(top[0] or 0) if top else 0.0
            metrics[f"precision_at_{name}"] = hits / min(k, n)
            metrics[f"recall_at_{name}"] = hits / positives
        return metrics
    finally:
        data.unpersist()


def pr_curve(scored: DataFrame, points: int = 50) -> list[tuple[float, float]]:
    """(recall, precision) at `points` score thresholds (quantiles): bounded for plotting."""
    thresholds = scored.approxQuantile("score", [i / points for i in range(points)], 0.001)
    rows = []
    positives = scored.where("label = 1").count()
    for t in sorted(set(thresholds)):
        stats = (
            scored.where(F.col("score") >= t)
            .agg(F.count(F.lit(1)).alias("n"), F.sum("label").alias("tp"))
            .first()
        )
        if stats and stats["n"] and positives:
            rows.append((float(stats["tp"] or 0) / positives, float(stats["tp"] or 0) / stats["n"]))
    return rows
