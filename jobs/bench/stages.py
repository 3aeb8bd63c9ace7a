"""What each step of a benchmarked night spent its time on, read from Spark's event log.

The bench runs its children with `spark.eventLog.enabled` (jobs/bench/run.py) and every step tags
its Spark jobs with its name as the job group (jobs/runtime/context.py). From the log's job starts (job ->
group and stages), stage completions (wall interval, task count, call stack) and task ends (run
time, CPU, GC, spills, shuffle, input) this module sums, per step:

- how long at least one stage was running, and so how long the driver worked alone (planning,
  Delta log commits, Python): the step's seconds minus that;
- task seconds against the cores the step held: how busy the cores were;
- CPU over run time (low means waiting on I/O or locks), GC, spills, shuffle and input bytes;
- the longest stages, and every skewed stage: one whose longest task ran at least
  SKEW_MIN_TASK_SECONDS and SKEW_RATIO times its median task.

These are the figures the Spark UI shows stage by stage, summed where the question is "what
limits this step". The log is read line by line, skipping the events not needed (plan updates
are most of its bytes), so a 10M-listing night's log is read in a few seconds on the bench host.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKEW_MIN_TASK_SECONDS = 5.0  # a shorter straggler costs little, whatever its ratio
SKEW_RATIO = 2.0

_WANTED = (
    '{"Event":"SparkListenerJobStart"',
    '{"Event":"SparkListenerStageCompleted"',
    '{"Event":"SparkListenerTaskEnd"',
)

# What a stage does, from its call stack (a PySpark stage's own name is the JVM call site, such
# as "save at NativeMethodAccessorImpl.java:0", which says little). First match wins.
_KINDS = (
    ("MergeIntoCommand", "Delta MERGE"),
    ("OptimizeExecutor", "Delta OPTIMIZE"),
    ("VacuumCommand", "Delta VACUUM"),
    ("Checkpoints", "Delta checkpoint"),
    ("Snapshot", "Delta log replay"),
    ("graphframes", "GraphFrames"),
    ("TransactionalWrite", "Delta write"),
    ("withThreadLocalCaptured", "AQE query stage"),
)


@dataclass
class Stage:
    """One completed stage attempt and the sums over its tasks."""

    stage_id: int
    group: str | None
    kind: str
    started_ms: int
    finished_ms: int
    tasks: int
    task_ms: list[int] = field(default_factory=list)
    cpu_ns: int = 0
    gc_ms: int = 0
    spill_memory: int = 0
    spill_disk: int = 0
    shuffle_read: int = 0
    shuffle_write: int = 0
    input_bytes: int = 0

    @property
    def seconds(self) -> float:
        return (self.finished_ms - self.started_ms) / 1000

    @property
    def longest_task_seconds(self) -> float:
        return max(self.task_ms, default=0) / 1000

    @property
    def median_task_seconds(self) -> float:
        return statistics.median(self.task_ms) / 1000 if self.task_ms else 0.0

    @property
    def skew(self) -> float:
        """Longest task over the median task (1.0 when even or too few tasks to say)."""
        median = self.median_task_seconds
        if len(self.task_ms) < 4 or median <= 0:
            return 1.0
        return self.longest_task_seconds / median


def stage_kind(name: str, details: str) -> str:
    """A short label of what a stage does (see _KINDS), else the action of its call site."""
    for marker, kind in _KINDS:
        if marker in details:
            return kind
    return name.split(" at ", 1)[0]


def event_files(folder: Path) -> Iterator[Path]:
    """The event files of one application: a rolling log's folder (Spark's default since 4.0:
    eventlog_v2_APP/events_N_APP in order) or a single file."""
    if folder.is_file():
        yield folder
        return
    numbered = [p for p in folder.glob("events_*") if not p.name.endswith(".crc")]
    yield from sorted(numbered, key=lambda p: int(p.name.split("_")[1]))


def applications(log_dir: Path) -> list[Path]:
    """The applications logged under `log_dir` (one folder or file each), oldest first."""
    return sorted(
        (p for p in log_dir.iterdir() if not p.name.startswith(".") and p.suffix != ".crc"),
        key=lambda p: p.name.rsplit("-", 1)[-1],
    )


def read_stages(app: Path) -> list[Stage]:
    """Every completed stage attempt of one application, with its tasks' sums."""
    group_of: dict[int, str | None] = {}
    tasks: dict[tuple[int, int], list[dict[str, Any]]] = {}
    stages: list[Stage] = []
    for path in event_files(app):
        with path.open() as lines:
            for line in lines:
                if not line.startswith(_WANTED):
                    continue
                event = json.loads(line)
                kind = event["Event"]
                if kind == "SparkListenerJobStart":
                    group = (event.get("Properties") or {}).get("spark.jobGroup.id")
                    for stage_id in event["Stage IDs"]:
                        group_of.setdefault(stage_id, group)
                elif kind == "SparkListenerTaskEnd":
                    key = (event["Stage ID"], event["Stage Attempt ID"])
                    tasks.setdefault(key, []).append(event.get("Task Metrics") or {})
                else:
                    info = event["Stage Info"]
                    if "Completion Time" not in info or "Submission Time" not in info:
                        continue
                    stage = Stage(
                        stage_id=info["Stage ID"],
                        group=group_of.get(info["Stage ID"]),
                        kind=stage_kind(info["Stage Name"], info.get("Details", "")),
                        started_ms=info["Submission Time"],
                        finished_ms=info["Completion Time"],
                        tasks=info["Number of Tasks"],
                    )
                    for metrics in tasks.pop((info["Stage ID"], info["Stage Attempt ID"]), []):
                        _add_task(stage, metrics)
                    stages.append(stage)
    return stages


