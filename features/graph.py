"""Graph algorithms on Spark DataFrames: connected components and a bounded label propagation.

Why our own: GraphFrames' JVM jar (io.graphframes) is not served by the Maven Central this project
can reach, so the algorithm GraphFrames' default `two_phase` connected components builds on, the
alternating Large-Star / Small-Star of Kiveris et al. (2014, "Connected Components in MapReduce
and Beyond"), is written here with DataFrames. It converges in O(log n) rounds (a 200-vertex chain
takes about ten), each round a few joins and aggregations linear in edges. Each round's edges are
cached and, every `checkpoint_every` rounds, checkpointed, so the query plan (and the lineage a
lost executor would replay) does not grow with the rounds. AQE is on in the project's session, so
skewed stars (a vertex with many neighbours) are split by its skew-join handling.

A small graph does not need Spark at all: below `local_max_edges` distinct edges (a conf key) the
edge list is collected as Arrow and labelled on the driver by scipy's connected components, one
Spark job instead of a few per round (the seller graph of a 10M-listing night has about 50,000
edges). The driver's cost is bounded by the key, about 100 bytes per edge (two Arrow strings,
int32 codes, scipy's sparse matrix); see `local_components`.

The signatures are engine-agnostic, edges in and (vertex, component) out: where the jar is in the
cache, `graphframes_components` (GraphFrames' `two_phase`, the same frame) replaces
`connected_components`; which one runs is the linkage job's choice (`linkage.engine`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_connected_components

COMPONENTS_SCHEMA = "vertex string, component string"


def _oriented(edges: DataFrame) -> DataFrame:
    """Distinct edges pointing from the larger to the smaller vertex, self-loops dropped."""
    return (
        edges.select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst"))
        .where(F.col("src") != F.col("dst"))
        .distinct()
    )


# Both stars gather a vertex's neighbours into one array (one shuffle, no self-join). A vertex's
# degree in the seller graph is bounded, because hub identifiers were cut before it was built.


def _large_star(oriented: DataFrame) -> DataFrame:
    """Each vertex hands its larger neighbours to the smallest vertex of its neighbourhood
    (itself included). In: distinct edges src > dst. Out: edges src > dst, may repeat."""
    both = oriented.unionByName(
        oriented.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
    )
    hoods = both.groupBy("src").agg(F.collect_list("dst").alias("hood"))
    smallest = F.least(F.array_min("hood"), F.col("src"))
    return hoods.select(
        F.explode(F.filter("hood", lambda n: n > F.col("src"))).alias("src"),
        smallest.alias("dst"),
    )


def _small_star(oriented: DataFrame) -> DataFrame:
    """Each vertex links itself and its smaller neighbours to the smallest of them.
    In: edges src > dst (repeats allowed). Out: distinct edges src > dst."""
    hoods = oriented.groupBy("src").agg(F.collect_set("dst").alias("hood"))
    smallest = F.array_min("hood")
    return (
        hoods.select(
            F.explode(F.array_union(F.array("src"), F.col("hood"))).alias("src"),
            smallest.alias("dst"),
        )
        .where(F.col("src") != F.col("dst"))
        .distinct()
    )


def _is_star_forest(edges: DataFrame) -> bool:
    """True when the edges (all pointing from a larger to a smaller vertex) form disjoint stars:
    every vertex has at most one parent, and no parent has a parent. Then each star is a whole
    component whose centre is its smallest vertex, so the rounds are done. One aggregation, and
    only one row (or none) reaches the driver."""
    roles = edges.select(
        F.col("src").alias("vertex"), F.lit(1).alias("as_child"), F.lit(0).alias("as_parent")
    ).unionByName(
        edges.select(
            F.col("dst").alias("vertex"), F.lit(0).alias("as_child"), F.lit(1).alias("as_parent")
        )
    )
    unsettled = (
        roles.groupBy("vertex")
        .agg(F.sum("as_child").alias("parents"), F.max("as_parent").alias("is_parent"))
        .where((F.col("parents") > 1) | ((F.col("parents") >= 1) & (F.col("is_parent") == 1)))
    )
    return unsettled.limit(1).count() == 0


def _cut_lineage(
    frame: DataFrame, round_no: int, checkpoint_every: int, reliable: bool
) -> DataFrame:
    """Checkpoint every `checkpoint_every` rounds (reliable: to the session's checkpoint dir, which
    survives a lost executor; otherwise to executor storage), cache in between."""
    if round_no % checkpoint_every == 0:
        return frame.checkpoint() if reliable else frame.localCheckpoint()
    return frame.persist(StorageLevel.MEMORY_AND_DISK)


def local_components(edge_list: pa.Table) -> pa.Table:
    """(vertex, component) of an edge list (string columns src, dst) held on the driver: scipy's
    connected components on the vertices numbered in sorted order, each component named by its
    smallest vertex, as the distributed rounds name it. Arrow sorts strings by their UTF-8 bytes,
    as Spark compares them, so both paths pick the same smallest vertex."""
    endpoints = (
        pa.chunked_array(
            edge_list.column("src").chunks + edge_list.column("dst").chunks, type=pa.string()
        )
        .dictionary_encode()
        .combine_chunks()
    )
    names = endpoints.dictionary
    n = len(names)
    if n == 0:
        return pa.table({"vertex": names, "component": names})
    order = pc.sort_indices(names).to_numpy()  # order[rank] = dictionary index
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    ends = rank[endpoints.indices.to_numpy()]
    m = edge_list.num_rows
    graph = coo_matrix((np.ones(m, dtype=np.int8), (ends[:m], ends[m:])), shape=(n, n))
    count, labels = scipy_connected_components(graph, directed=False)
    smallest = np.full(count, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n))  # ranks are sorted: min rank = min id
    vertex = names.take(pa.array(order))
    return pa.table({"vertex": vertex, "component": vertex.take(pa.array(smallest[labels]))})


def connected_components(
    edges: DataFrame,
    *,
    max_iterations: int = 50,
    checkpoint_every: int = 1,
    reliable_checkpoint: bool = False,
    local_max_edges: int = 0,
) -> DataFrame:
    """(vertex, component) for every vertex of `edges` (columns src, dst; cast to string); the
    component is the smallest vertex id in it. A self-loop (v, v) stands for an isolated vertex.

    With at most `local_max_edges` distinct edges (0: never) the components are computed on the
    driver (`local_components`); above it, by the distributed Large-Star / Small-Star rounds,
    which raise if they have not converged within max_iterations. Both give the same frame."""
    as_strings = edges.select(F.col("src").cast("string"), F.col("dst").cast("string"))
    if local_max_edges > 0:
        undirected = as_strings.select(
            F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst")
        ).distinct()
        edge_list = undirected.limit(local_max_edges + 1).toArrow()  # bounded: conf key + 1
        if edge_list.num_rows <= local_max_edges:
            return edges.sparkSession.createDataFrame(
                local_components(edge_list), COMPONENTS_SCHEMA
            )
    return _distributed_components(
        as_strings,
        max_iterations=max_iterations,
        checkpoint_every=checkpoint_every,
        reliable_checkpoint=reliable_checkpoint,
    )


def graphframes_components(edges: DataFrame, *, checkpoint_every: int = 2) -> DataFrame:
    """`connected_components` by GraphFrames' `two_phase` algorithm (its JVM jar must be on the
    session's class path). GraphFrames numbers components with its own longs; each is renamed
    after its smallest vertex, so both engines give the same frame. `broadcastThreshold=-1`
    leaves skewed components to AQE; checkpoints go to the session's checkpoint directory."""
    from graphframes import GraphFrame  # here: the Python side is of no use without the jar

    as_strings = edges.select(F.col("src").cast("string"), F.col("dst").cast("string"))
    vertices = (
        as_strings.select(F.col("src").alias("id"))
        .unionByName(as_strings.select(F.col("dst").alias("id")))
        .distinct()
    )
    labelled = GraphFrame(vertices, as_strings).connectedComponents(
        algorithm="two_phase", checkpointInterval=checkpoint_every, broadcastThreshold=-1
    )
    smallest = labelled.groupBy("component").agg(F.min("id").alias("smallest"))
    return labelled.join(smallest, "component").select(
        F.col("id").alias("vertex"), F.col("smallest").alias("component")
    )


