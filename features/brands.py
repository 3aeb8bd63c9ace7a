"""Which protected brand a listing names, even misspelt: titles against brand_registry's terms.

Counterfeiters name the brand to be found by buyers, and misspell it to slip past exact filters
("Lumorra", "Vantele"). A title word matches a brand when it equals one of the brand's terms
(its name and the misspellings it registered), or is within `max_distance` edits of one (words of
at least `min_length` letters). The fuzzy comparison only meets candidates that share the first two
letters, so it stays a hash join, not a cross product.

Every title word of the catalog goes through here (about ten per listing), so the work per word is
kept small: exact matches come from an equi-join of the word on the term; only words long enough
to match fuzzily go on to the fuzzy join, and it meets only terms of the same prefix whose length
is within `max_distance` of the word's (no word further than that in length can be within
`max_distance` edits), where Levenshtein is computed with that bound as its threshold.
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
    brand names a protected brand; the best match per listing (exact before fuzzy, then the
    nearest, ties by brand name)."""
    words = listings.select(
        "listing_id",
        F.explode(F.array_distinct(F.concat(_words("title"), _words("brand")))).alias("word"),
    )
    exact = words.join(
        F.broadcast(terms.select("brand", F.col("term").alias("word"))), "word"
    ).select("listing_id", "brand", F.lit(0).alias("distance"))
    matched = exact
    if max_distance > 0:
        matched = exact.unionByName(_fuzzy(words, terms, max_distance, min_length))
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


def _fuzzy(words: DataFrame, terms: DataFrame, max_distance: int, min_length: int) -> DataFrame:
    """(listing_id, brand, distance) for words of at least `min_length` letters within 1 to
    `max_distance` edits of a term sharing their first two letters. The brand terms (small, and
    broadcast) are repeated once per word length in their band, len(term) +/- max_distance, so the
    join on (prefix, length) finds only the candidates Levenshtein can accept."""
    long_words = words.where(F.length("word") >= min_length).select(
        "listing_id",
        "word",
        F.substring("word", 1, 2).alias("prefix"),
        F.length("word").alias("word_length"),
    )
    band = F.sequence(
        F.length("term") - F.lit(max_distance), F.length("term") + F.lit(max_distance)
    )
    banded = terms.select(
        "brand",
        "term",
        F.substring("term", 1, 2).alias("prefix"),
        F.explode(band).alias("word_length"),
    )
    distance = F.levenshtein("word", "term", max_distance)  # -1 beyond max_distance
    return (
        long_words.join(F.broadcast(banded), ["prefix", "word_length"])
        .select("listing_id", "brand", distance.alias("distance"))
        .where(F.col("distance") >= 1)
    )
