"""Connected components match scipy; hubs link no one; evidence thresholds; stable ring ids."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from features.graph import connected_components
from features.linkage import (
    hubs,
    identifier_degrees,
    links,
    pair_evidence,
    ring_lineage,
    rings,
    stable_ring_ids,
)
from jobs.conf import LinkageConf

NIGHT = date(2026, 11, 1)
DEFAULTS = LinkageConf()


def _scipy_partition(edges: list[tuple[str, str]]) -> set[frozenset[str]]:
    names = sorted({v for e in edges for v in e})
    index = {n: i for i, n in enumerate(names)}
    rows, cols = zip(*[(index[a], index[b]) for a, b in edges], strict=True)
    matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = scipy_components(matrix, directed=False)
    return {frozenset(n for n in names if labels[index[n]] == k) for k in set(labels)}


def test_components_equal_scipy_on_hubs_chains_and_isolated_nodes(spark: SparkSession) -> None:
    # A 200-vertex chain whose ids run against the order (the slowest case for min-label
    # propagation; large/small star needs O(log n) rounds), two hub stars, isolated pairs,
    # isolated vertices (self-loops) and a bridge from the chain's middle to one star.
    edges = [(f"c{i:03d}", f"c{i + 1:03d}") for i in range(199)]
    edges += [(f"c{199 - i:03d}", f"c{198 - i:03d}") for i in range(0, 199, 7)]  # duplicates
    edges += [("hub1", f"h{i:02d}") for i in range(40)]
    edges += [("hub2", f"k{i:02d}") for i in range(30)]
    edges += [(f"p{i}", f"q{i}") for i in range(10)]
    edges += [(f"solo{i}", f"solo{i}") for i in range(5)]
    edges += [("c100", "h07")]
    frame = spark.createDataFrame(edges, "src string, dst string")
    ours = {
        r["vertex"]: r["component"]
        for r in connected_components(frame, max_iterations=15, checkpoint_every=2).collect()
    }
    ours_partition = {
        frozenset(v for v, c in ours.items() if c == comp) for comp in set(ours.values())
    }
    assert ours_partition == _scipy_partition(edges)
    assert len(ours_partition) == 1 + 1 + 10 + 5  # chain+hub1, hub2, pairs, solos
    assert ours["c199"] == "c000" and ours["hub1"] == "c000"  # named by the smallest member
    assert ours["solo3"] == "solo3"


def test_components_raise_when_not_converged(spark: SparkSession) -> None:
    chain = spark.createDataFrame(
        [(f"c{i:03d}", f"c{i + 1:03d}") for i in range(64)], "src string, dst string"
    )
    with pytest.raises(RuntimeError, match="did not converge"):
        connected_components(chain, max_iterations=1)


def _identifiers(spark: SparkSession, rows: list[tuple[str, str, str]]) -> DataFrame:
    return spark.createDataFrame(
        rows, "seller_id string, identifier_type string, identifier string"
    )


def _linked(spark: SparkSession, rows: list[tuple[str, str, str]]) -> set[tuple[str, str]]:
    evidence = pair_evidence(
        _identifiers(spark, rows),
        cap=DEFAULTS.hub_degree_cap,
        rare_degree=DEFAULTS.rare_degree,
        type_weights=DEFAULTS.type_weights,
    )
    return {
        (r["src_seller_id"], r["dst_seller_id"])
        for r in links(evidence, DEFAULTS.min_link_score).collect()
    }


def test_shared_ip_alone_does_not_link_but_payment_or_device_and_wifi_do(
    spark: SparkSession,
) -> None:
    rows = [
        ("a", "ip", "1.2.3.4"),
        ("b", "ip", "1.2.3.4"),
        ("c", "payment", "pay1"),
        ("d", "payment", "pay1"),
        ("e", "device", "dev1"),
        ("f", "device", "dev1"),
        ("e", "wifi", "w1"),
        ("f", "wifi", "w1"),
        ("g", "device", "dev2"),
        ("h", "device", "dev2"),
        ("g", "ip", "5.6.7.8"),
        ("h", "ip", "5.6.7.8"),
        ("i", "ip", "9.9.9.9"),  # two IPs are still one kind of evidence
        ("j", "ip", "9.9.9.9"),
        ("i", "ip", "9.9.9.8"),
        ("j", "ip", "9.9.9.8"),
    ]
    assert _linked(spark, rows) == {("c", "d"), ("e", "f")}


def _hub_world(spark: SparkSession) -> DataFrame:
    """Two true rings of 3 linked by payment, and 60 honest sellers on one public Wi-Fi, one NAT
    IP and one marketplace warehouse (together 1.1 of evidence: enough to fuse them if nothing
    cuts hubs), in pairs sharing a device (families)."""
    rows = [(s, "payment", "ringA") for s in ("r1", "r2", "r3")] + [
        (s, "payment", "ringB") for s in ("r4", "r5", "r6")
    ]
    for i in range(60):
        rows += [
            (f"h{i:02d}", t, v)
            for t, v in (
                ("wifi", "mall"),
                ("ip", "nat"),
                ("ship_origin", "FC-1"),
                ("device", f"fam{i // 2}"),
            )
        ]
    rows += [
        (r, t, v)
        for r in ("r1", "r4")
        for t, v in (("wifi", "mall"), ("ip", "nat"), ("ship_origin", "FC-1"))
    ]
    return _identifiers(spark, rows)


@pytest.mark.parametrize("cap, giant", [(40, False), (10_000, True)])
def test_hub_cap_prevents_the_giant_component(spark: SparkSession, cap: int, giant: bool) -> None:
    evidence = pair_evidence(
        _hub_world(spark),
        cap=cap,
        rare_degree=10_000 if giant else 10,
        type_weights=DEFAULTS.type_weights,
    )
    clusters = rings(
        links(evidence, DEFAULTS.min_link_score),
        max_ring_size=10_000,
        max_iterations=30,
        lpa_iterations=3,
    )
    members = {
        frozenset(r["m"])
        for r in clusters.groupBy("component").agg(F.collect_set("seller_id").alias("m")).collect()
    }
    largest = max(len(m) for m in members)
    if giant:
        assert largest == 66  # without the cap, the Wi-Fi and NAT fuse all 60 with both rings
    else:
        assert largest == 3
        assert {frozenset({"r1", "r2", "r3"}), frozenset({"r4", "r5", "r6"})} <= members
        # The families (two honest stores sharing a device) do not link on a device alone.
        assert all(not any(s.startswith("h") for s in m) for m in members)


def test_hubs_are_reported_with_their_degree(spark: SparkSession) -> None:
    found = {
        (r["identifier_type"], r["identifier"]): r["degree"]
        for r in hubs(identifier_degrees(_hub_world(spark)), 40).collect()
    }
    assert found == {("wifi", "mall"): 62, ("ip", "nat"): 62, ("ship_origin", "FC-1"): 62}


def test_oversized_component_is_split_by_label_propagation(spark: SparkSession) -> None:
    # Two 6-account cliques of strong links bridged by one weak link: one component of 12.
    clique_a = [f"a{i}" for i in range(6)]
    clique_b = [f"b{i}" for i in range(6)]
    edges = [
        (x, y, 2.0) for group in (clique_a, clique_b) for x in group for y in group if x < y
    ] + [("a0", "b0", 1.0)]
    frame = spark.createDataFrame(
        edges, "src_seller_id string, dst_seller_id string, weight double"
    )
    whole = rings(frame, max_ring_size=20, max_iterations=20, lpa_iterations=5)
    assert whole.select("component").distinct().count() == 1
    assert whole.where("split").count() == 0
    split = rings(frame, max_ring_size=8, max_iterations=20, lpa_iterations=5)
    groups = {
        frozenset(r["m"])
        for r in split.groupBy("component").agg(F.collect_set("seller_id").alias("m")).collect()
    }
    assert groups == {frozenset(clique_a), frozenset(clique_b)}
    assert split.where("split").count() == 12


def _clusters(spark: SparkSession, rows: list[tuple[str, str]]) -> DataFrame:
    return spark.createDataFrame(rows, "seller_id string, component string")


def test_ring_ids_survive_nights_and_record_merges_and_splits(spark: SparkSession) -> None:
    night1 = _clusters(
        spark, [("a", "x"), ("b", "x"), ("c", "y"), ("d", "y"), ("p", "z"), ("q", "z"), ("r", "z")]
    )
    first = {r["seller_id"]: r["ring_id"] for r in stable_ring_ids(night1, None, NIGHT).collect()}
    assert first["a"] == first["b"] != first["c"] == first["d"] != first["p"]
    previous = spark.createDataFrame(list(first.items()), "seller_id string, ring_id string")

    # Night two: rings x and y merged (b and c are linked now) and e joined them; ring z split
    # into {p, q} and {r, s}; {m, n} is a ring of accounts never seen in a ring.
    night2 = _clusters(
        spark,
        [(s, "xy") for s in "abcde"]
        + [("p", "z1"), ("q", "z1"), ("r", "z2"), ("s", "z2")]
        + [("m", "mn"), ("n", "mn")],
    )
    second_night = date(2026, 11, 2)
    tonight = stable_ring_ids(night2, previous, second_night)
    second = {
        r["seller_id"]: (r["ring_id"], tuple(r["previous_ring_ids"])) for r in tonight.collect()
    }
    # The merged ring keeps one of its two ids (a tie of two members each: the smaller id wins).
    assert second["e"][0] == min(first["a"], first["c"])
    assert set(second["e"][1]) == {first["a"], first["c"]}
    # The split: the first half (smaller component name on a tie) keeps z's id, the other is new.
    assert second["p"][0] == first["p"] and second["r"][0] not in set(first.values())
    assert second["m"][0] not in set(first.values()) and second["m"][0] != second["r"][0]
    # Deterministic: the same night gives the same ids.
    again = {
        r["seller_id"]: r["ring_id"]
        for r in stable_ring_ids(night2, previous, second_night).collect()
    }
    assert again == {s: v[0] for s, v in second.items()}

    lineage = {
        (r["ring_id"], r["previous_ring_id"]): (r["event"], r["merge"], r["split"], r["overlap"])
        for r in ring_lineage(tonight.select("seller_id", "ring_id"), previous).collect()
    }
    merged = second["a"][0]
    assert lineage[(merged, first["a"])] == ("merged", True, False, 2)
    assert lineage[(merged, first["c"])] == ("merged", True, False, 2)
    assert lineage[(second["p"][0], first["p"])] == ("split", False, True, 2)
    assert lineage[(second["r"][0], first["p"])] == ("split", False, True, 1)
    assert lineage[(second["m"][0], None)] == ("new", False, False, 0)
    assert len(lineage) == 5
