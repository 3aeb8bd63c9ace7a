"""The account-linkage graph: which seller accounts are run by the same operator.

Counterfeiters hide behind many accounts registered with borrowed identities; the accounts give
them away by what they share: a device, a Wi-Fi access point, an IP, a payment or bank account, a
return address, a phone, a payee, a ship origin, a product image. Not every shared identifier is
evidence: a mall's public Wi-Fi, a carrier's NAT address or a marketplace warehouse is shared by
hundreds of honest sellers. So:

1. identifiers seen within the conf window are counted by how many sellers use them (degree);
   above `hub_degree_cap` an identifier is a hub and links no one (reported, top hubs by degree);
2. each remaining identifier weighs its type's weight times its rarity (1 up to `rare_degree`
   sellers, then decaying like an IDF to 0 at the cap);
3. a pair of sellers that share identifiers scores the sum over identifier types of the
   evidence of that type: its best identifier, plus each further one at `repeat_decay` times
   the one before (two types are two independent pieces of evidence; more photos of one type
   are corroboration, not independence); the pair links when the score reaches
   `min_link_score`: one strong signal, or several weaker ones, never one IP;
4. rings are the connected components of the links; a component larger than `max_ring_size` is
   split by label propagation rather than reported as one ring.

Pairs come only from identifiers under the cap, so an identifier shared by n sellers costs at most
cap^2 pairs, never n^2.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.graph import connected_components, graphframes_components, label_propagation


def identifiers_in_window(identifiers: DataFrame, night: date, window_days: int) -> DataFrame:
    """silver.seller_identifiers rows in use within `window_days` up to the night (no look-ahead)."""
    start = F.date_sub(F.lit(night), window_days)
    return identifiers.where((F.col("first_seen") <= F.lit(night)) & (F.col("last_seen") >= start))


def identifier_degrees(identifiers: DataFrame) -> DataFrame:
    """(identifier_type, identifier, degree): how many sellers use each identifier. The distinct
    shuffles by (seller, type, identifier) and the count is pre-aggregated map-side, so a hub's
    millions of rows never meet in one task."""
    return (
        identifiers.select("seller_id", "identifier_type", "identifier")
        .distinct()
        .groupBy("identifier_type", "identifier")
        .agg(F.count(F.lit(1)).cast("long").alias("degree"))
    )


def hubs(degrees: DataFrame, cap: int) -> DataFrame:
    """Identifiers shared by more sellers than the cap: they link no one."""
    return degrees.where(F.col("degree") > cap)


def rarity(degree: Column, *, rare_degree: int, cap: int) -> Column:
    """1 up to rare_degree sellers, then log(cap/degree)/log(cap/rare_degree), 0 at the cap."""
    decay = F.log(F.lit(float(cap)) / degree) / F.lit(float(_log(cap / rare_degree)))
    return F.when(degree <= rare_degree, F.lit(1.0)).otherwise(F.greatest(F.lit(0.0), decay))


def _log(x: float) -> float:
    import math

    return math.log(x) if x > 1 else 1.0


def usable_identifiers(identifiers: DataFrame, *, cap: int) -> DataFrame:
    """(seller_id, identifier_type, identifier, degree) for identifiers shared by 2..cap sellers.

    Hub identifiers are skewed keys by nature (a carrier NAT address may serve a million sellers).
    Their degree is a groupBy count, which Spark pre-aggregates map-side; the hubs, few by
    construction (each has more than `cap` sellers), are then broadcast and their seller rows
    removed by an anti-join on the map side. What is left has at most `cap` sellers per key, so
    it can be shuffled by key once, made distinct and counted there, and no task receives a hub's
    rows. (A null identifier links no one.)"""
    hub_keys = hubs(identifier_degrees(identifiers), cap).select("identifier_type", "identifier")
    key = ["identifier_type", "identifier"]
    rows = (
        identifiers.select("seller_id", *key)
        .where(F.col("identifier_type").isNotNull() & F.col("identifier").isNotNull())
        .join(F.broadcast(hub_keys), key, "left_anti")
        .repartition(*key)
        .distinct()
    )
    degree = F.count(F.lit(1)).over(Window.partitionBy(*key)).cast("long")
    return rows.withColumn("degree", degree).where(F.col("degree") >= 2)


def type_evidence(
    identifiers: DataFrame,
    *,
    cap: int,
    rare_degree: int,
    repeat_decay: float,
) -> DataFrame:
    """(src_seller_id, dst_seller_id, identifier_type, evidence, shared) for every pair of sellers
    sharing identifiers of a type under the cap (src < dst): `evidence` is the rarity of the
    shared identifiers of that type before the type's weight, `shared` how many they are.

    Pairs come only from identifiers with degree <= cap, so one identifier yields at most
    cap*(cap-1)/2 pairs, never n^2 for a hub of n sellers. Within a type the best (rarest, hence
    strongest) shared identifier counts fully and each further one `repeat_decay` times the one
    before (see `_repeated`): four photos that only these two accounts use say more than one,
    but they are not four independent witnesses (one operator photographs one batch), so a
    type's evidence stays below 1/(1 - repeat_decay), and a weak type alone never reaches the
    link threshold however often it repeats. repeat_decay = 0 is the old rule: only the best
    identifier of each type counts."""
    usable = usable_identifiers(identifiers, cap=cap).withColumn(
        "evidence", rarity(F.col("degree"), rare_degree=rare_degree, cap=cap)
    )
    left, right = usable.alias("a"), usable.alias("b")
    pairs = left.join(
        right,
        (F.col("a.identifier_type") == F.col("b.identifier_type"))
        & (F.col("a.identifier") == F.col("b.identifier"))
        & (F.col("a.seller_id") < F.col("b.seller_id")),
    ).select(
        F.col("a.seller_id").alias("src_seller_id"),
        F.col("b.seller_id").alias("dst_seller_id"),
        F.col("a.identifier_type").alias("identifier_type"),
        F.col("a.evidence").alias("evidence"),
    )
    return pairs.groupBy("src_seller_id", "dst_seller_id", "identifier_type").agg(
        _repeated(F.collect_list("evidence"), repeat_decay).alias("evidence"),
        F.count(F.lit(1)).cast("int").alias("shared"),
    )


def weighted_evidence(per_type: DataFrame, type_weights: Mapping[str, float]) -> DataFrame:
    """(src_seller_id, dst_seller_id, weight, signal_types, shared_identifiers): each type's
    evidence times its weight (a type without one weighs 0), summed over the types a pair
    shares, as independent pieces of evidence."""
    weights = F.create_map(
        *[x for t, w in sorted(type_weights.items()) for x in (F.lit(t), F.lit(float(w)))]
    )
    weighted = F.coalesce(F.element_at(weights, F.col("identifier_type")), F.lit(0.0))
    return per_type.groupBy("src_seller_id", "dst_seller_id").agg(
        F.sum(weighted * F.col("evidence")).alias("weight"),
        F.sort_array(F.collect_list("identifier_type")).alias("signal_types"),
        F.sum("shared").cast("int").alias("shared_identifiers"),
    )


def pair_evidence(
    identifiers: DataFrame,
    *,
    cap: int,
    rare_degree: int,
    type_weights: Mapping[str, float],
    repeat_decay: float,
) -> DataFrame:
    """(src_seller_id, dst_seller_id, weight, signal_types, shared_identifiers) for every pair of
    sellers sharing at least one identifier under the cap (src < dst): `type_evidence` weighed
    by `type_weights` (`weighted_evidence`)."""
    per_type = type_evidence(
        identifiers,
        cap=cap,
        rare_degree=rare_degree,
        repeat_decay=repeat_decay,
    )
    return weighted_evidence(per_type, type_weights)


def _repeated(evidence: Column, decay: float) -> Column:
    """The evidence of several shared identifiers of one type: sorted strongest first, the k-th
    (from 0) weighs decay^k. The array holds one pair's identifiers of one type: a handful."""
    ranked = F.sort_array(evidence, asc=False)
    discounted = F.transform(ranked, lambda x, k: x * F.pow(F.lit(float(decay)), k))
    return F.aggregate(discounted, F.lit(0.0), lambda total, x: total + x)


