"""Run whole nights: ingest, conform, linkage, features, train (when due), score, maintenance, report.

Every step records itself in ops.run_log; a night that failed resumes from the first step that did
not succeed (`--force` runs every step again). `--from D1 --to D2` backfills the nights in date
order. Training runs when no champion exists or on the schedule of `training.every_days`, on
fresh nights only: a re-run of a past night reads the versions the night pinned and scores with
the champion pinned for it (jobs/runtime/night_versions.py); a night older than
`ops.backfill_days` before the latest night run is refused.
(Linkage runs before features so that the ring features are joined into the night's features.)
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from datetime import date, timedelta

from pyspark.sql import functions as F

from jobs.runtime import night_versions, runlog
from jobs.runtime.arguments import iso_date
from jobs.runtime.catalog import RUN_LOG
from jobs.runtime.context import JobContext

HELP = "run one night (or a range of nights) end to end, resuming a failed night"
log = logging.getLogger("radar.nightly")

STEPS = ("ingest", "conform", "linkage", "features", "train", "score", "maintenance", "report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=iso_date, help="the night to run (YYYY-MM-DD)")
    parser.add_argument("--from", dest="start", type=iso_date, help="first night of a backfill")
    parser.add_argument(
        "--to", dest="end", type=iso_date, help="last night of a backfill (inclusive)"
    )
    parser.add_argument(
        "--force", action="store_true", help="run every step again, even those that succeeded"
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    if args.date and (args.start or args.end):
        raise ValueError("give either --date or --from/--to")
    if args.date:
        nights = [args.date]
    elif args.start and args.end:
        if args.end < args.start:
            raise ValueError(f"--to {args.end} is before --from {args.start}")
        nights = [args.start + timedelta(days=n) for n in range((args.end - args.start).days + 1)]
    else:
        raise ValueError("give --date D, or --from D1 --to D2")
    # A night older than ops.backfill_days before the latest one may have lost its pinned
    # versions to retention: refused before any step runs.
    latest = night_versions.latest_night(ctx.lakehouse)
    night_versions.check_backfill_window(nights[0], latest, ctx.conf.ops.backfill_days)
    for night in nights:
        run_night(ctx, night, force=args.force)


def run_night(ctx: JobContext, night: date, *, force: bool = False) -> None:
    done = set() if force else runlog.completed_steps(ctx.lakehouse, night)
    for number, step in enumerate(STEPS, start=1):
        if step in done:
            log.info("[%d/%d] %s %s: already done, skipped", number, len(STEPS), step, night)
            continue
        log.info("[%d/%d] %s %s", number, len(STEPS), step, night)
        run_step(ctx, step, night)
    log.info("night %s complete", night)


def _ingest(ctx: JobContext, night: date) -> None:
    from jobs.ingest import ingest

    ingest(ctx, night)


def _conform(ctx: JobContext, night: date) -> None:
    from jobs.conform import conform

    conform(ctx, night)


def _linkage(ctx: JobContext, night: date) -> None:
    from jobs.linkage import link

    link(ctx, night, hub_cap=ctx.conf.linkage.hub_degree_cap)


def _features(ctx: JobContext, night: date) -> None:
    from jobs.features import build_features

    build_features(ctx, night)


def _train(ctx: JobContext, night: date) -> None:
    from jobs.train import has_champion, train
    from training.promotion import training_due

    if night_versions.is_past_night(ctx.lakehouse, night):
        with ctx.step("train", night) as entry:
            entry.message = (
                "not due: a re-run of a past night (later nights ran): training happens on "
                "fresh nights only, and score uses the champion pinned for the night"
            )
        return
    last = _last_trained(ctx, night)
    if training_due(
        night, last, has_champion=has_champion(ctx), every_days=ctx.conf.training.every_days
    ):
        train(ctx, night)
    else:
        with ctx.step("train", night) as entry:
            entry.message = (
                f"not due: last trained {last}, every {ctx.conf.training.every_days} days"
            )


def _last_trained(ctx: JobContext, night: date) -> date | None:
    if not ctx.lakehouse.exists(RUN_LOG):
        return None
    row = (
        ctx.lakehouse.read_history(RUN_LOG, before=night)
        .where((F.col("step") == "train") & (F.col("status") == "succeeded"))
        .where(F.col("message").startswith("version"))
        .agg(F.max("run_date"))
        .first()
    )
    return row[0] if row else None


def _score(ctx: JobContext, night: date) -> None:
    from jobs.score import score_night

    score_night(ctx, night)


def _maintenance(ctx: JobContext, night: date) -> None:
    from jobs.maintenance import maintain

    weekday = ctx.conf.scoring.maintenance_weekday
    if night.weekday() == weekday:
        maintain(ctx, night)
    else:
        with ctx.step("maintenance", night) as entry:
            entry.message = f"not due: OPTIMIZE and VACUUM run on weekday {weekday} (0 = Monday)"


def _report(ctx: JobContext, night: date) -> None:
    from jobs.report import write_report

    write_report(ctx, night)


_STEP_FUNCTIONS: dict[str, Callable[[JobContext, date], None]] = {
    "ingest": _ingest,
    "conform": _conform,
    "linkage": _linkage,
    "features": _features,
    "train": _train,
    "score": _score,
    "maintenance": _maintenance,
    "report": _report,
}


def run_step(ctx: JobContext, step: str, night: date) -> None:
    """One step of the night on its own (the scheduler's tasks), without the run log's skip."""
    if step not in _STEP_FUNCTIONS:
        raise ValueError(f"unknown step {step!r}; the steps are {', '.join(STEPS)}")
    _STEP_FUNCTIONS[step](ctx, night)