def _distributed_components(
    edges: DataFrame, *, max_iterations: int, checkpoint_every: int, reliable_checkpoint: bool
) -> DataFrame:
    """Large-Star / Small-Star rounds until the edges form a star forest (see the module doc);
    `edges`: string columns src, dst."""
    current = _oriented(edges).localCheckpoint()
    cached: list[DataFrame] = []
    for round_no in range(1, max_iterations + 1):
        current = _cut_lineage(
            _small_star(_large_star(current)), round_no, checkpoint_every, reliable_checkpoint
        )
        cached.append(current)
        if _is_star_forest(current):
            break
        for older in cached[:-1]:
            older.unpersist()
        cached = cached[-1:]
    else:
        raise RuntimeError(f"connected components did not converge in {max_iterations} rounds")
    vertices = (
        edges.select(F.col("src").alias("vertex"))
        .unionByName(edges.select(F.col("dst").alias("vertex")))
        .distinct()
    )
    # In a star forest each vertex has at most one parent: the centre, i.e. its component.
    parents = current.select(F.col("src").alias("vertex"), F.col("dst").alias("component"))
    return vertices.join(parents, "vertex", "left").select(
        "vertex", F.coalesce("component", "vertex").alias("component")
    )


def label_propagation(edges: DataFrame, *, iterations: int, checkpoint_every: int = 1) -> DataFrame:
    """(vertex, label) by weighted label propagation: each round a vertex takes the label with the
    most edge weight among its neighbours (ties: the smallest label). Bounded by `iterations`, as
    LPA need not converge; it splits a component where its inner links are densest, which is
    where one operator's accounts meet. `edges`: src, dst, weight."""
    both = edges.select("src", "dst", "weight").unionByName(
        edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"), "weight")
    )
    labels = (
        both.select(F.col("src").alias("vertex")).distinct().withColumn("label", F.col("vertex"))
    )
    for round_no in range(1, iterations + 1):
        votes = (
            both.join(labels.withColumnRenamed("vertex", "dst"), "dst")
            .groupBy(F.col("src").alias("vertex"), "label")
            .agg(F.sum("weight").alias("votes"))
        )
        best = Window.partitionBy("vertex").orderBy(F.desc("votes"), "label")
        labels = _cut_lineage(
            votes.withColumn("_r", F.row_number().over(best))
            .where("_r = 1")
            .select("vertex", "label"),
            round_no,
            checkpoint_every,
            False,
        )
    return labels
