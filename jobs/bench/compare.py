"""Side by side on the same inputs: Spark against what one big machine would run instead.

After a night has run, its inputs are exported once to Parquet, then each pair reads the same
files, computes the same thing and writes its result, timed:

- seller-feature aggregation: the functions of features/sellers.py (storefront, catalog,
  takedown history, identifiers shared with confirmed counterfeiters, joined per seller) in Spark,
  against the same aggregation written as DuckDB SQL (DuckDB limited to as many threads as Spark
  has cores); the two results are joined in DuckDB and every column compared, seller by seller;
- linkage: connected components of the night's seller-seller edges (graph.linkage_edges) with
  features/graph.py, against scipy.sparse.csgraph.connected_components on the edge list loaded
  with pyarrow; both partitions must be the same (compared independently of how either labels
  its components).

It also hands the bench the night's records of ops.run_log (this child has Spark to read them).
Run as a child of the bench, after the night's process has exited (embedded Derby admits one JVM):

    python -m jobs.bench.compare --conf WORK/bench.yaml --date D --work WORK/compare --out R.json

It writes the figures, agreement checks included, to R.json; the bench reports them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_connected_components

from features import sellers as seller_features
from features.graph import connected_components
from features.night import SHARED_WITH_CONFIRMED
from features.verdicts import end_of, verdicts_known
from jobs.runtime import catalog
from jobs.runtime.conf import load_conf
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse

SHARED_TYPES = SHARED_WITH_CONFIRMED  # as features/night.py passes them

# Columns of the seller aggregation and how two engines' values are compared: integers and
# flags exactly, averages and prices within a relative 1e-9 (summation order differs).
EXACT = (
    "account_age_days",
    "is_basic_template",
    "store_modules",
    "listing_count",
    "distinct_brands",
    "confirmed_takedowns",
    "rejected_takedowns",
    "identifiers_shared_with_confirmed",
)
APPROXIMATE = ("branded_share", "median_price_to_reference", "min_price_to_reference")
TOTALS = ("listing_count", "confirmed_takedowns", "identifiers_shared_with_confirmed")


@contextmanager
def timed(into: dict[str, float], key: str) -> Iterator[None]:
    """Store the wall seconds of the block under `key`."""
    started = time.monotonic()
    yield
    into[key] = round(time.monotonic() - started, 3)


# ---------------------------------------------------------------- the inputs, exported once


def export_inputs(lake: Lakehouse, night: date, folder: Path) -> dict[str, int]:
    """Write the night's inputs of both comparisons as Parquet under `folder`, limited to what was
    known on the night exactly as jobs/features.py limits them; returns the rows of each."""
    notices = lake.read_history(catalog.bronze("takedown_notices"), until=night)
    verdicts = verdicts_known(notices, night)
    frames = {
        "sellers": lake.read(catalog.SELLERS_CURRENT)
        .where(F.col("registered_at") < end_of(night))
        .select("seller_id", "registered_at", "store_template", "store_modules"),
        # catalog() reads the listing rows of the night: their brand and price_to_reference are
        # features (brand matching), which features.listing_features holds for the same listings.
        "listings": lake.read_night(catalog.LISTING_FEATURES, night).select(
            "seller_id", "brand_canonical", "price_to_reference"
        ),
        "verdicts": verdicts.select("seller_id", "verdict"),
        "identifiers": lake.read_history(catalog.SELLER_IDENTIFIERS, until=night).select(
            "seller_id", "identifier_type", "identifier"
        ),
        "edges": lake.read_night(catalog.LINKAGE_EDGES, night).select(
            "src_seller_id", "dst_seller_id"
        ),
    }
    rows = {}
    for name, frame in frames.items():
        frame.write.mode("overwrite").parquet(str(folder / name))
        rows[name] = lake.spark.read.parquet(str(folder / name)).count()
    return rows


# ---------------------------------------------------------------- seller-feature aggregation


def spark_seller_aggregation(spark: SparkSession, inputs: Path, night: date) -> DataFrame:
    """One row per seller: the part of features.night.night_seller_features that DuckDB SQL
    replicates (storefront, catalog, takedown history, shared sources; not reviews, neighbours or
    rings), joined in the same order, over the exported Parquet inputs."""
    sellers = spark.read.parquet(str(inputs / "sellers"))
    listings = spark.read.parquet(str(inputs / "listings"))
    verdicts = spark.read.parquet(str(inputs / "verdicts"))
    identifiers = spark.read.parquet(str(inputs / "identifiers"))
    confirmed = verdicts.where(F.col("verdict") == "confirmed").select("seller_id")
    return (
        seller_features.storefront(sellers, night)
        .join(seller_features.catalog(listings), "seller_id", "left")
        .join(seller_features.takedown_history(verdicts), "seller_id", "left")
        .join(
            seller_features.shared_with_confirmed(identifiers, confirmed, types=SHARED_TYPES),
            "seller_id",
            "left",
        )
    )


def duckdb_seller_aggregation_sql(inputs: Path, night: date) -> str:
    """The same aggregation as DuckDB SQL over the same Parquet files (a SELECT), with Spark's
    result types (Spark casts counts to int; its sums of ints are longs)."""
    tables = ("sellers", "listings", "verdicts", "identifiers")
    files = {name: f"read_parquet('{inputs / name}/*.parquet')" for name in tables}
    types = ", ".join(f"'{t}'" for t in SHARED_TYPES)
    return f"""
