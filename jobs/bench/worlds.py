"""Detection quality on several worlds, the way it is trained now beside the old way.

`python -m jobs.bench.worlds --worlds randomise:1101,randomise:2202,seed:7 --work DIR` simulates
each world into its own folder (landing, lakehouse, MLflow store), runs its nights with the
default conf in child processes (`python -m jobs`, as a scheduler would), then, on the night
before the last, trains three models at the same cutoff under three registered names: the default
(learning from the population, the candidate chosen by `training.default_candidate`), the same
with the old choice among candidates (`training.default_candidate=null`, best point estimate) and
the old way (`training.population=false`, notices only), scores the last night with each, and measures each against the world's truth
(`radar evaluate`). Results go to `DIR/<world>/<model>.json` and one Markdown table on stdout.

Held-out worlds are named in BENCHMARKS.md before they are run; this tool reports, it does not
tune: no conf key is chosen here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jobs.runtime.conf import PROJECT_ROOT, overrides_under

# The default; the same with the old choice among candidates (best point estimate); the old way.
MODELS = {
    "population": "training.population=true",
    "population_point_estimate": "training.default_candidate=null",
    "notices_only": "training.population=false",
}


def _json(stdout: str) -> Any:
    """The JSON document a `radar` command prints last (its log lines go to stdout before it)."""
    start = 0 if stdout.startswith("{") else stdout.find("\n{") + 1
    if start == 0 and not stdout.startswith("{"):
        raise ValueError(f"no JSON document in the output: {stdout[-500:]!r}")
    return json.loads(stdout[start:])


def _radar(log: Path, settings: list[str], *args: str) -> str:
    command = [sys.executable, "-m", "jobs", *args]
    for setting in settings:
        command += ["--set", setting]
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    with log.open("a") as out:
        out.write(done.stdout[-20000:])
        out.write(done.stderr[-20000:])
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}); see {log}")
    return done.stdout


def run_world(
    world: str, *, work: Path, listings: int, days: int, start: date, extra: list[str]
) -> dict[str, Any]:
    kind, _, value = world.partition(":")
    root = work / world.replace(":", "-")
    root.mkdir(parents=True, exist_ok=True)
    log = root / "run.log"
    settings = [*overrides_under(root), "ingest.great_expectations=false", *extra]
    last, cutoff = start + timedelta(days=days - 1), start + timedelta(days=days - 2)
    flag = {"randomise": "--randomise", "seed": "--seed", "scenario": "--scenario"}[kind]
    simulate = ["simulate", "--out", str(root / "landing"), "--listings", str(listings)]
    if not (root / "landing" / "_truth" / "listings.parquet").exists():  # a re-run resumes
        _radar(log, settings, *simulate, "--days", str(days), "--start", str(start), flag, value)
    _radar(log, settings, "nightly", "--from", str(start), "--to", str(last))
    results: dict[str, Any] = {"world": world, "night": str(last)}
    results["nightly"] = _json(
        _radar(log, settings, "evaluate", "--truth", str(root / "landing"), "--date", str(last))
    )
    for name, setting in MODELS.items():
        named = [*settings, setting, f"mlflow.model_name={name}"]
        trained = _json(_radar(log, named, "train", "--date", str(cutoff)))
        results[f"{name}_training"] = trained  # version, alias, reason, every candidate's metrics
        if trained["version"] is None:
            results[name] = {"skipped": trained["reason"]}
            continue
        _radar(log, named, "score", "--date", str(last), "--model-version", trained["version"])
        results[name] = _json(
            _radar(log, named, "evaluate", "--truth", str(root / "landing"), "--date", str(last))
        )
        (root / f"{name}.json").write_text(json.dumps(results[name], indent=2, sort_keys=True))
    (root / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True, default=str))
    return results


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def table(results: list[dict[str, Any]]) -> str:
    """One row per world and model: the issue's measures, last night, against the truth."""
    lines = [
        "| world | model | candidate | PR-AUC | top-1% precision | flagged | queue precision | "
        "new-ring-account fakes caught | ring precision / recall / F1 |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        for name in MODELS:
            report = result.get(name, {})
            model, link = report.get("model", {}), report.get("linkage", {})
            candidate = result.get(f"{name}_training", {}).get("candidate") or "none"
            if "champion" not in model:
                lines.append(
                    f"| {result['world']} | {name} | {candidate} | "
                    f"{report.get('skipped', 'n/a')} |||||"
                )
                continue
            lines.append(
                f"| {result['world']} | {name} | {candidate} | "
                f"{_fmt(model['champion'].get('pr_auc'))} | "
                f"{_fmt(model['champion'].get('precision_at_top_share'))} | {model['flagged']} | "
                f"{_fmt(model['flagged_precision'])} | "
                f"{_fmt(model['new_ring_account_fakes_caught'])} "
                f"(of {model['new_ring_account_fakes']}) | "
                f"{_fmt(link.get('pairwise_precision'))} / {_fmt(link.get('pairwise_recall'))} / "
                f"{_fmt(link.get('pairwise_f1'))} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.worlds", description=__doc__)
    parser.add_argument("--worlds", required=True, help="e.g. randomise:1101,seed:7,scenario:X")
    parser.add_argument("--work", type=Path, required=True, help="folder for every world")
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--set", action="append", default=[], help="extra conf key=value")
    args = parser.parse_args(argv)
    results = []
    for world in args.worlds.split(","):
        print(f"world {world} ...", file=sys.stderr, flush=True)
        result = run_world(
            world,
            work=args.work,
            listings=args.listings,
            days=args.days,
            start=args.start,
            extra=args.set,
        )
        results.append(result)
        (args.work / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
        print(table([result]), file=sys.stderr, flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