def links(evidence: DataFrame, min_link_score: float) -> DataFrame:
    """The pairs with enough evidence to say one operator runs both accounts."""
    return evidence.where(F.col("weight") >= F.lit(min_link_score) - F.lit(1e-9))


def rings(
    edges: DataFrame,
    *,
    max_ring_size: int,
    max_iterations: int,
    lpa_iterations: int,
    checkpoint_every: int = 1,
    local_max_edges: int = 0,
    graphframes: bool = False,
) -> DataFrame:
    """(seller_id, component, split) for every linked seller (components on the driver up to
    `local_max_edges` links, see features.graph.connected_components; by GraphFrames instead
    with `graphframes`, whose jar the caller found in the session); a component larger than
    `max_ring_size` is split by label propagation over its weighted links (split = true), because
    one 500-account "ring" is more likely two operators bridged by a weak link than one operator,
    and an investigator cannot act on it either way."""
    pairs = edges.select(F.col("src_seller_id").alias("src"), F.col("dst_seller_id").alias("dst"))
    components = (
        graphframes_components(pairs, checkpoint_every=checkpoint_every)
        if graphframes
        else connected_components(
            pairs,
            max_iterations=max_iterations,
            checkpoint_every=checkpoint_every,
            local_max_edges=local_max_edges,
        )
    ).withColumn("size", F.count(F.lit(1)).over(Window.partitionBy("component")))
    oversized = components.where(F.col("size") > max_ring_size).select(
        F.col("vertex").alias("seller_id")
    )
    inner = (
        edges.join(
            oversized.withColumnRenamed("seller_id", "src_seller_id"), "src_seller_id", "left_semi"
        )
        .join(
            oversized.withColumnRenamed("seller_id", "dst_seller_id"), "dst_seller_id", "left_semi"
        )
        .select(F.col("src_seller_id").alias("src"), F.col("dst_seller_id").alias("dst"), "weight")
    )
    split = label_propagation(inner, iterations=lpa_iterations).select(
        F.col("vertex").alias("seller_id"),
        F.concat(F.lit("split:"), F.col("label")).alias("split_label"),
    )
    return (
        components.select(F.col("vertex").alias("seller_id"), "component")
        .join(split, "seller_id", "left")
        .select(
            "seller_id",
            F.coalesce("split_label", "component").alias("component"),
            F.col("split_label").isNotNull().alias("split"),
        )
    )


