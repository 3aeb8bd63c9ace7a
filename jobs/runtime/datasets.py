"""Datasets that steps and notebooks share, read through the catalog: the public way in.

A notebook that iterates on the model reads the night's examples exactly as the train step does
(same pinned Delta versions, same point-in-time join), so what it measures is what training
sees; it calls this module, not a step's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.verdicts import verdicts_known
from jobs.runtime import catalog
from jobs.runtime.lakehouse import Lakehouse
from training.examples import feature_columns, labelled_notices, training_set

FEATURES, NOTICES = catalog.LISTING_FEATURES, catalog.bronze("takedown_notices")
INPUTS = (FEATURES, NOTICES)


@dataclass(frozen=True)
class Examples:
    """The night's labelled examples and where they came from."""

    examples: DataFrame  # label columns + feature columns, one row per labelled listing
    columns: list[str]  # the model's input columns
    versions: dict[str, int]  # Delta version of each input table
    features: DataFrame  # features.listing_features at its pinned version (every night)
    reported: DataFrame  # listing_id of every listing reported by the night (any verdict)


def read_examples(lake: Lakehouse, night: date) -> Examples:
    """Labels known by the night, joined point-in-time to the features (no look-ahead)."""
    versions = {table.name: lake.version(table) for table in INPUTS}
    features = lake.read(FEATURES, version=versions[FEATURES.name])
    notices = lake.read_history(NOTICES, until=night, version=versions[NOTICES.name])
    examples = training_set(labelled_notices(notices, night), features).withColumn(
        "labelled", F.lit(True)
    )
    reported = verdicts_known(notices, night).select("listing_id").distinct()
    return Examples(examples, feature_columns(features), versions, features, reported)
