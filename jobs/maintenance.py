"""Table maintenance after a night: OPTIMIZE (compact small files) and VACUUM (retention in conf).

Safe to re-run: both are idempotent for a given table state.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext

HELP = "OPTIMIZE and VACUUM the tables the night wrote"
log = logging.getLogger("radar.maintenance")
# Table -> columns its files are Z-ordered by (what analysts filter on besides the date
# partition), or () for plain compaction.
MAINTAINED: dict[str, tuple[str, ...]] = {
    "silver.listings_current": (),
    "silver.sellers_current": (),
    "silver.seller_identifiers": (),
    "features.seller_features": (),
    "features.listing_features": (),
    "graph.linkage_edges": (),
    "graph.account_clusters": (),
    "gold.listing_scores": ("brand", "category"),
    "gold.seller_risk": (),
    "gold.ring_leads": (),
    "gold.source_leads": (),
    "gold.daily_kpis": (),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night, for the run log")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    maintain(ctx, args.date)


def maintain(ctx: JobContext, night: date) -> None:
    with ctx.step("maintenance", night) as entry:
        done = [t for t in MAINTAINED if ctx.lakehouse.exists(t)]
        for table in done:
            ctx.lakehouse.optimize_and_vacuum(
                table, ctx.conf.scoring.vacuum_retention_hours, zorder_by=MAINTAINED[table]
            )
        entry.message = f"optimized and vacuumed {len(done)} tables (retention {ctx.conf.scoring.vacuum_retention_hours} h)"
        log.info(entry.message)