def _previous_overlap(clusters: DataFrame, previous: DataFrame) -> DataFrame:
    return (
        clusters.join(
            previous.select("seller_id", F.col("ring_id").alias("previous_ring_id")), "seller_id"
        )
        .groupBy("component", "previous_ring_id")
        .agg(F.count(F.lit(1)).alias("overlap"))
    )


def stable_ring_ids(clusters: DataFrame, previous: DataFrame | None, night: date) -> DataFrame:
    """(seller_id, ring_id, previous_ring_ids) from (seller_id, component) of the night.

    A ring keeps the id of the previous night's ring it overlaps most (each previous id goes to
    the one ring that overlaps it most, ties by the smaller component; a ring whose best previous
    id went elsewhere is new). A new ring gets a deterministic id from the night and its smallest
    member: a re-run of the night gives the same ids, and no two nights can mint the same id.
    previous_ring_ids lists every previous ring it overlaps: more than one is a merge; one
    previous id under several rings is a split (see ring_lineage)."""
    fresh = clusters.groupBy("component").agg(F.min("seller_id").alias("first_member"))
    new_id = F.concat(
        F.lit("R"),
        F.substring(F.sha2(F.concat_ws(":", F.lit(night.isoformat()), "first_member"), 256), 1, 12),
    )
    if previous is None:
        return clusters.join(fresh, "component").select(
            "seller_id",
            new_id.alias("ring_id"),
            F.array().cast("array<string>").alias("previous_ring_ids"),
        )
    overlap = _previous_overlap(clusters, previous)
    by_previous = Window.partitionBy("previous_ring_id").orderBy(F.desc("overlap"), "component")
    by_component = Window.partitionBy("component").orderBy(F.desc("overlap"), "previous_ring_id")
    claimed = (
        overlap.withColumn("_p", F.row_number().over(by_previous))
        .where("_p = 1")
        .withColumn("_c", F.row_number().over(by_component))
        .where("_c = 1")
        .select("component", F.col("previous_ring_id").alias("kept_id"))
    )
    lineage = overlap.groupBy("component").agg(
        F.sort_array(F.collect_set("previous_ring_id")).alias("previous_ring_ids")
    )
    return (
        clusters.join(fresh, "component")
        .join(claimed, "component", "left")
        .join(lineage, "component", "left")
        .select(
            "seller_id",
            F.coalesce("kept_id", new_id).alias("ring_id"),
            F.coalesce("previous_ring_ids", F.array().cast("array<string>")).alias(
                "previous_ring_ids"
            ),
        )
    )


