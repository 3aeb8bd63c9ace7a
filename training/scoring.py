"""From scores to what people read: reason codes, flags, seller risk, ring leads with evidence.

Pure DataFrame functions; jobs/score.py does the reading and writing. Gold tables hold
pseudonymised identifiers only: digests as received, and IP addresses reduced to their network
prefix (/24 for IPv4, /48 for IPv6, features/networks.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.networks import ip_prefix
from training import models
from training.metrics import listing_order

EVIDENCE_TYPE = (
    "array<struct<members:int,identifier_type:string,identifier:string,"
    "first_seen:date,last_seen:date>>"
)


def gold_identifier(identifier_type: Column, identifier: Column) -> Column:
    """What an identifier may look like in gold: IPs as their network (features.networks, a real
    parser; null for a value that is no IP address), digests unchanged."""
    return F.when(identifier_type == "ip", ip_prefix(identifier)).otherwise(identifier)


@dataclass(frozen=True)
class ReasonWeights:
    """Per-feature weights of the reason codes, and whether their sign is meaningful."""

    weights: Mapping[str, float]
    signed: bool
    # Unsigned weights only: the direction in which a feature can raise the score, where domain
    # knowledge fixes it (the model's monotone constraints: +1 higher is more suspicious, -1
    # lower is). Such a feature is a reason only when it sits on its suspicious side.
    directions: Mapping[str, int] = field(default_factory=dict)


def reason_weights(
    model: PipelineModel, columns: Sequence[str], *, directions: Mapping[str, int] | None = None
) -> ReasonWeights:
    """Logistic regression: the signed coefficients (on standardised inputs); trees: the global
    feature importances, which have no direction of their own, with the `directions` of the
    features the trees were constrained on."""
    last = models.classifier(model)
    coefficients = getattr(last, "coefficients", None)
    if coefficients is not None:
        values = coefficients.toArray()
        return ReasonWeights(
            {c: float(v) for c, v in zip(columns, values, strict=True)}, signed=True
        )
    known = {c: d for c, d in (directions or {}).items() if d in (-1, 1)}
    return ReasonWeights(models.importances(model, columns), signed=False, directions=known)


def live_listings(features: DataFrame) -> DataFrame:
    """The night's feature rows of listings still on sale (`status` active): the ones scored.

    The night's features also hold removed and sold-out listings that carry a notice (training
    joins their features as of the notice). A review of a listing that is gone finds nothing to
    take down, so they are not scored at all: gold.listing_scores is the live catalog of the
    night, and the review budget goes to listings buyers can still order."""
    return features.where(F.col("status") == F.lit("active"))


def reason_codes(scored: DataFrame, weights: ReasonWeights, *, top: int) -> DataFrame:
    """`reasons`: the `top` features that pushed each listing's score most, as "feature=value".

    A feature's push is weight x z, where z is how far the listing's value sits from the night's
    mean in standard deviations. For logistic regression on standardised inputs, coefficient x z
    is exactly that feature's term in the listing's logit relative to an average listing, so only
    positive pushes (towards "counterfeit") are reasons. For boosted trees there is no exact
    per-row contribution without walking every tree (TreeSHAP, a Python UDF per row); global
    importance x |z| is a cheap approximation: an important feature at an unusual value. Means and
    deviations come from one aggregation over the scored listings; features at their mean (or
    null, which the model imputes) push nothing; ties are broken by name, so reasons are stable."""
    names = [n for n, w in sorted(weights.weights.items()) if w != 0 and n in scored.columns]
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
            continue  # a constant feature explains nothing
        z = (v - F.lit(mean)) / F.lit(std)
        direction = weights.directions.get(n)
        signed = z if weights.signed else z * F.lit(direction) if direction else F.abs(z)
        push = F.lit(weights.weights[n]) * signed
        pushes.append(
            F.struct(
                F.round(F.coalesce(push, F.lit(0.0)), 9).alias("push"),
                F.concat(F.lit(n + "="), F.format_number(v, 2)).alias("reason"),
            )
        )
    if not pushes:
        return scored.withColumn("reasons", F.array().cast("array<string>"))
    ranked = F.filter(F.sort_array(F.array(*pushes), asc=False), lambda p: p["push"] > 0)
    return scored.withColumn("reasons", F.transform(F.slice(ranked, 1, top), lambda p: p["reason"]))


def flag(scored: DataFrame, *, threshold: float, budget: int) -> DataFrame:
    """flagged = score >= threshold and among the night's `budget` best scores: what reviewers
    can handle, never more. Equal scores (a tree model gives many listings the same one) are
    ordered by a hash of the listing id, as the evaluation orders them, so exactly `budget` are
    flagged and a re-run flags the same ones. The cut-off is found with a top-k, not a sort."""
    order = listing_order()
    # The budget-th listing: the lowest score of the top k, and among equals the highest hash.
    kth = (
        scored.select(F.col("score"), order.alias("_order"))
        .orderBy(F.desc("score"), F.asc("_order"))
        .limit(budget)
        .agg(F.max(F.struct((-F.col("score")).alias("low"), F.col("_order"))).alias("kth"))
        .first()
    )
    within_budget = F.lit(True)
    if kth and kth["kth"] is not None:
        low, last = -kth["kth"]["low"], kth["kth"]["_order"]
        within_budget = (F.col("score") > F.lit(low)) | (
            (F.col("score") == F.lit(low)) & (order <= F.lit(last))
        )
    flagged = (F.col("score") >= F.lit(threshold)) & within_budget
    return scored.withColumn("flagged", F.coalesce(flagged, F.lit(False)))


def seller_risk(listing_scores: DataFrame) -> DataFrame:
    """A seller is as risky as its riskiest listing; with listing and flagged counts."""
    return listing_scores.groupBy("seller_id", "score_date").agg(
        F.max("score").alias("risk"),
        F.max("ring_id").alias("ring_id"),  # one ring per seller; max is deterministic
        F.count(F.lit(1)).cast("int").alias("listings"),
        F.sum(F.col("flagged").cast("int")).cast("int").alias("flagged_listings"),
    )


def ring_evidence(ring_identifiers: DataFrame) -> DataFrame:
    """(ring_id, identifier_type, identifier, members, first_seen, last_seen) for identifiers that
    two or more members of a ring share: the links an investigator can check.

    Sharing is counted on the exact identifier; then IPs become their network, and where several
    shared addresses fall in one network `members` is the most members sharing one of them."""
    exact = ring_identifiers.groupBy("ring_id", "identifier_type", "identifier").agg(
        F.countDistinct("seller_id").cast("int").alias("members"),
        F.min("first_seen").alias("first_seen"),
        F.max("last_seen").alias("last_seen"),
    )
    return (
        exact.where(F.col("members") >= 2)
        .withColumn("identifier", gold_identifier(F.col("identifier_type"), F.col("identifier")))
        .groupBy("ring_id", "identifier_type", "identifier")
        .agg(
            F.max("members").alias("members"),
            F.min("first_seen").alias("first_seen"),
            F.max("last_seen").alias("last_seen"),
        )
    )


def ring_leads(
    listing_scores: DataFrame,
    sellers: DataFrame,
    clusters: DataFrame,
    ring_identifiers: DataFrame,
    *,
    night: date,
) -> DataFrame:
    """One lead per ring of the night: risk, members, listings, brands hit, evidence.

    - `listing_scores`: gold.listing_scores of the night; `sellers`: gold.seller_risk of the
      night; `clusters`: (seller_id, ring_id) of graph.account_clusters of the night, so members
      without an active listing are listed too; `ring_identifiers`: (ring_id, identifier_type,
      identifier, seller_id, first_seen, last_seen) of the identifiers the members used.
    - risk = the mean risk of the ring's scored members (a ring of one bad apple among honest
      looking accounts ranks below a ring that is bad throughout); `lead_rank` orders the leads
      of a night by risk (1 = investigate first), ties by ring_id. A ring none of whose members
      has a live listing tonight keeps its lead, with no risk and ranked last: it is dormant
      (training/lifecycle.py), and an account it opens tomorrow is news.
    - shared_identifiers: see `ring_evidence`, most-shared first; ship_origins and
      payee_accounts: every origin and payee digest the members' orders used; first_seen and
      last_seen span the shared evidence.
    """
    members = (
        clusters.where(F.col("ring_id").isNotNull())
        .select("seller_id", "ring_id")
        .join(sellers.select("seller_id", "risk"), "seller_id", "left")
        .groupBy("ring_id")
        .agg(
            F.avg("risk").alias("risk"),
            F.max("risk").alias("max_member_risk"),
            F.sort_array(F.collect_list("seller_id")).alias("member_sellers"),
            F.count(F.lit(1)).cast("int").alias("ring_size"),
            F.count("risk").cast("int").alias("scored_members"),
        )
    )
    evidence = ring_evidence(ring_identifiers)
    evidence_per_ring = evidence.groupBy("ring_id").agg(
        F.sort_array(
            F.collect_list(
                F.struct("members", "identifier_type", "identifier", "first_seen", "last_seen")
            ),
            asc=False,
        ).alias("shared_identifiers"),
        F.min("first_seen").alias("first_seen"),
        F.max("last_seen").alias("last_seen"),
    )
    logistics = ring_identifiers.groupBy("ring_id").agg(
        F.sort_array(
            F.collect_set(F.when(F.col("identifier_type") == "ship_origin", F.col("identifier")))
        ).alias("ship_origins"),
        F.sort_array(
            F.collect_set(F.when(F.col("identifier_type") == "payee", F.col("identifier")))
        ).alias("payee_accounts"),
    )
    in_ring = listing_scores.select("seller_id", "flagged", "brand").join(
        clusters.where(F.col("ring_id").isNotNull()).select("seller_id", "ring_id"), "seller_id"
    )
    listings = in_ring.groupBy("ring_id").agg(
        F.count(F.lit(1)).cast("int").alias("listings"),
        F.sum(F.col("flagged").cast("int")).cast("int").alias("flagged_listings"),
        F.sort_array(F.collect_set(F.when(F.col("flagged"), F.col("brand")))).alias("brands_hit"),
    )
    empty = F.array().cast("array<string>")
    leads = (
        members.join(listings, "ring_id", "left")
        .join(evidence_per_ring, "ring_id", "left")
        .join(logistics, "ring_id", "left")
        .select(
            "ring_id",
            F.lit(night).alias("score_date"),
            "risk",
            "max_member_risk",
            "ring_size",
            "scored_members",
            "member_sellers",
            F.coalesce("listings", F.lit(0)).alias("listings"),
            F.coalesce("flagged_listings", F.lit(0)).alias("flagged_listings"),
            F.coalesce("brands_hit", empty).alias("brands_hit"),
            F.coalesce("shared_identifiers", F.array().cast(EVIDENCE_TYPE)).alias(
                "shared_identifiers"
            ),
            F.coalesce("ship_origins", empty).alias("ship_origins"),
            F.coalesce("payee_accounts", empty).alias("payee_accounts"),
            "first_seen",
            "last_seen",
        )
    )
    return ranked(leads, F.desc("risk"), F.asc("ring_id"), name="lead_rank")


ROW_BITS = 33  # monotonically_increasing_id: partition index above bit 33, row number below


def ranked(frame: DataFrame, *order: Column, name: str) -> DataFrame:
    """`frame` with `name` = 1, 2, ... in `order` (which must be a total order: ties get distinct
    ranks in no fixed order), without a window over the whole frame, which would put every row in
    one task. A range-partitioned sort spreads the rows; within each sorted partition
    monotonically_increasing_id counts the rows; each partition's rows are counted (one row per
    partition reaches the driver) and the counts before a partition are its offset. The sorted
    frame is local-checkpointed (computed once) so the counts and the ranks see the same
    partitions: the range bounds come from a sample drawn anew by each job."""
    ordered = frame.orderBy(*order).withColumn("_row_id", F.monotonically_increasing_id())
    ordered = ordered.localCheckpoint()
    partition = F.shiftright("_row_id", ROW_BITS)
    counts = (
        ordered.groupBy(partition.alias("_partition")).count().orderBy("_partition").collect()
    )  # bounded: one row per partition
    offsets: list[Column] = []
    before = 0
    for row in counts:
        offsets += [F.lit(row["_partition"]).cast("long"), F.lit(before).cast("long")]
        before += int(row["count"])
    if not offsets:
        return ordered.drop("_row_id").withColumn(name, F.lit(None).cast("int"))
    row_in_partition = F.col("_row_id") - F.shiftleft(partition, ROW_BITS)
    rank = F.element_at(F.create_map(*offsets), partition) + row_in_partition + F.lit(1)
    return ordered.withColumn(name, rank.cast("int")).drop("_row_id")
