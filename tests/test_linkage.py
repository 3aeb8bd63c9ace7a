"""Connected components match scipy; hubs link no one; evidence thresholds; stable ring ids."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from pyspark.sql import SparkSession
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from features.graph import connected_components
from features.linkage import links, pair_evidence, rings, stable_ring_ids

NIGHT = date(2026, 11, 1)
WEIGHTS = {"payment": 1.0, "device": 0.6, "wifi": 0.5, "ip": 0.3, "ship_origin": 0.3}


def test_components_equal_scipy_on_hubs_chains_and_isolated_pairs(spark: SparkSession) -> None:
    edges = [(f"c{i:03d}", f"c{i + 1:03d}") for i in range(120)]  # a long chain
    edges += [("hub", f"h{i:02d}") for i in range(40)]  # a star around a hub
    edges += [(f"p{i}", f"q{i}") for i in range(10)]  # isolated pairs
    edges += [("c050", "h07")]  # a bridge: chain and star are one component
    frame = spark.createDataFrame(edges, "src string, dst string")
    ours = {r["vertex"]: r["component"] for r in connected_components(frame).collect()}

    names = sorted({v for e in edges for v in e})
    index = {n: i for i, n in enumerate(names)}
    rows, cols = zip(*[(index[a], index[b]) for a, b in edges], strict=True)
    matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = scipy_components(matrix, directed=False)
    # Same partition: two vertices share a component in one exactly when they do in the other.
    ours_partition = {frozenset(v for v in names if ours[v] == c) for c in set(ours.values())}
    scipy_partition = {frozenset(n for n in names if labels[index[n]] == k) for k in set(labels)}
    assert ours_partition == scipy_partition
    assert len(ours_partition) == 11
    assert ours["c119"] == "c000"  # the component is named by its smallest member


def _identifiers(spark: SparkSession, rows: list[tuple[str, str, str]]):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(
        rows, "seller_id string, identifier_type string, identifier string"
    )


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
    ]
    evidence = pair_evidence(
        _identifiers(spark, rows), cap=50, rare_degree=10, type_weights=WEIGHTS
    )
    linked = {(r["src_seller_id"], r["dst_seller_id"]) for r in links(evidence, 1.0).collect()}
    assert linked == {("c", "d"), ("e", "f")}


def _hub_world(spark: SparkSession):  # type: ignore[no-untyped-def]
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


@pytest.mark.parametrize("cap, giant", [(50, False), (10_000, True)])
def test_hub_cap_prevents_the_giant_component(spark: SparkSession, cap: int, giant: bool) -> None:
    evidence = pair_evidence(
        _hub_world(spark), cap=cap, rare_degree=10_000 if giant else 10, type_weights=WEIGHTS
    )
    clusters = rings(
        links(evidence, 1.0), max_ring_size=10_000, max_iterations=30, lpa_iterations=3
    )
    sizes = sorted(
        (r["count"] for r in clusters.groupBy("component").count().collect()), reverse=True
    )
    if giant:
        assert sizes[0] >= 60  # without the cap, the mall's Wi-Fi and a device fuse everyone
    else:
        assert sizes[0] == 3
        members = {
            frozenset(r["m"])
            for r in clusters.groupBy("component")
            .agg({"seller_id": "collect_set"})
            .withColumnRenamed("collect_set(seller_id)", "m")
            .collect()
        }
        assert frozenset({"r1", "r2", "r3"}) in members and frozenset({"r4", "r5", "r6"}) in members


def test_ring_ids_survive_a_night_and_record_merges(spark: SparkSession) -> None:
    night1 = spark.createDataFrame(
        [("a", "x"), ("b", "x"), ("c", "y"), ("d", "y")], "seller_id string, component string"
    )
    first = {r["seller_id"]: r["ring_id"] for r in stable_ring_ids(night1, None).collect()}
    assert first["a"] == first["b"] != first["c"] == first["d"]
    previous = spark.createDataFrame(list(first.items()), "seller_id string, ring_id string")
    # Night two: the two rings merged (b and c are linked now), and e joined.
    night2 = spark.createDataFrame(
        [(s, "z") for s in ("a", "b", "c", "d", "e")], "seller_id string, component string"
    )
    second = {
        r["seller_id"]: (r["ring_id"], tuple(r["previous_ring_ids"]))
        for r in stable_ring_ids(night2, previous).collect()
    }
    ring_ids = {v[0] for v in second.values()}
    assert len(ring_ids) == 1 and ring_ids <= {first["a"], first["c"]}
    assert set(second["e"][1]) == {first["a"], first["c"]}  # the merge is on record