def ring_lineage(clusters: DataFrame, previous: DataFrame | None) -> DataFrame:
    """(ring_id, previous_ring_id, overlap, kept_id, merge, split, event): where each of tonight's
    rings came from. One row per (ring, previous ring it overlaps), `overlap` members in common;
    merge: the ring draws on more than one previous ring; split: the previous ring now lies in
    more than one ring; kept_id: the ring carries this previous ring's id. event sums it up:
    `merged`, `split`, `continued`, or `new` (no member was in a ring last night; previous_ring_id
    null). `clusters`: (seller_id, ring_id) of the night."""
    rings_tonight = clusters.select("ring_id").distinct()
    new = rings_tonight.select(
        "ring_id",
        F.lit(None).cast("string").alias("previous_ring_id"),
        F.lit(0).cast("long").alias("overlap"),
        F.lit(False).alias("kept_id"),
        F.lit(False).alias("merge"),
        F.lit(False).alias("split"),
        F.lit("new").alias("event"),
    )
    if previous is None:
        return new
    overlap = (
        clusters.join(
            previous.select("seller_id", F.col("ring_id").alias("previous_ring_id")), "seller_id"
        )
        .groupBy("ring_id", "previous_ring_id")
        .agg(F.count(F.lit(1)).cast("long").alias("overlap"))
    )
    sources = F.count(F.lit(1)).over(Window.partitionBy("ring_id"))
    heirs = F.count(F.lit(1)).over(Window.partitionBy("previous_ring_id"))
    linked = (
        overlap.withColumn("kept_id", F.col("ring_id") == F.col("previous_ring_id"))
        .withColumn("merge", sources > 1)
        .withColumn("split", heirs > 1)
        .withColumn(
            "event",
            F.when(F.col("merge"), F.lit("merged"))
            .when(F.col("split"), F.lit("split"))
            .otherwise(F.lit("continued")),
        )
    )
    new = new.join(overlap.select("ring_id"), "ring_id", "left_anti")
    return linked.unionByName(new)


def ring_first_nights(clusters: DataFrame, previous: DataFrame | None, night: date) -> DataFrame:
    """(ring_id, ring_first_night): the night each of tonight's rings was first seen.

    The first night is state carried from night to night, so a ring's age costs one join with
    last night's clusters, not a scan of every past night. A ring inherits the earliest first
    night of the previous rings its members came from (a merge is as old as its oldest part; a
    split keeps its parent's age: the operator has been known that long); a ring none of whose
    members was in a ring last night is first seen tonight. `clusters`: (seller_id, ring_id) of
    the night; `previous`: (seller_id, ring_first_night) of the previous night, or None."""
    rings_tonight = clusters.select("ring_id").distinct()
    if previous is None:
        return rings_tonight.withColumn("ring_first_night", F.lit(night))
    inherited = (
        clusters.join(previous.select("seller_id", "ring_first_night"), "seller_id")
        .groupBy("ring_id")
        .agg(F.min("ring_first_night").alias("_inherited"))
    )
    return rings_tonight.join(inherited, "ring_id", "left").select(
        "ring_id", F.coalesce("_inherited", F.lit(night)).alias("ring_first_night")
    )


