"""One night's training as pure functions: split, fit the candidates, choose one, judge, calibrate.

`split_examples` turns the night's labelled examples into what a fit trains on (weighted rows:
notices, plus a sample of never-reported listings taken as unlabelled with `population`) and what
it is judged on (the evaluation notices and the evaluation night's population), or says in one
sentence why there is nothing to train on. `fit_and_judge` fits every candidate, picks the one
that goes through the gate (training/promotion.py), compares it with the champion and the rules
baseline on the same paired bootstrap, and calibrates it.

DataFrames and plain parameters in, models and figures out: nothing here reads a table, loads a
model from a registry or logs to MLflow. jobs/train.py does those, around these two calls.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.listings import names_a_brand
from training import models
from training.baseline import rules_score
from training.metrics import pr_curve, ranking_metrics
from training.population import (
    Difference,
    class_weights,
    evaluation_population,
    paired_difference,
    population_metrics,
    top_membership,
    unlabelled_sample,
)
from training.promotion import Choice, Decision, choose_candidate, decide
from training.split import split_boundary, time_split

log = logging.getLogger("radar.train")
CANDIDATES = ("logistic_regression", "gradient_boosted_trees", "monotone_boosted_trees")


class TrainingParams(Protocol):
    """What the fit reads of the `training` section (jobs.runtime.conf.TrainingConf fits)."""

    @property
    def eval_days(self) -> int: ...
    @property
    def min_labels(self) -> int: ...
    @property
    def population(self) -> bool: ...
    @property
    def unlabelled_per_notice(self) -> float: ...
    @property
    def max_unlabelled(self) -> int: ...
    @property
    def unlabelled_prior(self) -> float: ...
    @property
    def min_eval_positives(self) -> int: ...
    @property
    def bootstrap_replicates(self) -> int: ...
    @property
    def confidence(self) -> float: ...
    @property
    def review_budget(self) -> int: ...
    @property
    def promotion_margin(self) -> float: ...
    @property
    def default_candidate(self) -> str | None: ...
    @property
    def seed(self) -> int: ...
    @property
    def gbt_max_iter(self) -> int: ...
    @property
    def gbt_max_depth(self) -> int: ...
    @property
    def lr_max_iter(self) -> int: ...
    @property
    def lr_reg_param(self) -> float: ...
    @property
    def top_share(self) -> float: ...
    @property
    def pr_curve_bins(self) -> int: ...
    @property
    def rules_max_price_to_reference(self) -> float: ...
    @property
    def xgb_max_iter(self) -> int: ...
    @property
    def xgb_max_depth(self) -> int: ...
    @property
    def xgb_learning_rate(self) -> float: ...
    @property
    def xgb_num_workers(self) -> int: ...
    @property
    def monotone_constraints(self) -> Mapping[str, int]: ...
    @property
    def calibration_knee(self) -> float: ...


@dataclass(frozen=True)
class Split:
    """What one training fits on and is judged on."""

    boundary: date  # the last training day (training/split.py)
    train_rows: DataFrame  # weighted: notices (+ the unlabelled sample with `population`); cached
    eval_notices: DataFrame  # the evaluation notices (label 1 / 0), features as of each notice
    population: DataFrame  # the evaluation night's population (label 1 / 0 / null); cached
    counts: dict[str, int]

    def release(self) -> None:
        """Drop the cached rows once the run is logged."""
        self.train_rows.unpersist()
        self.population.unpersist()


@dataclass(frozen=True)
class Skipped:
    """Nothing to train on tonight, and why (one sentence, for the run log)."""

    reason: str


@dataclass(frozen=True)
class Champion:
    """The registered champion, to be judged on tonight's evaluation beside the candidate."""

    version: str
    model: PipelineModel


@dataclass(frozen=True)
class Trained:
    """The candidate that went through the gate, calibrated, with everything the run logs."""

    candidate: str
    model: PipelineModel  # calibrated when its scores rank the evaluation rows at all
    choice: Choice
    decision: Decision
    metrics: dict[str, Any]  # per scorer; "model" is the candidate's; gains; fit seconds
    curves: dict[str, list[tuple[float, float]]]  # precision-recall on the evaluation notices
    calibration: dict[str, float]  # the Platt stage's parameters; empty when left uncalibrated


