"""ops.run_log: one row per step, table and attempt, so a night can be watched and resumed.

Rows are merged on (run_id, run_date, step, table_name): a step that records itself twice in one run
updates its row; a new run (a re-run or a resumed night) adds rows of its own, so the history of
attempts is kept. `completed_steps` tells `nightly` where a failed night must resume.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from pyspark.sql import functions as F

from jobs.runtime.catalog import RUN_LOG
from jobs.runtime.lakehouse import Lakehouse


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
    rows = lakehouse.spark.createDataFrame([asdict(r) for r in records], RUN_LOG.schema)
    (night,) = {r.run_date for r in records}  # a step records one night at a time
    lakehouse.write_night(RUN_LOG, rows, night)


def completed_steps(lakehouse: Lakehouse, run_date: date) -> set[str]:
    """Steps whose latest whole-step attempt for `run_date` succeeded."""
    if not lakehouse.exists(RUN_LOG):
        return set()
    latest = (
        lakehouse.read_night(RUN_LOG, run_date)
        .where(F.col("table_name") == "*")
        .groupBy("step")
        .agg(F.max_by("status", "started_at").alias("status"))
        .where(F.col("status") == "succeeded")
    )
    return {row["step"] for row in latest.collect()}  # bounded: one row per step
