"""Which protected brand a listing names, even misspelt: titles against brand_registry's terms.

Counterfeiters name the brand to be found by buyers, and misspell it to slip past exact filters
("Lumorra", "Vantele"). A title word matches a brand when it equals one of the brand's terms
(its name and the misspellings it registered), or is within `max_distance` edits of one (words of
at least `min_length` letters). The fuzzy comparison only meets candidates that share the first two
letters, so it stays a hash join, not a cross product.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def brand_terms(registry: DataFrame) -> DataFrame:
    """(brand, category, term): every protected term of every brand, lower case."""
    terms = F.array_union(
        F.array(F.lower(F.col("brand"))),
        F.coalesce(F.transform("protected_terms", F.lower), F.array()),
    )
    return registry.select("brand", "category", F.explode(terms).alias("term")).distinct()


def _words(text: str) -> F.Column:
    return F.filter(
        F.split(F.lower(F.coalesce(F.col(text), F.lit(""))), r"[^a-z0-9:]+"),
        lambda w: F.length(w) > 0,
    )


def brand_matches(
    listings: DataFrame, terms: DataFrame, *, max_distance: int, min_length: int
) -> DataFrame:
    """(listing_id, brand_canonical, brand_exact, brand_fuzzy) for listings whose title or claimed
    brand names a protected brand; the best match per listing (exact before fuzzy)."""
    words = listings.select(
        "listing_id",
        F.explode(F.array_distinct(F.concat(_words("title"), _words("brand")))).alias("word"),
    ).withColumn("prefix", F.substring("word", 1, 2))
    terms = F.broadcast(terms.withColumn("prefix", F.substring("term", 1, 2)))
    candidates = words.join(terms, "prefix").withColumn("distance", F.levenshtein("word", "term"))
    matched = candidates.where(
        (F.col("distance") == 0)
        | ((F.col("distance") <= max_distance) & (F.length("word") >= min_length))
    )
    return (
        matched.groupBy("listing_id")
        .agg(
            F.min_by("brand", F.struct("distance", "brand")).alias("brand_canonical"),
            F.min("distance").alias("best_distance"),
        )
        .select(
            "listing_id",
            "brand_canonical",
            (F.col("best_distance") == 0).alias("brand_exact"),
            (F.col("best_distance") > 0).alias("brand_fuzzy"),
        )
    )
