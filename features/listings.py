"""Listing features as of a night: price against the brand, brand terms, keywords, images.

Every numeric or boolean column of the result is a model feature (ids, dates and strings are
not); nothing in it comes from after the night or from the truth.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def names_a_brand() -> Column:
    """True when a listing points at a brand in a way the features see: a registry brand or one
    of its terms in its title or brand field (exact or misspelt), counterfeit wording ("replica",
    "designer style"), or the image of a confirmed counterfeit.

    A counterfeit imitates a brand, and brand owners file takedown notices only against listings
    that point at theirs, so every label the model learns from is such a listing. A listing that
    points at no brand (a ring seller's unbranded phone case) lies outside what the model has
    ever seen, where its score says nothing; scoring gives it 0 (training/models.score)."""
    return (
        F.coalesce(F.col("brand_term_match"), F.lit(False))
        | F.coalesce(F.col("brand_fuzzy_match"), F.lit(False))
        | F.coalesce(F.col("counterfeit_keywords") > 0, F.lit(False))
        | F.coalesce(F.col("image_of_confirmed_fake"), F.lit(False))
    )


def with_brand_prices(listings: DataFrame, matches: DataFrame, registry: DataFrame) -> DataFrame:
    """Brand match and prices against the brand's reference and authorised minimum: genuine goods
    sell near their reference price; a fake at a fifth of it is the commonest tell. An authorised
    reseller's discount is genuine, so authorisation is a feature too."""
    brand_prices = registry.groupBy(F.col("brand").alias("brand_canonical")).agg(
        F.avg(F.col("reference_price").cast("double")).alias("reference_price"),
        F.min(F.col("min_authorized_price").cast("double")).alias("min_authorized_price"),
        F.flatten(
            F.collect_list(F.coalesce("authorized_seller_ids", F.array().cast("array<string>")))
        ).alias("_authorised"),
    )
    joined = listings.join(matches, "listing_id", "left").join(
        F.broadcast(brand_prices), "brand_canonical", "left"
    )
    return (
        joined.withColumn("brand_term_match", F.col("brand_canonical").isNotNull())
        .withColumn("brand_fuzzy_match", F.coalesce("brand_fuzzy", F.lit(False)))
        .withColumn("price_to_reference", F.col("price_usd") / F.col("reference_price"))
        .withColumn("price_to_min_authorized", F.col("price_usd") / F.col("min_authorized_price"))
        .withColumn(
            "below_min_authorized",
            F.coalesce(F.col("price_usd") < F.col("min_authorized_price"), F.lit(False)),
        )
        .withColumn(
            "is_authorized_seller",
            F.coalesce(F.array_contains("_authorised", F.col("seller_id")), F.lit(False)),
        )
        .withColumn("brand_field_missing", F.col("brand").isNull())
        .drop(
            "_authorised", "brand_exact", "brand_fuzzy", "reference_price", "min_authorized_price"
        )
    )


def with_keywords(listings: DataFrame, keywords: Sequence[str]) -> DataFrame:
    """Words sellers of fakes use to tell buyers what they sell ("replica", "1:1", "AAA")."""
    text = F.lower(F.concat_ws(" ", F.col("title"), F.col("description")))
    hits = [text.contains(k.lower()).cast("int") for k in keywords]
    total = hits[0]
    for hit in hits[1:]:
        total = total + hit
    return listings.withColumn("counterfeit_keywords", total.cast("int"))


def with_image_reuse(
    listings: DataFrame, all_listings: DataFrame, confirmed_listings: DataFrame
) -> DataFrame:
    """How many other sellers use the same product photo, and whether another listing with it was
    confirmed fake: counterfeit operations reuse one set of photos across their accounts. A
    listing's own verdict does not count (that would hand the label to the model)."""
    per_image = (
        all_listings.where(F.col("image_phash").isNotNull())
        .groupBy("image_phash")
        .agg(F.countDistinct("seller_id").alias("_image_sellers"))
    )
    confirmed = confirmed_listings.select("listing_id").distinct()
    tainted = (
        all_listings.join(confirmed, "listing_id")
        .where(F.col("image_phash").isNotNull())
        .groupBy("image_phash")
        .agg(F.countDistinct("listing_id").alias("_confirmed_with_image"))
    )
    self_confirmed = confirmed.withColumn("_self_confirmed", F.lit(1))
    return (
        listings.join(per_image, "image_phash", "left")
        .join(tainted, "image_phash", "left")
        .join(self_confirmed, "listing_id", "left")
        .withColumn(
            "image_other_sellers",
            F.greatest(F.coalesce(F.col("_image_sellers"), F.lit(1)) - 1, F.lit(0)).cast("int"),
        )
        .withColumn(
            "image_of_confirmed_fake",
            F.coalesce(F.col("_confirmed_with_image"), F.lit(0))
            - F.coalesce(F.col("_self_confirmed"), F.lit(0))
            > 0,
        )
        .drop("_image_sellers", "_confirmed_with_image", "_self_confirmed")
    )


def without_own_verdict(listings: DataFrame, verdicts: DataFrame) -> DataFrame:
    """The seller's and the ring's record as a listing may see it: without its own verdict.

    The leakage rule: a listing's features never count that listing's own verdict, because that
    verdict is the label the model learns (a confirmed listing would otherwise carry "one
    confirmed takedown" as its own tell, and the model would learn to recognise labels, not
    fakes). At the seller and ring level every verdict known by the night counts, the other
    listings' included: a seller or ring caught before is likely caught again. So per listing:
    `seller_confirmed_takedowns`, `seller_rejected_takedowns` and `ring_confirmed_takedowns` lose
    the listing's own confirmed or rejected notices; `ring_confirmed_sellers` loses its seller
    when this listing holds all of the seller's confirmed takedowns, and `ring_confirmed_share`
    is recomputed from it. (image_of_confirmed_fake applies the same rule in with_image_reuse.)

    `listings`: listing rows carrying those seller and ring columns (0 when unlinked);
    `verdicts`: one row per notice with its verdict known by the night (labels.verdicts_known).
    """
    own = verdicts.groupBy("listing_id").agg(
        F.sum((F.col("verdict") == "confirmed").cast("int")).alias("_own_confirmed"),
        F.sum((F.col("verdict") == "rejected").cast("int")).alias("_own_rejected"),
    )
    own_confirmed = F.coalesce(F.col("_own_confirmed"), F.lit(0))
    own_rejected = F.coalesce(F.col("_own_rejected"), F.lit(0))
    in_ring = F.col("ring_size") > 0
    ring_own_confirmed = F.when(in_ring, own_confirmed).otherwise(F.lit(0))
    # The seller counts among the ring's confirmed sellers only through this listing.
    seller_only_through_it = (
        in_ring & (own_confirmed > 0) & (F.col("seller_confirmed_takedowns") == own_confirmed)
    )
    ring_confirmed_sellers = (
        F.col("ring_confirmed_sellers") - seller_only_through_it.cast("int")
    ).cast("int")
    return (
        listings.join(own, "listing_id", "left")
        .withColumn("ring_confirmed_sellers", ring_confirmed_sellers)
        .withColumn(
            "ring_confirmed_share",
            F.when(
                F.col("ring_size") > 0, F.col("ring_confirmed_sellers") / F.col("ring_size")
            ).otherwise(F.lit(0.0)),
        )
        .withColumn(
            "ring_confirmed_takedowns",
            (F.col("ring_confirmed_takedowns") - ring_own_confirmed).cast("int"),
        )
        .withColumn(
            "seller_confirmed_takedowns",
            (F.col("seller_confirmed_takedowns") - own_confirmed).cast("int"),
        )
        .withColumn(
            "seller_rejected_takedowns",
            (F.col("seller_rejected_takedowns") - own_rejected).cast("int"),
        )
        .drop("_own_confirmed", "_own_rejected")
    )
