"""Training examples: takedown verdicts known by the cutoff, joined to features as of the notice.

confirmed = counterfeit (1), rejected = genuine (0); pending and never-reported listings are left
out. Each notice is joined to the listing's features of the latest feature_date on or before the
day the notice was received, so no feature can see what happened after the brand complained.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from features.labels import verdicts_known

NON_FEATURES = frozenset(
    {
        "listing_id",
        "seller_id",
        "feature_date",
        "ring_id",
        "brand_canonical",
        "category",
        "label",
        "weight",
        "received_date",
    }
)


def labelled_notices(notices: DataFrame, cutoff: date) -> DataFrame:
    """(listing_id, received_date, label) for notices decided by the cutoff; one per listing
    (its latest notice)."""
    decided = verdicts_known(notices, cutoff).where(F.col("verdict").isin("confirmed", "rejected"))
    latest = Window.partitionBy("listing_id").orderBy(
        F.col("received_at").desc(), F.col("notice_id")
    )
    return (
        decided.withColumn("_r", F.row_number().over(latest))
        .where("_r = 1")
        .select(
            "listing_id",
            F.to_date("received_at").alias("received_date"),
            (F.col("verdict") == "confirmed").cast("int").alias("label"),
        )
    )


def training_set(labels: DataFrame, features: DataFrame) -> DataFrame:
    """Labels joined to the features of the latest feature_date <= the notice's received date."""
    joined = labels.join(features, "listing_id").where(
        F.col("feature_date") <= F.col("received_date")
    )
    latest = Window.partitionBy("listing_id").orderBy(F.col("feature_date").desc())
    return joined.withColumn("_r", F.row_number().over(latest)).where("_r = 1").drop("_r")


def time_split(examples: DataFrame, eval_days: int) -> tuple[DataFrame, DataFrame]:
    """Train on notices received before the last `eval_days` days of labelled notices, evaluate
    on those days: never a random split across time."""
    last = examples.agg(F.max("received_date")).first()
    if last is None or last[0] is None:
        return examples, examples.limit(0)
    boundary = F.date_sub(F.lit(last[0]), eval_days)
    return examples.where(F.col("received_date") <= boundary), examples.where(
        F.col("received_date") > boundary
    )


def feature_columns(features: DataFrame) -> list[str]:
    """Every numeric or boolean column that is not an id, date or label: the model's inputs."""
    numeric = ("int", "bigint", "double", "float", "boolean", "smallint", "tinyint")
    return sorted(c for c, t in features.dtypes if t in numeric and c not in NON_FEATURES)
