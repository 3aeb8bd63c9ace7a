"""Connected components match scipy; hubs link no one; evidence thresholds; stable ring ids."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from features.account_links import (
    hubs,
    identifier_degrees,
    links,
    member_links,
    pair_evidence,
    ring_features,
    ring_first_nights,
    ring_lineage,
    rings,
    stable_ring_ids,
)
from features.graph import connected_components
from features.sellers import takedown_history
from features.verdicts import verdicts_known
from jobs.linkage import GraphFramesUnavailable, choose_engine
from jobs.runtime.conf import ConfError, load_conf

NIGHT = date(2026, 11, 1)
DEFAULTS = load_conf(None).linkage  # the defaults of conf/base.yaml (local.yaml sets only spark)


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


def _known_graph() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Edges with their known components: a 120-vertex path whose ids run against the order (the
    many-rounds case), a chain, two stars, isolated pairs, self-loops, repeated and reversed
    edges; each vertex mapped to its component's smallest id."""
    known: dict[str, str] = {}
    edges = [(f"v{119 - i:03d}", f"v{118 - i:03d}") for i in range(119)]
    known |= {f"v{i:03d}": "v000" for i in range(120)}
    edges += [(f"c{i}", f"c{i + 1}") for i in range(5)] + [("c3", "c2"), ("c1", "c2")]
    known |= {f"c{i}": "c0" for i in range(6)}
    edges += [("star", f"s{i:02d}") for i in range(12)]
    known |= {"star": "s00"} | {f"s{i:02d}": "s00" for i in range(12)}
    edges += [(f"z{i:02d}", "Zcentre") for i in range(8)]  # upper case sorts first
    known |= {"Zcentre": "Zcentre"} | {f"z{i:02d}": "Zcentre" for i in range(8)}
    edges += [(f"q{i}", f"p{i}") for i in range(4)]
    known |= {f"p{i}": f"p{i}" for i in range(4)} | {f"q{i}": f"p{i}" for i in range(4)}
    edges += [("solo1", "solo1"), ("solo2", "solo2")]
    known |= {"solo1": "solo1", "solo2": "solo2"}
    return edges, known


def test_components_on_the_driver_equal_the_distributed_rounds(spark: SparkSession) -> None:
    edges, known = _known_graph()
    frame = spark.createDataFrame(edges, "src string, dst string")
    expected = spark.createDataFrame(sorted(known.items()), "vertex string, component string")
    local = connected_components(frame, max_iterations=15, local_max_edges=len(edges))
    distributed = connected_components(frame, max_iterations=15, local_max_edges=0)
    assertDataFrameEqual(local, expected)
    assertDataFrameEqual(distributed, expected)


def test_components_of_a_graph_above_the_local_bound_run_distributed(spark: SparkSession) -> None:
    # 64 distinct edges: within a bound of 64 one driver pass labels them; above a bound of 63 the
    # rounds run, and one round does not settle a 65-vertex chain.
    chain = spark.createDataFrame(
        [(f"c{i:03d}", f"c{i + 1:03d}") for i in range(64)], "src string, dst string"
    )
    local = connected_components(chain, max_iterations=1, local_max_edges=64)
    assert {r["component"] for r in local.collect()} == {"c000"}
    with pytest.raises(RuntimeError, match="did not converge"):
        connected_components(chain, max_iterations=1, local_max_edges=63)


def test_components_of_no_edges_is_an_empty_frame(spark: SparkSession) -> None:
    empty = spark.createDataFrame([], "src string, dst string")
    assertDataFrameEqual(
        connected_components(empty, local_max_edges=10),
        spark.createDataFrame([], "vertex string, component string"),
    )


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
        repeat_decay=DEFAULTS.repeat_decay,
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
        repeat_decay=DEFAULTS.repeat_decay,
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


RECORD_NIGHT = date(2026, 11, 10)
EDGES = "src_seller_id string, dst_seller_id string, weight double, signal_types array<string>"


