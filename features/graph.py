"""Graph algorithms on Spark DataFrames: connected components and a bounded label propagation.

Why not GraphFrames: its JVM jar (io.graphframes) is not served by the Maven Central this project
can reach, so the same algorithm GraphFrames' default `two_phase` connected components builds on,
the alternating Large-Star / Small-Star of Kiveris et al. (2014, "Connected Components in
MapReduce and Beyond"), is written here with DataFrames. It converges in O(log n) rounds of joins
and aggregations, keeps every round linear in edges, and cuts its lineage with a checkpoint per
round. The signatures are engine-agnostic (edges in, (vertex, component) out), so a GraphFrames
call can replace `connected_components` where the jar exists.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def _undirected(edges: DataFrame) -> DataFrame:
    both = edges.select("src", "dst").unionByName(
        edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
    )
    return both.where(F.col("src") != F.col("dst")).distinct()


def _large_star(edges: DataFrame) -> DataFrame:
    """Each vertex hands its larger neighbours to the smallest vertex of its neighbourhood."""
    both = _undirected(edges)
    smallest = both.groupBy("src").agg(F.least(F.min("dst"), F.col("src")).alias("m"))
    return (
        both.join(smallest, "src")
        .where(F.col("dst") > F.col("src"))
        .select(F.col("dst").alias("src"), F.col("m").alias("dst"))
        .where(F.col("src") != F.col("dst"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Each vertex links itself and its smaller neighbours to the smallest of them."""
    oriented = edges.select(
        F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst")
    ).where(F.col("src") != F.col("dst"))
    smallest = oriented.groupBy("src").agg(F.min("dst").alias("m"))
    linked = oriented.join(smallest, "src").select(
        F.col("dst").alias("src"), F.col("m").alias("dst")
    )
    own = smallest.select("src", F.col("m").alias("dst"))
    return linked.unionByName(own).where(F.col("src") != F.col("dst")).distinct()


def connected_components(edges: DataFrame, *, max_iterations: int = 50) -> DataFrame:
    """(vertex, component) for every vertex of `edges` (string columns src, dst); the component
    is the smallest vertex id in it. Raises if it has not converged within max_iterations."""
    current = (
        edges.select(F.col("src").cast("string"), F.col("dst").cast("string"))
        .where(F.col("src") != F.col("dst"))
        .distinct()
    )
    current = current.localCheckpoint()
    for _ in range(max_iterations):
        star = _small_star(_large_star(current)).localCheckpoint()
        changed = (
            star.exceptAll(current).limit(1).count() + current.exceptAll(star).limit(1).count()
        )
        current = star
        if changed == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_iterations} rounds")
    vertices = (
        edges.select(F.col("src").cast("string").alias("vertex"))
        .unionByName(edges.select(F.col("dst").cast("string").alias("vertex")))
        .distinct()
    )
    pointers = current.groupBy("src").agg(F.min("dst").alias("component"))
    return vertices.join(pointers, vertices["vertex"] == pointers["src"], "left").select(
        "vertex", F.coalesce("component", "vertex").alias("component")
    )


def label_propagation(edges: DataFrame, *, iterations: int) -> DataFrame:
    """(vertex, label) by weighted label propagation: each round a vertex takes the label with the
    most edge weight among its neighbours (ties: the smallest label). Bounded by `iterations`, as
    LPA need not converge. `edges`: src, dst, weight."""
    both = edges.select("src", "dst", "weight").unionByName(
        edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"), "weight")
    )
    labels = (
        both.select(F.col("src").alias("vertex")).distinct().withColumn("label", F.col("vertex"))
    )
    for _ in range(iterations):
        votes = (
            both.join(labels.withColumnRenamed("vertex", "dst"), "dst")
            .groupBy(F.col("src").alias("vertex"), "label")
            .agg(F.sum("weight").alias("votes"))
        )
        best = Window.partitionBy("vertex").orderBy(F.desc("votes"), "label")
        labels = (
            votes.withColumn("_r", F.row_number().over(best))
            .where("_r = 1")
            .select("vertex", "label")
            .localCheckpoint()
        )
    return labels
