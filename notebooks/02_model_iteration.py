# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Model iteration
#
# Try one change to the model and compare it with the champion on the same evaluation notices,
# the way `radar train` would, without touching what the night scores with.
#
# The question tried here: **does the model still find fakes without the ring features?** A
# seller that no ring links yet (a new account, a careful operator) has no ring features, so a
# model that leans on them alone would be blind to exactly the accounts investigators miss.
#
# The training set, the time split, the pipelines and the metrics are the project's own
# (`jobs/runtime/datasets.py` `read_examples`, `training/split.py`, `training/models.py`,
# `training/metrics.py`); the run is logged to the same MLflow experiment as the nightly
# trainings, and the `champion` alias is left alone (the promotion gate moves it, not a notebook).

# %%
import os

import matplotlib.pyplot as plt
import mlflow
import mlflow.spark
import pandas as pd
from mlflow import MlflowClient

from jobs.runtime.catalog import LISTING_FEATURES
from jobs.runtime.conf import PROJECT_ROOT, load_conf
from jobs.runtime.context import JobContext
from jobs.runtime.datasets import read_examples
from training import models
from training.fit import Skipped, split_examples
from training.metrics import pr_curve, ranking_metrics
from training.tracking import champion_uri, champion_version, log_metrics, use_tracking

# %matplotlib inline
# (after the imports: the project's drawing modules choose the Agg backend when imported)
os.chdir(PROJECT_ROOT)  # relative conf paths (data/...) mean the checkout's, as for `make demo`
conf = load_conf(os.environ.get("RADAR_CONF"))
ctx = JobContext(conf)
spark, lake = ctx.spark, ctx.lakehouse
training = conf.training
print("lakehouse:", conf.paths.lakehouse, "| MLflow:", conf.mlflow.tracking_uri)

# %% [markdown]
# ## The training set, as the night builds it
#
# Decided takedown notices known by the night, joined point-in-time to the listing features
# (no look-ahead); the last `training.eval_days` days of notices evaluate, the earlier ones
# train. With `training.population` the training rows also hold a sample of never-reported
# listings as unlabelled, weighted as the night weighs them. `training.fit.split_examples` is the
# night's own split: what is measured here is what the train step sees. The night is the latest
# one with features.

# %%
night = lake.latest_night(LISTING_FEATURES)
data = read_examples(lake, night)
split = split_examples(
    data.examples,
    night=night,
    features=data.features,
    reported=data.reported,
    columns=data.columns,
    params=training,
)
if isinstance(split, Skipped):
    raise RuntimeError(f"nothing to iterate on at {night}: {split.reason}")
train_rows, eval_rows = split.train_rows, split.eval_notices.persist()
print(f"night {night}: notices received up to {split.boundary} train, later ones evaluate")
print("Delta versions read:", data.versions)
pd.Series(split.counts, name="rows")

# %% [markdown]
# ## The change: boosted trees without the ring features
#
# Same pipeline and hyper-parameters as the nightly candidate (`training.gbt_*` in the conf),
# every feature but the ring family (`ring_*` and `seller_in_ring`).

# %%
ring_family = [c for c in data.columns if c.startswith("ring_") or c == "seller_in_ring"]
columns = [c for c in data.columns if c not in ring_family]
print(f"dropped {len(ring_family)} ring features: {', '.join(ring_family)}")
pipeline = models.boosted_trees(
    columns, seed=training.seed, max_iter=training.gbt_max_iter, max_depth=training.gbt_max_depth
)
candidate = pipeline.fit(train_rows)
candidate_scored = models.score(candidate, eval_rows).select("listing_id", "score", "label")
candidate_metrics = ranking_metrics(
    candidate_scored, budget=training.review_budget, top_share=training.top_share
)

# %% [markdown]
# ## The champion on the same evaluation notices
#
# The model the night scores with (`models:/<model_name>@champion`), scored on exactly the
# rows the candidate was measured on: only then do the two PR-AUCs compare.

# %%
experiment_id = use_tracking(
    conf.mlflow.tracking_uri, conf.mlflow.experiment, conf.mlflow.artifact_root
)
client = MlflowClient(conf.mlflow.tracking_uri)
champion_before = champion_version(client, conf.mlflow.model_name)
scorers = {"candidate: no ring features": candidate_scored}
metrics = {"candidate: no ring features": candidate_metrics}
if champion_before is None:
    print("no champion yet: nothing to compare with (the night has not trained a model)")
else:
    champion = mlflow.spark.load_model(champion_uri(conf.mlflow.model_name))
    champion_scored = models.score(champion, eval_rows).select("listing_id", "score", "label")
    name = f"champion v{champion_before}"
    scorers[name] = champion_scored
    metrics[name] = ranking_metrics(
        champion_scored, budget=training.review_budget, top_share=training.top_share
    )
pd.DataFrame(metrics)

# %% [markdown]
# ## Precision-recall, side by side
#
# Brand protection reviews the top of the list: what matters is how long precision stays high
# as recall grows. Curves from `training/metrics.py` `pr_curve` (score bins aggregated in Spark).

# %%
fig, axes = plt.subplots(1, len(scorers), figsize=(5 * len(scorers), 4), sharey=True, squeeze=False)
for ax, (name, scored) in zip(axes[0], scorers.items(), strict=True):
    recall, precision = zip(*sorted(pr_curve(scored, training.pr_curve_bins)), strict=True)
    ax.plot(recall, precision)
    ax.set_title(f"{name}\nPR-AUC {metrics[name]['pr_auc']:.3f}")
    ax.set_xlabel("recall")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
axes[0][0].set_ylabel("precision")
plt.show()

# %% [markdown]
# ## Log the experiment
#
# One MLflow run in the nightly experiment, tagged with this notebook, holding the change, the
# candidate's metrics (`model_*`), the champion's on the same rows (`champion_*`) and the figure.
# No model is registered: a candidate worth keeping goes through `radar train` and its gate.

# %%
with mlflow.start_run(
    experiment_id=experiment_id, run_name=f"notebook-no-ring-features-{night}"
) as run:
    mlflow.set_tags({"source": "notebooks/02_model_iteration", "change": "drop ring features"})
    mlflow.log_params(
        {
            "model_type": "gradient_boosted_trees",
            "cutoff": night.isoformat(),
            "split_boundary": split.boundary.isoformat(),
            "dropped_features": ",".join(ring_family),
            "feature_count": len(columns),
            "gbt_max_iter": training.gbt_max_iter,
            "gbt_max_depth": training.gbt_max_depth,
            "seed": training.seed,
            "champion_before": champion_before or "none",
            **{f"delta_version.{t}": v for t, v in data.versions.items()},
        }
    )
    log_metrics("model", candidate_metrics)
    if champion_before is not None:
        log_metrics("champion", metrics[f"champion v{champion_before}"])
    mlflow.log_figure(fig, "precision_recall_side_by_side.png")
print(f"mlflow run: {run.info.run_id}")
print(f"candidate PR-AUC: {candidate_metrics['pr_auc']:.6f}")

# %%
champion_after = champion_version(client, conf.mlflow.model_name)
assert champion_after == champion_before, "a notebook must never move the champion alias"
print(f"champion: version {champion_after} (unchanged)")
split.release()
eval_rows.unpersist()
