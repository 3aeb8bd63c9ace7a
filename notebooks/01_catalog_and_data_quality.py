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
# # 01 · Catalog and data quality
#
# Before trusting a model or a ring lead, check the tables under it: which tables exist and how
# big they are, whether every step of every night ran, what ingest refused and why, and whether
# the features separate counterfeit listings from genuine ones at all.
#
# The lakehouse comes from the conf: `RADAR_CONF` names a conf file (default `conf/local.yaml`,
# the lakehouse `make demo` builds). Everything heavy is aggregated in Spark; only small
# aggregates come to pandas.

# %%
import os
from functools import reduce

import matplotlib.pyplot as plt
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.runtime.catalog import LISTING_FEATURES, RUN_LOG, bronze, quarantine
from jobs.runtime.conf import PROJECT_ROOT, load_conf
from jobs.runtime.context import JobContext
from training.examples import feature_columns, labelled_notices, training_set

# %matplotlib inline
# (after the imports: the project's drawing modules choose the Agg backend when imported)
os.chdir(PROJECT_ROOT)  # relative conf paths (data/...) mean the checkout's, as for `make demo`
conf = load_conf(os.environ.get("RADAR_CONF"))
ctx = JobContext(conf)
spark, lake = ctx.spark, ctx.lakehouse
print("lakehouse:", conf.paths.lakehouse, "tables:", len(ctx.open_tables()))

# %% [markdown]
# ## The catalog
#
# The lakehouse is the catalog: every Delta folder `<paths.lakehouse>/<layer>/<name>` is a table,
# named `layer.name` in this session by `ctx.open_tables()` above, one database per layer (bronze,
# quarantine, silver, features, graph, gold, ops). A layer with no tables, or a table with no rows,
# means a step never ran. Nothing is locked: the notebook reads while a night writes.

# %%
spark.sql("SHOW DATABASES").show()

# %%
tables = [
    f"{layer.namespace}.{table.tableName}"
    for layer in spark.sql("SHOW DATABASES").collect()
    for table in spark.sql(f"SHOW TABLES IN {layer.namespace}").collect()
]
# Counted through the lakehouse paths the names point at (`layer.name` lives at
# <paths.lakehouse>/<layer>/<name>): the same Delta tables, without a metastore lookup per table.
catalog = pd.DataFrame(
    [(*name.split("."), lake.read(name).count()) for name in tables],
    columns=["layer", "table", "rows"],
)
catalog

# %% [markdown]
# ## The nights
#
# `ops.run_log` holds one row per step and attempt. The latest attempt of each step per night:
# a failed step names its reason in `message`, and `radar nightly` resumes from it.

# %%
steps = (
    lake.read(RUN_LOG)
    .where(F.col("table_name") == "*")
    .groupBy("run_date", "step")
    .agg(
        F.max_by("status", "started_at").alias("status"),
        F.max_by("seconds", "started_at").alias("seconds"),
        F.max_by("message", "started_at").alias("message"),
        F.min("started_at").alias("started"),
    )
    .orderBy("run_date", "started")
    .toPandas()  # bounded: nights x steps
)
steps.pivot(index="step", columns="run_date", values="status")

# %%
steps[["run_date", "step", "status", "seconds", "message"]]

# %% [markdown]
# ## Quarantine: what ingest refused, and why
#
# A rejected row keeps its raw columns and `_violations`, every rule it broke (`not_null:title`,
# `range:price`, `orphan:seller_id`, `file:unreadable`, ...). One row can break several rules,
# so the counts per rule add up to more than the rows. A rule that suddenly dominates a night
# usually means the export changed, not that sellers did.

# %%
quarantine_tables = [t.tableName for t in spark.sql("SHOW TABLES IN quarantine").collect()]


def violations_of(table: str) -> DataFrame:
    rows = lake.read(quarantine(table))
    return rows.select(
        F.lit(table).alias("table"), "_ingest_date", F.explode("_violations").alias("rule")
    )


quarantined_rows = sum(lake.read(quarantine(t)).count() for t in quarantine_tables)
print(f"quarantined rows: {quarantined_rows} in {len(quarantine_tables)} tables")
per_rule = (
    reduce(DataFrame.unionByName, [violations_of(t) for t in quarantine_tables])
    .groupBy("table", "rule")
    .agg(F.count(F.lit(1)).alias("rows"))
    .orderBy(F.desc("rows"), "table", "rule")
    .toPandas()  # bounded: tables x rules
)
per_rule

