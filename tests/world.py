"""A small simulated world run through four whole nights by the `radar` command line.

Two event partitions are taken out of the landing before the nights run (`MISSING`): the first
night's reviews (a table that does not exist yet on its first night) and the third night's
orders. The contract says a missing partition of an event table means no events that day, so
the nights run whole; tests/test_night.py checks every planted defect that remains.

The nights run in a child process with a metastore of their own, as a scheduler would run them.
When it exits, the lakehouse, the MLflow store and the Derby metastore are free for the other
processes the tests start on the same world: notebook kernels, the Thrift JDBC server, non-Spark
Delta readers. (Embedded Derby admits one JVM at a time, and the suite's own JVM keeps the
session metastore open.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from jobs.runtime.conf import PROJECT_ROOT, Conf
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse
from tests.conftest import conf_for

START = date(2026, 11, 1)
# Four nights: an example takes the features of the day before its notice, so the first night
# with a day of notices to train on and a later one to evaluate on is the fourth
# (training/examples.py). Nights 1-3 have no champion and are not scored.
NIGHTS = [START + timedelta(days=n) for n in range(4)]
LAST = NIGHTS[-1]
LISTINGS, SEED, DEFECT_RATE = 6_000, 11, 0.003

SETTINGS = (
    "ingest.max_reject_share=0.5",  # a 13-row brand registry with one planted defect is 8% bad
    "simulator.max_verdict_delay_days=1",
    "simulator.report_rate=0.4",
    "training.min_labels=10",
    "training.min_eval_positives=5",  # a small world has a few dozen confirmed listings a day
    "scoring.flag_budget=50",
    "scoring.maintenance_weekday=3",  # not one of the world's nights: OPTIMIZE/VACUUM are slow
    "simulator.rings_per_factory=2",  # pairs of rings ship from one origin: an upstream source
)
# Event partitions the landing lacks: (table, night).
MISSING = frozenset({("reviews", NIGHTS[0]), ("orders", NIGHTS[2])})


@dataclass(frozen=True)
class World:
    root: Path
    conf_file: Path  # the world's conf for another process (its own metastore under root)
    conf: Conf  # the same conf for the test process (the suite's session metastore)

    @property
    def landing(self) -> Path:
        return Path(self.conf.paths.landing)

    @property
    def ctx(self) -> JobContext:
        """A context for re-running steps in the test process (Great Expectations off)."""
        return JobContext(self.conf)

    @property
    def lake(self) -> Lakehouse:
        return self.ctx.lakehouse


def build_world(root: Path, session_metastore: Path) -> World:
    """Simulate the world and run its nights with `python -m jobs`; raise with the log on failure."""
    external = conf_for(root, *SETTINGS, f"paths.metastore={root / 'metastore'}")
    conf_file = root / "world.yaml.building"  # renamed to world.yaml once every night is done
    conf_file.write_text(yaml.safe_dump(external.model_dump(mode="json"), sort_keys=False))
    log = root / "nights.log"
    quick = ("--set", "ingest.great_expectations=false")
    landing = Path(external.paths.landing)
    radar(conf_file, "simulate", "--out", str(landing), "--listings", str(LISTINGS),
          "--days", str(len(NIGHTS)), "--seed", str(SEED), "--start", START.isoformat(),
          "--defect-rate", str(DEFECT_RATE), log=log)  # fmt: skip
    for table, night in sorted(MISSING):
        shutil.rmtree(landing / table / f"dt={night}")
    # Great Expectations documents the first night; the others skip it to keep the suite short.
    radar(conf_file, "nightly", "--date", NIGHTS[0].isoformat(), log=log)
    radar(conf_file, "nightly", "--from", NIGHTS[1].isoformat(), "--to", LAST.isoformat(), *quick,
          log=log)  # fmt: skip
    conf_file.rename(root / "world.yaml")
    return reuse_world(root, session_metastore)


def reuse_world(root: Path, session_metastore: Path) -> World:
    """The world built under `root` earlier (its world.yaml is written once its nights are done)."""
    conf = conf_for(
        root, *SETTINGS, f"paths.metastore={session_metastore}", "ingest.great_expectations=false"
    )
    return World(root, root / "world.yaml", conf)


def radar(conf_file: Path, *args: str, log: Path) -> None:
    """Run one `radar` sub-command with the world's conf, appending its output to `log`."""
    command = [sys.executable, "-m", "jobs", args[0], "--conf", str(conf_file), *args[1:]]
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise RuntimeError(f"radar {args[0]} failed ({done.returncode}); log {log}:\n{tail}")