def split_examples(
    examples: DataFrame,
    *,
    night: date,
    features: DataFrame,
    reported: DataFrame,
    columns: list[str],
    params: TrainingParams,
    shuffle_labels: bool = False,
) -> Split | Skipped:
    """Training rows (weighted) and the evaluation population, or why there are none.

    `night` is the training cutoff, `examples` the labelled notices joined point-in-time to their features
    (training/examples.py), `features` every night's features, `reported` the listing_id of every
    listing reported by the cutoff, `columns` the model's inputs. The unlabelled sample comes from
    the features of the split boundary (the last training night); the evaluation population is
    every listing of the evaluation night, the newest day of the evaluation notices. Listings
    reported by the cutoff are never in the unlabelled sample, so no evaluation notice leaks into
    training as an unlabelled row. `shuffle_labels` replaces the training labels by seeded coin
    flips (a deliberately useless model, to show the gate refuses it); evaluation labels are never
    touched.
    """
    # A total order on the examples makes the fit independent of shuffle-fetch order.
    examples = examples.orderBy("listing_id")
    boundary = split_boundary(examples, params.eval_days)
    if boundary is None:
        return Skipped(f"no decided takedown notice with features by {night}")
    train_notices, eval_notices = time_split(examples, boundary)
    train_counts, eval_counts = _class_counts(train_notices), _class_counts(eval_notices)
    if sum(train_counts.values()) < params.min_labels or min(train_counts.values()) == 0:
        return Skipped(f"too few decided notices to train on by {night}: {train_counts}")
    if min(eval_counts.values()) == 0:
        return Skipped(f"evaluation notices after {boundary} lack a class: {eval_counts}")

    rows = train_notices
    if params.population:
        size = min(
            params.max_unlabelled, math.ceil(params.unlabelled_per_notice * train_notices.count())
        )
        unlabelled = unlabelled_sample(
            features.where(F.col("feature_date") == F.lit(boundary)),
            reported,
            size=size,
            seed=params.seed,
            in_scope=names_a_brand(),
        ).withColumn("received_date", F.lit(None).cast("date"))
        unlabelled = unlabelled.select(
            *[c if c in unlabelled.columns else F.lit(None).alias(c) for c in train_notices.columns]
        )
        rows = train_notices.unionByName(unlabelled)
    if shuffle_labels:
        rows = rows.withColumn("label", (F.rand(params.seed) < 0.5).cast("int"))
    counts: dict[int, int] = {}
    for r in rows.groupBy("label", "labelled").count().collect():  # bounded: four rows
        kind = int(r["label"]) if r["labelled"] else -1  # -1: unlabelled
        counts[kind] = counts.get(kind, 0) + int(r["count"])
    positives, rejected, unlabelled_n = counts.get(1, 0), counts.get(0, 0), counts.get(-1, 0)
    weights = class_weights(positives, rejected, unlabelled_n, prior=params.unlabelled_prior)
    train_rows = rows.withColumn("weight", weights.column()).orderBy("listing_id").persist()

    newest = eval_notices.agg(F.max("received_date")).first()
    evaluation_night = features.where(F.col("feature_date") == F.lit(newest[0] if newest else None))
    population = evaluation_population(
        evaluation_night.select(*columns, "listing_id", "feature_date"),
        eval_notices.select(*columns, "listing_id", "feature_date", "label"),
        train_notices,
    ).persist()
    return Split(
        boundary,
        train_rows,
        eval_notices,
        population,
        {
            "train_examples": positives + rejected,
            "train_positives": positives,
            "train_unlabelled": unlabelled_n,
            "eval_examples": sum(eval_counts.values()),
            "eval_positives": eval_counts[1],
            "eval_population": population.count(),
        },
    )


