"""Point-in-time reads: each night pins the Delta versions it committed, and re-runs read those.

The silver tables hold the current state only: later nights update a listing, a seller's snapshot,
an identifier's `last_seen`. So conform, when it finishes night D, records in ops.night_versions
the version of every pinned table (catalog.PINNED) it committed, and score records the registered
model version it scored D with (`model:<mlflow.model_name>`, null when D had no champion). A step
of night D reads a pinned table as of D's version (`night_pins(lake, D).read(table)`,
read once per step): on a fresh night that is the
version conform just wrote, the latest; on a re-run of D after later nights it is what D saw, so
the re-run writes what the first run wrote.

A re-run of a past night (some later night is pinned) keeps the night's pins: conform's merges
of D's rows still reach the current state (a late file for D is carried forward), but D's own
reads stay those of its first run. A re-run of the latest night pins again (what it reads is the
latest anyway). Why pinning rather than validity intervals: README, "Backfills and point-in-time".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame

from jobs.runtime.catalog import NIGHT_VERSIONS, Table
from jobs.runtime.lakehouse import Lakehouse

log = logging.getLogger("radar.night_versions")
MODEL_PREFIX = "model:"


class NightTooOld(RuntimeError):
    """A re-run of a night older than `ops.backfill_days` before the latest night run: its
    pinned versions may be gone (VACUUM, log retention), so it cannot be rebuilt as it was."""


def model_pin(model_name: str) -> str:
    """The pin name of a registered model in ops.night_versions."""
    return f"{MODEL_PREFIX}{model_name}"


def pins(lake: Lakehouse, night: date) -> dict[str, int | None]:
    """Every pin of the night: table name (or `model:<name>`) -> version."""
    if not lake.exists(NIGHT_VERSIONS):
        return {}
    rows = lake.read_night(NIGHT_VERSIONS, night).select("table_name", "version").collect()
    return {r["table_name"]: r["version"] for r in rows}  # bounded: a few pins per night


def latest_night(lake: Lakehouse) -> date | None:
    """The newest night that pinned anything (the latest night run), None before any."""
    return lake.latest_night(NIGHT_VERSIONS)


def is_past_night(lake: Lakehouse, night: date) -> bool:
    """A later night than `night` has run (and pinned): re-running `night` is a backfill."""
    latest = latest_night(lake)
    return latest is not None and latest > night


def check_backfill_window(night: date, latest: date | None, backfill_days: int) -> None:
    """Refuse a night older than `backfill_days` before the latest night run: retention keeps
    the versions of those nights only."""
    if latest is not None and night < latest - timedelta(days=backfill_days):
        raise NightTooOld(
            f"night {night} is {(latest - night).days} days before the latest night run "
            f"({latest}); only the last {backfill_days} (conf: ops: backfill_days) can be re-run as they "
            "were"
        )


def pinned_retention_hours(vacuum_hours: int, backfill_days: int) -> int:
    """VACUUM's retention for a pinned table: the conf's, but never less than the
    `backfill_days` + 1 days a backfill of the oldest night it allows needs."""
    return max(vacuum_hours, (backfill_days + 1) * 24)


def pin_tables(lake: Lakehouse, night: date, tables: Iterable[Table], *, run_id: str) -> None:
    """After conform commits night D: pin each table's current version for D, unless D is a
    past night that pinned them already (its re-run keeps what it saw)."""
    tables = list(tables)
    if is_past_night(lake, night):
        held = pins(lake, night)
        if all(t.name in held for t in tables):
            log.info("night %s is a past night: its pinned versions stay %s", night, held)
            return
        log.warning(
            "night %s is a past night with no pin of %s: pinning today's versions",
            night,
            [t.name for t in tables if t.name not in held],
        )
        tables = [t for t in tables if t.name not in held]
    lake.pin(night, {t.name: lake.version(t) for t in tables}, run_id=run_id)


@dataclass(frozen=True)
class NightPins:
    """What night D pinned, read once by a step: its reads of pinned tables go through this."""

    lake: Lakehouse
    night: date
    versions: Mapping[str, int | None]

    def version(self, table: Table) -> int | None:
        """The version of `table` night D reads: the one D pinned, None (the latest) when D pinned
        none (a night run before pins existed, or a step run before conform)."""
        return self.versions.get(table.name)

    def read(self, table: Table) -> DataFrame:
        """A pinned (current-state) table as night D saw it."""
        return self.lake.read(table, version=self.version(table))

    def model(self, model_name: str) -> tuple[bool, str | None]:
        """(pinned, version): whether night D pinned a model version, and which (None: D had no
        champion)."""
        name = model_pin(model_name)
        if name not in self.versions:
            return False, None
        version = self.versions[name]
        return True, None if version is None else str(version)


def night_pins(lake: Lakehouse, night: date) -> NightPins:
    """Every pin of night D, read once (one small read of ops.night_versions)."""
    return NightPins(lake, night, pins(lake, night))


def pin_model(
    lake: Lakehouse, model_name: str, night: date, version: str | None, *, run_id: str
) -> None:
    """Record the model version that scored night D (None: no champion on D)."""
    pinned = None if version is None else int(version)
    lake.pin(night, {model_pin(model_name): pinned}, run_id=run_id)
