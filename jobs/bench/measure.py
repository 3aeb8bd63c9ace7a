"""Run one `radar` command in a child process and measure its wall time and peak memory.

Each measured command gets its own process (a fresh JVM), as a scheduler would start it, so one
size's caches and heap do not flatter the next. A sampler thread reads the resident memory of the
process tree every half second and keeps three peaks: the Python driver (the `python -m jobs`
process), the JVM it starts (in local mode the Spark driver and its executors in one JVM), and the
whole tree (Python, JVM and any Python workers; RSS summed, so shared pages count more than once).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from jobs.runtime.conf import PROJECT_ROOT

SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class Measured:
    """Wall seconds and peak resident memory (bytes) of one child command."""

    seconds: float
    peak_python: int
    peak_jvm: int
    peak_tree: int

    def as_dict(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 3),
            "peak_python_gib": round(self.peak_python / 2**30, 3),
            "peak_jvm_gib": round(self.peak_jvm / 2**30, 3),
            "peak_tree_gib": round(self.peak_tree / 2**30, 3),
        }


class _PeakSampler(threading.Thread):
    """Polls a process tree until told to stop; keeps the peaks of its parts."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.done = threading.Event()
        self.peak_python = self.peak_jvm = self.peak_tree = 0

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(SAMPLE_SECONDS)

    def sample(self) -> None:
        try:
            python = self.root.memory_info().rss
            children = self.root.children(recursive=True)
        except psutil.Error:
            return
        jvm = tree = 0
        for child in children:
            try:
                rss = child.memory_info().rss
                is_java = child.name() == "java"
            except psutil.Error:  # a worker that exited between the listing and the read
                continue
            tree += rss
            jvm += rss if is_java else 0
        self.peak_python = max(self.peak_python, python)
        self.peak_jvm = max(self.peak_jvm, jvm)
        self.peak_tree = max(self.peak_tree, python + tree)


def run_radar(args: list[str], *, log: Path) -> Measured:
    """Run `python -m jobs ARGS` from the checkout, appending its output to `log`; raise with the
    log's tail when it fails (a benchmark of a failed night would be a wrong figure)."""
    command = [sys.executable, "-m", "jobs", *args]
    return run_measured(command, log=log)


def run_measured(command: list[str], *, log: Path) -> Measured:
    """Run any command from the checkout and measure it (see the module docstring)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
        sampler = _PeakSampler(process.pid)
        sampler.start()
        returncode = process.wait()
        seconds = time.monotonic() - started
        sampler.done.set()
        sampler.join()
    if returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"{' '.join(command)} failed ({returncode}); log {log}:\n{tail}")
    return Measured(seconds, sampler.peak_python, sampler.peak_jvm, sampler.peak_tree)
