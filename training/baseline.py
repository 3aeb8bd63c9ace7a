"""The rules-only baseline: what a team without ML would do (bare template, big discount, brand).

The rule: `is_basic_template AND price_to_reference < threshold AND brand_term_match`. It is
scored with the same metrics as the models, so every model is measured against it. A pure 0/1 flag
has no ranking inside the flagged set, so the score is graded: listings meeting all three rules
score 1.0 (always above the others), and a listing meeting only some of them ranks by how many
(0.4 template, 0.4 discount, 0.2 brand term) - a team would review those next.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def rule_conditions(max_price_to_reference: float) -> tuple[Column, Column, Column]:
    """(bare template, big discount, brand term) as null-safe boolean columns."""
    return (
        F.coalesce(F.col("is_basic_template"), F.lit(False)),
        F.coalesce(F.col("price_to_reference") < max_price_to_reference, F.lit(False)),
        F.coalesce(F.col("brand_term_match"), F.lit(False)),
    )


def rules_score(features: DataFrame, max_price_to_reference: float) -> DataFrame:
    """(listing_id, score, rule_flag): rule_flag = all three rules met; score in [0, 1]."""
    template, cheap, brand = rule_conditions(max_price_to_reference)
    graded = template.cast("double") * 0.4 + cheap.cast("double") * 0.4 + brand.cast("double") * 0.2
    return features.select(
        "listing_id", graded.alias("score"), (template & cheap & brand).alias("rule_flag")
    )