def fit_and_judge(
    split: Split,
    *,
    columns: list[str],
    params: TrainingParams,
    champion: Champion | None = None,
) -> Trained:
    """Fit every candidate, choose one, judge it against the champion and the rules baseline
    (training.promotion.decide), and calibrate it.

    A champion that cannot score tonight's features (its inputs are gone from them) is not judged;
    the decision's reason says so.
    """
    fitted, metrics, tops = _fit_candidates(split, columns, params)
    choice = _choose(params, metrics, tops)
    best = choice.candidate
    rules = rules_score(split.population, params.rules_max_price_to_reference).join(
        split.population.select("listing_id", "label"), "listing_id"
    )
    rules_notices = rules.where(F.col("label").isNotNull())
    metrics["rules_baseline"] = {
        **_notice_metrics(params, rules_notices),
        **_population_metrics(params, rules),
    }
    tops["rules_baseline"] = top_membership(rules, top_share=params.top_share)
    curves = {
        best: pr_curve(models.score(fitted[best], split.eval_notices), params.pr_curve_bins),
        "rules baseline": pr_curve(rules_notices, params.pr_curve_bins),
    }
    champion_note = ""
    if champion is not None:
        missing = sorted(set(models.input_columns(champion.model)) - set(split.population.columns))
        if missing:
            champion_note = (
                f"champion v{champion.version} cannot score today's features (missing {missing}); "
            )
        else:
            metrics["champion"], tops["champion"] = _evaluate(params, champion.model, split)
            curves[f"champion v{champion.version}"] = pr_curve(
                models.score(champion.model, split.eval_notices), params.pr_curve_bins
            )
    gains = {
        reference: _gain(params, tops[best], tops[reference])
        for reference in ("champion", "rules_baseline")
        if reference in tops
    }
    decision = decide(
        positives=metrics[best]["population_population_positives"],
        min_positives=params.min_eval_positives,
        versus_champion=gains.get("champion"),
        versus_rules=gains.get("rules_baseline"),
        margin=params.promotion_margin,
    )
    metrics["model"] = metrics[best]
    for reference, gain in gains.items():
        metrics[f"gain_over_{reference}"] = {
            "estimate": gain.estimate,
            "low": gain.low,
            "high": gain.high,
            "positives": gain.positives,
        }
    model, calibration = calibrate(params, fitted[best], split)
    return Trained(
        best,
        model,
        choice,
        Decision(decision.alias, champion_note + decision.reason),
        metrics,
        curves,
        calibration,
    )


def _fit_candidates(
    split: Split, columns: list[str], params: TrainingParams
) -> tuple[dict[str, PipelineModel], dict[str, dict[str, Any]], dict[str, DataFrame]]:
    pipelines = {
        "logistic_regression": models.logistic_regression(
            columns, max_iter=params.lr_max_iter, reg_param=params.lr_reg_param
        ),
        "gradient_boosted_trees": models.boosted_trees(
            columns, seed=params.seed, max_iter=params.gbt_max_iter, max_depth=params.gbt_max_depth
        ),
        "monotone_boosted_trees": models.monotone_boosted_trees(
            columns,
            constraints=params.monotone_constraints,
            seed=params.seed,
            max_iter=params.xgb_max_iter,
            max_depth=params.xgb_max_depth,
            learning_rate=params.xgb_learning_rate,
            num_workers=params.xgb_num_workers,
        ),
    }
    fitted: dict[str, PipelineModel] = {}
    metrics: dict[str, dict[str, Any]] = {}
    tops: dict[str, DataFrame] = {}
    for name in CANDIDATES:
        started = time.perf_counter()
        fitted[name] = pipelines[name].fit(split.train_rows)
        seconds = time.perf_counter() - started
        metrics[name], tops[name] = _evaluate(params, fitted[name], split)
        metrics.setdefault("fit_seconds", {})[name] = seconds  # beside, not in, its metrics
        log.info(
            "%s: evaluation PR-AUC %.4f (notices), top-share recall %s (population)",
            name,
            metrics[name]["pr_auc"],
            metrics[name]["population_recall_at_top_share"],
        )
    return fitted, metrics, tops


def _gain(params: TrainingParams, candidate: DataFrame, reference: DataFrame) -> Difference:
    """The paired bootstrap of candidate's top-share recall minus reference's, with the conf's
    replicates, confidence and seed: the one measure the candidate choice and the gate share."""
    return paired_difference(
        candidate,
        reference,
        replicates=params.bootstrap_replicates,
        confidence=params.confidence,
        seed=params.seed,
    )


