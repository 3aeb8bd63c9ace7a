"""SQL over the lakehouse: an interactive Spark SQL shell, or the Thrift JDBC server for BI tools.

Both register every stored table by name when they start (jobs/runtime/session.py: the catalog is
in memory, the lakehouse folders are its source of truth), so `SELECT * FROM gold.ring_leads`
resolves while a night is writing: no metastore is shared with the night, and Delta's log gives
each query whole commits only. A table the night creates after the shell started is seen by the
next shell.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

from pyspark.find_spark_home import _find_spark_home

from jobs.runtime.conf import is_local_path
from jobs.runtime.context import JobContext
from jobs.runtime.jars import cached_jars
from jobs.runtime.lakehouse import local_tables
from jobs.runtime.session import LAYERS, build_spark, spark_settings, submit_arguments

HELP = "Spark SQL shell on the lakehouse's tables (-e QUERY to run one statement)"
log = logging.getLogger("radar.sql")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--execute", metavar="QUERY", help="run one statement and exit")
    parser.add_argument(
        "--server", action="store_true", help="start the Thrift JDBC server instead of a shell"
    )
    parser.add_argument(
        "--port", type=int, default=10000, help="JDBC port of --server (default 10000)"
    )


def registration_sql(root: str, tables: list[str]) -> str:
    """The statements that name each stored table in a fresh in-memory catalog."""
    layers = sorted({t.partition(".")[0] for t in tables})
    return "".join(
        [f"CREATE DATABASE IF NOT EXISTS {layer};\n" for layer in layers]
        + [
            f"CREATE TABLE IF NOT EXISTS {t} USING DELTA LOCATION "
            f"'{root}/{t.replace('.', '/', 1)}';\n"
            for t in tables
        ]
    )


def shell_command(ctx: JobContext, args: argparse.Namespace, init_file: Path | None) -> list[str]:
    """The spark-sql command line, its init file registering the tables first."""
    return [
        str(Path(_find_spark_home()) / "bin" / "spark-sql"),
        *submit_arguments(ctx.conf),
        *(["-i", str(init_file)] if init_file else []),
        *(["-e", args.execute] if args.execute else []),
    ]


def _init_file(ctx: JobContext) -> Path | None:
    """A file of registration statements, or None where a shared Hive metastore names the tables."""
    if spark_settings(ctx.conf)["spark.sql.catalogImplementation"] == "hive":
        return None
    root = ctx.conf.paths.lakehouse
    tables = (
        local_tables(root, LAYERS)
        if is_local_path(root)
        else ctx.lakehouse.stored_tables(LAYERS)  # a remote root is listed through Spark
    )
    handle, name = tempfile.mkstemp(prefix="radar-sql-", suffix=".sql")
    with os.fdopen(handle, "w") as out:
        out.write(registration_sql(root, tables))
    return Path(name)


def serve(ctx: JobContext, port: int) -> None:
    """The Thrift JDBC server in this process: tables registered once, then served until killed.

    JDBC sessions resolve tables on the server's own threads, which do not see `spark.jars`: the
    Delta classes go on the driver's class path from the start."""
    spark = build_spark(
        ctx.conf,
        extra={
            "spark.driver.extraClassPath": os.pathsep.join(cached_jars(ctx.conf.paths.jar_cache)),
            "spark.hadoop.hive.server2.thrift.port": str(port),
            "spark.hadoop.hive.server2.thrift.bind.host": "127.0.0.1",
        },
    )
    tables = ctx.lakehouse.register_all(LAYERS)
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithContext(
        spark._jsparkSession.sqlContext()
    )
    log.info("Thrift JDBC server on 127.0.0.1:%d serves %d tables", port, len(tables))
    threading.Event().wait()  # until the process is stopped


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    if args.server:
        serve(ctx, args.port)
        return
    argv = shell_command(ctx, args, _init_file(ctx))
    env = {
        **os.environ,
        "SPARK_HOME": str(Path(_find_spark_home())),
        "PYSPARK_PYTHON": sys.executable,
    }
    Path(ctx.conf.paths.metastore).mkdir(parents=True, exist_ok=True)
    os.chdir(ctx.conf.paths.metastore)  # Spark's scratch files and logs go to the working directory
    os.execvpe(argv[0], argv, env)
