"""One writer per lakehouse: a second night started on it is refused at once, in one line.

Two nights writing one lakehouse would interleave their MERGEs and replaceWheres and leave a
night half of each; before this lock the second one died after thousands of lines of Derby and
Hive stack traces. Every command that writes tables takes the lock for its whole run; readers
(`radar sql`, `radar evaluate`, notebooks) never do. The lock is a file in the lakehouse folder,
created atomically (O_EXCL), holding who holds it: run id, command, night, pid, host, since.

A lock left by a crashed run is stale: its pid is gone on this host. A new run takes it over with
one WARN line. A lock held from another host cannot be checked from here; the message says how
to remove it by hand. On object storage (s3://, abfss://...) there is no atomic create: the lock
is not taken there, and the cluster's scheduler must keep one night per lakehouse (Delta's own
optimistic concurrency still refuses conflicting commits).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("radar.lock")

LOCK_FILE = "_radar_writer.lock"
EXIT_BUSY = 3  # the exit status of a command refused because another run writes the lakehouse


@dataclass(frozen=True)
class Holder:
    """Who writes the lakehouse: what the refusal names."""

    run_id: str
    command: str
    night: str  # the night(s) the command runs, as given on its command line
    pid: int
    host: str
    since: str  # ISO time, UTC

    def describe(self) -> str:
        return (
            f"radar {self.command} {self.night} (run {self.run_id}, pid {self.pid} on "
            f"{self.host}, since {self.since})"
        )


class LakehouseBusy(RuntimeError):
    """Another run holds the lakehouse's writer lock."""


def holder_for(run_id: str, command: str, night: str) -> Holder:
    """This process as a holder, now."""
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Holder(run_id, command, night, os.getpid(), socket.gethostname(), since)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _read(path: Path) -> Holder | None:
    try:
        return Holder(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None  # vanished, or not a lock we wrote: treated as stale below


@contextmanager
def writer_lock(lakehouse: str, holder: Holder) -> Iterator[None]:
    """Hold the lakehouse's writer lock for the body; raise LakehouseBusy if another live run
    holds it. Released on exit, whatever happened in the body (a crash leaves it only if the
    process itself is killed: then it is stale and the next run takes it over)."""
    if "://" in lakehouse and not lakehouse.startswith("file://"):
        yield  # object storage: no atomic create (see the module docstring)
        return
    root = Path(lakehouse.removeprefix("file://"))
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    for _ in range(2):  # at most one stale lock to take over
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            other = _read(path)
            if other is not None and (other.host != holder.host or _alive(other.pid)):
                raise LakehouseBusy(
                    f"the lakehouse {root} is being written by {other.describe()}: wait for it "
                    f"to finish, or if that process is gone remove {path}"
                ) from None
            log.warning(
                "taking over a stale writer lock: %s",
                other.describe() if other else f"{path} (unreadable)",
            )
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as out:
            json.dump(asdict(holder), out)
        break
    else:
        raise LakehouseBusy(f"could not take the writer lock {path}: another run took it first")
    try:
        yield
    finally:
        mine = _read(path)
        if mine is not None and mine.pid == holder.pid and mine.run_id == holder.run_id:
            path.unlink(missing_ok=True)
