"""Reading the landing zone: which files a night reads, which of them are usable, and their rows.

Files are listed through Hadoop's FileSystem, so the same code reads a local folder, HDFS or an
object store. A file that cannot be read, or lacks a required column, is reported (not raised) so
that ingest can quarantine it whole and go on with the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from data_contracts.schemas import RAW_TABLES, SOURCE_FILE, RawTable


@dataclass(frozen=True)
class BadFile:
    path: str
    rule: str  # file:unreadable | file:missing_column:<col> | file:wrong_type:<col>


@dataclass(frozen=True)
class DayFiles:
    table: RawTable
    day: date | None  # the dt read (for a snapshot: the newest on or before the night)
    parquet: list[str]
    json: list[str]


def _fs_list(spark: SparkSession, folder: str) -> list[tuple[str, bool]]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return []
    return [(str(s.getPath().toString()), bool(s.isDirectory())) for s in fs.listStatus(path)]


def day_files(spark: SparkSession, landing: str, table: str, night: date) -> DayFiles:
    """The files of `dt=night` for an event table, of the newest `dt<=night` for a snapshot."""
    raw = RAW_TABLES[table]
    partitions = sorted(
        date.fromisoformat(p.rsplit("dt=", 1)[1].rstrip("/"))
        for p, is_dir in _fs_list(spark, f"{landing}/{table}")
        if is_dir and "dt=" in p
    )
    if raw.kind == "event":
        day = night if night in partitions else None
    else:
        candidates = [d for d in partitions if d <= night]
        if not candidates:
            raise FileNotFoundError(
                f"snapshot table {table} has no dt<={night} under {landing}/{table}: "
                "the first night needs a full snapshot"
            )
        day = candidates[-1]
    if day is None:
        return DayFiles(raw, None, [], [])
    files = [
        p for p, is_dir in _fs_list(spark, f"{landing}/{table}/dt={day.isoformat()}") if not is_dir
    ]
    visible = [f for f in files if not f.rsplit("/", 1)[-1].startswith(("_", "."))]
    return DayFiles(
        raw,
        day,
        sorted(f for f in visible if f.endswith(".parquet")),
        sorted(f for f in visible if f.endswith((".json", ".jsonl"))),
    )


def _json_schema(raw: RawTable, extra: StructType) -> StructType:
    """JSON lines are read as text columns and cast afterwards, so a bad value is a `type:` rule."""
    fields = [
        StructField(f.name, f.dataType if isinstance(f.dataType, ArrayType) else StringType(), True)
        for f in raw.schema.fields
    ]
    return StructType(fields + list(extra.fields))


def inspect(
    spark: SparkSession, files: DayFiles
) -> tuple[list[str], list[str], list[BadFile], StructType]:
    """Split the day's files into usable Parquet, usable JSON and bad ones; find extra columns."""
    required = {f.name: f.dataType for f in files.table.schema.fields}
    # JSON lines leave null values out (Spark's own writer does), so a nullable column that is
    # null on every line of a file is in none of them: it is read as null, not as missing.
    optional = {f.name for f in files.table.schema.fields if f.nullable}
    good_parquet: list[str] = []
    good_json: list[str] = []
    bad: list[BadFile] = []
    extra: dict[str, StructField] = {}
    for path, is_json in [(p, False) for p in files.parquet] + [(p, True) for p in files.json]:
        try:
            schema = spark.read.json(path).schema if is_json else spark.read.parquet(path).schema
        except Exception:  # any read failure: the file is quarantined whole, the night goes on
            bad.append(BadFile(path, "file:unreadable"))
            continue
        if is_json and "_corrupt_record" in schema.fieldNames() and len(schema.fields) == 1:
            bad.append(BadFile(path, "file:unreadable"))
            continue
        present = {f.name: f.dataType for f in schema.fields}
        missing = [c for c in required if c not in present and not (is_json and c in optional)]
        if missing:
            bad.append(BadFile(path, f"file:missing_column:{missing[0]}"))
            continue
        if not is_json:
            wrong = [c for c, t in required.items() if present[c] != t]
            if wrong:
                bad.append(BadFile(path, f"file:wrong_type:{wrong[0]}"))
                continue
        for f in schema.fields:
            if f.name not in required and f.name != "_corrupt_record":
                extra.setdefault(
                    f.name, StructField(f.name, f.dataType if not is_json else StringType(), True)
                )
        (good_json if is_json else good_parquet).append(path)
    return good_parquet, good_json, bad, StructType(list(extra.values()))


def read_rows(
    spark: SparkSession, files: DayFiles, parquet: list[str], json: list[str], extra: StructType
) -> DataFrame | None:
    """The rows of the usable files, with `_source_file` and `_dt`; JSON values cast to the contract
    types with the text kept in `_raw_<col>` so a failed cast can be named."""
    raw = files.table
    parts: list[DataFrame] = []
    if parquet:
        schema = StructType(list(raw.schema.fields) + list(extra.fields))
        frame = spark.read.schema(schema).parquet(*parquet)
        for f in raw.schema.fields:
            frame = frame.withColumn(f"_raw_{f.name}", F.lit(None).cast("string"))
        parts.append(frame.withColumn(SOURCE_FILE, F.col("_metadata.file_path")))
    if json:
        text = spark.read.schema(_json_schema(raw, extra)).json(json)
        frame = text.withColumn(SOURCE_FILE, F.col("_metadata.file_path"))
        for f in raw.schema.fields:
            if isinstance(f.dataType, ArrayType):
                frame = frame.withColumn(f"_raw_{f.name}", F.lit(None).cast("string"))
                continue
            frame = frame.withColumn(f"_raw_{f.name}", F.col(f.name)).withColumn(
                f.name, F.expr(f"try_cast(`{f.name}` AS {f.dataType.simpleString()})")
            )
        parts.append(frame)
    if not parts:
        return None
    rows = parts[0]
    for more in parts[1:]:
        rows = rows.unionByName(more, allowMissingColumns=True)
    return rows.withColumn("_dt", F.lit(files.day))