WITH storefront AS (
  SELECT seller_id,
         date_diff('day', CAST(registered_at AS DATE), DATE '{night.isoformat()}') AS account_age_days,
         store_template = 'basic' AS is_basic_template,
         CAST(store_modules AS INTEGER) AS store_modules
  FROM {files["sellers"]}
), catalog AS (
  SELECT seller_id,
         CAST(count(*) AS INTEGER) AS listing_count,
         avg(CAST(brand_canonical IS NOT NULL AS DOUBLE)) AS branded_share,
         CAST(count(DISTINCT brand_canonical) AS INTEGER) AS distinct_brands,
         quantile_disc(price_to_reference, 0.5) AS median_price_to_reference,
         min(price_to_reference) AS min_price_to_reference
  FROM {files["listings"]} GROUP BY seller_id
), verdicts AS (
  SELECT seller_id, verdict FROM {files["verdicts"]}
), takedowns AS (
  SELECT seller_id,
         CAST(sum(CAST(verdict = 'confirmed' AS INTEGER)) AS BIGINT) AS confirmed_takedowns,
         CAST(sum(CAST(verdict = 'rejected' AS INTEGER)) AS BIGINT) AS rejected_takedowns
  FROM verdicts GROUP BY seller_id
), mine AS (
  SELECT seller_id, identifier_type, identifier FROM {files["identifiers"]}
  WHERE identifier_type IN ({types})
), tainted AS (
  SELECT m.identifier_type, m.identifier, m.seller_id AS confirmed_seller
  FROM mine m JOIN verdicts v ON m.seller_id = v.seller_id WHERE v.verdict = 'confirmed'
), shared AS (
  SELECT seller_id, CAST(count(*) AS INTEGER) AS identifiers_shared_with_confirmed FROM (
    SELECT DISTINCT m.seller_id, m.identifier_type, m.identifier
    FROM mine m JOIN tainted t USING (identifier_type, identifier)
    WHERE m.seller_id <> t.confirmed_seller
  ) GROUP BY seller_id
)
SELECT s.*,
       c.listing_count, c.branded_share, c.distinct_brands,
       c.median_price_to_reference, c.min_price_to_reference,
       t.confirmed_takedowns, t.rejected_takedowns,
       x.identifiers_shared_with_confirmed
