"""Train the counterfeit classifier for a night, track it in MLflow, and gate its promotion.

Reads features.listing_features and bronze.takedown_notices at pinned Delta versions (logged as
parameters, so a run can be replayed). Examples are the notices decided by the night, joined to
features as of the day each notice was received; notices of the last `training.eval_days` days of
decided notices evaluate, earlier ones train. A logistic regression and boosted trees are fitted;
the better on the evaluation notices is logged (parameters, metrics beside the current champion
re-scored on the same notices and the rules-only baseline, figures, evaluation table, signature)
and registered as a new version of `mlflow.model_name`. It becomes `champion` only through the
promotion gate; otherwise `challenger`, with the reason as tag and parameter.

Writes nothing to the lakehouse but its ops.run_log record; a re-run registers one more version
with the same metrics (training is reproducible: same data versions + seed = same metrics).
"""

from __future__ import annotations

import argparse
import json
import logging
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

from jobs.arguments import add_night_argument
from jobs.conf import Conf
from jobs.context import JobContext
from jobs.runlog import RunRecord
from jobs.tables import Lakehouse
from training import models
from training.evaluate import pr_curve, ranking_metrics
from training.labels import feature_columns, labelled_notices, training_set
from training.promotion import Decision, decide
from training.rules import rules_score
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
FEATURES, NOTICES = "features.listing_features", "bronze.takedown_notices"
INPUTS = (FEATURES, NOTICES)
CANDIDATES = ("logistic_regression", "gradient_boosted_trees")


@dataclass(frozen=True)
class TrainResult:
    run_id: str | None
    version: str | None
    alias: str | None
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Examples:
    """The night's labelled examples and where they came from."""

    examples: DataFrame  # label columns + feature columns, one row per labelled listing
    columns: list[str]  # the model's input columns
    versions: dict[str, int]  # Delta version of each input table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the training cutoff night")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    result = train(ctx, args.date)
    summary = {"version": result.version, "alias": result.alias, "reason": result.reason}
    print(json.dumps({**summary, "metrics": result.metrics}, indent=2, default=str))


