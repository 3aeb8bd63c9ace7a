"""Train the counterfeit classifier for a night, track it in MLflow, and gate its promotion.

Reads features.listing_features and bronze.takedown_notices at pinned Delta versions (logged as
parameters, so a run can be replayed). Examples are the notices decided by the night, joined to
features as of the day before each notice was received (training/examples.py says why); notices
of the last `training.eval_days` days of decided notices evaluate, earlier ones train. With `training.population` (the default) the model
also learns from a seeded sample of never-reported listings taken as unlabelled, not as genuine
(training/population.py), and every scorer is judged on the population of the evaluation night:
the share of its confirmed listings ranked in the top share of everything scored, with a paired
bootstrap interval against the champion and the rules-only baseline. The notice-level metrics are
logged beside them. The best candidate is logged (parameters, metrics, figures, evaluation table,
signature) and registered as a new version of `mlflow.model_name`. It becomes `champion` only
through the promotion gate (training/promotion.py); otherwise `challenger`, with the reason as tag
and parameter.

Writes nothing to the lakehouse but its ops.run_log record; a re-run registers one more version
with the same metrics (training is reproducible: same data versions + seed = same metrics).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import mlflow
import mlflow.spark
from mlflow import MlflowClient
from mlflow.models import infer_signature
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.listings import names_a_brand
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.conf import Conf, TrainingConf
from jobs.runtime.context import JobContext
from jobs.runtime.datasets import Examples, read_examples
from jobs.runtime.runlog import RunRecord
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
from training.tracking import (
    CHAMPION,
    champion_uri,
    champion_version,
    log_evaluation_table,
    log_figures,
    log_metrics,
    use_tracking,
)

HELP = "train and register a counterfeit classifier; promote it through the gate"
log = logging.getLogger("radar.train")
CANDIDATES = ("logistic_regression", "gradient_boosted_trees", "monotone_boosted_trees")


@dataclass(frozen=True)
class TrainResult:
    run_id: str | None
    version: str | None
    alias: str | None
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)
    candidate: str | None = None  # the candidate that went through the gate
    candidate_choice: str = ""  # why that one (training.promotion.choose_candidate)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the training cutoff night")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    result = train(ctx, args.date)
    summary = {
        "version": result.version,
        "alias": result.alias,
        "reason": result.reason,
        "candidate": result.candidate,
        "candidate_choice": result.candidate_choice,
    }
    print(json.dumps({**summary, "metrics": result.metrics}, indent=2, default=str))


@dataclass(frozen=True)
class _Split:
    """What one training fits on and is judged on."""

    train_rows: DataFrame  # weighted: notices (+ the unlabelled sample with training.population)
    eval_notices: DataFrame  # the evaluation notices (label 1 / 0), features as of each notice
    population: DataFrame  # the evaluation night's population (label 1 / 0 / null)
    counts: dict[str, int]


def train(ctx: JobContext, night: date, *, shuffle_labels: bool = False) -> TrainResult:
    """Train, evaluate, log, register and gate one model version for `night`.

    `shuffle_labels` replaces the training labels by coin flips (seeded): a deliberately useless
    model, to show that the gate refuses it. The evaluation labels are never touched.
    """
    conf = ctx.conf.training
    with ctx.step("train", night) as entry:
        data = read_examples(ctx.lakehouse, night)
        # A total order on the examples makes the fit independent of shuffle-fetch order.
        examples = data.examples.orderBy("listing_id")
        boundary = split_boundary(examples, conf.eval_days)
        if boundary is None:
            return _skip(entry, f"no decided takedown notice with features by {night}")
        train_notices, eval_notices = time_split(examples, boundary)
        train_counts = _class_counts(train_notices)
        eval_counts = _class_counts(eval_notices)
        if sum(train_counts.values()) < conf.min_labels or min(train_counts.values()) == 0:
            return _skip(entry, f"too few decided notices to train on by {night}: {train_counts}")
        if min(eval_counts.values()) == 0:
            return _skip(entry, f"evaluation notices after {boundary} lack a class: {eval_counts}")
        split = _split(conf, data, train_notices, eval_notices, boundary, shuffle_labels)

        fitted, metrics, tops = _fit_candidates(ctx.conf, data.columns, split)
        choice = _choose(conf, metrics, tops)
        best = choice.candidate
        rules = rules_score(split.population, conf.rules_max_price_to_reference).join(
            split.population.select("listing_id", "label"), "listing_id"
        )
        rules_notices = rules.where(F.col("label").isNotNull())
        metrics["rules_baseline"] = {
            **_metrics(ctx.conf, rules_notices),
            **_population_metrics(ctx.conf, rules),
        }
        tops["rules_baseline"] = top_membership(rules, top_share=conf.top_share)

        experiment = use_tracking(
            ctx.conf.mlflow.tracking_uri, ctx.conf.mlflow.experiment, ctx.conf.mlflow.artifact_root
        )
        client = MlflowClient(ctx.conf.mlflow.tracking_uri)
        model_name = ctx.conf.mlflow.model_name
        current = champion_version(client, model_name)
        curves = {
            best: pr_curve(models.score(fitted[best], split.eval_notices), conf.pr_curve_bins),
            "rules baseline": pr_curve(rules_notices, conf.pr_curve_bins),
        }
        champion_note = ""
        if current is not None:
            champion = mlflow.spark.load_model(champion_uri(model_name))
            missing = sorted(set(models.input_columns(champion)) - set(split.population.columns))
            if missing:
                champion_note = (
                    f"champion v{current} cannot score today's features (missing {missing}); "
                )
            else:
                metrics["champion"], tops["champion"] = _evaluate(ctx.conf, champion, split)
                curves[f"champion v{current}"] = pr_curve(
                    models.score(champion, split.eval_notices), conf.pr_curve_bins
                )
        gains = {
            reference: _gain(conf, tops[best], tops[reference])
            for reference in ("champion", "rules_baseline")
            if reference in tops
        }
        decision = decide(
            positives=metrics[best]["population_population_positives"],
            min_positives=conf.min_eval_positives,
            versus_champion=gains.get("champion"),
            versus_rules=gains.get("rules_baseline"),
            margin=conf.promotion_margin,
        )
        decision = Decision(decision.alias, champion_note + decision.reason)
        metrics["model"] = metrics[best]
        fitted[best], calibration = _calibrate(conf, fitted[best], split)
        for reference, gain in gains.items():
            metrics[f"gain_over_{reference}"] = {
                "estimate": gain.estimate,
                "low": gain.low,
                "high": gain.high,
                "positives": gain.positives,
            }

        with mlflow.start_run(experiment_id=experiment, run_name=f"train-{night}") as run:
            mlflow.log_params(
                {
                    "model_type": best,
                    "cutoff": night.isoformat(),
                    "split_boundary": boundary.isoformat(),
                    "seed": conf.seed,
                    "eval_days": conf.eval_days,
                    "review_budget": conf.review_budget,
                    "top_share": conf.top_share,
                    "promotion_margin": conf.promotion_margin,
                    "population": conf.population,
                    "unlabelled_per_notice": conf.unlabelled_per_notice,
                    "max_unlabelled": conf.max_unlabelled,
                    "unlabelled_prior": conf.unlabelled_prior,
                    "min_eval_positives": conf.min_eval_positives,
                    "bootstrap_replicates": conf.bootstrap_replicates,
                    "confidence": conf.confidence,
                    "xgb_max_iter": conf.xgb_max_iter,
                    "xgb_max_depth": conf.xgb_max_depth,
                    "xgb_learning_rate": conf.xgb_learning_rate,
                    "xgb_num_workers": conf.xgb_num_workers,
                    "monotone_constraints": json.dumps(conf.monotone_constraints, sort_keys=True),
                    **{f"calibration_{k}": v for k, v in calibration.items()},
                    "gbt_max_iter": conf.gbt_max_iter,
                    "gbt_max_depth": conf.gbt_max_depth,
                    "lr_max_iter": conf.lr_max_iter,
                    "lr_reg_param": conf.lr_reg_param,
                    "rules_max_price_to_reference": conf.rules_max_price_to_reference,
                    "feature_count": len(data.columns),
                    "feature_columns": ",".join(data.columns)[:6000],
                    **split.counts,
                    "shuffled_labels": shuffle_labels,
                    "champion_before": current or "none",
                    "default_candidate": conf.default_candidate or "none",
                    "candidate_choice": choice.reason[:6000],
                    "promotion": decision.alias,
                    "promotion_reason": decision.reason[:6000],
                    **{f"delta_version.{t}": v for t, v in data.versions.items()},
                }
            )
            for name, values in metrics.items():
                log_metrics(name, values)
            scored_eval = models.score(fitted[best], split.eval_notices)
            log_figures(curves, models.importances(fitted[best], data.columns))
            log_evaluation_table(scored_eval, metrics, max_rows=conf.eval_table_rows)
            example = (
                split.eval_notices.select(*data.columns).limit(5).toPandas()
            )  # bounded: 5 rows
            signature = infer_signature(example, scored_eval.select("score").limit(5).toPandas())
            info = mlflow.spark.log_model(
                fitted[best],
                artifact_path="model",
                registered_model_name=model_name,
                signature=signature,
                input_example=example,
            )
            version = str(info.registered_model_version)
            client.set_registered_model_alias(model_name, decision.alias, version)
            tags = {
                "promotion": decision.alias,
                "promotion_reason": decision.reason,
                "train_date": night.isoformat(),
                "model_type": best,
                "candidate_choice": choice.reason,
            }
            mlflow.set_tags({**tags, "model_version": version})
            for key, value in tags.items():
                client.set_model_version_tag(model_name, version, key, value)
        split.train_rows.unpersist()
        split.population.unpersist()
        entry.rows_read = split.counts["train_examples"] + split.counts["eval_examples"]
        entry.message = f"version {version} -> {decision.alias}: {decision.reason}"
        log.info("model %s version %s: %s", model_name, version, entry.message)
        return TrainResult(
            run.info.run_id, version, decision.alias, decision.reason, metrics, best, choice.reason
        )


def _split(
    conf: TrainingConf,
    data: Examples,
    train_notices: DataFrame,
    eval_notices: DataFrame,
    boundary: date,
    shuffle_labels: bool,
) -> _Split:
    """Training rows (weighted) and the evaluation population.

    The unlabelled sample comes from the features of the split boundary (the last training night);
    the evaluation population is every listing of the evaluation night, the newest day of the
    evaluation notices. Listings reported by the cutoff are never in the unlabelled sample, so no
    evaluation notice leaks into training as an unlabelled row."""
    columns = [*train_notices.columns]
    notices_n = train_notices.count()
    unlabelled = data.features.limit(0)
    if conf.population:
        size = min(conf.max_unlabelled, math.ceil(conf.unlabelled_per_notice * notices_n))
        unlabelled = unlabelled_sample(
            data.features.where(F.col("feature_date") == F.lit(boundary)),
            data.reported,
            size=size,
            seed=conf.seed,
            in_scope=names_a_brand(),
        ).withColumn("received_date", F.lit(None).cast("date"))
        unlabelled = unlabelled.select(
            *[c if c in unlabelled.columns else F.lit(None).alias(c) for c in columns]
        )
        rows = train_notices.unionByName(unlabelled.select(*columns))
    else:
        rows = train_notices
    if shuffle_labels:
        rows = rows.withColumn("label", (F.rand(conf.seed) < 0.5).cast("int"))
    counts: dict[int, int] = {}
    for r in rows.groupBy("label", "labelled").count().collect():  # bounded: four rows
        kind = int(r["label"]) if r["labelled"] else -1  # -1: unlabelled
        counts[kind] = counts.get(kind, 0) + int(r["count"])
    positives, rejected, unlabelled_n = counts.get(1, 0), counts.get(0, 0), counts.get(-1, 0)
    weights = class_weights(positives, rejected, unlabelled_n, prior=conf.unlabelled_prior)
    train_rows = rows.withColumn("weight", weights.column()).orderBy("listing_id").persist()

    newest = eval_notices.agg(F.max("received_date")).first()
    night_features = data.features.where(
        F.col("feature_date") == F.lit(newest[0] if newest else None)
    )
    population = evaluation_population(
        night_features.select(*data.columns, "listing_id", "feature_date"),
        eval_notices.select(*data.columns, "listing_id", "feature_date", "label"),
        train_notices,
    ).persist()
    eval_counts = _class_counts(eval_notices)
    return _Split(
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


def _fit_candidates(
    conf: Conf, columns: list[str], split: _Split
) -> tuple[dict[str, PipelineModel], dict[str, dict[str, Any]], dict[str, DataFrame]]:
    training = conf.training
    pipelines = {
        "logistic_regression": models.logistic_regression(
            columns, max_iter=training.lr_max_iter, reg_param=training.lr_reg_param
        ),
        "gradient_boosted_trees": models.boosted_trees(
            columns,
            seed=training.seed,
            max_iter=training.gbt_max_iter,
            max_depth=training.gbt_max_depth,
        ),
        "monotone_boosted_trees": models.monotone_boosted_trees(
            columns,
            constraints=training.monotone_constraints,
            seed=training.seed,
            max_iter=training.xgb_max_iter,
            max_depth=training.xgb_max_depth,
            learning_rate=training.xgb_learning_rate,
            num_workers=training.xgb_num_workers,
        ),
    }
    fitted: dict[str, PipelineModel] = {}
    metrics: dict[str, dict[str, Any]] = {}
    tops: dict[str, DataFrame] = {}
    for name in CANDIDATES:
        started = time.perf_counter()
        fitted[name] = pipelines[name].fit(split.train_rows)
        seconds = time.perf_counter() - started
        metrics[name], tops[name] = _evaluate(conf, fitted[name], split)
        metrics.setdefault("fit_seconds", {})[name] = seconds  # beside, not in, its metrics
        log.info(
            "%s: evaluation PR-AUC %.4f (notices), top-share recall %s (population)",
            name,
            metrics[name]["pr_auc"],
            metrics[name]["population_recall_at_top_share"],
        )
    return fitted, metrics, tops


def _gain(conf: TrainingConf, candidate: DataFrame, reference: DataFrame) -> Difference:
    """The paired bootstrap of candidate's top-share recall minus reference's, with the conf's
    replicates, confidence and seed: the one measure the candidate choice and the gate share."""
    return paired_difference(
        candidate,
        reference,
        replicates=conf.bootstrap_replicates,
        confidence=conf.confidence,
        seed=conf.seed,
    )


def _choose(
    conf: TrainingConf, metrics: dict[str, dict[str, Any]], tops: dict[str, DataFrame]
) -> Choice:
    """The candidate that goes through the gate: the default unless another beats it beyond the
    noise, on the same paired bootstrap as the gate (training.promotion.choose_candidate)."""
    default = conf.default_candidate
    versus_default = {
        name: _gain(conf, tops[name], tops[default])
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
        min_positives=conf.min_eval_positives,
        margin=conf.promotion_margin,
    )
    log.info("candidate %s: %s", choice.candidate, choice.reason)
    return choice


def _evaluate(conf: Conf, model: PipelineModel, split: _Split) -> tuple[dict[str, Any], DataFrame]:
    """Notice-level and population metrics of one model, and its top-share membership of the
    confirmed listings (for the paired bootstrap). The scored population is cached: it is ranked
    several times."""
    notices = _metrics(conf, models.score(model, split.eval_notices))
    scored = models.score(model, split.population).select("listing_id", "score", "label")
    scored = scored.localCheckpoint()  # one scoring pass, however many rankings follow
    population = _population_metrics(conf, scored)
    return {**notices, **population}, top_membership(scored, top_share=conf.training.top_share)


def _calibrate(
    conf: TrainingConf, model: PipelineModel, split: _Split
) -> tuple[PipelineModel, dict[str, float]]:
    """The model with a Platt stage, so that a score of 0.9 means about 90% counterfeit.

    On the population (training.population), Platt scaling on the evaluation night learns
    P(labelled | x); the label frequency c = P(labelled | counterfeit) is its mean over the
    confirmed listings (Elkan and Noto's estimator), and P(counterfeit | x) = P(labelled | x) / c.
    Notices only: Platt on the evaluation notices, c = 1 (P(confirmed | reported, x)). Only rows
    inside the brand gate, where the classifier's own probability is the score. A model whose
    scores do not rank the evaluation rows at all is left uncalibrated, with a warning."""
    rows = split.population if conf.population else split.eval_notices
    scored = (
        models.score(model, rows)
        .where(names_a_brand())
        .select("listing_id", "score", F.coalesce(F.col("label"), F.lit(0)).alias("label"))
        .localCheckpoint()
    )
    try:
        frequency = 1.0
        if conf.population:
            plain = models.with_calibration(model, scored, label_frequency=1.0, knee=0.999999)
            mean = (
                models.score(plain, split.population.where(F.col("label") == 1))
                .agg(F.avg("score"))
                .first()
            )
            frequency = min(1.0, max(1e-6, float(mean[0]))) if mean and mean[0] else 1.0
        calibrated = models.with_calibration(
            model, scored, label_frequency=frequency, knee=conf.calibration_knee
        )
    except ValueError as exc:
        log.warning("model left uncalibrated: %s", exc)
        return model, {}
    return calibrated, models.calibration_params(calibrated) or {}


def _metrics(conf: Conf, scored: DataFrame) -> dict[str, Any]:
    return ranking_metrics(
        scored.select("listing_id", "score", "label"),
        budget=conf.training.review_budget,
        top_share=conf.training.top_share,
    )


def _population_metrics(conf: Conf, scored: DataFrame) -> dict[str, Any]:
    values = population_metrics(
        scored, budget=conf.training.review_budget, top_share=conf.training.top_share
    )
    return {f"population_{k}": v for k, v in values.items()}


def _class_counts(rows: DataFrame) -> dict[int, int]:
    counts = {0: 0, 1: 0}
    for row in rows.groupBy("label").count().collect():  # bounded: two rows
        counts[int(row["label"])] = int(row["count"])
    return counts


def _skip(entry: RunRecord, reason: str) -> TrainResult:
    entry.message = f"skipped: {reason}"
    log.warning(entry.message)
    return TrainResult(None, None, None, reason)


def has_champion(ctx: JobContext) -> bool:
    use_tracking(
        ctx.conf.mlflow.tracking_uri, ctx.conf.mlflow.experiment, ctx.conf.mlflow.artifact_root
    )
    client = MlflowClient(ctx.conf.mlflow.tracking_uri)
    return champion_version(client, ctx.conf.mlflow.model_name) is not None


__all__ = ["CHAMPION", "Examples", "TrainResult", "has_champion", "read_examples", "train"]
