"""From scores to what people read: reason codes, seller risk, ring leads with their evidence.

Gold tables hold pseudonymised identifiers only: digests as received, and IP addresses reduced to
their network prefix (/24 for IPv4, /48 for IPv6).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def ip_prefix(ip: Column) -> Column:
    """An IPv4 address as its /24 network, an IPv6 address as its /48; anything else unchanged."""
    v4 = F.regexp_extract(ip, r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$", 1)
    v6 = F.regexp_extract(ip, r"^([0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4})", 1)
    return (
        F.when(v4 != "", F.concat(v4, F.lit(".0/24")))
        .when(ip.contains(":") & (v6 != ""), F.concat(F.lower(v6), F.lit("::/48")))
        .otherwise(ip)
    )


def reason_codes(scored: DataFrame, importances: Mapping[str, float], *, top: int) -> DataFrame:
    """`reasons`: the `top` features that pushed each listing's score most, as "feature=value".

    A feature's push is its global importance in the model times how far the listing's value sits
    from the population mean, in standard deviations (a z-score), counted only upwards: for a
    logistic regression on standardised inputs this is |coefficient| x z, the term's share of the
    logit; for boosted trees it is an approximation that needs no per-row tree walk. Means and
    deviations come from one aggregation over the scored listings."""
    names = [n for n, w in sorted(importances.items()) if w > 0 and n in scored.columns]
    if not names:
        return scored.withColumn("reasons", F.array().cast("array<string>"))
    values = {n: F.col(n).cast("double") for n in names}
    stats_row = scored.agg(
        *[F.avg(v).alias(f"m_{n}") for n, v in values.items()],
        *[F.stddev(v).alias(f"s_{n}") for n, v in values.items()],
    ).first()
    assert stats_row is not None
    pushes = []
    for n, v in values.items():
        mean, std = stats_row[f"m_{n}"], stats_row[f"s_{n}"]
        if mean is None or not std:
            continue
        z = (v - F.lit(mean)) / F.lit(std)
        # Sign by direction is unknown for trees; the deviation from normal is what an analyst reads.
        push = F.lit(importances[n]) * F.abs(z)
        pushes.append(
            F.struct(
                F.coalesce(push, F.lit(0.0)).alias("push"),
                F.concat(F.lit(n + "="), F.format_number(v, 2)).alias("reason"),
            )
        )
    ranked = F.slice(F.sort_array(F.array(*pushes), asc=False), 1, top)
    return scored.withColumn("reasons", F.transform(ranked, lambda p: p["reason"]))


def flag(scored: DataFrame, *, threshold: float, budget: int) -> DataFrame:
    """flagged = score >= threshold and within the day's review budget (the top `budget` scores).

    The budget cut-off is the budget-th best score, found with a top-k, not a global sort."""
    kth = scored.select("score").orderBy(F.desc("score")).limit(budget).agg(F.min("score")).first()
    cutoff = max(threshold, float(kth[0])) if kth and kth[0] is not None else threshold
    return scored.withColumn("flagged", F.col("score") >= F.lit(cutoff))


def seller_risk(listing_scores: DataFrame) -> DataFrame:
    """A seller is as risky as its riskiest listing; with listing and flagged counts."""
    return listing_scores.groupBy("seller_id", "score_date").agg(
        F.max("score").alias("risk"),
        F.first("ring_id", ignorenulls=True).alias("ring_id"),
        F.count(F.lit(1)).cast("int").alias("listings"),
        F.sum(F.col("flagged").cast("int")).cast("int").alias("flagged_listings"),
    )


def ring_leads(
    listing_scores: DataFrame,
    sellers: DataFrame,
    ring_identifiers: DataFrame,
) -> DataFrame:
    """One lead per ring: risk, members, listings, brands hit, and the evidence that links it.

    `ring_identifiers`: (ring_id, identifier_type, identifier, seller_id, first_seen, last_seen)
    for identifiers the ring's members use. Evidence lists those used by two or more members."""
    in_rings = sellers.where(F.col("ring_id").isNotNull())
    evidence = (
        ring_identifiers.groupBy("ring_id", "identifier_type", "identifier")
        .agg(
            F.countDistinct("seller_id").alias("members"),
            F.min("first_seen").alias("first_seen"),
            F.max("last_seen").alias("last_seen"),
        )
        .withColumn(
            "identifier",
            F.when(F.col("identifier_type") == "ip", ip_prefix(F.col("identifier"))).otherwise(
                F.col("identifier")
            ),
        )
    )
    shared = evidence.where(F.col("members") >= 2)
    evidence_per_ring = shared.groupBy("ring_id").agg(
        F.sort_array(
            F.collect_list(
                F.struct(F.col("members").alias("members"), "identifier_type", "identifier")
            ),
            asc=False,
        ).alias("shared_identifiers"),
        F.min("first_seen").alias("first_seen"),
        F.max("last_seen").alias("last_seen"),
    )
    logistics = evidence.groupBy("ring_id").agg(
        F.sort_array(
            F.collect_set(F.when(F.col("identifier_type") == "ship_origin", F.col("identifier")))
        ).alias("ship_origins"),
        F.sort_array(
            F.collect_set(F.when(F.col("identifier_type") == "payee", F.col("identifier")))
        ).alias("payee_accounts"),
    )
    listings = (
        listing_scores.where(F.col("ring_id").isNotNull())
        .groupBy("ring_id")
        .agg(
            F.count(F.lit(1)).cast("int").alias("listings"),
            F.sum(F.col("flagged").cast("int")).cast("int").alias("flagged_listings"),
            F.sort_array(F.collect_set(F.when(F.col("flagged"), F.col("brand")))).alias(
                "brands_hit"
            ),
        )
    )
    members = in_rings.groupBy("ring_id", "score_date").agg(
        F.avg("risk").alias("risk"),
        F.max("risk").alias("max_member_risk"),
        F.sort_array(F.collect_list("seller_id")).alias("member_sellers"),
        F.count(F.lit(1)).cast("int").alias("ring_size"),
    )
    return (
        members.join(listings, "ring_id", "left")
        .join(evidence_per_ring, "ring_id", "left")
        .join(logistics, "ring_id", "left")
    )
