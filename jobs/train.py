"""Train the counterfeit classifier for a night, track it in MLflow, and gate its promotion.

Examples are the takedown notices decided by the night, joined to features as of the day each
notice was received; notices of the last `training.eval_days` days evaluate, earlier ones train.
A logistic regression and boosted trees are fitted; the better on the evaluation notices is logged
(parameters, Delta versions of its inputs, metrics beside the current champion and the rules-only
baseline on the same notices, figures, evaluation table, signature) and registered. It becomes
`champion` only through the promotion gate; otherwise `challenger`, with the reason as a tag.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import mlflow.spark
from mlflow import MlflowClient
from mlflow.models import infer_signature
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.context import JobContext
from training import models
from training.evaluate import pr_curve, ranking_metrics
from training.labels import feature_columns, labelled_notices, time_split, training_set
from training.promotion import decide
from training.rules import rules_score
from training.tracking import (
    CHAMPION,
    champion_uri,
    champion_version,
    log_figures,
    log_metrics,
    use_tracking,
)

HELP = "train and register a counterfeit classifier; promote it through the gate"
log = logging.getLogger("radar.train")
INPUTS = ("features.listing_features", "bronze.takedown_notices")


@dataclass(frozen=True)
class TrainResult:
    run_id: str | None
    version: str | None
    alias: str | None
    reason: str
    metrics: dict[str, Any]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from jobs.cli import iso_date

    parser.add_argument(
        "--date", type=iso_date, required=True, help="the training cutoff night (YYYY-MM-DD)"
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    result = train(ctx, args.date)
    print(
        json.dumps(
            {
                "version": result.version,
                "alias": result.alias,
                "reason": result.reason,
                **result.metrics,
            },
            indent=2,
            default=str,
        )
    )


def train(ctx: JobContext, night: date, *, shuffle_labels: bool = False) -> TrainResult:
    """`shuffle_labels` trains on permuted labels: a deliberately useless model, for testing the gate."""
    conf, lake = ctx.conf.training, ctx.lakehouse
    with ctx.step("train", night) as entry:
        versions = {t: lake.version(t) for t in INPUTS}
        features = lake.read(INPUTS[0], version=versions[INPUTS[0]])
        notices = lake.read(INPUTS[1], version=versions[INPUTS[1]]).where(
            F.col("_ingest_date") <= F.lit(night)
        )
        columns = feature_columns(features)
        examples = training_set(labelled_notices(notices, night), features)
        if shuffle_labels:
            examples = examples.withColumn("label", F.when(F.rand(conf.seed) < 0.5, 1).otherwise(0))
        train_rows, eval_rows = (frame.persist() for frame in time_split(examples, conf.eval_days))
        n_train = train_rows.groupBy("label").count().collect()  # bounded: two rows
        n_eval = eval_rows.count()
        if sum(r["count"] for r in n_train) < conf.min_labels or len(n_train) < 2 or n_eval == 0:
            reason = f"not enough decided notices by {night}: train {[tuple(r) for r in n_train]}, eval {n_eval} (min {conf.min_labels})"
            entry.message = reason
            log.warning(reason)
            return TrainResult(None, None, None, reason, {})

        weighted = models.with_class_weights(train_rows)
        candidates = {
            "logistic_regression": models.logistic_regression(columns, seed=conf.seed),
            "gradient_boosted_trees": models.boosted_trees(
                columns, seed=conf.seed, max_iter=conf.gbt_max_iter, max_depth=conf.gbt_max_depth
            ),
        }
        fitted: dict[str, PipelineModel] = {}
        metrics: dict[str, dict[str, Any]] = {}
        for name, pipeline in candidates.items():
            fitted[name] = pipeline.fit(weighted)
            metrics[name] = ranking_metrics(
                models.score(fitted[name], eval_rows), budget=conf.review_budget, top_share=0.01
            )
            log.info("%s: eval PR-AUC %s", name, metrics[name].get("pr_auc"))
        best = max(metrics, key=lambda n: metrics[n].get("pr_auc") or 0.0)
        rules = rules_score(eval_rows, conf.rules_max_price_to_reference).join(
            eval_rows.select("listing_id", "label"), "listing_id"
        )
        metrics["rules_baseline"] = ranking_metrics(
            rules, budget=conf.review_budget, top_share=0.01
        )

        experiment = use_tracking(
            ctx.conf.mlflow.tracking_uri, ctx.conf.mlflow.experiment, ctx.conf.mlflow.artifact_root
        )
        client = MlflowClient(ctx.conf.mlflow.tracking_uri)
        model_name = ctx.conf.mlflow.model_name
        current = champion_version(client, model_name)
        if current is not None:
            champion = mlflow.spark.load_model(champion_uri(model_name))
            metrics["champion"] = ranking_metrics(
                models.score(champion, eval_rows), budget=conf.review_budget, top_share=0.01
            )
        decision = decide(
            metrics[best]["pr_auc"],
            champion_pr_auc=metrics["champion"]["pr_auc"] if current is not None else None,
            rules_pr_auc=metrics["rules_baseline"].get("pr_auc"),
            margin=conf.promotion_margin,
        )
        with mlflow.start_run(experiment_id=experiment, run_name=f"train-{night}") as run:
            mlflow.log_params(
                {
                    "model_type": best,
                    "cutoff": night.isoformat(),
                    "seed": conf.seed,
                    "eval_days": conf.eval_days,
                    "feature_count": len(columns),
                    "shuffled_labels": shuffle_labels,
                    **{f"delta_version.{t}": v for t, v in versions.items()},
                    "gbt_max_iter": conf.gbt_max_iter,
                    "gbt_max_depth": conf.gbt_max_depth,
                }
            )
            for name, values in metrics.items():
                log_metrics(name, values)
            log_metrics("model", metrics[best])
            scored_eval = models.score(fitted[best], eval_rows)
            log_figures(
                {best: pr_curve(scored_eval), "rules baseline": pr_curve(rules)},
                models.importances(fitted[best], columns),
            )
            _log_eval_table(scored_eval)
            example = eval_rows.select(*columns).limit(5).toPandas()  # bounded: five rows
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
            mlflow.set_tags(
                {
                    "promotion": decision.alias,
                    "promotion_reason": decision.reason,
                    "train_date": night.isoformat(),
                }
            )
            client.set_model_version_tag(model_name, version, "promotion_reason", decision.reason)
        train_rows.unpersist()
        eval_rows.unpersist()
        entry.message = f"version {version} -> {decision.alias}: {decision.reason}"
        log.info(
            "model %s version %s is %s: %s", model_name, version, decision.alias, decision.reason
        )
        return TrainResult(run.info.run_id, version, decision.alias, decision.reason, metrics)


def _log_eval_table(scored: DataFrame) -> None:
    table = (
        scored.select("listing_id", "received_date", "label", "score")
        .orderBy(F.desc("score"))
        .limit(10_000)
        .toPandas()
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evaluation.csv"
        table.to_csv(path, index=False)  # type: ignore[attr-defined]
        mlflow.log_artifact(str(path))


def has_champion(ctx: JobContext) -> bool:
    use_tracking(
        ctx.conf.mlflow.tracking_uri, ctx.conf.mlflow.experiment, ctx.conf.mlflow.artifact_root
    )
    return (
        champion_version(MlflowClient(ctx.conf.mlflow.tracking_uri), ctx.conf.mlflow.model_name)
        is not None
    )


__all__ = ["CHAMPION", "TrainResult", "has_champion", "train"]
