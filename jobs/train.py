"""Train the counterfeit classifier for a night, track it in MLflow, and gate its promotion.

Reads features.listing_features and bronze.takedown_notices at pinned Delta versions (logged as
parameters, so a run can be replayed). Examples are the notices decided by the night, joined to
features as of the day before each notice was received (training/examples.py says why). The fit,
the choice among candidates, the gate and the calibration are the pure functions of
training/fit.py; this module reads their inputs, hands them the registered champion, and logs what
they decided to MLflow (parameters, metrics, figures, evaluation table, signature), registering a
new version of `mlflow.model_name`. It becomes `champion` only through the promotion gate
(training/promotion.py); otherwise `challenger`, with the reason as tag and parameter.

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

from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext
from jobs.runtime.datasets import Examples, read_examples
from jobs.runtime.runlog import RunRecord
from training import models
from training.fit import Champion, Skipped, fit_and_judge, split_examples
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


def train(ctx: JobContext, night: date, *, shuffle_labels: bool = False) -> TrainResult:
    """Train, evaluate, log, register and gate one model version for `night`.

    `shuffle_labels` replaces the training labels by coin flips (seeded): a deliberately useless
    model, to show that the gate refuses it. The evaluation labels are never touched.
    """
    conf = ctx.conf.training
    with ctx.step("train", night) as entry:
        data = read_examples(ctx.lakehouse, night)
        split = split_examples(
            data.examples,
            night=night,
            features=data.features,
            reported=data.reported,
            columns=data.columns,
            params=conf,
            shuffle_labels=shuffle_labels,
        )
        if isinstance(split, Skipped):
            return _skip(entry, split.reason)

        experiment = use_tracking(
            ctx.conf.mlflow.tracking_uri, ctx.conf.mlflow.experiment, ctx.conf.mlflow.artifact_root
        )
        client = MlflowClient(ctx.conf.mlflow.tracking_uri)
        model_name = ctx.conf.mlflow.model_name
        current = champion_version(client, model_name)
        champion = None
        if current is not None:
            champion = Champion(current, mlflow.spark.load_model(champion_uri(model_name)))
        trained = fit_and_judge(split, columns=data.columns, params=conf, champion=champion)
        best, decision = trained.candidate, trained.decision

        with mlflow.start_run(experiment_id=experiment, run_name=f"train-{night}") as run:
            mlflow.log_params(
                {
                    "model_type": best,
                    "cutoff": night.isoformat(),
                    "split_boundary": split.boundary.isoformat(),
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
                    **{f"calibration_{k}": v for k, v in trained.calibration.items()},
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
                    "candidate_choice": trained.choice.reason[:6000],
                    "promotion": decision.alias,
                    "promotion_reason": decision.reason[:6000],
                    **{f"delta_version.{t}": v for t, v in data.versions.items()},
                }
            )
            for name, values in trained.metrics.items():
                log_metrics(name, values)
            scored_eval = models.score(trained.model, split.eval_notices)
            log_figures(trained.curves, models.importances(trained.model, data.columns))
            log_evaluation_table(scored_eval, trained.metrics, max_rows=conf.eval_table_rows)
            example = (
                split.eval_notices.select(*data.columns).limit(5).toPandas()
            )  # bounded: 5 rows
            signature = infer_signature(example, scored_eval.select("score").limit(5).toPandas())
            info = mlflow.spark.log_model(
                trained.model,
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
                "candidate_choice": trained.choice.reason,
            }
            mlflow.set_tags({**tags, "model_version": version})
            for key, value in tags.items():
                client.set_model_version_tag(model_name, version, key, value)
        split.release()
        entry.rows_read = split.counts["train_examples"] + split.counts["eval_examples"]
        entry.message = f"version {version} -> {decision.alias}: {decision.reason}"
        log.info("model %s version %s: %s", model_name, version, entry.message)
        return TrainResult(
            run.info.run_id,
            version,
            decision.alias,
            decision.reason,
            trained.metrics,
            best,
            trained.choice.reason,
        )


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