def ring_features(
    clusters: DataFrame,
    edges: DataFrame,
    *,
    takedowns: DataFrame,
    active_listings: DataFrame,
    first_nights: DataFrame,
    night: date,
) -> DataFrame:
    """Per ring: its size, the signal types that link it, its active listings, its age and its
    record: confirmed takedowns over all its members, members with at least one, and their share.

    The record is what makes a ring evidence: a new account linked tonight to a ring with
    confirmed takedowns inherits them on its first night, before any brand has reported it.
    `takedowns`: (seller_id, confirmed_takedowns) from verdicts known by the night only
    (features.sellers.takedown_history), so the record never looks ahead. A member's own
    takedowns count here (seller and ring level); features.listings.without_own_verdict takes a
    listing's own verdict back out before the listing sees the record.
    `first_nights`: (ring_id, ring_first_night) from ring_first_nights."""
    members = clusters.select("seller_id", "ring_id")
    src_ring = members.withColumnRenamed("seller_id", "src_seller_id")
    signals = (
        edges.join(src_ring, "src_seller_id")
        .select("ring_id", F.explode("signal_types").alias("signal"))
        .groupBy("ring_id")
        .agg(F.sort_array(F.collect_set("signal")).alias("ring_signal_types"))
    )
    confirmed = F.coalesce(F.col("confirmed_takedowns"), F.lit(0))
    listings = active_listings.groupBy("seller_id").agg(F.count(F.lit(1)).alias("listings"))
    return (
        members.join(takedowns.select("seller_id", "confirmed_takedowns"), "seller_id", "left")
        .join(listings, "seller_id", "left")
        .groupBy("ring_id")
        .agg(
            F.count(F.lit(1)).cast("int").alias("ring_size"),
            F.avg((confirmed > 0).cast("double")).alias("ring_confirmed_share"),
            F.sum(confirmed).cast("int").alias("ring_confirmed_takedowns"),
            F.sum((confirmed > 0).cast("int")).cast("int").alias("ring_confirmed_sellers"),
            F.sum(F.coalesce("listings", F.lit(0))).cast("long").alias("ring_listings"),
        )
        .join(signals, "ring_id", "left")
        .join(first_nights, "ring_id", "left")
        .withColumn(
            "ring_age_days", F.datediff(F.lit(night), F.col("ring_first_night")).cast("int")
        )
    )


def member_links(clusters: DataFrame, edges: DataFrame) -> DataFrame:
    """(seller_id, link_strength, link_evidence) for every ring member: the weight of its
    strongest link to another member of its ring, and the summed weight of all its links inside
    the ring. How firmly the account belongs to the ring whose record it inherits: one shared
    payee (1.0) is just enough to link, a payee and a phone shared with one member is more, links
    to five members more still. Links that cross rings (a component split by label propagation)
    are not membership evidence and are left out; a member without a link inside gets 0."""
    members = clusters.select("seller_id", "ring_id")
    both_ways = edges.select(
        F.col("src_seller_id").alias("seller_id"), F.col("dst_seller_id").alias("other"), "weight"
    ).unionByName(
        edges.select(
            F.col("dst_seller_id").alias("seller_id"),
            F.col("src_seller_id").alias("other"),
            "weight",
        )
    )
    inside = (
        both_ways.join(members, "seller_id")
        .join(
            members.select(
                F.col("seller_id").alias("other"), F.col("ring_id").alias("_other_ring")
            ),
            "other",
        )
        .where(F.col("ring_id") == F.col("_other_ring"))
        .groupBy("seller_id")
        .agg(F.max("weight").alias("link_strength"), F.sum("weight").alias("link_evidence"))
    )
    return members.join(inside, "seller_id", "left").select(
        "seller_id",
        F.coalesce("link_strength", F.lit(0.0)).alias("link_strength"),
        F.coalesce("link_evidence", F.lit(0.0)).alias("link_evidence"),
    )
