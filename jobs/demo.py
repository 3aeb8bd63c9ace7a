"""The demo: simulate a small marketplace into paths.landing and run every night of it end to end.

Prints where the tables, the reports and the MLflow UI are at the end.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date, timedelta

from jobs.nightly import run_night
from jobs.runtime.arguments import iso_date
from jobs.runtime.catalog import RING_LEADS
from jobs.runtime.context import JobContext
from jobs.simulate import simulate

HELP = "simulate a small world and run all its nights (what `make demo` calls)"
log = logging.getLogger("radar.demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listings", type=int, default=20_000, help="catalog size (default 20000)")
    parser.add_argument(
        "--days", type=int, default=5, help="nights to simulate and run (default 5)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=iso_date, default=date(2026, 11, 1))


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    paths = ctx.conf.paths
    simulate(
        ctx,
        out=paths.landing,
        listings=args.listings,
        days=args.days,
        seed=args.seed,
        start=args.start,
    )
    for n in range(args.days):
        run_night(ctx, args.start + timedelta(days=n))
    last = args.start + timedelta(days=args.days - 1)
    print(
        "\nDemo complete.\n"
        f"  landing (raw files + _truth/): {paths.landing}\n"
        f"  Delta tables:                  {paths.lakehouse}/<layer>/<table>  (make sql: SELECT * FROM {RING_LEADS})\n"
        f"  report:                        {paths.reports}/{last.isoformat()}/report.html\n"
        f"  data docs:                     {paths.reports}/{last.isoformat()}/data_docs/index.html\n"
        f"  MLflow UI:                     .venv/bin/mlflow ui --backend-store-uri {ctx.conf.mlflow.tracking_uri}\n"
        f"  quality vs truth:              .venv/bin/radar evaluate --truth {paths.landing} --date {last.isoformat()}\n"
    )
