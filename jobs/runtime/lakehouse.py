"""One table-path convention and one idempotent way to write each kind of table.

Table `layer.name` lives at `<paths.lakehouse>/<layer>/<name>` (a Delta table any reader can open by
path) and is registered in the session's catalog as `layer.name` (so analysts can SELECT it by
name; readers register every stored table when they start, jobs/runtime/session.py says why).
Writes are either a replaceWhere of one date (the table's rows for that date are replaced whole) or
a MERGE on the table's key: running a step twice for the same date leaves the same table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class Lakehouse:
    spark: SparkSession
    root: str

    def path(self, table: str) -> str:
        layer, _, name = table.partition(".")
        if not layer or not name or "." in name:
            raise ValueError(f"table name must be 'layer.name', got {table!r}")
        return f"{self.root}/{layer}/{name}"

    def exists(self, table: str) -> bool:
        return DeltaTable.isDeltaTable(self.spark, self.path(table))

    def read(self, table: str, *, version: int | None = None) -> DataFrame:
        """The table as a DataFrame (optionally as of a Delta version, for reproducible reads)."""
        if not self.exists(table):
            raise FileNotFoundError(f"table {table} does not exist yet at {self.path(table)}")
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(table))

    def version(self, table: str) -> int:
        """The current Delta version of the table (logged with models for reproducibility)."""
        history = DeltaTable.forPath(self.spark, self.path(table)).history(1)
        return int(history.select("version").first()[0])  # type: ignore[index]

    def replace_date(
        self,
        table: str,
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

    def overwrite(self, table: str, rows: DataFrame, *, partition_by: Sequence[str] = ()) -> None:
        """Replace the whole table: for small state tables that each run recomputes in full."""
        writer = rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(self.path(table))
        self.register(table)

    def merge(
        self,
        table: str,
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

    def enable_change_feed(self, table: str) -> None:
        """Turn on Delta's change data feed, so downstream consumers read only what changed."""
        properties = (
            DeltaTable.forPath(self.spark, self.path(table)).detail().select("properties").first()
        )
        if properties is None or properties[0].get("delta.enableChangeDataFeed") != "true":
            self.spark.sql(
                f"ALTER TABLE delta.`{self.path(table)}` SET TBLPROPERTIES (delta.enableChangeDataFeed = true)"
            )

    def optimize_and_vacuum(
        self, table: str, retention_hours: int, *, zorder_by: Sequence[str] = ()
    ) -> None:
        """Compact small files (Z-ordered by `zorder_by`, so queries filtering on those columns
        skip files), then drop files older than the retention no version needs."""
        delta = DeltaTable.forPath(self.spark, self.path(table))
        if zorder_by:
            delta.optimize().executeZOrderBy(*zorder_by)
        else:
            delta.optimize().executeCompaction()
        delta.vacuum(retention_hours)

    def register(self, table: str) -> None:
        """Make the table queryable by name in the catalog (idempotent).

        A name still bound to another location (the lakehouse root moved) is re-pointed; the
        tables are external, so dropping the old name leaves its data alone.
        """
        layer = table.partition(".")[0]
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
        if self.spark.catalog.tableExists(table):
            detail = self.spark.sql(f"DESCRIBE DETAIL {table}").first()
            if detail is not None and _same_location(detail["location"], self.path(table)):
                return
            self.spark.sql(f"DROP TABLE {table}")
        self.spark.sql(f"CREATE TABLE {table} USING DELTA LOCATION '{self.path(table)}'")

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