def _add_task(stage: Stage, metrics: dict[str, Any]) -> None:
    shuffle_read = metrics.get("Shuffle Read Metrics") or {}
    stage.task_ms.append(metrics.get("Executor Run Time", 0))
    stage.cpu_ns += metrics.get("Executor CPU Time", 0)
    stage.gc_ms += metrics.get("JVM GC Time", 0)
    stage.spill_memory += metrics.get("Memory Bytes Spilled", 0)
    stage.spill_disk += metrics.get("Disk Bytes Spilled", 0)
    stage.shuffle_read += shuffle_read.get("Remote Bytes Read", 0) + shuffle_read.get(
        "Local Bytes Read", 0
    )
    stage.shuffle_write += (metrics.get("Shuffle Write Metrics") or {}).get(
        "Shuffle Bytes Written", 0
    )
    stage.input_bytes += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)


def busy_seconds(stages: list[Stage]) -> float:
    """Seconds during which at least one of `stages` was running (overlaps counted once)."""
    total = 0
    end = None
    for stage in sorted(stages, key=lambda s: s.started_ms):
        if end is None or stage.started_ms > end:
            total += stage.finished_ms - stage.started_ms
            end = stage.finished_ms
        elif stage.finished_ms > end:
            total += stage.finished_ms - end
            end = stage.finished_ms
    return total / 1000


def summarise(stages: list[Stage], top: int = 3) -> dict[str, Any]:
    """The sums of `stages` (one step's) as plain JSON-ready figures."""
    task_ms = [ms for s in stages for ms in s.task_ms]
    run_s = sum(task_ms) / 1000
    longest = sorted(stages, key=lambda s: s.seconds, reverse=True)[:top]
    skewed = sorted(
        (
            s
            for s in stages
            if s.skew >= SKEW_RATIO and s.longest_task_seconds >= SKEW_MIN_TASK_SECONDS
        ),
        key=lambda s: s.skew,
        reverse=True,
    )
    return {
        "stages": len(stages),
        "tasks": len(task_ms),
        "busy_seconds": round(busy_seconds(stages), 3),
        "single_task_seconds": round(busy_seconds([s for s in stages if s.tasks == 1]), 3),
        "task_seconds": round(run_s, 3),
        "cpu_seconds": round(sum(s.cpu_ns for s in stages) / 1e9, 3),
        "gc_seconds": round(sum(s.gc_ms for s in stages) / 1000, 3),
        "spill_memory_bytes": sum(s.spill_memory for s in stages),
        "spill_disk_bytes": sum(s.spill_disk for s in stages),
        "shuffle_read_bytes": sum(s.shuffle_read for s in stages),
        "shuffle_write_bytes": sum(s.shuffle_write for s in stages),
        "input_bytes": sum(s.input_bytes for s in stages),
        "longest": [_stage_facts(s) for s in longest],
        "skewed": [_stage_facts(s) for s in skewed],
    }


def _stage_facts(stage: Stage) -> dict[str, Any]:
    return {
        "stage": stage.stage_id,
        "kind": stage.kind,
        "seconds": round(stage.seconds, 3),
        "tasks": stage.tasks,
        "longest_task_seconds": round(stage.longest_task_seconds, 3),
        "median_task_seconds": round(stage.median_task_seconds, 3),
        "skew": round(stage.skew, 2),
    }


def by_step(stages: list[Stage]) -> dict[str, dict[str, Any]]:
    """`summarise` for each job group (a night's steps; "(none)" for untagged jobs). A part of a
    step (group `step:part`, JobContext.part) is summed on its own and within its step."""
    groups: dict[str, list[Stage]] = {}
    for stage in stages:
        group = stage.group or "(none)"
        groups.setdefault(group, []).append(stage)
        step, _, part = group.partition(":")
        if part:
            groups.setdefault(step, []).append(stage)
    return {group: summarise(members) for group, members in groups.items()}


def night_stages(log_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Per-step sums of the night's application and of the separate score run, found among the
    size's applications by their job groups (the night is the one that ingested)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for app in applications(log_dir):
        steps = by_step(read_stages(app))
        if "ingest" in steps:
            found["night"] = steps
        elif set(steps) - {"(none)"} == {"score"}:
            found["score"] = steps
    return found
