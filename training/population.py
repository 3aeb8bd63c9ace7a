"""Learning and judging on the population, not on the brands' notices alone.

The only labels are takedown notices, and brands report what looks suspicious *to them*: the
rejected notices are a strange slice of genuine listings (discounters, clearance, grey imports),
not a sample of the catalog. A model that learns "confirmed vs rejected among the reported" is
then applied to every listing, most of which look like neither. So training and evaluation both
take the population into account, as positive-unlabelled (PU) learning does:

- labelled positives: listings a brand reported and the marketplace confirmed;
- known negatives: reported listings whose notice was rejected;
- unlabelled: a seeded sample of listings never reported by the cutoff. Most are genuine, a few
  are fakes nobody reported yet, so they enter as negatives with weight `1 - prior` (the expected
  share of fakes among them, a conf key), never as certainly genuine.

Under the usual PU assumption (the reported fakes are a random sample of the fakes, SCAR), a
classifier of labelled vs unlabelled ranks listings exactly as P(counterfeit | x) does, and its
calibrated output divided by the label frequency c = P(labelled | counterfeit) is that probability
(Elkan and Noto, 2008). Brands report selectively, so SCAR holds only roughly: the assumption is
stated wherever a PU estimate is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from training.metrics import listing_order  # one tie order for every ranking


@dataclass(frozen=True)
class ClassWeights:
    """Per-row weights that balance labelled positives against the (prior-corrected) negatives."""

    positive: float
    rejected: float
    unlabelled: float

    def column(self) -> Column:
        """`weight` for rows with `label` 1 / 0 and `labelled` true / false."""
        return (
            F.when(F.col("label") == 1, F.lit(self.positive))
            .when(F.col("labelled"), F.lit(self.rejected))
            .otherwise(F.lit(self.unlabelled))
        )


def class_weights(positives: int, rejected: int, unlabelled: int, *, prior: float) -> ClassWeights:
    """Both classes weigh the same in the loss: the positives' total weight equals the negatives',
    where an unlabelled row counts `1 - prior` of a rejected one (it is a hidden fake with
    probability `prior`). The total weight is the number of rows, as with plain class balancing.

    >>> class_weights(2, 1, 4, prior=0.25)
    ClassWeights(positive=1.75, rejected=0.875, unlabelled=0.65625)
    """
    if positives <= 0:
        raise ValueError("class weights need at least one labelled positive")
    if not 0 <= prior < 1:
        raise ValueError(f"the unlabelled prior must be in [0, 1), got {prior}")
    negative_mass = rejected + (1.0 - prior) * unlabelled
    if negative_mass <= 0:
        raise ValueError("class weights need at least one negative or unlabelled row")
    total = positives + rejected + unlabelled
    per_negative = total / (2.0 * negative_mass)
    return ClassWeights(
        positive=total / (2.0 * positives),
        rejected=per_negative,
        unlabelled=(1.0 - prior) * per_negative,
    )


def unlabelled_sample(
    features: DataFrame, reported: DataFrame, *, size: int, seed: int, in_scope: Column
) -> DataFrame:
    """About `size` rows of `features` (one night's listing features) whose listing was never
    reported by the cutoff, drawn by a seeded hash of the listing id (the same listings whatever
    the partitioning), with `label` 0 and `labelled` false.

    Only listings in the model's scope (`in_scope`, those pointing at a brand) are drawn: those
    outside it score 0 by rule and teach the model nothing about the listings it ranks."""
    candidates = features.where(in_scope).join(
        reported.select("listing_id").distinct(), "listing_id", "left_anti"
    )
    available = candidates.count()
    if available == 0 or size <= 0:
        return (
            candidates.limit(0).withColumn("label", F.lit(0)).withColumn("labelled", F.lit(False))
        )
    share = min(1.0, size / available)
    draw = (F.xxhash64(F.lit(seed), F.lit("unlabelled"), "listing_id") % 1_000_000).cast("double")
    return (
        candidates.where(F.abs(draw) < F.lit(share * 1_000_000))
        .withColumn("label", F.lit(0))
        .withColumn("labelled", F.lit(False))
    )


def evaluation_population(
    night_features: DataFrame, eval_examples: DataFrame, train_examples: DataFrame
) -> DataFrame:
    """Every listing the model would rank on the evaluation night, with its label as known:
    the evaluation notices (confirmed 1, rejected 0) with their features as of the day before
    the notice, and every other listing of the night unlabelled (label null). Listings labelled
    in training are left out: their verdict is known, so production would not need to find
    them."""
    known = train_examples.select("listing_id").unionByName(eval_examples.select("listing_id"))
    unlabelled = night_features.join(known, "listing_id", "left_anti").withColumn(
        "label", F.lit(None).cast("int")
    )
    labelled = eval_examples.select(*unlabelled.columns)
    return labelled.unionByName(unlabelled)


# ---------------------------------------------------------------------------------------------
# metrics on the population


def population_metrics(
    scored: DataFrame, *, budget: int, top_share: float, label_frequency: float | None = None
) -> dict[str, Any]:
    """How well a scorer finds the labelled fakes among everything it would rank that night.

    `scored` has listing_id, score and label (1 confirmed, 0 rejected, null unlabelled). In the
    top `budget` rows and in the top `top_share` of the population (ties by a hash of the id):
    - recall_*: share of the confirmed listings found there. Unbiased for the recall of all fakes
      under SCAR; the promotion gate decides on recall_at_top_share;
    - labelled_precision_*: confirmed listings there / rows there, a lower bound of precision (an
      unreported fake counts as a miss);
    - pu_precision_*: the same divided by the label frequency c (the share of fakes that carry a
      label), capped at 1: an estimate of precision under SCAR, only when c is given;
    - rejected_at_*: rejected notices there (genuine listings the scorer would send to review);
    - pu_pr_auc: average precision with the unlabelled as negatives (a ranking measure on the
      population; the absolute value depends on c, comparisons on one population do not).
    """
    rows = scored.select(
        "listing_id",
        F.col("score").cast("double").alias("score"),
        F.col("label").cast("int").alias("label"),
    ).persist()
    try:
        totals = rows.agg(
            F.count(F.lit(1)).alias("n"),
            F.sum((F.col("label") == 1).cast("int")).alias("positives"),
            F.sum((F.col("label") == 0).cast("int")).alias("rejected"),
        ).first()
        assert totals is not None
        n, positives = int(totals["n"]), int(totals["positives"] or 0)
        metrics: dict[str, Any] = {
            "population": n,
            "population_positives": positives,
            "population_rejected": int(totals["rejected"] or 0),
        }
        if n == 0 or positives == 0:
            return {**metrics, "recall_at_top_share": None, "pu_pr_auc": None}
        ranked = rows.orderBy(F.col("score").desc(), listing_order().asc())
        for name, k in (
            ("budget", min(budget, n)),
            ("top_share", max(1, math.ceil(n * top_share))),
        ):
            top = (
                ranked.limit(k)
                .agg(
                    F.sum((F.col("label") == 1).cast("int")).alias("hits"),
                    F.sum((F.col("label") == 0).cast("int")).alias("rejected"),
                )
                .first()
            )
            hits = int(top["hits"] or 0) if top else 0
            metrics[f"k_at_{name}"] = k
            metrics[f"recall_at_{name}"] = hits / positives
            metrics[f"labelled_precision_at_{name}"] = hits / k
            metrics[f"rejected_at_{name}"] = int(top["rejected"] or 0) if top else 0
            if label_frequency:
                metrics[f"pu_precision_at_{name}"] = min(1.0, hits / (k * label_frequency))
        binary = rows.select(
            "score", F.coalesce(F.col("label"), F.lit(0)).cast("double").alias("label")
        )
        if binary.where("label = 0").limit(1).count():
            evaluator = BinaryClassificationEvaluator(
                rawPredictionCol="score", labelCol="label", metricName="areaUnderPR"
            )
            metrics["pu_pr_auc"] = evaluator.evaluate(binary)
        else:
            metrics["pu_pr_auc"] = None
        return metrics
    finally:
        rows.unpersist()


def top_membership(scored: DataFrame, *, top_share: float) -> DataFrame:
    """(listing_id, in_top) for the labelled positives: whether each ranks in the top share."""
    n = scored.count()
    k = max(1, math.ceil(n * top_share))
    top = (
        scored.orderBy(F.col("score").desc(), listing_order().asc())
        .limit(k)
        .select("listing_id", F.lit(1).alias("in_top"))
    )
    return (
        scored.where(F.col("label") == 1)
        .select("listing_id")
        .join(top, "listing_id", "left")
        .select("listing_id", F.coalesce("in_top", F.lit(0)).alias("in_top"))
    )


def poisson_weight(seed: int, replicate: Column, key: Column) -> Column:
    """A Poisson(1) draw per (replicate, row) from a hash: the weight of the row in that bootstrap
    replicate (the Poisson bootstrap, which needs no shuffle of the rows to resample them)."""
    u = (F.abs(F.xxhash64(F.lit(seed), replicate, key)) % 1_000_000).cast("double") / 1_000_000
    cumulative = 0.0
    weight = None
    for k in range(7):
        cumulative += math.exp(-1.0) / math.factorial(k)
        branch = (u < cumulative, F.lit(k))
        weight = F.when(*branch) if weight is None else weight.when(*branch)
    assert weight is not None
    return weight.otherwise(F.lit(7))


@dataclass(frozen=True)
class Difference:
    """The candidate's gain in recall of the confirmed listings within the top share."""

    estimate: float
    low: float
    high: float
    positives: int
    confidence: float
    replicates: int

    def describe(self) -> str:
        return (
            f"{self.estimate:+.4f} (CI {100 * self.confidence:.0f}%: {self.low:+.4f} to "
            f"{self.high:+.4f}, {self.positives} confirmed listings, {self.replicates} replicates)"
        )


def paired_difference(
    candidate: DataFrame, reference: DataFrame, *, replicates: int, confidence: float, seed: int
) -> Difference:
    """Bootstrap confidence interval of recall(candidate) - recall(reference) within the top share,
    paired on the same confirmed listings: (listing_id, in_top) frames from `top_membership`.

    The positives are resampled with Poisson weights (the top sets are held fixed, so the
    interval covers the sampling of the labels, the larger noise on small evaluation nights).
    Computed in Spark: positives x replicates rows, one row per replicate to the driver."""
    pairs = (
        candidate.alias("c")
        .join(reference.alias("r"), "listing_id")
        .select("listing_id", (F.col("c.in_top") - F.col("r.in_top")).alias("gain"))
    )
    positives = pairs.count()
    if positives == 0:
        return Difference(0.0, 0.0, 0.0, 0, confidence, replicates)
    point = pairs.agg(F.avg("gain")).first()
    resampled = (
        pairs.withColumn("replicate", F.explode(F.sequence(F.lit(1), F.lit(replicates))))
        .withColumn("w", poisson_weight(seed, F.col("replicate"), F.col("listing_id")))
        .groupBy("replicate")
        .agg(F.try_divide(F.sum(F.col("w") * F.col("gain")), F.sum("w")).alias("gain"))
        .where(F.col("gain").isNotNull())
    )
    alpha = (1.0 - confidence) / 2.0
    bounds = resampled.agg(
        F.percentile(F.col("gain"), F.lit(alpha)).alias("low"),
        F.percentile(F.col("gain"), F.lit(1.0 - alpha)).alias("high"),
    ).first()  # one row
    assert point is not None and bounds is not None
    return Difference(
        float(point[0]),
        float(bounds["low"]),
        float(bounds["high"]),
        positives,
        confidence,
        replicates,
    )
