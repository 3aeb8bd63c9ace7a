"""Time-based split of the examples: train on the past, evaluate on what came after.

A random split across time would let a model learn next week's fakes from this week's notices of
the same ring and report a score it could never reach in production. The boundary is a date: the
last `eval_days` days of decided notices evaluate, everything received before trains.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def split_boundary(examples: DataFrame, eval_days: int) -> date | None:
    """The last training day: `eval_days` before the newest received_date among the examples.

    Anchored on the newest *decided* notice rather than on the night itself: verdicts arrive days
    after the notice, so the night's own notices are still pending. None when there is no example.
    """
    row = examples.agg(F.max("received_date")).first()  # one row
    newest = row[0] if row else None
    return None if newest is None else newest - timedelta(days=eval_days)


def time_split(examples: DataFrame, boundary: date) -> tuple[DataFrame, DataFrame]:
    """(train, evaluation): received_date <= boundary trains, later notices evaluate."""
    received = F.col("received_date")
    return examples.where(received <= F.lit(boundary)), examples.where(received > F.lit(boundary))
