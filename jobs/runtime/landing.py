"""Reading the landing zone: which files a night reads, which of them are usable, and their rows.

Files are listed through Hadoop's FileSystem, so the same code reads a local folder, HDFS or an
object store. A file that cannot be read, or lacks a required column, is reported (not raised) so
that ingest can quarantine it whole and go on with the others.

Parquet footers are read on the driver, through the same FileSystem: a broken file costs one small
read and no failed Spark task (an executor logs a failed task with its whole JVM stack trace, 40
lines for a case the contract expects). The footer also says how each column is stored, so that
producers' different ways of writing a timestamp are all read as the contract's `timestamp`:
Spark's (INT64 microseconds, or INT96 from its legacy writer), pandas' and pyarrow's (INT64
nanoseconds, no time zone) and milliseconds. A timestamp stored without a time zone is read as
UTC, the session's zone.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from py4j.protocol import Py4JJavaError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    LongType,
    NullType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from data_contracts.schemas import RAW_TABLES, SOURCE_FILE, RawTable


@dataclass(frozen=True)
class BadFile:
    path: str
    rule: str  # file:unreadable | file:missing_column:<col> | file:wrong_type:<col>
    rows: int = 1  # the file's rows when they can be counted; an unreadable file counts as one


@dataclass(frozen=True)
class Footer:
    """What a Parquet file's footer says: its columns as Spark reads them, and its row count.

    A column stored as INT64 nanoseconds is in `schema` as that long (the session sets
    spark.sql.legacy.parquet.nanosAsLong: Spark cannot read it otherwise) and named in `nanos`.
    """

    schema: StructType
    nanos: frozenset[str]
    rows: int

    def stored(self, name: str) -> tuple[str, bool] | None:
        """How a column is stored (its type's simple string, nanoseconds or not); None if absent."""
        if name not in self.schema.fieldNames():
            return None
        return self.schema[name].dataType.simpleString(), name in self.nanos


@dataclass(frozen=True)
class ParquetFile:
    path: str
    footer: Footer


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


def read_footer(spark: SparkSession, path: str) -> Footer | None:
    """The file's footer, read on the driver; None when it cannot be read (not Parquet, truncated,
    a type Spark cannot read)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    parquet = jvm.org.apache.parquet.hadoop
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    try:
        reader = parquet.ParquetFileReader.open(
            parquet.util.HadoopInputFile.fromPath(jvm.org.apache.hadoop.fs.Path(path), hadoop_conf)
        )
        try:
            message = reader.getFooter().getFileMetaData().getSchema()
            rows = int(reader.getRecordCount())
        finally:
            reader.close()
        converter = (
            jvm.org.apache.spark.sql.execution.datasources.parquet.ParquetToSparkSchemaConverter(
                spark._jsparkSession.sessionState().conf()
            )
        )
        schema = StructType.fromJson(json.loads(converter.convert(message).json()))
    except Py4JJavaError:  # the footer is unreadable: the file is quarantined whole
        return None
    annotations = {
        str(field.getName()): str(field.getLogicalTypeAnnotation()) for field in message.getFields()
    }
    nanos = frozenset(c for c, a in annotations.items() if a.startswith("TIMESTAMP(NANOS"))
    # Arrow's null type is stored as an INT32 annotated UNKNOWN, which Spark takes for an int.
    untyped = {c for c, a in annotations.items() if a.startswith("UNKNOWN")}
    schema = StructType(
        [StructField(f.name, NullType()) if f.name in untyped else f for f in schema.fields]
    )
    return Footer(schema, nanos, rows)


_TIMESTAMPS = (TimestampType().simpleString(), TimestampNTZType().simpleString())
# A column whose every value is null may be stored without a type (pandas and pyarrow write an
# all-None column so): it is read as null, whatever type it should have had.
_UNTYPED = NullType().simpleString()


def _readable_as(column: StructField, footer: Footer, wanted: DataType) -> bool:
    """Whether a stored column is read as the contract's `wanted` type. Any timestamp is a
    timestamp: with or without a time zone, in milli-, micro- or nanoseconds, or INT96."""
    stored, nanos = column.dataType.simpleString(), column.name in footer.nanos
    if stored == _UNTYPED:
        return True
    if isinstance(wanted, TimestampType):
        return nanos or stored in _TIMESTAMPS
    return not nanos and stored == wanted.simpleString()


def _value_type(column: StructField, footer: Footer) -> DataType:
    """The type an extra column's values are carried as (a nanosecond count as a timestamp)."""
    return TimestampType() if column.name in footer.nanos else column.dataType


def _count_lines(spark: SparkSession, path: str) -> int:
    """The rows of a JSON lines file: its non-blank lines."""
    return spark.read.text(path).where(F.trim("value") != "").count()


def inspect(
    spark: SparkSession, files: DayFiles
) -> tuple[list[ParquetFile], list[str], list[BadFile], StructType]:
    """Split the day's files into usable Parquet, usable JSON and bad ones; find extra columns.

    An extra column stored with different types by different files (an int here, a string there)
    is carried as its text: it cannot be both, and the contract does not type it.
    """
    required = {f.name: f.dataType for f in files.table.schema.fields}
    # JSON lines leave null values out (Spark's own writer does), so a nullable column that is
    # null on every line of a file is in none of them: it is read as null, not as missing.
    optional = {f.name for f in files.table.schema.fields if f.nullable}
    good_parquet: list[ParquetFile] = []
    good_json: list[str] = []
    bad: list[BadFile] = []
    extra: dict[str, set[str]] = defaultdict(set)
    extra_types: dict[str, DataType] = {}
    for path in files.parquet:
        footer = read_footer(spark, path)
        if footer is None:
            bad.append(BadFile(path, "file:unreadable"))
            continue
        present = {f.name: f for f in footer.schema.fields}
        missing = [c for c in required if c not in present]
        if missing:
            bad.append(BadFile(path, f"file:missing_column:{missing[0]}", footer.rows))
            continue
        wrong = [c for c, t in required.items() if not _readable_as(present[c], footer, t)]
        if wrong:
            bad.append(BadFile(path, f"file:wrong_type:{wrong[0]}", footer.rows))
            continue
        for f in footer.schema.fields:
            if f.name not in required:
                value_type = _value_type(f, footer)
                extra[f.name].add(value_type.simpleString())
                extra_types[f.name] = value_type
        good_parquet.append(ParquetFile(path, footer))
    for path in files.json:
        try:
            schema = spark.read.json(path).schema
        except Exception:  # any read failure: the file is quarantined whole, the night goes on
            bad.append(BadFile(path, "file:unreadable"))
            continue
        if "_corrupt_record" in schema.fieldNames() and len(schema.fields) == 1:
            bad.append(BadFile(path, "file:unreadable"))
            continue
        names = schema.fieldNames()
        missing = [c for c in required if c not in names and c not in optional]
        if missing:
            bad.append(
                BadFile(path, f"file:missing_column:{missing[0]}", _count_lines(spark, path))
            )
            continue
        for name in (n for n in names if n not in required and n != "_corrupt_record"):
            extra[name].add(StringType().simpleString())
            extra_types[name] = StringType()
        good_json.append(path)
    carried = StructType(
        [
            StructField(name, extra_types[name] if len(types) == 1 else StringType(), True)
            for name, types in extra.items()
        ]
    )
    return good_parquet, good_json, bad, carried


def _read_type(stored: StructField, nanos: bool, wanted: DataType) -> DataType:
    """The type to ask Spark for a column stored so: a nanosecond timestamp as its long, a
    timestamp without time zone as a timestamp (Spark reads it as UTC), an extra column as
    stored."""
    if nanos:
        return LongType()
    if isinstance(wanted, TimestampType) and stored.dataType.simpleString() in _TIMESTAMPS:
        return wanted
    return stored.dataType


def _carried(name: str, read_as: DataType, nanos: bool, wanted: DataType) -> Column:
    """A column as read, in the type the night carries it as."""
    column = F.col(f"`{name}`")
    if nanos:
        column, read_as = F.timestamp_micros(F.expr(f"`{name}` div 1000")), TimestampType()
    return (column if read_as == wanted else column.cast(wanted)).alias(name)


def _read_parquet(spark: SparkSession, files: list[ParquetFile], columns: StructType) -> DataFrame:
    """The files' rows in `columns`; files that store the columns alike are read together (all of
    a day's files, usually), each other way of storing them in one read of its own."""
    groups: dict[tuple[object, ...], list[ParquetFile]] = defaultdict(list)
    for file in files:
        groups[tuple(file.footer.stored(f.name) for f in columns.fields)].append(file)
    frames = []
    for members in groups.values():
        footer = members[0].footer
        present = {f.name: f for f in footer.schema.fields if f.dataType.simpleString() != _UNTYPED}
        read_as = {
            f.name: _read_type(present[f.name], f.name in footer.nanos, f.dataType)
            for f in columns.fields
            if f.name in present
        }
        read = StructType([StructField(name, dtype) for name, dtype in read_as.items()])
        frame = spark.read.schema(read).parquet(*[m.path for m in members])
        frames.append(
            frame.select(
                # A column the files lack (or store untyped) is null.
                *[
                    _carried(f.name, read_as[f.name], f.name in footer.nanos, f.dataType)
                    if f.name in read_as
                    else F.lit(None).cast(f.dataType).alias(f.name)
                    for f in columns.fields
                ],
                F.col("_metadata.file_path").alias(SOURCE_FILE),
            )
        )
    rows = frames[0]
    for more in frames[1:]:
        rows = rows.unionByName(more)
    return rows


def read_rows(
    spark: SparkSession,
    files: DayFiles,
    parquet: list[ParquetFile],
    json: list[str],
    extra: StructType,
) -> DataFrame | None:
    """The rows of the usable files, with `_source_file` and `_dt`; JSON values cast to the contract
    types with the text kept in `_raw_<col>` so a failed cast can be named."""
    raw = files.table
    parts: list[DataFrame] = []
    if parquet:
        columns = StructType(list(raw.schema.fields) + list(extra.fields))
        frame = _read_parquet(spark, parquet, columns)
        for f in raw.schema.fields:
            frame = frame.withColumn(f"_raw_{f.name}", F.lit(None).cast("string"))
        parts.append(frame)
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
