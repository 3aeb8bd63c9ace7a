"""Benchmarks: wall time and peak memory of the simulator at several sizes, into BENCHMARKS.md.

Each size runs `radar simulate` in its own process (a fresh JVM), while a sampler records the
resident memory of the whole process tree (Python driver + JVM) every half second. Figures are
written as a table with the machine, versions, date and the command to reproduce them.

    .venv/bin/python -m jobs.bench --sizes 1000000,10000000 [--days 3] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import psutil

SECTION = "## Simulator: time and peak memory"


def measure(command: list[str], cwd: Path) -> tuple[float, int]:
    """Run a command; (wall seconds, peak RSS in bytes of it and all its children)."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr.decode()[-2000:]}")
    return time.monotonic() - started, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000000,10000000", help="listing counts, comma-separated"
    )
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--out", default="BENCHMARKS.md")
    parser.add_argument("--conf", default=None, help="ignored: the benchmark uses conf/local.yaml")
    args = parser.parse_args(argv)
    radar = str(Path(sys.executable).parent / "radar")
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, peak = measure(
                [
                    radar,
                    "simulate",
                    "--out",
                    f"{tmp}/landing",
                    "--listings",
                    str(size),
                    "--days",
                    str(args.days),
                    "--set",
                    "spark.log_level=ERROR",
                    "--set",
                    f"paths.metastore={tmp}/ms",
                ],
                Path.cwd(),
            )
            written = sum(
                f.stat().st_size for f in Path(tmp, "landing").rglob("*.parquet") if f.is_file()
            )
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append((size, seconds, peak, written))
        print(
            f"{size:>12,} listings: {seconds:8.1f} s, peak RSS {peak / 2**30:.2f} GiB, {written / 2**20:.0f} MiB written"
        )
    table = "\n".join(
        f"| {size:,} | {args.days} | {seconds:.1f} | {size / seconds:,.0f} | {peak / 2**30:.2f} | {written / 2**20:,.0f} |"
        for size, seconds, peak, written in rows
    )
    section = (
        f"{SECTION}\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"Spark {version('pyspark')}, local[*]; {datetime.now():%Y-%m-%d}.\n"
        f"Command: `.venv/bin/python -m jobs.bench --sizes {args.sizes} --days {args.days}`\n\n"
        "| listings | days | seconds | listings/s | peak RSS of driver + JVM (GiB) | Parquet written (MiB) |\n"
        "|---:|---:|---:|---:|---:|---:|\n"
        f"{table}\n"
    )
    out = Path(args.out)
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    if SECTION in text:
        head, _, tail = text.partition(SECTION)
        rest = tail.split("\n## ", 1)
        text = head + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
