"""ops.run_log: one row per step, table and attempt, so a night can be watched and resumed.

Rows are merged on (run_id, run_date, step, table_name): a step that records itself twice in one run
updates its row; a new run (a re-run or a resumed night) adds rows of its own, so the history of
attempts is kept. `completed_steps` tells `nightly` where a failed night must resume.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs.runtime.lakehouse import Lakehouse

RUN_LOG = "ops.run_log"

RUN_LOG_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("run_date", DateType(), False),
        StructField("step", StringType(), False),
        StructField("table_name", StringType(), False),
        StructField("status", StringType(), False),  # running | succeeded | failed
        StructField("rows_read", LongType(), True),
        StructField("rows_out", LongType(), True),
        StructField("rows_quarantined", LongType(), True),
        StructField("seconds", DoubleType(), True),
        StructField("started_at", TimestampType(), False),
        StructField("finished_at", TimestampType(), True),
        StructField("message", StringType(), True),
    ]
)


@dataclass
class RunRecord:
    run_id: str
    run_date: date
    step: str
    table_name: str = "*"  # "*" is the step as a whole
    status: str = "running"
    rows_read: int | None = None
    rows_out: int | None = None
    rows_quarantined: int | None = None
    seconds: float | None = None
    started_at: datetime = field(default_factory=datetime.utcnow)
    finished_at: datetime | None = None
    message: str | None = None


def record(lakehouse: Lakehouse, *records: RunRecord) -> None:
    """Upsert records into ops.run_log (a handful of rows: built on the driver on purpose)."""
    rows = lakehouse.spark.createDataFrame([asdict(r) for r in records], RUN_LOG_SCHEMA)
    lakehouse.merge(RUN_LOG, rows, keys=("run_id", "run_date", "step", "table_name"))


def completed_steps(lakehouse: Lakehouse, run_date: date) -> set[str]:
    """Steps whose latest whole-step attempt for `run_date` succeeded."""
    if not lakehouse.exists(RUN_LOG):
        return set()
    latest = (
        lakehouse.read(RUN_LOG)
        .where((F.col("run_date") == F.lit(run_date)) & (F.col("table_name") == "*"))
        .groupBy("step")
        .agg(F.max_by("status", "started_at").alias("status"))
        .where(F.col("status") == "succeeded")
    )
    return {row["step"] for row in latest.collect()}  # bounded: one row per step