def _choose(
    params: TrainingParams, metrics: dict[str, dict[str, Any]], tops: dict[str, DataFrame]
) -> Choice:
    """The candidate that goes through the gate: the default unless another beats it beyond the
    noise, on the same paired bootstrap as the gate (training.promotion.choose_candidate)."""
    default = params.default_candidate
    versus_default = {
        name: _gain(params, tops[name], tops[default])
        for name in CANDIDATES
        if default is not None and name != default
    }
    choice = choose_candidate(
        default=default,
        point_estimates={
            name: (
                metrics[name]["population_recall_at_top_share"] or 0.0,
                metrics[name]["population_pu_pr_auc"] or 0.0,
            )
            for name in CANDIDATES
        },
        versus_default=versus_default,
        positives=metrics[CANDIDATES[0]]["population_population_positives"],
        min_positives=params.min_eval_positives,
        margin=params.promotion_margin,
    )
    log.info("candidate %s: %s", choice.candidate, choice.reason)
    return choice


def _evaluate(
    params: TrainingParams, model: PipelineModel, split: Split
) -> tuple[dict[str, Any], DataFrame]:
    """Notice-level and population metrics of one model, and its top-share membership of the
    confirmed listings (for the paired bootstrap). The scored population is cached: it is ranked
    several times."""
    notices = _notice_metrics(params, models.score(model, split.eval_notices))
    scored = models.score(model, split.population).select("listing_id", "score", "label")
    scored = scored.localCheckpoint()  # one scoring pass, however many rankings follow
    population = _population_metrics(params, scored)
    return {**notices, **population}, top_membership(scored, top_share=params.top_share)


def calibrate(
    params: TrainingParams, model: PipelineModel, split: Split
) -> tuple[PipelineModel, dict[str, float]]:
    """The model with a Platt stage, so that a score of 0.9 means about 90% counterfeit.

    On the population (`population`), Platt scaling on the evaluation night learns
    P(labelled | x); the label frequency c = P(labelled | counterfeit) is its mean over the
    confirmed listings (Elkan and Noto's estimator), and P(counterfeit | x) = P(labelled | x) / c.
    Notices only: Platt on the evaluation notices, c = 1 (P(confirmed | reported, x)). Only rows
    inside the brand gate, where the classifier's own probability is the score. A model whose
    scores do not rank the evaluation rows at all is left uncalibrated, with a warning."""
    rows = split.population if params.population else split.eval_notices
    scored = (
        models.score(model, rows)
        .where(names_a_brand())
        .select("listing_id", "score", F.coalesce(F.col("label"), F.lit(0)).alias("label"))
        .localCheckpoint()
    )
    try:
        frequency = 1.0
        if params.population:
            plain = models.with_calibration(model, scored, label_frequency=1.0, knee=0.999999)
            mean = (
                models.score(plain, split.population.where(F.col("label") == 1))
                .agg(F.avg("score"))
                .first()
            )
            frequency = min(1.0, max(1e-6, float(mean[0]))) if mean and mean[0] else 1.0
        calibrated = models.with_calibration(
            model, scored, label_frequency=frequency, knee=params.calibration_knee
        )
    except ValueError as exc:
        log.warning("model left uncalibrated: %s", exc)
        return model, {}
    return calibrated, models.calibration_params(calibrated) or {}


def _notice_metrics(params: TrainingParams, scored: DataFrame) -> dict[str, Any]:
    return ranking_metrics(
        scored.select("listing_id", "score", "label"),
        budget=params.review_budget,
        top_share=params.top_share,
    )


def _population_metrics(params: TrainingParams, scored: DataFrame) -> dict[str, Any]:
    values = population_metrics(scored, budget=params.review_budget, top_share=params.top_share)
    return {f"population_{k}": v for k, v in values.items()}


def _class_counts(rows: DataFrame) -> dict[int, int]:
    counts = {0: 0, 1: 0}
    for row in rows.groupBy("label").count().collect():  # bounded: two rows
        counts[int(row["label"])] = int(row["count"])
    return counts