FROM storefront s
LEFT JOIN catalog c USING (seller_id)
LEFT JOIN takedowns t USING (seller_id)
LEFT JOIN shared x USING (seller_id)
"""


def run_duckdb_aggregation(inputs: Path, night: date, out: Path, *, threads: int) -> None:
    """Run the DuckDB aggregation with `threads` threads and write its result to `out`."""
    with duckdb.connect() as con:
        con.execute(f"SET threads = {int(threads)}")
        con.execute("SET TimeZone = 'UTC'")
        select = duckdb_seller_aggregation_sql(inputs, night)
        con.execute(f"COPY ({select}) TO '{out}' (FORMAT parquet)")


def aggregation_agreement(spark_out: Path, duckdb_out: Path) -> dict[str, Any]:
    """Join both engines' results on seller_id (in DuckDB, no driver collect) and count, per
    column, the sellers on both sides whose values differ, and the sellers on one side only;
    plus a few totals from each side."""
    a, b = f"read_parquet('{spark_out}/*.parquet')", f"read_parquet('{duckdb_out}')"
    both = "s.seller_id IS NOT NULL AND d.seller_id IS NOT NULL"  # one-sided rows count apart
    differs = [
        f"sum(CAST({both} AND s.{c} IS DISTINCT FROM d.{c} AS INTEGER)) AS {c}" for c in EXACT
    ] + [
        f"sum(CAST({both} AND NOT (s.{c} IS NULL AND d.{c} IS NULL) AND (s.{c} IS NULL "
        f"OR d.{c} IS NULL OR abs(s.{c} - d.{c}) > 1e-9 * greatest(1.0, abs(s.{c}))) AS INTEGER))"
        f" AS {c}"
        for c in APPROXIMATE
    ]
    totals = [f"sum({c}) AS {c}" for c in TOTALS]
    with duckdb.connect() as con:
        row = con.execute(
            f"""SELECT count(*) AS joined,
                       sum(CAST(s.seller_id IS NULL AS INTEGER)) AS only_duckdb,
                       sum(CAST(d.seller_id IS NULL AS INTEGER)) AS only_spark,
                       {", ".join(differs)}
                FROM {a} s FULL OUTER JOIN {b} d ON s.seller_id = d.seller_id"""
        ).fetchone()
        names = [d[0] for d in con.description or ()]
        side = {}
        for label, source in (("spark", a), ("duckdb", b)):
            values = con.execute(f"SELECT count(*) AS sellers, {', '.join(totals)} FROM {source}")
            side[label] = dict(
                zip([d[0] for d in values.description or ()], values.fetchone() or (), strict=True)
            )
    counts = {name: int(value or 0) for name, value in zip(names, row or (), strict=True)}
    mismatches = {c: counts[c] for c in (*EXACT, *APPROXIMATE)}
    return {
        "sellers": counts["joined"],
        "only_spark": counts["only_spark"],
        "only_duckdb": counts["only_duckdb"],
        "mismatches": mismatches,
        "totals": {k: {c: _plain(v) for c, v in t.items()} for k, t in side.items()},
        "agree": counts["only_spark"] == 0
        and counts["only_duckdb"] == 0
        and not any(mismatches.values()),
    }


def _plain(value: Any) -> int | float | None:
    return None if value is None else float(value) if isinstance(value, float) else int(value)


# ---------------------------------------------------------------- connected components


def spark_components(
    spark: SparkSession,
    edges: Path,
    *,
    max_iterations: int,
    checkpoint_every: int,
    local_max_edges: int,
) -> DataFrame:
    """(vertex, component) of the exported edge list by features/graph.py, with the settings the
    night's linkage uses."""
    frame = spark.read.parquet(str(edges)).select(
        F.col("src_seller_id").alias("src"), F.col("dst_seller_id").alias("dst")
    )
    return connected_components(
        frame,
        max_iterations=max_iterations,
        checkpoint_every=checkpoint_every,
        local_max_edges=local_max_edges,
    )


def scipy_components(edges: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, component labels) of an edge list in Parquet (src_seller_id, dst_seller_id):
    vertex ids are numbered by np.unique, the undirected graph is a sparse matrix, and each label
    is the smallest member of its component (as features/graph.py labels them)."""
    table = pq.read_table(edges, columns=["src_seller_id", "dst_seller_id"])
    src = table.column("src_seller_id").to_numpy(zero_copy_only=False).astype(str)
    dst = table.column("dst_seller_id").to_numpy(zero_copy_only=False).astype(str)
    vertices, index = np.unique(np.concatenate([src, dst]), return_inverse=True)
    n = len(vertices)
    if n == 0:
        return vertices, vertices.copy()
    graph = coo_matrix(
        (np.ones(len(src), dtype=np.int8), (index[: len(src)], index[len(src) :])), shape=(n, n)
    )
    count, labels = scipy_connected_components(graph, directed=False)
    smallest = np.full(count, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n))  # vertices are sorted: min index = min id
    return vertices, vertices[smallest[labels]]


@dataclass(frozen=True)
class PartitionCheck:
    """Whether two labellings of vertices split them into the same components."""

    same: bool
    vertices: int
    components: int
    largest: int
    detail: str


def same_partition(
    vertices_a: np.ndarray, labels_a: np.ndarray, vertices_b: np.ndarray, labels_b: np.ndarray
) -> PartitionCheck:
    """Compare two partitions whatever their labels: after aligning by vertex, the partitions are
    equal iff each label of one side meets exactly one label of the other (the number of distinct
    (a, b) label pairs equals the number of labels on each side)."""
    order_a, order_b = np.argsort(vertices_a, kind="stable"), np.argsort(vertices_b, kind="stable")
    va, la = vertices_a[order_a], labels_a[order_a]
    vb, lb = vertices_b[order_b], labels_b[order_b]
    _, sizes = np.unique(la, return_counts=True)
    components, largest = len(sizes), int(sizes.max()) if len(sizes) else 0
    if len(va) != len(vb) or not np.array_equal(va, vb):
        missing = len(np.setxor1d(va, vb))
        return PartitionCheck(
            False, len(va), components, largest, f"{missing} vertices on one side only"
        )
    codes_a = np.unique(la, return_inverse=True)[1]
    codes_b = np.unique(lb, return_inverse=True)[1]
    pairs = len(np.unique(np.stack([codes_a, codes_b], axis=1), axis=0)) if len(va) else 0
    labels_b_count = len(np.unique(lb))
    same = pairs == components == labels_b_count
    detail = (
        "same partition"
        if same
        else f"{components} vs {labels_b_count} components, {pairs} label pairs"
    )
    return PartitionCheck(same, len(va), components, largest, detail)


def read_components(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, components) of a Parquet result with columns vertex, component. Bounded: one
    row per linked seller, read for the bench's own check only."""
    table = pq.read_table(path, columns=["vertex", "component"])
    return (
        table.column("vertex").to_numpy(zero_copy_only=False).astype(str),
        table.column("component").to_numpy(zero_copy_only=False).astype(str),
    )


