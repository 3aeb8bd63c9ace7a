"""`radar`: the command line that scripts, schedulers and the Makefile call.

Every sub-command takes `--conf FILE` (over conf/base.yaml; default conf/local.yaml) and
`--set key=value` (repeatable). Exit status 0 on success; otherwise non-zero with a one-line reason
on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from types import ModuleType
from typing import Protocol, cast

from jobs.runtime.conf import ConfError, load_conf
from jobs.runtime.context import JobContext
from jobs.runtime.night_versions import NightTooOld
from jobs.runtime.writer_lock import EXIT_BUSY, LakehouseBusy, holder_for, writer_lock

# Sub-command name -> module in jobs/. Each module has HELP, add_arguments(parser) and
# run(ctx, args); the module's docstring is the sub-command's long help.
COMMANDS: dict[str, str] = {
    "simulate": "jobs.simulate",
    "ingest": "jobs.ingest",
    "conform": "jobs.conform",
    "linkage": "jobs.linkage",
    "features": "jobs.features",
    "train": "jobs.train",
    "score": "jobs.score",
    "maintenance": "jobs.maintenance",
    "report": "jobs.report",
    "nightly": "jobs.nightly",
    "demo": "jobs.demo",
    "sql": "jobs.sql",
    "evaluate": "jobs.evaluate",
}
# Sub-commands that write the lakehouse: each holds its writer lock for its whole run
# (jobs/runtime/writer_lock.py); the others only read it, or write elsewhere (simulate: the landing).
WRITERS = frozenset(
    {"ingest", "conform", "linkage", "features", "train", "score", "maintenance", "report"}
    | {"nightly", "demo"}
)


class Command(Protocol):
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, ctx: JobContext, args: argparse.Namespace) -> None: ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radar", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--conf",
        metavar="FILE",
        default=None,
        help="conf file over conf/base.yaml (default conf/local.yaml)",
    )
    common.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one conf key, e.g. --set spark.master=local[2] (repeatable)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = cast(Command, _load(module_name))
        sub = commands.add_parser(
            name,
            parents=[common],
            help=module.HELP,
            description=(cast(ModuleType, module).__doc__ or module.HELP).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(command_module=module)
    return parser


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = cast(Command, args.command_module)
    return run_guarded(
        f"radar {args.command}",
        args.conf,
        args.overrides,
        lambda ctx: module.run(ctx, args),
        verbose=args.verbose,
        writer=(args.command, _nights(args)) if args.command in WRITERS else None,
    )


def run_guarded(
    prog: str,
    conf_file: str | None,
    overrides: list[str],
    body: Callable[[JobContext], None],
    *,
    verbose: bool = False,
    writer: tuple[str, str] | None = None,
) -> int:
    """Logging, conf, the context and (for a writer: its command and nights) the writer lock
    around `body`, with the exit statuses and one-line errors every entry point shares: 0, 2 for
    a configuration error, 3 when refused (another writer holds the lakehouse, or a night is
    older than `ops.backfill_days` allows re-running), 130 interrupted, else 1."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        conf = load_conf(conf_file, overrides)
        ctx = JobContext(conf)
        lock = (
            writer_lock(conf.paths.lakehouse, holder_for(ctx.run_id, *writer))
            if writer is not None
            else nullcontext()
        )
        with lock:
            body(ctx)
    except ConfError as exc:
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        return 2
    except (LakehouseBusy, NightTooOld) as exc:
        print(f"{prog}: refused: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        logging.getLogger("radar").debug("failure", exc_info=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{prog}: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1
    return 0


def _nights(args: argparse.Namespace) -> str:
    """The night(s) a command runs, as its command line gave them (for the writer lock)."""
    if getattr(args, "date", None):
        return f"--date {args.date}"
    start = getattr(args, "start", None)
    if start is None:
        return ""
    end = getattr(args, "end", None)  # nightly --from/--to; demo gives --start and --days
    if end is None:
        end = start + timedelta(days=args.days - 1)
    return f"--from {start} --to {end}"


if __name__ == "__main__":
    sys.exit(main())