def read_examples(lake: Lakehouse, night: date) -> Examples:
    """Labels known by the night, joined point-in-time to the features (no look-ahead)."""
    versions = {table: lake.version(table) for table in INPUTS}
    features = lake.read(FEATURES, version=versions[FEATURES])
    notices = lake.read(NOTICES, version=versions[NOTICES]).where(
        F.col("_ingest_date") <= F.lit(night)
    )
    examples = training_set(labelled_notices(notices, night), features)
    return Examples(examples, feature_columns(features), versions)


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
        train_rows, eval_rows = time_split(examples, boundary)
        if shuffle_labels:
            coin = (F.rand(conf.seed) < 0.5).cast("int")
            train_rows = train_rows.withColumn("label", coin)
        train_rows = models.with_class_weights(train_rows).persist()
        eval_rows = eval_rows.persist()
        train_counts = _class_counts(train_rows)
        eval_counts = _class_counts(eval_rows)
        problem = None
        if sum(train_counts.values()) < conf.min_labels or min(train_counts.values()) == 0:
            problem = f"too few decided notices to train on by {night}: {train_counts}"
        elif min(eval_counts.values()) == 0:
            problem = f"evaluation notices after {boundary} lack a class: {eval_counts}"
        if problem:
            train_rows.unpersist()
            eval_rows.unpersist()
            return _skip(entry, problem)

        fitted, metrics = _fit_candidates(ctx.conf, data.columns, train_rows, eval_rows)
        best = max(CANDIDATES, key=lambda name: metrics[name]["pr_auc"])
        rules = rules_score(eval_rows, conf.rules_max_price_to_reference).join(
            eval_rows.select("listing_id", "label"), "listing_id"
        )
        metrics["rules_baseline"] = _metrics(ctx.conf, rules)

        experiment = use_tracking(
            ctx.conf.mlflow.tracking_uri, ctx.conf.mlflow.experiment, ctx.conf.mlflow.artifact_root
        )
        client = MlflowClient(ctx.conf.mlflow.tracking_uri)
        model_name = ctx.conf.mlflow.model_name
        current = champion_version(client, model_name)
        curves = {
            best: pr_curve(models.score(fitted[best], eval_rows), conf.pr_curve_bins),
            "rules baseline": pr_curve(rules, conf.pr_curve_bins),
        }
        champion_note = ""
        if current is not None:
            champion = mlflow.spark.load_model(champion_uri(model_name))
            missing = sorted(set(models.input_columns(champion)) - set(eval_rows.columns))
            if missing:
                champion_note = (
                    f"champion v{current} cannot score today's features (missing {missing}); "
                )
            else:
                scored = models.score(champion, eval_rows)
                metrics["champion"] = _metrics(ctx.conf, scored)
                curves[f"champion v{current}"] = pr_curve(scored, conf.pr_curve_bins)
        decision = decide(
            metrics[best]["pr_auc"],
            champion_pr_auc=metrics["champion"]["pr_auc"] if "champion" in metrics else None,
            rules_pr_auc=metrics["rules_baseline"]["pr_auc"],
            margin=conf.promotion_margin,
        )
        decision = Decision(decision.alias, champion_note + decision.reason)

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
                    "gbt_max_iter": conf.gbt_max_iter,
                    "gbt_max_depth": conf.gbt_max_depth,
                    "lr_max_iter": conf.lr_max_iter,
                    "lr_reg_param": conf.lr_reg_param,
                    "rules_max_price_to_reference": conf.rules_max_price_to_reference,
                    "feature_count": len(data.columns),
                    "feature_columns": ",".join(data.columns)[:6000],
                    "train_examples": sum(train_counts.values()),
                    "train_positives": train_counts[1],
                    "eval_examples": sum(eval_counts.values()),
                    "eval_positives": eval_counts[1],
                    "shuffled_labels": shuffle_labels,
                    "champion_before": current or "none",
                    "promotion": decision.alias,
                    "promotion_reason": decision.reason[:6000],
                    **{f"delta_version.{t}": v for t, v in data.versions.items()},
                }
            )
            for name, values in metrics.items():
                log_metrics(name, values)
            log_metrics("model", metrics[best])
            scored_eval = models.score(fitted[best], eval_rows)
            log_figures(curves, models.importances(fitted[best], data.columns))
            log_evaluation_table(scored_eval, metrics, max_rows=conf.eval_table_rows)
            example = eval_rows.select(*data.columns).limit(5).toPandas()  # bounded: five rows
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
            }
            mlflow.set_tags({**tags, "model_version": version})
            for key, value in tags.items():
                client.set_model_version_tag(model_name, version, key, value)
        train_rows.unpersist()
        eval_rows.unpersist()
        entry.rows_read = sum(train_counts.values()) + sum(eval_counts.values())
        entry.message = f"version {version} -> {decision.alias}: {decision.reason}"
        log.info("model %s version %s: %s", model_name, version, entry.message)
        return TrainResult(run.info.run_id, version, decision.alias, decision.reason, metrics)


def _fit_candidates(
    conf: Conf, columns: list[str], train_rows: DataFrame, eval_rows: DataFrame
) -> tuple[dict[str, PipelineModel], dict[str, dict[str, Any]]]:
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
    }
    fitted: dict[str, PipelineModel] = {}
    metrics: dict[str, dict[str, Any]] = {}
    for name in CANDIDATES:
        fitted[name] = pipelines[name].fit(train_rows)
        metrics[name] = _metrics(conf, models.score(fitted[name], eval_rows))
        log.info("%s: evaluation PR-AUC %.4f", name, metrics[name]["pr_auc"])
    return fitted, metrics


def _metrics(conf: Conf, scored: DataFrame) -> dict[str, Any]:
    return ranking_metrics(
        scored.select("listing_id", "score", "label"),
        budget=conf.training.review_budget,
        top_share=conf.training.top_share,
    )


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
