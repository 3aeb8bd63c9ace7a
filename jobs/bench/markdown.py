"""Turn one bench run's measurements into BENCHMARKS.md's bench section and a PNG plot.

Pure functions of the results dict the bench writes (results.json), so the section can be
re-rendered from a finished run (`--render-only`) and tested on tiny hand-made results. Every
figure in the section comes from that dict: nothing is typed by hand.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from jobs.bench.stages import SKEW_MIN_TASK_SECONDS, SKEW_RATIO
from jobs.runtime.catalog import RUN_LOG

BEGIN = "<!-- bench:begin (written by `make bench`, jobs/bench; replaced by the next run) -->"
END = "<!-- bench:end -->"
TITLE = "## Nightly benchmark: the first night at scale, side by side with single-node tools"
OLD_TITLES = ("## Simulator: time and peak memory",)  # sections an earlier bench wrote

WINDOW_HOURS = 4
BILLION = 1_000_000_000
TRAIN = "train"
GREAT_EXPECTATIONS = "ingest:great_expectations"  # the part's job group

Result = dict[str, Any]


# ---------------------------------------------------------------- figures derived from a size


def night_seconds(size: Result) -> float:
    """The whole night excluding training: the sum of the night's step seconds except `train`."""
    return sum(s["seconds"] or 0.0 for s in size["night"]["steps"] if s["step"] != TRAIN)


def per_core(rows: float | None, seconds: float | None, cores: int) -> float | None:
    """Rows per second per core, or None when there is nothing to divide."""
    if not rows or not seconds:
        return None
    return rows / seconds / cores


def step_rows(step: Result) -> int | None:
    """The rows a step processed: what it read if it recorded that, else what it wrote."""
    read, out = step.get("rows_read"), step.get("rows_out")
    return read if read is not None else out


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def slope(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares (intercept, slope) of seconds on listings; through the origin when there is
    one point; None without points."""
    if not points:
        return None
    if len(points) == 1:
        x, y = points[0]
        return 0.0, y / x
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    b = sxy / sxx
    return mean_y - b * mean_x, b


def cluster_cores(seconds_per_listing: float, cores: int, *, efficiency: float = 1.0) -> int:
    """Cores to run a billion listings' night within the window, if the night's work per listing
    stays what it was here and splits evenly over cores (at `efficiency` of perfect scaling)."""
    core_seconds = BILLION * seconds_per_listing * cores
    return math.ceil(core_seconds / (WINDOW_HOURS * 3600) / efficiency)


def great_expectations_share(size: Result) -> float | None:
    """Great Expectations' share of ingest: the seconds its Spark stages ran (jobs tagged
    `ingest:great_expectations`, JobContext.part) over ingest's seconds; None when not logged."""
    part = ((size.get("stages") or {}).get("night") or {}).get(GREAT_EXPECTATIONS)
    ingest = _step_seconds(size, "ingest")
    return ratio(part["busy_seconds"], ingest) if part and not math.isnan(ingest) else None


def summary(results: Result) -> Result:
    """The run's headline figures per size, for machines (`--summary FILE`): listings/s/core of
    the night excluding train and of scoring, the side-by-side ratios and Great Expectations'
    share of ingest. The steady-state figures are None: this bench runs first nights only."""
    cores = results["run"]["cores"]
    sizes: Result = {}
    for size in results["sizes"]:
        agg, cc = size["compare"]["aggregation"], size["compare"]["components"]
        step = (size.get("score") or {}).get("step") or {}
        sizes[str(size["listings"])] = {
            "night_listings_per_s_per_core": per_core(size["listings"], night_seconds(size), cores),
            "steady_night_listings_per_s_per_core": None,
            "scoring_listings_per_s_per_core": per_core(
                step.get("rows_read"), step.get("seconds"), cores
            ),
            "seller_aggregation_vs_duckdb": ratio(agg["spark_seconds"], agg["duckdb_seconds"]),
            "components_vs_scipy": ratio(cc["spark_seconds"], cc["scipy_seconds"]),
            "steady_night_vs_second": None,
            "great_expectations_share_of_ingest": great_expectations_share(size),
        }
    return {"sizes": sizes}