# %%
fig, ax = plt.subplots(figsize=(7, 0.3 * len(per_rule) + 1))
labels = per_rule["table"] + "  " + per_rule["rule"]
ax.barh(labels[::-1], per_rule["rows"][::-1])
ax.set_xlabel("rejected rows breaking the rule")
ax.set_title("Quarantine by table and rule, all nights")
plt.show()

# %% [markdown]
# ## Do the features tell fakes from genuine listings?
#
# Labels are brand takedown notices with a verdict (confirmed = counterfeit, rejected =
# genuine), joined to the listing's features as of the day before the notice arrived: the same
# `training/examples.py` functions the training step uses, so what is plotted here is what the
# model learns from. Most listings are never reported: these are the labelled few.

# %%
features = lake.read(LISTING_FEATURES)
last_night = features.agg(F.max("feature_date")).first()[0]
labels = labelled_notices(lake.read(bronze("takedown_notices")), last_night)
examples = training_set(labels, features).persist()
columns = feature_columns(features)
counts = examples.groupBy("label").count().toPandas()  # two rows
print(
    f"labelled listings by {last_night}:", dict(zip(counts["label"], counts["count"], strict=True))
)
print(f"{len(columns)} model inputs:", ", ".join(columns))

# %% [markdown]
# Numeric features: a histogram per class over the 1st..99th percentile of the labelled rows,
# binned in Spark (each class normalised to its own total, so the shapes compare).

# %%
NUMERIC = [
    "price_to_reference",
    "seller_account_age_days",
    "seller_listing_count",
    "seller_five_star_share",
]
BINS = 20


def histogram(column: str) -> pd.DataFrame:
    """(label, left edge, share of the class) for `column`, clipped to its 1st..99th percentile."""
    value = F.col(column).cast("double")
    low, high = examples.agg(
        F.percentile_approx(value, 0.01), F.percentile_approx(value, 0.99)
    ).first()
    width = (high - low) / BINS if high > low else 1.0
    bucket = F.least(
        F.floor((F.greatest(F.least(value, F.lit(high)), F.lit(low)) - low) / width),
        F.lit(BINS - 1),
    )
    counts = (
        examples.where(value.isNotNull())
        .groupBy("label", bucket.alias("bin"))
        .count()
        .toPandas()  # bounded: 2 x BINS rows
    )
    counts["edge"] = low + counts["bin"] * width
    counts["share"] = counts["count"] / counts.groupby("label")["count"].transform("sum")
    return counts


fig, axes = plt.subplots(1, len(NUMERIC), figsize=(4 * len(NUMERIC), 3))
for ax, column in zip(axes, NUMERIC, strict=True):
    bins = histogram(column)
    width = (bins["edge"].max() - bins["edge"].min()) / BINS or 1.0
    for label, name, colour in ((0, "genuine", "tab:blue"), (1, "counterfeit", "tab:red")):
        part = bins[bins["label"] == label]
        ax.bar(
            part["edge"],
            part["share"],
            width=width,
            alpha=0.5,
            label=name,
            color=colour,
            align="edge",
        )
    ax.set_title(column)
axes[0].set_ylabel("share of the class")
axes[0].legend()
plt.show()

# %% [markdown]
# Yes/no features: the share of each class where the flag is set. The rules-only baseline
# (`training/baseline.py`) uses the bare template and the brand term; a flag set as often among
# genuine listings as among fakes carries no signal.

# %%
FLAGS = [
    "is_basic_template",
    "brand_term_match",
    "brand_fuzzy_match",
    "below_min_authorized",
    "image_of_confirmed_fake",
    "seller_in_ring",
]
shares = (
    examples.groupBy("label")
    .agg(*[F.avg(F.col(f).cast("double")).alias(f) for f in FLAGS])
    .toPandas()  # two rows
    .set_index("label")
    .rename(index={0: "genuine", 1: "counterfeit"})
)
shares.T.plot.barh(figsize=(6, 3), color={"genuine": "tab:blue", "counterfeit": "tab:red"})
plt.xlabel("share of the class with the flag set")
plt.show()
shares

# %%
_ = examples.unpersist()
