"""Write a synthetic marketplace's landing zone exactly as DATA_CONTRACT.md lays it out.

Writes <out>/<table>/dt=YYYY-MM-DD/part-*.parquet for every raw table and day, and the ground
truth under <out>/_truth/ (sellers, listings and, with --defect-rate, the planted defects). Every
value is a hash of the seed and the row's key, so the same arguments give the same files, at any
scale and on any cluster. Each table folder is replaced whole, so a re-run is idempotent.

The knobs are conf `simulator.*`; `--scenario NAME` applies a named set of them and `--randomise N`
draws every one from its range (jobs/simulator/scenarios.py). Either way the knobs the world was
built from go to <out>/_truth/world.json with its seed, so that a run can be understood later.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.runtime.arguments import iso_date
from jobs.runtime.conf import SimulatorConf, is_local_path
from jobs.runtime.context import JobContext
from jobs.simulator import defects
from jobs.simulator.marketplace import WorldSpec, generate
from jobs.simulator.scenarios import SCENARIOS, randomised, scenario

HELP = "write a synthetic marketplace (raw landing files + _truth/) for N listings over D days"
log = logging.getLogger("radar.simulate")

# Target rows per output file, so that a billion listings land in files of a sensible size.
ROWS_PER_FILE = 2_000_000
# The world's seed when neither --seed nor --randomise gives one: the demo world.
DEFAULT_SEED = 7


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
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"same seed, same world (default: the --randomise seed, else {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--start", type=iso_date, default=date(2026, 11, 1), help="first day (default 2026-11-01)"
    )
    parser.add_argument(
        "--defect-rate",
        type=float,
        default=0.0,
        help="share of contract-breaking rows to plant (default 0)",
    )
    worlds = parser.add_mutually_exclusive_group()
    worlds.add_argument(
        "--scenario",
        default=None,
        metavar="NAME",
        help=f"a named set of simulator knobs: {', '.join(SCENARIOS)}",
    )
    worlds.add_argument(
        "--randomise",
        type=int,
        default=None,
        metavar="SEED",
        help="draw every simulator knob from its documented range with this seed",
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    if args.listings < 1 or args.days < 1:
        raise ValueError("--listings and --days must be at least 1")
    if not 0 <= args.defect_rate < 1:
        raise ValueError("--defect-rate must be in [0, 1)")
    out = args.out or ctx.conf.paths.landing
    seed = args.seed if args.seed is not None else args.randomise
    simulate(
        ctx,
        out=out,
        listings=args.listings,
        days=args.days,
        seed=DEFAULT_SEED if seed is None else seed,
        start=args.start,
        defect_rate=args.defect_rate,
        scenario_name=args.scenario,
        randomise=args.randomise,
    )


def world_knobs(
    base: SimulatorConf, *, scenario_name: str | None = None, randomise: int | None = None
) -> SimulatorConf:
    """The simulator conf a world is built from: conf, a named scenario over it, or randomised."""
    if scenario_name is not None and randomise is not None:
        raise ValueError("--scenario and --randomise are alternatives: give one")
    if scenario_name is not None:
        return scenario(base, scenario_name)
    if randomise is not None:
        return randomised(base, randomise)
    return base


def simulate(
    ctx: JobContext,
    *,
    out: str,
    listings: int,
    days: int,
    seed: int,
    start: date,
    defect_rate: float = 0.0,
    scenario_name: str | None = None,
    randomise: int | None = None,
) -> None:
    """Generate and write the world (the function the demo, tests and benchmarks call)."""
    knobs = world_knobs(ctx.conf.simulator, scenario_name=scenario_name, randomise=randomise)
    spec = WorldSpec(listings, days, seed, start, dict(ctx.conf.conform.rates_to_usd), knobs)
    log.info(
        "simulating %s listings, %s sellers (%s in %s rings) over %s days into %s",
        f"{listings:,}",
        f"{spec.sellers:,}",
        spec.ring_sellers,
        spec.rings,
        days,
        out,
    )
    if scenario_name is not None or randomise is not None:
        origin = f"scenario {scenario_name}" if scenario_name else f"--randomise {randomise}"
        log.info("knobs from %s, world seed %s (see _truth/world.json)", origin, seed)
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
    world_json = f"{out}/_truth/world.json"
    if scenario_name is None and randomise is None:
        fs, stale = _hadoop_fs(ctx, world_json)  # left by an earlier scenario run into this folder
        fs.delete(stale, False)
    else:
        description = {
            "seed": seed,
            "scenario": scenario_name,
            "randomise": randomise,
            "listings": listings,
            "days": days,
            "start": start.isoformat(),
            "simulator": knobs.model_dump(),
        }
        _write_text(ctx, world_json, json.dumps(description, indent=2) + "\n")
    log.info("world written to %s", out)


def _hadoop_fs(ctx: JobContext, path: str) -> tuple[Any, Any]:
    """Hadoop's FileSystem of `path` and its Path: a local folder, HDFS or an object store alike."""
    jvm = ctx.spark.sparkContext._jvm
    assert jvm is not None
    target = jvm.org.apache.hadoop.fs.Path(path)
    return target.getFileSystem(ctx.spark.sparkContext._jsc.hadoopConfiguration()), target


def _write_text(ctx: JobContext, path: str, text: str) -> None:
    """A small file (world.json), written wherever the landing zone is."""
    fs, target = _hadoop_fs(ctx, path)
    stream = fs.create(target, True)
    try:
        stream.write(text.encode())
    finally:
        stream.close()


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
