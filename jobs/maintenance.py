"""Table maintenance after a night: OPTIMIZE (compact small files) and VACUUM (retention in conf).

Safe to re-run: both are idempotent for a given table state.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

from jobs.runtime import catalog
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
        for table in done:
            ctx.lakehouse.optimize_and_vacuum(
                table, ctx.conf.scoring.vacuum_retention_hours, zorder_by=table.zorder_by or ()
            )
        entry.message = f"optimized and vacuumed {len(done)} tables (retention {ctx.conf.scoring.vacuum_retention_hours} h)"
        log.info(entry.message)