def write_components(vertices: np.ndarray, labels: np.ndarray, path: Path) -> None:
    import pyarrow as pa

    pq.write_table(pa.table({"vertex": vertices, "component": labels}), path)


# ---------------------------------------------------------------- the run log


RECORD_COLUMNS = (
    "run_id",
    "step",
    "status",
    "seconds",
    "rows_read",
    "rows_out",
    "rows_quarantined",
    "message",
    "started_at",
)


def night_records(lake: Lakehouse, night: date) -> list[dict[str, Any]]:
    """The whole-step records of the night in ops.run_log (a few rows per attempt of each step),
    read here because this child has Spark; the bench picks the night's and the score run's."""
    rows = (
        lake.read_night(catalog.RUN_LOG, night)
        .where(F.col("table_name") == "*")
        .select(*RECORD_COLUMNS)
        .withColumn("started_at", F.date_format("started_at", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"))
        .collect()  # bounded: one row per step and attempt
    )
    return [row.asDict() for row in rows]


# ---------------------------------------------------------------- the child process


def compare_night(ctx: JobContext, night: date, work: Path, *, cores: int) -> dict[str, Any]:
    """Export the night's inputs, run both pairs timed, check they agree; the figures as a dict."""
    spark, conf = ctx.spark, ctx.conf
    inputs, out = work / "inputs", work / "out"
    out.mkdir(parents=True, exist_ok=True)
    rows = export_inputs(ctx.lakehouse, night, inputs)

    seconds: dict[str, float] = {}
    with timed(seconds, "spark"):
        spark_seller_aggregation(spark, inputs, night).write.mode("overwrite").parquet(
            str(out / "spark_sellers")
        )
    with timed(seconds, "duckdb"):
        run_duckdb_aggregation(inputs, night, out / "duckdb_sellers.parquet", threads=cores)
    aggregation = {
        **aggregation_agreement(out / "spark_sellers", out / "duckdb_sellers.parquet"),
        "spark_seconds": seconds["spark"],
        "duckdb_seconds": seconds["duckdb"],
    }

    with timed(seconds, "spark_cc"):
        spark_components(
            spark,
            inputs / "edges",
            max_iterations=conf.linkage.max_iterations,
            checkpoint_every=conf.linkage.checkpoint_every,
            local_max_edges=conf.linkage.local_components_max_edges,
        ).write.mode("overwrite").parquet(str(out / "spark_components"))
    with timed(seconds, "scipy_cc"):
        vertices, labels = scipy_components(inputs / "edges")
        write_components(vertices, labels, out / "scipy_components.parquet")
    check = same_partition(*read_components(out / "spark_components"), vertices, labels)
    return {
        "records": night_records(ctx.lakehouse, night),
        "inputs": rows,
        "threads": cores,
        "aggregation": aggregation,
        "components": {
            **asdict(check),
            "edges": rows["edges"],
            "spark_seconds": seconds["spark_cc"],
            "scipy_seconds": seconds["scipy_cc"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cores", type=int, required=True)
    args = parser.parse_args(argv)
    ctx = JobContext(load_conf(args.conf))
    result = compare_night(ctx, args.date, args.work, cores=args.cores)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0  # disagreement is a figure the bench reports (and fails on), not a crash here


if __name__ == "__main__":
    sys.exit(main())
