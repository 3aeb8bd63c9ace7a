"""What every step gets: the conf, a lazily opened SparkSession, the lakehouse, a run id, a log."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from pyspark.sql import SparkSession

from jobs.runtime import runlog
from jobs.runtime.conf import Conf
from jobs.runtime.lakehouse import Lakehouse
from jobs.runtime.session import LAYERS, build_spark

log = logging.getLogger("radar")


@dataclass
class JobContext:
    conf: Conf
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @cached_property
    def spark(self) -> SparkSession:
        return build_spark(self.conf)

    @cached_property
    def lakehouse(self) -> Lakehouse:
        return Lakehouse(self.spark, self.conf.paths.lakehouse)

    def open_tables(self) -> list[str]:
        """Name every stored table in this session's catalog (`SELECT ... FROM gold.x`), as a
        notebook or a SQL shell wants; the steps read by path and need not."""
        return self.lakehouse.register_all(LAYERS)

    @contextmanager
    def step(self, name: str, run_date: date) -> Iterator[runlog.RunRecord]:
        """Time a step, log its progress and record it in ops.run_log, failed or not.

        The body may fill in the record's row counts; a failure is recorded with its reason and
        re-raised, so the night stops and `nightly` later resumes from this step.

        The step's Spark jobs carry its name as their job group (and a description with the date
        and run), so the Spark UI, the history server and an event log show which step ran what.
        """
        entry = runlog.RunRecord(run_id=self.run_id, run_date=run_date, step=name)
        log.info("%s %s: started", name, run_date)
        started = time.monotonic()
        context = self.spark.sparkContext
        context.setJobGroup(name, f"{name} {run_date} (run {self.run_id})")
        runlog.record(self.lakehouse, entry)
        try:
            yield entry
        except BaseException as exc:
            entry.status = "failed"
            entry.message = f"{type(exc).__name__}: {exc}"[:2000]
            raise
        else:
            entry.status = "succeeded"
        finally:
            entry.seconds = round(time.monotonic() - started, 3)
            entry.finished_at = datetime.utcnow()
            runlog.record(self.lakehouse, entry)
            log.info("%s %s: %s in %.1fs", name, run_date, entry.status, entry.seconds)
            context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
            context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Tag the Spark jobs of one part of the running step as `<step>:<name>` (e.g.
        `ingest:great_expectations`), so an event log can tell that part's cost from the rest
        of the step (jobs/bench/stages.py counts it in both); the step's group comes back after.
        """
        context = self.spark.sparkContext
        group = context.getLocalProperty("spark.jobGroup.id")
        description = context.getLocalProperty("spark.job.description")
        context.setJobGroup(f"{group}:{name}" if group else name, f"{name}: {description}")
        try:
            yield
        finally:
            context.setLocalProperty("spark.jobGroup.id", group)  # type: ignore[arg-type]
            context.setLocalProperty("spark.job.description", description)  # type: ignore[arg-type]
