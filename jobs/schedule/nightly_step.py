"""`python -m jobs.schedule.nightly_step STEP --conf FILE --date D`: a step as `radar nightly` runs it.

A scheduler that runs one task per step must decide what `radar nightly` decides. For six steps
the step's own sub-command does exactly what nightly does (`radar ingest --date D`, ...). Two do
not: `radar train` trains whatever the night and `radar maintenance` runs OPTIMIZE and VACUUM
whatever the weekday, while nightly trains only when training is due (no champion yet, or
`training.every_days` since the last training) and maintains only on
`scoring.maintenance_weekday`, recording "not due" in ops.run_log otherwise (the report shows that
record). This command runs nightly's own step function for those two, so the decision and its
run-log record are nightly's, under the same writer lock, exit statuses and one-line errors as
`radar` (jobs/cli.py).
"""

from __future__ import annotations

import argparse
import sys

from jobs import nightly
from jobs.cli import run_guarded
from jobs.runtime.arguments import add_night_argument

# The steps of jobs/nightly.py whose `radar` sub-command runs whatever the night, where nightly
# first decides whether the night has that work (the Airflow DAG runs these through this module).
DECIDED_BY_NIGHTLY = ("train", "maintenance")
PROG = "python -m jobs.schedule.nightly_step"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("step", choices=DECIDED_BY_NIGHTLY, help="the step of the night")
    parser.add_argument("--conf", metavar="FILE", default=None, help="conf file over base.yaml")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one conf key (repeatable)",
    )
    add_night_argument(parser, "the night")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one step of one night; exit 0, 2 (conf), 3 (lakehouse busy) or 1, as `radar` does."""
    args = build_parser().parse_args(argv)
    return run_guarded(
        f"{PROG} {args.step}",
        args.conf,
        args.overrides,
        # nightly's own step function: the same decision and run-log record as `radar nightly`.
        lambda ctx: nightly.run_step(ctx, args.step, args.date),
        writer=(args.step, f"--date {args.date}"),
    )


if __name__ == "__main__":
    sys.exit(main())