# ---------------------------------------------------------------- formatting


def _n(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _bytes(value: int) -> str:
    return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def _gib(measured: Result | None) -> str:
    if not measured:
        return "n/a"
    return (
        f"{measured['peak_python_gib']:.2f} / {measured['peak_jvm_gib']:.2f} / "
        f"{measured['peak_tree_gib']:.2f}"
    )


def _cell(text: str | None, limit: int = 90) -> str:
    text = (text or "").replace("|", "/").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- the section


def render_section(results: Result, plot: str | None) -> str:
    """The whole bench section (between its markers) as markdown."""
    run, sizes = results["run"], results["sizes"]
    parts = [TITLE, "", BEGIN, "", *_header(run), ""]
    for size in sizes:
        parts += [*_size_block(size, run["cores"]), ""]
    if sizes:
        parts += [*_scaling(sizes, run["cores"], plot), ""]
        parts += [*_targets(sizes, run["cores"]), ""]
        parts += [*_where_time_goes(sizes, run["cores"]), ""]
        parts += [*_billion(sizes, run["cores"]), ""]
    parts.append(END)
    return "\n".join(parts) + "\n"


def _header(run: Result) -> list[str]:
    machine = run["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items())
    # A run stopped before its last size has no end: its finished sizes still render.
    finished = run.get("finished", "(stopped before its last size)")
    after = f"{run['load_after']:.1f}" if "load_after" in run else "n/a"
    return [
        f"Run {run['started']} to {finished} (UTC). Machine: {machine['cpu']}, "
        f"{machine['cores']} cores, {machine['ram_gib']:.0f} GiB RAM, {machine['os']}; "
        f"load average (1 min) {run['load_before']:.1f} at the start, {after} at "
        "the end (the machine is shared: other work ran alongside).",
        f"Versions: {versions}.",
        "",
        f"Command: `{run['command']}`",
        "",
        f"Each size: simulate {run['days']} day(s) of a world (seed {run['seed']}), then run its "
        f"first night {run['night']} as `python -m jobs nightly` in a child process with its own "
        f"lakehouse, metastore and MLflow store under the bench's work folder, "
        f"`spark.master={run['master']}`, driver memory {run['driver_memory']}, "
        f"{run['shuffle_partitions']} shuffle partitions, Great Expectations "
        f"**{'on' if run['great_expectations'] else 'off'}**. Per-step seconds and rows are the "
        f"night's own records in {RUN_LOG}; rows/s/core divides a step's rows (read, else "
        f"written) by its seconds and {run['cores']} cores, listings/s/core the size's listings "
        "(comparable across steps; shown for steps that recorded rows). Peak memory is resident memory "
        "sampled every 0.5 s, in GiB: Python driver / JVM (driver and local executors) / "
        "whole process tree (RSS summed).",
        "",
        "A first night has no decided takedowns, so `train` records why it did not train and "
        "`score` is skipped; the night's figure excludes `train`. "
        f"{run['weekday_note']} {_scoring_note(run['model_world'])} "
        "Side by side: the night's inputs are exported once to Parquet and each engine reads the "
        f"same files and writes its result; DuckDB runs with {run['cores']} threads, scipy on "
        "one; the results are compared seller by seller and vertex by vertex. (On a first night "
        "no takedown is decided yet, so the takedown columns are zero or empty on both sides.)",
    ]


def _scoring_note(model: Result) -> str:
    if not model["listings"]:
        return "Scoring was not measured (`--no-scoring`)."
    return (
        "Scoring throughput is measured on the same night by `python -m jobs score` with the "
        f"champion of a small labelled world trained once ({model['listings']:,} listings, "
        f"{model['nights']} nights, the fewest the time-split training needs; its registry: "
        f"{_cell(model['train_message'], 120)})."
    )


def _size_block(size: Result, cores: int) -> list[str]:
    n = size["listings"]
    sim, night = size["simulate"], size["night"]
    total = night_seconds(size)
    lines = [
        f"### {n:,} listings ({size['sellers']:,} sellers)",
        "",
        f"Simulate ({size['days']} day(s), every table): {_n(sim['seconds'], 1)} s, "
        f"{_n(n / sim['seconds'])} listings/s, {_n(size['landing_mib'], 1)} MiB of Parquet "
        f"written, peak memory {_gib(sim)} GiB.",
        "",
        "| step | status | seconds | rows | rows/s/core | listings/s/core | message |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for step in night["steps"]:
        rows, seconds = step_rows(step), step["seconds"]
        lines.append(
            f"| {step['step']} | {step['status']} | {_n(seconds, 1)} | {_n(rows)} | "
            f"{_n(per_core(rows, seconds, cores))} | "
            f"{_n(per_core(n if rows is not None else None, seconds, cores))} | "
            f"{_cell(step['message'])} |"
        )
    lines += [
        f"| **night excluding train** | | **{_n(total, 1)}** | | | "
        f"**{_n(per_core(n, total, cores))}** | |",
        "",
        f"Night process: {_n(night['seconds'], 1)} s wall (JVM start and run-log writes "
        f"included), peak memory {_gib(night)} GiB.",
        "",
        "| side by side | Spark s | reference | reference s | Spark / reference | agreement |",
        "|---|---:|---|---:|---:|---|",
        *_side_by_side(size, cores),
    ]
    return lines


def _side_by_side(size: Result, cores: int) -> list[str]:
    compare, rows = size["compare"], []
    agg = compare["aggregation"]
    totals = agg["totals"]
    agreed = (
        f"all {len(agg['mismatches'])} columns equal for {agg['sellers']:,} sellers"
        if agg["agree"]
        else "**DIFFERENT**: "
        + ", ".join(f"{c} {k}" for c, k in agg["mismatches"].items() if k)
        + f"; sellers only in Spark {agg['only_spark']}, only in DuckDB {agg['only_duckdb']}"
    )
    sums = "; ".join(
        f"Σ {c} {_n(totals['spark'].get(c))} vs {_n(totals['duckdb'].get(c))}"
        for c in totals["spark"]
        if c != "sellers"
    )
    rows.append(
        f"| seller aggregation (features/sellers.py) | {_n(agg['spark_seconds'], 1)} | "
        f"DuckDB SQL | {_n(agg['duckdb_seconds'], 1)} | "
        f"{_x(ratio(agg['spark_seconds'], agg['duckdb_seconds']))} | {agreed}; {sums} |"
    )
    cc = compare["components"]
    same = (
        f"same partition: {cc['vertices']:,} sellers, {cc['components']:,} components, "
        f"largest {cc['largest']:,}"
        if cc["same"]
        else f"**DIFFERENT**: {cc['detail']}"
    )
    rows.append(
        f"| connected components (features/graph.py), {cc['edges']:,} edges | "
        f"{_n(cc['spark_seconds'], 1)} | scipy csgraph | {_n(cc['scipy_seconds'], 2)} | "
        f"{_x(ratio(cc['spark_seconds'], cc['scipy_seconds']))} | {same} |"
    )
    score = size.get("score")
    step = (score or {}).get("step") or {}
    scored = step.get("rows_read")
    if scored and step.get("seconds"):
        rows.append(
            f"| scoring (`radar score`: model, reasons, 3 gold tables) | "
            f"{_n(step['seconds'], 1)} | | | | {scored:,} listings, "
            f"**{_n(per_core(scored, step['seconds'], cores))} listings/s/core**; "
            f"peak memory {_gib(score.get('measured') if score else None)} GiB |"
        )
    else:
        reason = step.get("message") or (score or {}).get("reason") or "not run"
        rows.append(f"| scoring | n/a | | | | not measured: {_cell(reason)} |")
    return rows


def _scaling(sizes: list[Result], cores: int, plot: str | None) -> list[str]:
    lines = [
        "### Scaling",
        "",
        "| listings | simulate s | night excl. train s | listings/s/core | aggregation "
        "Spark/DuckDB | components Spark/scipy | scoring listings/s/core | night peak memory GiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size in sizes:
        total, agg = night_seconds(size), size["compare"]["aggregation"]
        cc = size["compare"]["components"]
        step = (size.get("score") or {}).get("step") or {}
        lines.append(
            f"| {size['listings']:,} | {_n(size['simulate']['seconds'], 1)} | {_n(total, 1)} | "
            f"{_n(per_core(size['listings'], total, cores))} | "
            f"{_x(ratio(agg['spark_seconds'], agg['duckdb_seconds']))} | "
            f"{_x(ratio(cc['spark_seconds'], cc['scipy_seconds']))} | "
            f"{_n(per_core(step.get('rows_read'), step.get('seconds'), cores))} | "
            f"{_gib(size['night'])} |"
        )
    lines.append("")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        lines.append(
            f"Scaling: seconds({large['listings']:,}) / seconds({small['listings']:,}) = "
            f"{_n(ratio(night_seconds(large), night_seconds(small)), 2)} for the night excluding "
            f"train and {_n(ratio(large['simulate']['seconds'], small['simulate']['seconds']), 2)}"
            f" for the simulator, against a size ratio of "
            f"{large['listings'] / small['listings']:.2f} (linear scaling: equal)."
        )
    if plot:
        lines += ["", f"![seconds against listings]({plot})"]
    return lines


def _targets(sizes: list[Result], cores: int) -> list[str]:
    """Issue 9's targets, each with what this run reached at its largest size."""
    small, large = sizes[0], sizes[-1]
    total = night_seconds(large)
    rate = per_core(large["listings"], total, cores) or 0.0
    agg, cc = large["compare"]["aggregation"], large["compare"]["components"]
    agg_ratio = ratio(agg["spark_seconds"], agg["duckdb_seconds"])
    cc_ratio = ratio(cc["spark_seconds"], cc["scipy_seconds"])
    size_ratio = large["listings"] / small["listings"]
    scale = ratio(total, night_seconds(small))
    rows = [
        (
            "night excluding train >= 10,000 listings/s/core",
            f"{rate:,.0f}",
            rate >= 10_000,
        ),
        (
            "seconds(largest)/seconds(smallest) <= 1.1 x size ratio",
            f"{_n(scale, 2)} for {size_ratio:.2f}" if len(sizes) > 1 else "one size only",
            scale is not None and len(sizes) > 1 and scale <= 1.1 * size_ratio,
        ),
        ("Spark seller aggregation within 3x DuckDB", _x(agg_ratio), (agg_ratio or 99) <= 3),
        ("Spark connected components within 20x scipy", _x(cc_ratio), (cc_ratio or 99) <= 20),
        (
            "driver memory flat: Python driver peak at the largest size <= 1.25 x the smallest",
            f"{_gib(small['night'])} to {_gib(large['night'])}",
            large["night"]["peak_python_gib"] <= 1.25 * small["night"]["peak_python_gib"],
        ),
    ]
    return [
        f"### Targets (issue 9), at {large['listings']:,} listings",
        "",
        "| target | reached | met |",
        "|---|---|---|",
        *[f"| {t} | {r} | {'yes' if ok else 'no'} |" for t, r, ok in rows],
        "",
        "Memory is judged on the Python driver's peak (what the driver collects); the JVM's peak "
        "follows its heap setting and Spark's caching, shown for reading.",
    ]


def _where_time_goes(sizes: list[Result], cores: int) -> list[str]:
    """The night's steps as Spark's event log saw them (jobs/bench/stages.py): how long stages
    ran, how busy the cores were, spills, shuffle and the longest stage, at the largest size
    logged; and the same night-wide at every size."""
    logged = [s for s in sizes if (s.get("stages") or {}).get("night")]
    if not logged:
        return []
    large = logged[-1]
    seconds = {s["step"]: s["seconds"] or 0.0 for s in large["night"]["steps"]}
    lines = [
        f"### Where the time goes: Spark's event log, {large['listings']:,} listings",
        "",
        "Every step tags its Spark jobs with its name (the job group), so the event log "
        "the bench keeps splits by step. *Stages running*: seconds during which at least one "
        "stage ran; *driver alone*: the step's seconds minus that (planning, Delta commits and "
        "log reads, Python); *cores busy*: task seconds over the step's seconds times "
        f"{cores} cores; *1-task stages*: seconds during which a stage of one task ran, leaving "
        "the other core idle. CPU and GC are shares of task run time (CPU well below 100% is "
        "waiting on disk, shuffle fetches or locks).",
        "",
        "| step | seconds | stages | tasks | stages running s | driver alone s | 1-task stages s "
        "| task s | cores busy | CPU | GC | spilled to disk | shuffle written | longest stage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    night = large["stages"]["night"]
    for step in [s for s in seconds if s in night]:
        facts, wall = night[step], seconds[step]
        longest = facts["longest"][0] if facts["longest"] else None
        lines.append(
            f"| {step} | {_n(wall, 1)} | {facts['stages']:,} | {facts['tasks']:,} | "
            f"{_n(facts['busy_seconds'], 1)} | {_n(max(wall - facts['busy_seconds'], 0.0), 1)} | "
            f"{_n(facts['single_task_seconds'], 1)} | {_n(facts['task_seconds'], 1)} | "
            f"{_pct(ratio(facts['task_seconds'], wall * cores))} | "
            f"{_pct(ratio(facts['cpu_seconds'], facts['task_seconds']))} | "
            f"{_pct(ratio(facts['gc_seconds'], facts['task_seconds']))} | "
            f"{_bytes(facts['spill_disk_bytes'])} | {_bytes(facts['shuffle_write_bytes'])} | "
            f"{_stage(longest)} |"
        )
    share = great_expectations_share(large)
    if share is not None:
        part = night[GREAT_EXPECTATIONS]
        lines += [
            "",
            f"Great Expectations (ingest's jobs tagged `{GREAT_EXPECTATIONS}`): its stages ran "
            f"{_n(part['busy_seconds'], 1)} s ({part['stages']:,} stages, "
            f"{_n(part['task_seconds'], 1)} task-s), **{_pct(share)} of ingest's "
            f"{_n(seconds['ingest'], 1)} s**; its Python time between them is not in the log.",
        ]
    skewed = [
        (step, stage)
        for step, facts in night.items()
        if ":" not in step  # a part's stages are its step's
        for stage in facts["skewed"]
    ]
    lines += [
        "",
        f"Skew (every stage whose longest task ran at least {SKEW_MIN_TASK_SECONDS:.0f} s and "
        f"{SKEW_RATIO:.0f} times its median): "
        + ("; ".join(f"{step}: {_stage(stage)}" for step, stage in skewed) if skewed else "none."),
        "",
        "| listings | night steps s | stages running s | driver alone | cores busy | spilled "
        "to disk | shuffle written | input read (files and cached blocks) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in logged:
        # The night's steps that both ops.run_log and the event log know (jobs started outside
        # any step, such as the session's start, have no step seconds to divide by).
        wall_of = {s["step"]: s["seconds"] or 0.0 for s in size["night"]["steps"]}
        steps = {k: f for k, f in size["stages"]["night"].items() if k in wall_of}
        wall = sum(wall_of[k] for k in steps)
        busy = sum(f["busy_seconds"] for f in steps.values())
        lines.append(
            f"| {size['listings']:,} | {_n(wall, 1)} | {_n(busy, 1)} | "
            f"{_pct(ratio(max(wall - busy, 0.0), wall))} | "
            f"{_pct(ratio(sum(f['task_seconds'] for f in steps.values()), wall * cores))} | "
            f"{_bytes(sum(f['spill_disk_bytes'] for f in steps.values()))} | "
            f"{_bytes(sum(f['shuffle_write_bytes'] for f in steps.values()))} | "
            f"{_bytes(sum(f['input_bytes'] for f in steps.values()))} |"
        )
    return lines


def _stage(stage: Result | None) -> str:
    if not stage:
        return ""
    return (
        f"{stage['kind']} (stage {stage['stage']}) {stage['seconds']:.1f} s, {stage['tasks']} "
        f"tasks, longest task {stage['longest_task_seconds']:.1f} s, median "
        f"{stage['median_task_seconds']:.1f} s"
    )


def _billion(sizes: list[Result], cores: int) -> list[str]:
    points = [(float(s["listings"]), night_seconds(s)) for s in sizes]
    fit = slope(points)
    lines = [f"### A billion listings in a {WINDOW_HOURS}-hour nightly window", ""]
    if fit is None or fit[1] <= 0:
        return [
            *lines,
            "No positive slope was measured (sizes too small or too noisy): no estimate.",
        ]
    intercept, per_listing = fit
    how = (
        "least-squares line through the nights excluding train"
        if len(points) > 1
        else "the one size's seconds per listing (through the origin)"
    )
    ideal, half = (
        cluster_cores(per_listing, cores),
        cluster_cores(per_listing, cores, efficiency=0.5),
    )
    return [
        *lines,
        f"Slope ({how}): {per_listing * 1e6:,.1f} s per million listings on {cores} cores, "
        f"intercept {intercept:,.1f} s (fixed cost per night), i.e. "
        f"{per_listing * cores * 1e6:,.1f} core-seconds per million listings. A billion listings "
        f"need {BILLION * per_listing * cores:,.0f} core-seconds; in {WINDOW_HOURS} h "
        f"({WINDOW_HOURS * 3600:,} s) that is **{ideal:,} cores** at perfect scaling, "
        f"{half:,} cores at 50% scaling efficiency.",
        "",
        "Assumptions: the night's work per listing is what this run measured (the simulator's "
        "proportions of sellers, sessions, reviews and notices per listing; one day of exports); "
        "it divides evenly over cores (linear per-core scaling: no skew the salting and AQE do not "
        "absorb, shuffle and storage bandwidth grow with the cluster); a cluster core is as fast as "
        "one of this machine's; the fixed cost per night is negligible at that size; training "
        "(weekly, on decided notices only) and the weekly OPTIMIZE/VACUUM are outside the window. "
        f"The slope comes from a shared {cores}-core machine at up to "
        f"{sizes[-1]['listings']:,} listings: a billion is an extrapolation over "
        f"{math.log10(BILLION / sizes[-1]['listings']):.1f} orders of magnitude, so read the "
        "figure as the order of the cluster, not its size.",
    ]


# ---------------------------------------------------------------- BENCHMARKS.md and the plot


def _step_seconds(size: Result, step: str) -> float:
    found = [s["seconds"] for s in size["night"]["steps"] if s["step"] == step]
    return found[0] if found and found[0] else float("nan")


def replace_section(text: str, section: str) -> str:
    """`text` with the bench section replaced (or appended), every other section kept."""
    pattern = re.compile(
        rf"{re.escape(TITLE)}\n\n{re.escape(BEGIN)}.*?{re.escape(END)}\n?", re.DOTALL
    )
    if pattern.search(text):
        return pattern.sub(lambda _: section, text, count=1)
    for old in OLD_TITLES:
        if old in text:
            head, _, tail = text.partition(old)
            rest = tail.split("\n## ", 1)
            return head + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    return text.rstrip("\n") + "\n\n" + section


def write_plot(sizes: list[Result], path: Path) -> None:
    """Seconds against listings (log-log): the night and its steps on the left, the side-by-side
    pairs on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [s["listings"] for s in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.plot(x, [night_seconds(s) for s in sizes], "o-", lw=2.5, label="night excl. train")
    left.plot(x, [s["simulate"]["seconds"] for s in sizes], "s--", label="simulate")
    # Steps that did their work on a first night (recorded rows); skipped ones are not drawn.
    steps = [st["step"] for st in sizes[0]["night"]["steps"] if step_rows(st) is not None]
    for step in steps:
        left.plot(x, [_step_seconds(s, step) for s in sizes], ".:", label=step)
    scoring = [((s.get("score") or {}).get("step") or {}).get("seconds") for s in sizes]
    if any(scoring):
        left.plot(x, [y or float("nan") for y in scoring], "^:", label="score (champion run)")
    left.set_title("night (first night, per step)")
    pairs = (
        ("aggregation", "spark_seconds", "Spark seller aggregation"),
        ("aggregation", "duckdb_seconds", "DuckDB seller aggregation"),
        ("components", "spark_seconds", "Spark connected components"),
        ("components", "scipy_seconds", "scipy connected components"),
    )
    for part, key, label in pairs:
        right.plot(x, [max(s["compare"][part][key], 1e-3) for s in sizes], "o-", label=label)
    right.set_title("side by side on the same Parquet inputs")
    for axes in (left, right):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("listings")
        axes.set_ylabel("seconds")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
