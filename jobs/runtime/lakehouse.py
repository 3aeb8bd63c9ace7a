"""Reads and writes of the tables the catalog declares (jobs/runtime/catalog.py).

Table `layer.name` lives at `<paths.lakehouse>/<layer>/<name>` (a Delta table any reader can open by
path) and is registered in the session's catalog as `layer.name` (so analysts can SELECT it by
name; readers register every stored table when they start, jobs/runtime/session.py says why).
Steps read a night (`read_night`), the nights up to one (`read_history`), or the whole table, and
write a night with `write_night`, which does what the table's entry declares: a replaceWhere of the
night (its rows are replaced whole) or a MERGE on the table's keys. Either way, running a step
twice for the same night leaves the same table. The primitives below them (`replace_date`,
`merge`, `overwrite`) also take a bare name, for scratch tables of tests and tools.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.runtime.catalog import Table

TableRef = Table | str  # a catalog entry, or the bare `layer.name` of a scratch table


@dataclass(frozen=True)
class Lakehouse:
    spark: SparkSession
    root: str

    def path(self, table: TableRef) -> str:
        name = str(table)
        layer, _, short = name.partition(".")
        if not layer or not short or "." in short:
            raise ValueError(f"table name must be 'layer.name', got {name!r}")
        return f"{self.root}/{layer}/{short}"

    def exists(self, table: TableRef) -> bool:
        return DeltaTable.isDeltaTable(self.spark, self.path(table))

    def read(self, table: TableRef, *, version: int | None = None) -> DataFrame:
        """The table as a DataFrame (optionally as of a Delta version, for reproducible reads)."""
        if not self.exists(table):
            raise FileNotFoundError(f"table {table} does not exist yet at {self.path(table)}")
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(table))

    def pin(
        self, night: date, versions: Mapping[str, int | None], *, run_id: str | None = None
    ) -> None:
        """Record in ops.night_versions, for `night`, the version each named table (or the
        registered model, `model:<name>`) had when the night used it; a pin of the same name
        and night is replaced. A handful of rows: built on the driver on purpose."""
        from jobs.runtime.catalog import NIGHT_VERSIONS

        pinned_at = datetime.now(UTC).replace(tzinfo=None)
        rows = self.spark.createDataFrame(
            [(night, name, version, run_id, pinned_at) for name, version in versions.items()],
            NIGHT_VERSIONS.schema,
        )
        self.write_night(NIGHT_VERSIONS, rows, night)

    def read_or_empty(self, table: Table) -> DataFrame:
        """The table, or no rows of its declared schema before any step has written it (a
        reader that runs before the first champion, say, sees an empty night)."""
        if self.exists(table):
            return self.read(table)
        if table.schema is None:
            raise FileNotFoundError(f"table {table} does not exist yet and declares no schema")
        return self.spark.createDataFrame([], table.schema)

    def read_night(self, table: Table, night: date, *, version: int | None = None) -> DataFrame:
        """The table's rows of one night (its night column equal to `night`)."""
        return self.read(table, version=version).where(_night_column(table) == F.lit(night))

    def read_history(
        self,
        table: Table,
        *,
        until: date | None = None,
        before: date | None = None,
        version: int | None = None,
    ) -> DataFrame:
        """The table's rows of every night up to `until` (included) or `before` (excluded): what
        had been written by that night, as far as the night column tells."""
        return self.read(table, version=version).where(_up_to(table, until=until, before=before))

    def latest_night(
        self, table: Table, *, until: date | None = None, before: date | None = None
    ) -> date | None:
        """The newest night the table holds rows of, up to `until` or before `before` if given
        (None when the table does not exist or holds no such night)."""
        if not self.exists(table):
            return None
        rows = self.read(table)
        if until is not None or before is not None:
            rows = rows.where(_up_to(table, until=until, before=before))
        latest = rows.agg(F.max(_night_column(table))).first()
        return None if latest is None else latest[0]

    def write_night(self, table: Table, rows: DataFrame, night: date) -> None:
        """Write one night's rows as the table declares: replace the night's rows whole, or MERGE
        them on the keys (upsert, or insert-only where the first write wins). Idempotent.

        A table replaced by night gets its night column, `night`, appended when `rows` lack it,
        so a step need not spell it."""
        if table.write == "replace_night":
            assert table.night_column is not None  # checked by Table
            if table.night_column not in rows.columns:
                rows = rows.withColumn(table.night_column, F.lit(night))
            self.replace_date(
                table,
                rows,
                date_column=table.night_column,
                day=night,
                partition_by=table.partition_by,
                properties=table.properties,
            )
        elif table.write in ("merge", "insert"):
            self.merge(
                table,
                rows,
                keys=table.keys,
                update=table.write == "merge",
                partition_by=table.partition_by,
            )
        else:
            raise ValueError(f"{table} is merged with conditions of its step: use merge_when")
        self._ensure_properties(table)

    def merge_when(
        self,
        table: Table,
        rows: DataFrame,
        *,
        updates: Sequence[tuple[str, Mapping[str, str | Column]]],
    ) -> None:
        """MERGE `rows` on the table's keys: a matched row is updated by the first of `updates`
        (condition, column -> expression) whose condition holds, a new key is inserted. The
        conditions are what make a re-run of a night change nothing."""
        if not self.exists(table):
            empty = rows.limit(0).write.format("delta").mode("overwrite")
            if table.partition_by:
                empty = empty.partitionBy(*table.partition_by)
            empty.save(self.path(table))
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in table.keys)
        merge = (
            DeltaTable.forPath(self.spark, self.path(table))
            .alias("t")
            .merge(rows.alias("s"), condition)
        )
        for when, assignments in updates:
            merge = merge.whenMatchedUpdate(condition=when, set=dict(assignments))
        merge.whenNotMatchedInsertAll().execute()
        self.register(table)

    def delete_matching(self, table: Table, rows: DataFrame, *, on: Sequence[str]) -> None:
        """Delete the table's rows that match `rows` on the columns `on` (rows moved elsewhere)."""
        condition = " AND ".join(f"t.`{c}` = s.`{c}`" for c in on)
        (
            DeltaTable.forPath(self.spark, self.path(table))
            .alias("t")
            .merge(rows.select(*on).alias("s"), condition)
            .whenMatchedDelete()
            .execute()
        )

    def version(self, table: TableRef) -> int:
        """The current Delta version of the table (logged with models for reproducibility)."""
        history = DeltaTable.forPath(self.spark, self.path(table)).history(1)
        return int(history.select("version").first()[0])  # type: ignore[index]

    def replace_date(
        self,
        table: TableRef,
        rows: DataFrame,
        *,
        date_column: str,
        day: date,
        partition_by: Sequence[str] = (),
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Replace the table's rows for one date with `rows` (all of which must carry that date).

        `partition_by` and table `properties` (e.g. delta.enableChangeDataFeed) apply when the
        write creates the table. A column that `rows` adds to an existing table is added to it
        (earlier dates read it as null): a new feature must not need the lakehouse rebuilt."""
        writer = (
            rows.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"{date_column} = DATE'{day.isoformat()}'")
            .option("mergeSchema", "true")
        )
        if not self.exists(table):
            writer = writer.partitionBy(*partition_by) if partition_by else writer
            for key, value in (properties or {}).items():
                writer = writer.option(key, value)
        writer.save(self.path(table))
        self.register(table)

    def overwrite(
        self, table: TableRef, rows: DataFrame, *, partition_by: Sequence[str] = ()
    ) -> None:
        """Replace the whole table: for small state tables that each run recomputes in full."""
        writer = rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(self.path(table))
        self.register(table)

    def merge(
        self,
        table: TableRef,
        rows: DataFrame,
        *,
        keys: Sequence[str],
        update: bool = True,
        partition_by: Sequence[str] = (),
    ) -> None:
        """Upsert `rows` on `keys`: new keys are inserted; existing ones updated (or left alone).

        `rows` must hold each key once. With update=False a re-run inserts nothing twice and
        changes nothing (first write wins), as bronze needs.
        """
        if not self.exists(table):
            empty = rows.limit(0).write.format("delta").mode("overwrite")
            if partition_by:
                empty = empty.partitionBy(*partition_by)
            empty.save(self.path(table))
        condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        merge = (
            DeltaTable.forPath(self.spark, self.path(table))
            .alias("t")
            .merge(rows.alias("s"), condition)
        )
        if update:
            merge = merge.whenMatchedUpdateAll()
        merge.whenNotMatchedInsertAll().execute()
        self.register(table)

    def _ensure_properties(self, table: Table) -> None:
        """Give a table created before a property was declared (the change data feed of gold,
        say) the properties its entry declares."""
        self.ensure_properties(table, table.properties)

    def ensure_properties(self, table: TableRef, properties: Mapping[str, str]) -> None:
        """Set the Delta table properties among `properties` the table does not hold yet
        (idempotent: a table that has them all is not touched, no new version)."""
        if not properties or not self.exists(table):
            return
        detail = (
            DeltaTable.forPath(self.spark, self.path(table)).detail().select("properties").first()
        )
        current = detail[0] if detail is not None else {}
        missing = {k: v for k, v in properties.items() if current.get(k) != v}
        if missing:
            assignments = ", ".join(f"'{k}' = '{v}'" for k, v in missing.items())
            self.spark.sql(
                f"ALTER TABLE delta.`{self.path(table)}` SET TBLPROPERTIES ({assignments})"
            )

    def optimize_and_vacuum(
        self, table: TableRef, retention_hours: int, *, zorder_by: Sequence[str] = ()
    ) -> None:
        """Compact small files (Z-ordered by `zorder_by`, so queries filtering on those columns
        skip files), then drop files older than the retention no version needs."""
        delta = DeltaTable.forPath(self.spark, self.path(table))
        if zorder_by:
            delta.optimize().executeZOrderBy(*zorder_by)
        else:
            delta.optimize().executeCompaction()
        delta.vacuum(retention_hours)

    def register(self, table: TableRef) -> None:
        """Make the table queryable by name in the catalog (idempotent).

        A name still bound to another location (the lakehouse root moved) is re-pointed; the
        tables are external, so dropping the old name leaves its data alone.
        """
        name = str(table)
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {name.partition('.')[0]}")
        if self.spark.catalog.tableExists(name):
            detail = self.spark.sql(f"DESCRIBE DETAIL {name}").first()
            if detail is not None and _same_location(detail["location"], self.path(name)):
                return
            self.spark.sql(f"DROP TABLE {name}")
        self.spark.sql(f"CREATE TABLE {name} USING DELTA LOCATION '{self.path(name)}'")

    def stored_tables(self, layers: Sequence[str]) -> list[str]:
        """Every Delta table under the root, as `layer.name`: the folder layout is the catalog.

        Listed through Hadoop's file system, so a root on s3a:// or abfss:// lists like a local one;
        a folder is a table when it holds a `_delta_log`."""
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        hadoop_path = jvm.org.apache.hadoop.fs.Path
        root = hadoop_path(self.root)
        fs = root.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        found = []
        for layer in layers:
            folder = hadoop_path(root, layer)
            if not fs.exists(folder):
                continue
            for status in fs.listStatus(folder):
                if status.isDirectory() and fs.exists(hadoop_path(status.getPath(), "_delta_log")):
                    found.append(f"{layer}.{status.getPath().getName()}")
        return sorted(found)

    def register_all(self, layers: Sequence[str]) -> list[str]:
        """Register every stored table by name in this session's catalog (what readers call)."""
        tables = self.stored_tables(layers)
        for table in tables:
            self.register(table)
        return tables


def local_tables(root: str, layers: Sequence[str]) -> list[str]:
    """`stored_tables` of a lakehouse on a local disk, without a Spark session (for launchers)."""
    base = Path(root)
    return sorted(
        f"{layer}.{folder.name}"
        for layer in layers
        for folder in (base / layer).glob("*")
        if (folder / "_delta_log").is_dir()
    )


def _same_location(a: str, b: str) -> bool:
    return a.removeprefix("file:").rstrip("/") == b.removeprefix("file:").rstrip("/")


def _night_column(table: Table) -> Column:
    if table.night_column is None:
        raise ValueError(f"{table} has no night column: read it whole")
    return F.col(table.night_column)


def _up_to(table: Table, *, until: date | None, before: date | None) -> Column:
    if (until is None) == (before is None):
        raise ValueError("give exactly one of until= or before=")
    if until is not None:
        return _night_column(table) <= F.lit(until)
    return _night_column(table) < F.lit(before)
