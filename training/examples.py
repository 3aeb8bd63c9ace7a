"""Training examples: takedown verdicts known by the cutoff, joined to features as of the notice.

confirmed = counterfeit (1), rejected = genuine (0); pending and never-reported listings are left
out. Each notice is joined to the listing's features of the day before the notice was received
(or, when no feature row exists that day, the latest feature_date before it), so no feature can
see what happened once the brand complained: a takedown, a price cut, a burst of angry reviews.
Not the notice's own day either: that night's features are built at the end of the day, after
the notice came in, and can hold its verdict (confirmed the same day) or what followed it. The
day before also knows nothing of the notice itself, so the takedown counts of an example never
count its own notice (features.listings.without_own_verdict takes the listing's earlier
verdicts out as well). A listing reported on its first day has no such row: it is no example.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from features.verdicts import verdicts_known

# Columns of features.listing_features (and of the examples) that are never model inputs.
NON_FEATURES = frozenset(
    {
        "listing_id",
        "seller_id",
        "feature_date",
        "ring_id",
        "brand_canonical",
        "category",
        "notice_id",
        "label",
        "weight",
        "received_date",
    }
)
_NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double", "boolean")


def labelled_notices(notices: DataFrame, cutoff: date) -> DataFrame:
    """(notice_id, listing_id, received_date, label) for notices decided by the cutoff.

    Per notice the latest verdict_at known by the cutoff wins; pending notices are dropped. A
    listing reported several times keeps only its latest decided notice, so one listing is one
    example and can never sit on both sides of the time split.
    """
    decided = verdicts_known(notices, cutoff).where(F.col("verdict").isin("confirmed", "rejected"))
    latest = Window.partitionBy("listing_id").orderBy(
        F.col("received_at").desc(), F.col("notice_id").desc()
    )
    return (
        decided.withColumn("_r", F.row_number().over(latest))
        .where("_r = 1")
        .select(
            "notice_id",
            "listing_id",
            F.to_date("received_at").alias("received_date"),
            (F.col("verdict") == "confirmed").cast("int").alias("label"),
        )
    )


def training_set(labels: DataFrame, features: DataFrame) -> DataFrame:
    """Labels joined point-in-time to the features: the row of the latest feature_date before
    the notice's received date (the day before when it exists). Labels without any feature row
    by then are dropped. Output: the label columns + every feature column, one row per label."""
    joined = labels.join(features, "listing_id").where(
        F.col("feature_date") < F.col("received_date")
    )
    latest = Window.partitionBy("listing_id").orderBy(F.col("feature_date").desc())
    return joined.withColumn("_r", F.row_number().over(latest)).where("_r = 1").drop("_r")


def feature_columns(features: DataFrame) -> list[str]:
    """Every numeric or boolean column that is not an id, date or label: the model's inputs,
    in a fixed (sorted) order so that two trainings assemble the same vector."""
    return sorted(
        name
        for name, dtype in features.dtypes
        if (dtype in _NUMERIC_TYPES or dtype.startswith("decimal")) and name not in NON_FEATURES
    )