def _ring_notices(spark: SparkSession) -> DataFrame:
    """Account a of ring R1 has two confirmed takedowns known by the night and a third decided
    after it; b has one rejected notice; the new account d has none."""
    return spark.createDataFrame(
        [
            ("n1", "L1", "a", datetime(2026, 11, 1), "confirmed", datetime(2026, 11, 3)),
            ("n2", "L2", "a", datetime(2026, 11, 2), "confirmed", datetime(2026, 11, 9)),
            ("n3", "L3", "a", datetime(2026, 11, 10, 9), "confirmed", datetime(2026, 11, 11)),
            ("n4", "L4", "b", datetime(2026, 11, 4), "rejected", datetime(2026, 11, 6)),
            ("n5", "L5", "e", datetime(2026, 11, 11), "confirmed", datetime(2026, 11, 11)),
        ],
        "notice_id string, listing_id string, seller_id string, received_at timestamp, "
        "verdict string, verdict_at timestamp",
    ).withColumn("_ingest_date", F.to_date("verdict_at"))


def _ring_world(spark: SparkSession) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Tonight's clusters, links and last night's clusters: ring R1 (a, b, c, known since
    2026-10-25) gained d, opened today and tied to a by a shared payee; R2 (e, f) is new."""
    clusters = spark.createDataFrame(
        [("a", "R1"), ("b", "R1"), ("c", "R1"), ("d", "R1"), ("e", "R2"), ("f", "R2")],
        "seller_id string, ring_id string",
    )
    edges = spark.createDataFrame(
        [
            ("a", "b", 1.1, ["device", "wifi"]),
            ("b", "c", 1.0, ["payment"]),
            ("a", "d", 1.0, ["payee"]),
            ("e", "f", 1.3, ["image", "ip", "ship_origin"]),
        ],
        EDGES,
    )
    previous = spark.createDataFrame(
        [(s, "R1", date(2026, 10, 25)) for s in "abc"],
        "seller_id string, ring_id string, ring_first_night date",
    )
    return clusters, edges, previous


def test_new_account_inherits_its_rings_record_known_by_the_night(spark: SparkSession) -> None:
    clusters, edges, previous = _ring_world(spark)
    active = spark.createDataFrame(
        [("L1", "a"), ("L6", "d"), ("L7", "d")], "listing_id string, seller_id string"
    )
    record = ring_features(
        clusters,
        edges,
        takedowns=takedown_history(verdicts_known(_ring_notices(spark), RECORD_NIGHT)),
        active_listings=active,
        first_nights=ring_first_nights(clusters, previous, RECORD_NIGHT),
        night=RECORD_NIGHT,
    )
    expected = spark.createDataFrame(
        [
            # n3 was decided after the night and n5 received after it: neither counts.
            (
                "R1",
                4,
                0.25,
                2,
                1,
                3,
                ["device", "payee", "payment", "wifi"],
                date(2026, 10, 25),
                16,
            ),
            ("R2", 2, 0.0, 0, 0, 0, ["image", "ip", "ship_origin"], RECORD_NIGHT, 0),
        ],
        "ring_id string, ring_size int, ring_confirmed_share double, "
        "ring_confirmed_takedowns int, ring_confirmed_sellers int, ring_listings long, "
        "ring_signal_types array<string>, ring_first_night date, ring_age_days int",
    )
    assertDataFrameEqual(record, expected)


def test_ring_age_carries_the_oldest_first_night_through_merges(spark: SparkSession) -> None:
    tonight = spark.createDataFrame(
        [("a", "R1"), ("b", "R1"), ("x", "R1"), ("n", "R9")], "seller_id string, ring_id string"
    )
    previous = spark.createDataFrame(
        [("a", date(2026, 10, 25)), ("b", date(2026, 10, 25)), ("x", date(2026, 10, 2))],
        "seller_id string, ring_first_night date",
    )
    expected = spark.createDataFrame(
        [("R1", date(2026, 10, 2)), ("R9", RECORD_NIGHT)], "ring_id string, ring_first_night date"
    )
    assertDataFrameEqual(ring_first_nights(tonight, previous, RECORD_NIGHT), expected)
    assertDataFrameEqual(
        ring_first_nights(tonight, None, RECORD_NIGHT),
        spark.createDataFrame(
            [("R1", RECORD_NIGHT), ("R9", RECORD_NIGHT)], "ring_id string, ring_first_night date"
        ),
    )


def test_link_strength_counts_only_links_inside_the_ring(spark: SparkSession) -> None:
    clusters, edges, _ = _ring_world(spark)
    # c-e crosses from R1 to R2 (a component split by label propagation): not membership.
    crossing = spark.createDataFrame([("c", "e", 1.2, ["phone"])], EDGES)
    expected = spark.createDataFrame(
        [
            ("a", 1.1, 2.1),
            ("b", 1.1, 2.1),
            ("c", 1.0, 1.0),
            ("d", 1.0, 1.0),  # the new account: one shared payee
            ("e", 1.3, 1.3),
            ("f", 1.3, 1.3),
        ],
        "seller_id string, link_strength double, link_evidence double",
    )
    assertDataFrameEqual(member_links(clusters, edges.unionByName(crossing)), expected)


def _pair(seller_a: str, seller_b: str, *evidence: tuple[str, str]) -> list[tuple[str, str, str]]:
    """Identifiers (type, value) shared by exactly these two sellers."""
    return [(s, t, v) for t, v in evidence for s in (seller_a, seller_b)]


def test_weak_evidence_of_three_types_links_two_accounts_one_weak_signal_does_not(
    spark: SparkSession,
) -> None:
    rows = (
        _pair("a", "b", ("image", "ph1"), ("ship_origin", "SZ-1"), ("ip", "10.0.0.1"))
        + _pair("c", "d", ("image", "ph2"))
        + _pair("e", "f", ("ship_origin", "SZ-2"))
        + _pair("g", "h", ("ip", "10.0.0.2"))
        + _pair("i", "j", ("image", "ph3"), ("ship_origin", "SZ-3"))  # two weak types: not yet
    )
    assert _linked(spark, rows) == {("a", "b")}


def test_repeated_weak_evidence_of_one_type_adds_up_with_another(spark: SparkSession) -> None:
    # Four photos used by these two accounts only, and a common ship origin: one operator's
    # catalog. The best photo alone (0.5) plus the ship origin (0.3) would not link them.
    photos = [("image", f"ph{i}") for i in range(4)]
    rows = _pair("a", "b", *photos, ("ship_origin", "SZ-1")) + _pair("c", "d", *photos[:1])
    rows += _pair("e", "f", *[("image", f"pe{i}") for i in range(6)])  # photos alone: never
    rows += _pair("g", "h", *[("ip", f"10.0.0.{i}") for i in range(6)])  # nor IPs alone
    # Stock photos used by more sellers than the hub cap link no one, however many are shared.
    crowd = [f"s{i:02d}" for i in range(DEFAULTS.hub_degree_cap + 1)]
    rows += [(s, "image", f"stock{i}") for s in crowd for i in range(3)]
    rows += _pair("s00", "s01", ("ship_origin", "SZ-9"))
    assert _linked(spark, rows) == {("a", "b")}


# ---- the connected-components engine (linkage.engine) -------------------------------------------


@pytest.mark.parametrize(
    ("setting", "jar_cached", "engine", "reason"),
    [
        (
            "auto",
            True,
            "graphframes",
            "linkage.engine auto: the GraphFrames jar is in the jar cache",
        ),
        (
            "auto",
            False,
            "dataframe",
            "linkage.engine auto: the GraphFrames jar is not in the jar cache, "
            "features/graph.py runs instead",
        ),
        ("graphframes", True, "graphframes", "linkage.engine graphframes"),
        ("dataframe", True, "dataframe", "linkage.engine dataframe"),
        ("dataframe", False, "dataframe", "linkage.engine dataframe"),
    ],
)
def test_engine_follows_the_setting_and_the_jar_cache(
    setting: str, jar_cached: bool, engine: str, reason: str
) -> None:
    assert choose_engine(setting, graphframes_jar_cached=jar_cached) == (engine, reason)


def test_graphframes_engine_without_its_jar_stops_naming_the_jar_and_make_setup() -> None:
    with pytest.raises(GraphFramesUnavailable) as stopped:
        choose_engine("graphframes", graphframes_jar_cached=False)
    assert str(stopped.value) == (
        "linkage.engine is graphframes but the jar cache holds no "
        "io.graphframes:graphframes-spark4_2.13:0.12.3: run `make setup` where Maven Central "
        "serves it, or set linkage.engine to auto or dataframe"
    )


def test_engine_defaults_to_auto_and_takes_no_other_value() -> None:
    assert DEFAULTS.engine == "auto"
    with pytest.raises(ConfError, match=r"linkage\.engine"):
        load_conf(None, ["linkage.engine=networkx"])
