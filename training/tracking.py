"""MLflow: where runs, artifacts and registered model versions live, and how the champion moves."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

CHAMPION, CHALLENGER = "champion", "challenger"


def use_tracking(tracking_uri: str, experiment: str, artifact_root: str) -> str:
    """Point MLflow at the tracking store and return the experiment id (created if missing)."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    return str(mlflow.create_experiment(experiment, artifact_location=artifact_root))


def champion_uri(model_name: str) -> str:
    """What the score step loads: mlflow.spark.load_model(champion_uri(name))."""
    return f"models:/{model_name}@{CHAMPION}"


def champion_version(client: MlflowClient, model_name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(model_name, CHAMPION).version)
    except MlflowException:
        return None


def log_figures(
    pr_curves: Mapping[str, list[tuple[float, float]]], importances: Mapping[str, float]
) -> None:
    """The precision-recall curves and the feature importances, as PNG artifacts of the run."""
    with tempfile.TemporaryDirectory() as tmp:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, points in pr_curves.items():
            if points:
                recall, precision = zip(*sorted(points), strict=True)
                ax.plot(recall, precision, label=name)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title("Precision-recall on the evaluation notices")
        ax.legend()
        fig.savefig(Path(tmp) / "precision_recall.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        top = sorted(importances.items(), key=lambda kv: kv[1], reverse=True)[:20]
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.barh([k for k, _ in reversed(top)], [v for _, v in reversed(top)])
        ax.set_title("Feature importance")
        fig.savefig(Path(tmp) / "feature_importance.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        mlflow.log_artifacts(tmp)


def log_metrics(prefix: str, metrics: Mapping[str, Any]) -> None:
    """`<prefix>_<metric>` for every numeric metric (e.g. model_pr_auc, rules_baseline_roc_auc)."""
    mlflow.log_metrics(
        {f"{prefix}_{k}": float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    )


def log_evaluation_table(
    scored_eval: DataFrame, metrics: Mapping[str, Mapping[str, Any]], *, max_rows: int
) -> None:
    """evaluation.csv: the evaluation notices (listing, received date, label, score), at most
    `max_rows` of them, highest score first; evaluation.json: every scorer's metrics side by side."""
    table = (
        scored_eval.select("listing_id", "received_date", "label", "score")
        .orderBy(F.desc("score"), "listing_id")
        .limit(max_rows)
        .toPandas()  # bounded by max_rows
    )
    with tempfile.TemporaryDirectory() as tmp:
        table.to_csv(Path(tmp) / "evaluation.csv", index=False)  # type: ignore[attr-defined]
        (Path(tmp) / "evaluation.json").write_text(
            json.dumps({k: dict(v) for k, v in metrics.items()}, indent=2, sort_keys=True)
        )
        mlflow.log_artifacts(tmp)
