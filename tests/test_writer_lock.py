"""One writer per lakehouse: a second night is refused in one line; a crashed night's lock is stale."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest

from jobs.cli import _nights
from jobs.runtime.conf import PROJECT_ROOT, overrides_under
from jobs.runtime.writer_lock import LOCK_FILE, Holder, LakehouseBusy, holder_for, writer_lock


def _finished_pid() -> int:
    """The pid of a process that has exited (so no live process holds it, barring reuse)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def test_a_second_writer_is_refused_naming_the_running_night(tmp_path: Path) -> None:
    first = holder_for("run-one", "nightly", "--date 2026-11-04")
    with writer_lock(str(tmp_path), first):
        held = json.loads((tmp_path / LOCK_FILE).read_text())
        assert held == asdict(first)
        second = holder_for("run-two", "nightly", "--date 2026-11-05")
        with pytest.raises(LakehouseBusy) as refused, writer_lock(str(tmp_path), second):
            pass
        message = str(refused.value)
        assert "\n" not in message
        for part in ("radar nightly --date 2026-11-04", "run run-one", f"pid {first.pid}",
                     f"since {first.since}", str(tmp_path / LOCK_FILE)):  # fmt: skip
            assert part in message, part
    # Released when the first run ends: the next one gets it.
    assert not (tmp_path / LOCK_FILE).exists()
    with writer_lock(str(tmp_path), holder_for("run-three", "score", "--date 2026-11-05")):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["run_id"] == "run-three"


def test_a_lock_left_by_a_crashed_run_is_stale_and_taken_over(tmp_path: Path) -> None:
    me = holder_for("new-run", "nightly", "--date 2026-11-05")
    crashed = Holder("old-run", "nightly", "--date 2026-11-04", _finished_pid(), me.host, "then")
    (tmp_path / LOCK_FILE).write_text(json.dumps(asdict(crashed)))
    with writer_lock(str(tmp_path), me):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["run_id"] == "new-run"
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_lock_held_from_another_host_is_never_taken_over(tmp_path: Path) -> None:
    elsewhere = Holder("run-x", "nightly", "--date 2026-11-04", 1, "another-host", "then")
    (tmp_path / LOCK_FILE).write_text(json.dumps(asdict(elsewhere)))
    with (
        pytest.raises(LakehouseBusy, match="pid 1 on another-host"),
        writer_lock(str(tmp_path), holder_for("run-y", "nightly", "")),
    ):
        pass
    assert json.loads((tmp_path / LOCK_FILE).read_text())["run_id"] == "run-x"


def test_radar_refuses_a_second_night_with_exit_3_and_one_line(tmp_path: Path) -> None:
    """The command line checks the lock before it starts Spark: a quick, one-line refusal."""
    lakehouse = tmp_path / "lakehouse"
    lakehouse.mkdir()
    running = holder_for("run-live", "nightly", "--date 2026-11-04")  # this test process: alive
    (lakehouse / LOCK_FILE).write_text(json.dumps(asdict(running)))
    command = [sys.executable, "-m", "jobs", "nightly", "--date", "2026-11-05"]
    for setting in overrides_under(tmp_path):
        command += ["--set", setting]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("radar nightly: refused: the lakehouse ")
    assert "radar nightly --date 2026-11-04 (run run-live" in lines[0]
    # The refused run left the running night's lock alone.
    assert json.loads((lakehouse / LOCK_FILE).read_text())["run_id"] == "run-live"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"date": date(2026, 11, 3)}, "--date 2026-11-03"),
        (
            {"start": date(2026, 11, 1), "end": date(2026, 11, 4)},
            "--from 2026-11-01 --to 2026-11-04",
        ),
        # `radar demo --start D --days N` (it has no --to): the lock names the nights it runs
        ({"start": date(2026, 11, 1), "days": 4}, "--from 2026-11-01 --to 2026-11-04"),
        ({}, ""),
    ],
)
def test_the_lock_names_the_nights_of_every_writing_command(
    given: dict[str, object], named: str
) -> None:
    assert _nights(argparse.Namespace(**given)) == named
