"""The one SparkSession factory: Delta Lake, the catalog and AQE, built from conf.

The catalog is in memory, one per process, and the lakehouse is its source of truth: a Delta
table is the folder `<lakehouse>/<layer>/<name>`, and a session that wants tables by name
registers them by path (`Lakehouse.register_all`, `radar sql`). No metastore database is shared
between processes, so an analyst's `radar sql`, a notebook or the Thrift server answer while a
night writes (an embedded Derby metastore admits one process: the second died with 16,000 lines
of stack trace). Delta's log makes every reader see whole commits only. A shared Hive metastore
(a cluster's) is still a setting away: `spark.extra` with `spark.sql.catalogImplementation: hive`
and its `spark.hadoop.hive.metastore.uris`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.runtime.conf import Conf, is_local_path
from jobs.runtime.jars import cached_jars

LAYERS: tuple[str, ...] = ("bronze", "quarantine", "silver", "features", "graph", "gold", "ops")


def spark_settings(conf: Conf) -> dict[str, str]:
    """Every setting the session gets, as plain strings (also used to build spark-submit lines)."""
    metastore = conf.paths.metastore
    warehouse = (
        f"{metastore}/warehouse"
        if not is_local_path(metastore)
        else str(Path(metastore) / "warehouse")
    )
    settings = {
        "spark.app.name": conf.spark.app_name,
        "spark.master": conf.spark.master,
        "spark.driver.memory": conf.spark.driver_memory,
        "spark.jars": ",".join(cached_jars(conf.paths.jar_cache)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.adaptive.skewJoin.enabled": "true",
        "spark.sql.shuffle.partitions": str(conf.spark.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": warehouse,
        "spark.sql.catalogImplementation": "in-memory",
        "spark.ui.enabled": str(conf.spark.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        # MERGE may add columns: a raw file's extra columns are carried into bronze.
        "spark.databricks.delta.schema.autoMerge.enabled": "true",
        # Delta's MERGE repartitions its output by the table's partition columns before writing
        # (its default). A night writes one date partition, so every row of the night went
        # through one task: the bench's event log showed three single-task MERGE writes of 30 to
        # 47 s in the 5M-listing ingest, a serial step no cluster would shorten. Off, each task
        # writes its own files; the weekly OPTIMIZE compacts them.
        "spark.databricks.delta.merge.repartitionBeforeWrite.enabled": "false",
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        # pandas and pyarrow write timestamps as INT64 nanoseconds, which Spark cannot read as a
        # timestamp: read as their long count, ingest converts them (jobs/runtime/landing.py).
        "spark.sql.legacy.parquet.nanosAsLong": "true",
    }
    settings.update(conf.spark.extra)
    return settings


def submit_arguments(conf: Conf) -> list[str]:
    """The settings as spark-submit arguments: a JVM started by spark-submit has its class path
    fixed before any builder runs, so the Delta jars and extensions must be given at launch."""
    return [
        arg for key, value in spark_settings(conf).items() for arg in ("--conf", f"{key}={value}")
    ]


def build_spark(conf: Conf, *, extra: Mapping[str, str] | None = None) -> SparkSession:
    """Open (or return the running) SparkSession configured from conf (and `extra` settings a
    launcher adds, such as the Thrift server's class path; they count only for a new session).

    The GraphFrames checkpoint directory is set on the context, the log level comes from conf,
    and the layer databases exist in the catalog when this returns.
    """
    if is_local_path(conf.paths.metastore):
        Path(conf.paths.metastore).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    settings = {**spark_settings(conf), **(extra or {})}
    if settings["spark.master"].startswith("local"):
        # Python workers run this interpreter (the project's venv), not whatever `python3` is
        # first on the PATH: same version, same packages (pyarrow, pandas) as the driver. PySpark
        # reads the worker interpreter from the environment when the context starts.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in settings.items():
        builder = builder.config(key, value)
    if settings["spark.sql.catalogImplementation"] == "hive":
        builder = builder.enableHiveSupport()
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(conf.spark.log_level)
    spark.sparkContext.setCheckpointDir(f"{conf.paths.checkpoints}/spark")
    for layer in LAYERS:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
    return spark
