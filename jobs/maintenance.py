"""Table maintenance after a night: OPTIMIZE (compact small files) and VACUUM (retention in conf).

The pinned (current-state) tables keep more: their files and log stay `ops.backfill_days` + 1
days at least (VACUUM's retention and their Delta retention properties), so a backfill within
that window can read the versions its night pinned (jobs/runtime/night_versions.py).
Safe to re-run: both are idempotent for a given table state.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

from jobs.runtime import catalog, night_versions
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext

HELP = "OPTIMIZE and VACUUM the tables the night wrote"
log = logging.getLogger("radar.maintenance")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night, for the run log")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    maintain(ctx, args.date)


def maintain(ctx: JobContext, night: date) -> None:
    with ctx.step("maintenance", night) as entry:
        # The catalog says which tables are maintained, and the columns their files are
        # Z-ordered by (what analysts filter on besides the night), () for plain compaction.
        done = [t for t in catalog.maintained() if ctx.lakehouse.exists(t)]
        hours = ctx.conf.scoring.vacuum_retention_hours
        backfill_days = ctx.conf.ops.backfill_days
        pinned_hours = night_versions.pinned_retention_hours(hours, backfill_days)
        for table in done:
            if table.pinned:
                retention = catalog.retention_properties(backfill_days)
                ctx.lakehouse.ensure_properties(table, retention)
            ctx.lakehouse.optimize_and_vacuum(
                table, pinned_hours if table.pinned else hours, zorder_by=table.zorder_by or ()
            )
        entry.message = (
            f"optimized and vacuumed {len(done)} tables (retention {hours} h; "
            f"{pinned_hours} h for the pinned {', '.join(t.name for t in catalog.PINNED)})"
        )
        log.info(entry.message)
