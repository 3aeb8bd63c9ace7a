"""Write a synthetic marketplace's landing zone exactly as DATA_CONTRACT.md lays it out.

Writes <out>/<table>/dt=YYYY-MM-DD/part-*.parquet for every raw table and day, and the ground
truth under <out>/_truth/ (sellers, listings and, with --defect-rate, the planted defects). Every
value is a hash of the seed and the row's key, so the same arguments give the same files, at any
scale and on any cluster. Each table folder is replaced whole, so a re-run is idempotent.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.arguments import iso_date
from jobs.conf import is_local_path
from jobs.context import JobContext
from jobs.simulator import defects
from jobs.simulator.world import WorldSpec, generate

HELP = "write a synthetic marketplace (raw landing files + _truth/) for N listings over D days"
log = logging.getLogger("radar.simulate")

# Target rows per output file, so that a billion listings land in files of a sensible size.
ROWS_PER_FILE = 2_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default=None, help="landing folder to write (default: conf paths.landing)"
    )
    parser.add_argument(
        "--listings", type=int, required=True, help="catalog size, 10 thousand to a billion"
    )
    parser.add_argument(
        "--days", type=int, default=3, help="consecutive days of exports (default 3)"
    )
    parser.add_argument("--seed", type=int, default=7, help="same seed, same world (default 7)")
    parser.add_argument(
        "--start", type=iso_date, default=date(2026, 11, 1), help="first day (default 2026-11-01)"
    )
    parser.add_argument(
        "--defect-rate",
        type=float,
        default=0.0,
        help="share of contract-breaking rows to plant (default 0)",
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    if args.listings < 1 or args.days < 1:
        raise ValueError("--listings and --days must be at least 1")
    if not 0 <= args.defect_rate < 1:
        raise ValueError("--defect-rate must be in [0, 1)")
    out = args.out or ctx.conf.paths.landing
    simulate(
        ctx,
        out=out,
        listings=args.listings,
        days=args.days,
        seed=args.seed,
        start=args.start,
        defect_rate=args.defect_rate,
    )


def simulate(
    ctx: JobContext,
    *,
    out: str,
    listings: int,
    days: int,
    seed: int,
    start: date,
    defect_rate: float = 0.0,
) -> None:
    """Generate and write the world (the function the demo, tests and benchmarks call)."""
    spec = WorldSpec(
        listings, days, seed, start, dict(ctx.conf.conform.rates_to_usd), ctx.conf.simulator
    )
    log.info(
        "simulating %s listings, %s sellers (%s in %s rings) over %s days into %s",
        f"{listings:,}",
        f"{spec.sellers:,}",
        spec.ring_sellers,
        spec.rings,
        days,
        out,
    )
    world = generate(ctx.spark, spec)
    planted: list[DataFrame] = []
    for name, rows in world.tables.items():
        if defect_rate > 0:
            rows, table_defects = defects.plant(name, rows, seed=seed, rate=defect_rate)
            planted.append(table_defects)
        _write_table(rows, f"{out}/{name}", listings)
        log.info("wrote %s", name)
    world.truth_sellers.coalesce(1).write.mode("overwrite").parquet(f"{out}/_truth/sellers.parquet")
    world.truth_listings.repartition(max(1, listings // ROWS_PER_FILE)).write.mode(
        "overwrite"
    ).parquet(f"{out}/_truth/listings.parquet")
    if defect_rate > 0:
        file_defects = _plant_bad_files(ctx, out, start)
        truth = planted[0]
        for more in planted[1:]:
            truth = truth.unionByName(more)
        truth = truth.unionByName(
            ctx.spark.createDataFrame(file_defects, "table string, key string, kind string")
        )
        truth.coalesce(1).write.mode("overwrite").parquet(f"{out}/_truth/defects.parquet")
    log.info("world written to %s", out)


def _write_table(rows: DataFrame, path: str, listings: int) -> None:
    files_per_day = max(1, listings // ROWS_PER_FILE)
    (
        rows.withColumn("dt", F.date_format("dt", "yyyy-MM-dd"))
        .repartition(files_per_day, "dt")
        .write.mode("overwrite")
        .partitionBy("dt")
        .parquet(path)
    )


def _plant_bad_files(ctx: JobContext, out: str, start: date) -> list[tuple[str, str, str]]:
    """One unreadable listings file and one reviews file without its `rating` column, on day one."""
    if not is_local_path(out):
        raise ValueError("--defect-rate plants bad files on a local --out only")
    day = f"dt={start.isoformat()}"
    unreadable = Path(out) / "listings" / day / "part-99999-unreadable.parquet"
    unreadable.write_bytes(b"PAR1 this is not a parquet file \x00\x01\x02")
    reviews = ctx.spark.read.schema(RAW_TABLES["reviews"].schema).parquet(
        str(Path(out) / "reviews" / day)
    )
    missing = Path(out) / "_tmp_missing_column"
    (
        reviews.orderBy("review_id")
        .limit(3)
        .withColumn("review_id", F.concat(F.col("review_id"), F.lit("-F")))
        .drop("rating")
        .coalesce(1)
        .write.mode("overwrite")
        .parquet(str(missing))
    )
    target = Path(out) / "reviews" / day / "part-99998-missing-rating.parquet"
    shutil.move(str(next(missing.glob("part-*.parquet"))), target)
    shutil.rmtree(missing)
    return [
        ("listings", str(unreadable.relative_to(out)), "file:unreadable"),
        ("reviews", str(target.relative_to(out)), "file:missing_column:rating"),
    ]
