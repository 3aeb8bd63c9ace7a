"""SQL over the catalog: an interactive Spark SQL shell, or the Thrift JDBC server for BI tools.

Both start Spark's own launchers (bin/spark-sql, HiveThriftServer2) with the same settings as
every job (jobs/runtime/session.py: Delta, the jar cache, the Derby metastore under paths.metastore), so
`SELECT * FROM gold.ring_leads` resolves the tables the night registered.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pyspark.find_spark_home import _find_spark_home

from jobs.runtime.context import JobContext
from jobs.runtime.jars import cached_jars
from jobs.runtime.session import submit_arguments

HELP = "Spark SQL shell on the table catalog (-e QUERY to run one statement)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--execute", metavar="QUERY", help="run one statement and exit")
    parser.add_argument(
        "--server", action="store_true", help="start the Thrift JDBC server instead of a shell"
    )
    parser.add_argument(
        "--port", type=int, default=10000, help="JDBC port of --server (default 10000)"
    )


def command(ctx: JobContext, args: argparse.Namespace) -> list[str]:
    """The launcher command line: spark-sql, or spark-submit of HiveThriftServer2."""
    home = Path(_find_spark_home())
    settings = submit_arguments(ctx.conf)
    if args.server:
        return [
            str(home / "bin" / "spark-submit"),
            "--class",
            "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
            *settings,
            # JDBC sessions resolve the catalog on the server's own threads, which do not see
            # `spark.jars`: the Delta classes must be on the driver's class path from the start.
            "--driver-class-path",
            os.pathsep.join(cached_jars(ctx.conf.paths.jar_cache)),
            "--hiveconf",
            f"hive.server2.thrift.port={args.port}",
            "--hiveconf",
            "hive.server2.thrift.bind.host=127.0.0.1",
            "spark-internal",
        ]
    return [
        str(home / "bin" / "spark-sql"),
        *settings,
        *(["-e", args.execute] if args.execute else []),
    ]


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    argv = command(ctx, args)
    env = {
        **os.environ,
        "SPARK_HOME": str(Path(_find_spark_home())),
        "PYSPARK_PYTHON": sys.executable,
    }
    Path(ctx.conf.paths.metastore).mkdir(parents=True, exist_ok=True)
    os.chdir(ctx.conf.paths.metastore)  # Derby and Hive write their logs into the working directory
    os.execvpe(argv[0], argv, env)
