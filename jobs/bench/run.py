"""`make bench`: the first night at several sizes, side by side with single-node tools.

For each size N (listings; sellers, sessions, reviews, orders and notices scale with N as the
simulator scales them), in a work folder of its own, each command in a child process of its own:

1. `radar simulate` (N listings, --days days), timed, peak memory sampled (issue 3's figure);
2. `radar nightly --date D` (the world's first night, local[cores]), timed and sampled; the
   per-step seconds and rows are the night's own records in ops.run_log. A first night has no
   decided takedowns: train records why it did not train and score is skipped, as in production;
3. `radar score --date D` on the same night with the champion of a small labelled world (built
   once per work folder and reused: four nights of a small world with verdicts a day after each
   notice, the fewest nights the time-split training needs): scoring throughput;
4. `python -m jobs.bench.compare`: the night's inputs exported once to Parquet, then the seller
   aggregation in Spark vs DuckDB and connected components in Spark vs scipy, each checked to
   agree; it also reads the night's and the score run's records from ops.run_log;
5. every Spark child writes its event log to WORK/eventlogs/nSIZE (kept after the size's data is
   removed); jobs/bench/stages.py sums the night's stages per step (what limited each step).

Then it rewrites its section of BENCHMARKS.md and the plot next to it (see jobs/bench/markdown.py),
and exits 1 if any side-by-side check disagreed. Figures come only from this run's measurements.

    .venv/bin/python -m jobs.bench --sizes 1000000,2000000,5000000,10000000
    .venv/bin/python -m jobs.bench --sizes 20000,40000 --work /tmp/bench   # a quick try
    .venv/bin/python -m jobs.bench --render-only data/bench/results.json   # re-render a run
    .venv/bin/python -m jobs.bench ... --summary data/bench/summary.json   # headline figures
      (it also sums the event logs of sizes whose results do not have them yet, and saves them)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil
import yaml

from jobs.bench import markdown, stages
from jobs.bench.measure import Measured, run_measured, run_radar
from jobs.nightly import STEPS
from jobs.runtime.conf import PROJECT_ROOT, Conf, load_conf, overrides_under
from jobs.simulator.marketplace import WorldSpec

DEFAULT_SIZES = "1000000,2000000,5000000,10000000"
DEFAULT_START = date(2026, 11, 2)  # a Monday: the weekly maintenance is not due (6 nights in 7)


@dataclass(frozen=True)
class ModelWorld:
    """The labelled world the champion is trained on: the test suite's small world
    (tests/world.py), whose settings give enough decided notices by its fourth night (the
    time-split training needs notices of two days decided, each with features of the day before
    it, so the notices of days 2 and 3)."""

    listings: int = 6_000
    seed: int = 11
    nights: int = 4
    settings: tuple[str, ...] = (
        "simulator.max_verdict_delay_days=1",
        "simulator.report_rate=0.4",
        "training.min_labels=10",
        "training.min_eval_positives=5",
        "ingest.great_expectations=false",
    )


MODEL_WORLD = ModelWorld()

Result = dict[str, Any]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.bench",
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join((__doc__ or "").splitlines()[2:]),
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="listing counts, comma-separated")
    parser.add_argument("--days", type=int, default=1, help="days the simulator writes (1)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--cores", type=int, default=2, help="Spark runs on local[CORES] (2)")
    parser.add_argument(
        "--great-expectations",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="validate the night's raw tables with Great Expectations, as production does (on)",
    )
    parser.add_argument("--scoring", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--work", type=Path, default=Path("data/bench"), help="scratch folder")
    parser.add_argument("--keep", action="store_true", help="keep each size's data")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument(
        "--plot", default="docs/bench_seconds.png", help="PNG, relative to --out's folder"
    )
    parser.add_argument("--conf", default=None, help="conf file under the bench's overrides")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="conf override for every child, e.g. --set spark.driver_memory=8g",
    )
    parser.add_argument(
        "--render-only", type=Path, default=None, help="re-render BENCHMARKS.md from results.json"
    )
    parser.add_argument(
        "--summary",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the headline figures per size as JSON (markdown.summary)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.render_only:
        rendered: Result = json.loads(args.render_only.read_text())
        if add_missing_stages(rendered):
            args.render_only.write_text(json.dumps(rendered, indent=2, default=str))
        write_benchmarks(rendered, args.out, args.plot)
        write_summary(rendered, args.summary)
        return 0 if all_agree(rendered) else 1
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results_file = work / "results.json"
    sizes = [int(s) for s in args.sizes.split(",")]
    results: Result = {"run": run_metadata(args, argv), "sizes": []}
    model = build_model_world(work / "model_world", args) if args.scoring else None
    results["run"]["model_world"] = model or {
        "listings": 0,
        "nights": 0,
        "train_message": "scoring off (--no-scoring)",
    }
    for size in sizes:
        print(f"bench: {size:,} listings", flush=True)
        results["sizes"].append(bench_size(size, work / f"n{size}", args, model))
        results_file.write_text(json.dumps(results, indent=2, default=str))
    results["run"]["finished"] = _now()
    results["run"]["load_after"] = os.getloadavg()[0]
    results_file.write_text(json.dumps(results, indent=2, default=str))
    write_benchmarks(results, args.out, args.plot)
    write_summary(results, args.summary)
    print(f"bench: {args.out} written; figures in {results_file}", flush=True)
    return 0 if all_agree(results) else 1


def add_missing_stages(results: Result) -> bool:
    """Sum the event logs of sizes run before the bench read them (a run of older bench code
    whose logs are still in its work folder); True when anything was added."""
    added = False
    for size in results["sizes"]:
        logs = size.get("event_logs")
        if "stages" not in size and logs and Path(logs).is_dir():
            size["stages"] = stages.night_stages(Path(logs))
            added = True
    return added


def all_agree(results: Result) -> bool:
    return all(
        s["compare"]["aggregation"]["agree"] and s["compare"]["components"]["same"]
        for s in results["sizes"]
    )


def write_benchmarks(results: Result, out: Path, plot: str) -> None:
    """Rewrite the bench section of `out` (other sections kept) and the plot beside it."""
    if results["sizes"]:
        markdown.write_plot(results["sizes"], out.parent / plot)
    section = markdown.render_section(results, plot if results["sizes"] else None)
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    out.write_text(markdown.replace_section(text, section))


def write_summary(results: Result, path: Path | None) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(markdown.summary(results), indent=2) + "\n")


# ---------------------------------------------------------------- conf and the run's facts


def bench_conf(
    root: Path, args: argparse.Namespace, *extra: str, event_log: Path | None = None
) -> tuple[Path, Conf]:
    """A conf with every path under `root` and the bench's Spark, written as YAML for children.
    With `event_log`, every Spark application of the children writes its event log there
    (uncompressed JSON lines, read back by jobs/bench/stages.py)."""
    conf = load_conf(
        args.conf,
        [
            *overrides_under(root),
            f"spark.master=local[{args.cores}]",
            "spark.log_level=ERROR",
            f"ingest.great_expectations={str(args.great_expectations).lower()}",
            *extra,
            *args.overrides,
        ],
    )
    if event_log is not None:
        event_log.mkdir(parents=True, exist_ok=True)  # Spark refuses a missing log folder
        logging_on = {
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": event_log.as_uri(),
            "spark.eventLog.compress": "false",
        }
        spark = conf.spark.model_copy(update={"extra": {**conf.spark.extra, **logging_on}})
        conf = conf.model_copy(update={"spark": spark})
    root.mkdir(parents=True, exist_ok=True)
    path = root / "bench.yaml"
    path.write_text(yaml.safe_dump(conf.model_dump(mode="json"), sort_keys=False))
    return path, conf


def run_metadata(args: argparse.Namespace, argv: list[str]) -> Result:
    _, conf = bench_conf(args.work.resolve() / "probe", args)
    shutil.rmtree(args.work.resolve() / "probe", ignore_errors=True)
    night = args.start
    weekday = night.strftime("%A")
    due = night.weekday() == conf.scoring.maintenance_weekday
    return {
        "started": _now(),
        "load_before": os.getloadavg()[0],
        "command": ".venv/bin/python -m jobs.bench " + shlex.join(argv),
        "machine": machine(),
        "versions": versions(),
        "cores": args.cores,
        "master": conf.spark.master,
        "driver_memory": conf.spark.driver_memory,
        "shuffle_partitions": conf.spark.shuffle_partitions,
        "great_expectations": conf.ingest.great_expectations,
        "days": args.days,
        "seed": args.seed,
        "night": night.isoformat(),
        "weekday_note": (
            f"The night is a {weekday}: the weekly OPTIMIZE + VACUUM is due and included."
            if due
            else f"The night is a {weekday}: the weekly OPTIMIZE + VACUUM is not due (as on six "
            "nights in seven) and is not measured."
        ),
    }


def machine() -> Result:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": psutil.virtual_memory().total / 2**30,
        "os": platform.platform(),
    }


def versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for label, package in (
        ("Spark", "pyspark"),
        ("Delta", "delta-spark"),
        ("Great Expectations", "great-expectations"),
        ("DuckDB", "duckdb"),
        ("scipy", "scipy"),
    ):
        found[label] = version(package)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    lines = (java.stderr or java.stdout).splitlines()
    found["Java"] = lines[0].replace('"', "") if lines else "unknown"
    return found


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- ops.run_log records


def split_records(records: list[Result]) -> tuple[list[Result], Result | None]:
    """(the night's steps in order, the separate score run's record) from the night's whole-step
    records: the night is the run that ingested (latest record of each of its steps); the score
    run is the latest `score` record of any other run."""
    ingests = sorted((r for r in records if r["step"] == "ingest"), key=lambda r: r["started_at"])
    night_run = ingests[-1]["run_id"] if ingests else None
    latest: dict[str, Result] = {}
    score: Result | None = None
    for record in sorted(records, key=lambda r: r["started_at"]):
        if record["run_id"] == night_run:
            latest[record["step"]] = record
        elif record["step"] == "score":
            score = record
    keys = ("step", "status", "seconds", "rows_read", "rows_out", "rows_quarantined", "message")
    steps = [{k: latest[s][k] for k in keys} for s in STEPS if s in latest]
    return steps, None if score is None else {k: score[k] for k in keys}


# ---------------------------------------------------------------- the labelled world and a size


def build_model_world(root: Path, args: argparse.Namespace) -> Result:
    """Simulate and run the small labelled world once; its MLflow store holds the champion that
    scores every size. Reused when a previous bench built it with the same settings and the same
    pipeline code (a model trained by other code may not fit today's features)."""
    settings = {
        **asdict(MODEL_WORLD),
        "start": args.start.isoformat(),
        "overrides": args.overrides,
        "code": source_fingerprint(),
    }
    settings = json.loads(json.dumps(settings))  # tuples as lists, as ready.json holds them
    ready = root / "ready.json"
    if ready.exists() and json.loads(ready.read_text())["settings"] == settings:
        print(f"bench: reusing the labelled world in {root}", flush=True)
        return dict(json.loads(ready.read_text())["world"])
    shutil.rmtree(root, ignore_errors=True)
    conf_file, conf = bench_conf(root, args, *MODEL_WORLD.settings)
    last = args.start + timedelta(days=MODEL_WORLD.nights - 1)
    log = root / "log.txt"
    print(f"bench: building the labelled world in {root} (once)", flush=True)
    run_radar(
        ["simulate", "--conf", str(conf_file), "--out", conf.paths.landing,
         "--listings", str(MODEL_WORLD.listings), "--days", str(MODEL_WORLD.nights),
         "--seed", str(MODEL_WORLD.seed), "--start", args.start.isoformat()],
        log=log,
    )  # fmt: skip
    run_radar(
        ["nightly", "--conf", str(conf_file), "--from", args.start.isoformat(), "--to", last.isoformat()],
        log=log,
    )  # fmt: skip
    world = {
        "listings": MODEL_WORLD.listings,
        "nights": MODEL_WORLD.nights,
        "tracking_uri": conf.mlflow.tracking_uri,
        "artifact_root": conf.mlflow.artifact_root,
        "train_message": champion_message(conf),
    }
    ready.write_text(json.dumps({"settings": settings, "world": world}, indent=2))
    return world


def source_fingerprint() -> str:
    """A digest of the pipeline's code (the bench's own excluded)."""
    digest = hashlib.sha256()
    for folder in ("jobs", "features", "training", "data_contracts"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            if "bench" not in path.relative_to(PROJECT_ROOT).parts:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def champion_message(conf: Conf) -> str:
    """What the labelled world's MLflow registry holds: the champion's version, or that none."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(conf.mlflow.tracking_uri, registry_uri=conf.mlflow.tracking_uri)
    try:
        champion = client.get_model_version_by_alias(conf.mlflow.model_name, "champion")
    except MlflowException:
        return f"no `champion` version of {conf.mlflow.model_name}: scoring cannot be measured"
    return f"`champion` is version {champion.version} of {conf.mlflow.model_name}"


def bench_size(size: int, root: Path, args: argparse.Namespace, model: Result | None) -> Result:
    """Simulate, run the first night, compare and score one size; its figures as a dict."""
    shutil.rmtree(root, ignore_errors=True)
    event_log = root.parent / "eventlogs" / root.name  # kept after the size's data is removed
    shutil.rmtree(event_log, ignore_errors=True)
    conf_file, conf = bench_conf(root, args, event_log=event_log)
    night, log = args.start, root / "log.txt"
    spec = WorldSpec(size, args.days, args.seed, night, {}, conf.simulator)

    simulated = run_radar(
        ["simulate", "--conf", str(conf_file), "--out", conf.paths.landing, "--listings", str(size),
         "--days", str(args.days), "--seed", str(args.seed), "--start", night.isoformat()],
        log=log,
    )  # fmt: skip
    landing_bytes = sum(f.stat().st_size for f in Path(conf.paths.landing).rglob("*.parquet"))
    print(f"bench:   simulate {simulated.seconds:.1f} s", flush=True)

    nightly = run_radar(["nightly", "--conf", str(conf_file), "--date", night.isoformat()], log=log)
    print(f"bench:   night {nightly.seconds:.1f} s", flush=True)
    scored = score_size(conf_file, night, model, log) if model else None

    compare_out = root / "compare.json"
    run_measured(
        [sys.executable, "-m", "jobs.bench.compare", "--conf", str(conf_file),
         "--date", night.isoformat(), "--work", str(root / "compare"),
         "--out", str(compare_out), "--cores", str(args.cores)],
        log=log,
    )  # fmt: skip
    compare = json.loads(compare_out.read_text())
    steps, score_step = split_records(compare.pop("records"))
    print("bench:   side by side done", flush=True)
    logged = stages.night_stages(event_log)
    result = {
        "listings": size,
        "sellers": spec.sellers,
        "days": args.days,
        "landing_mib": round(landing_bytes / 2**20, 1),
        "event_logs": str(event_log),
        "simulate": simulated.as_dict(),
        "night": {**nightly.as_dict(), "steps": steps},
        "compare": compare,
        "score": None if scored is None else {"measured": scored.as_dict(), "step": score_step},
        "stages": logged,
    }
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return result


def score_size(conf_file: Path, night: date, model: Result, log: Path) -> Measured:
    """`radar score` on the size's night with the labelled world's champion (its figures are
    read back from ops.run_log with the night's)."""
    measured = run_radar(
        ["score", "--conf", str(conf_file), "--date", night.isoformat(),
         "--set", f"mlflow.tracking_uri={model['tracking_uri']}",
         "--set", f"mlflow.artifact_root={model['artifact_root']}"],
        log=log,
    )  # fmt: skip
    print(f"bench:   score {measured.seconds:.1f} s", flush=True)
    return measured


if __name__ == "__main__":
    sys.exit(main())
