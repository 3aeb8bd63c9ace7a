"""The rules-only baseline: what a team without ML would do (bare template, big discount, brand).

Scored with the same metrics as the models, so every model is measured against it. The score is
graded (the rules met, weighted), so it ranks rather than only flags.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def rules_score(features: DataFrame, max_price_to_reference: float) -> DataFrame:
    """(listing_id, score): 0.4 bare template + 0.4 price under the threshold + 0.2 brand term."""
    cheap = F.coalesce(F.col("price_to_reference") < max_price_to_reference, F.lit(False))
    score = (
        F.coalesce(F.col("is_basic_template"), F.lit(False)).cast("double") * 0.4
        + cheap.cast("double") * 0.4
        + F.coalesce(F.col("brand_term_match"), F.lit(False)).cast("double") * 0.2
    )
    return features.select("listing_id", score.alias("score"))
