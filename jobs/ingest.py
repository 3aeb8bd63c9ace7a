"""Ingest one night: every raw row lands in bronze or in quarantine, nothing is lost.

For each raw table (sellers first, so listings can be checked for orphans), the day's files are
read with the contract's schema; a file that cannot be read or lacks a required column is
quarantined whole; every row is checked against its table's rules in one Spark pass. Valid rows
are merged into `bronze.<table>` on (key, _ingest_date), rejected rows into `quarantine.<table>` on
a row id, so re-running a night adds nothing. Listings that waited in quarantine as orphans move
to bronze on the night their seller appears, keeping the `_ingest_date` of the night they arrived
(that night still reconciles) with the adoption night in `_adopted_date`, which conform reads
(null for every listing ingested directly). Counts are reconciled against the written tables
(read = bronze + quarantine) and recorded per table in ops.run_log; a table whose rejected share
passes its threshold stops the night, after its rows were written for inspection.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from data_contracts.checks import check_rows, is_valid
from data_contracts.drift import DriftParams, anomalies, table_metrics, volume_stops
from data_contracts.rules import ORPHAN_RULE, Rule, table_rules
from data_contracts.schemas import (
    ADOPTED_DATE,
    FILE_ROWS,
    INGEST_DATE,
    RAW_TABLES,
    SOURCE_FILE,
    VIOLATIONS,
)
from jobs.runtime import catalog, runlog
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext
from jobs.runtime.expectations import ContractValidator
from jobs.runtime.landing import BadFile, DayFiles, day_files, inspect, read_rows

HELP = "validate the night's raw files: valid rows to bronze, the rest to quarantine with reasons"
log = logging.getLogger("radar.ingest")

# Sellers before listings: the orphan rule needs the night's sellers.
TABLE_ORDER = (
    "sellers",
    "brand_registry",
    "listings",
    "seller_sessions",
    "reviews",
    "orders",
    "takedown_notices",
)


class VolumeDrift(RuntimeError):
    """A raw table's volume strayed so far from its recent nights that the night must not go on."""


class RejectThresholdExceeded(RuntimeError):
    """A table's day is too broken to trust; the message names the table, share and rules."""


@dataclass(frozen=True)
class TableResult:
    table: str
    rows_read: int
    rows_bronze: int
    rows_quarantined: int
    top_rules: list[tuple[str, int]]
    seconds: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night to ingest")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    ingest(ctx, args.date)


def ingest(
    ctx: JobContext, night: date, tables: tuple[str, ...] = TABLE_ORDER
) -> list[TableResult]:
    results = []
    with ctx.step("ingest", night) as entry:
        validator = (
            ContractValidator(ctx.conf.paths.reports, night)
            if ctx.conf.ingest.great_expectations
            else None
        )
        # Every table's files are listed before anything is written: a missing snapshot stops
        # the night with the lake as it was.
        day = {
            table: day_files(ctx.spark, ctx.conf.paths.landing, table, night) for table in tables
        }
        for table in tables:
            results.append(ingest_table(ctx, table, night, day[table], validator))
        runlog.record(
            ctx.lakehouse,
            *[
                runlog.RunRecord(
                    run_id=ctx.run_id,
                    run_date=night,
                    step="ingest",
                    table_name=r.table,
                    status="succeeded",
                    rows_read=r.rows_read,
                    rows_out=r.rows_bronze,
                    rows_quarantined=r.rows_quarantined,
                    seconds=r.seconds,
                )
                for r in results
            ],
        )
        entry.rows_read = sum(r.rows_read for r in results)
        entry.rows_out = sum(r.rows_bronze for r in results)
        entry.rows_quarantined = sum(r.rows_quarantined for r in results)
        _check_drift(ctx, night, results)
        for result in results:
            threshold = ctx.conf.ingest.reject_threshold(result.table)
            share = result.rows_quarantined / result.rows_read if result.rows_read else 0.0
            if share > threshold:
                rules = ", ".join(f"{name} ({n})" for name, n in result.top_rules)
                raise RejectThresholdExceeded(
                    f"{result.table}: {share:.1%} of {result.rows_read} rows rejected on {night} "
                    f"(threshold {threshold:.1%}); top broken rules: {rules}"
                )
    return results


def _check_drift(ctx: JobContext, night: date, results: list[TableResult]) -> None:
    """Record each table's metrics of the night in ops.table_metrics, judged against the nights
    before; warn for each metric out of its band, stop the night on a volume far beyond it.

    The bronze rows stay where ingest put them when the night stops: a data engineer looks at
    them, and re-runs the night (with `ingest.drift.stop_volume_ratio=0` if the volume is real)."""
    lake = ctx.lakehouse
    tonight = [
        table_metrics(
            r.table,
            night,
            lake.read_night(catalog.bronze(r.table), night),
            keys=RAW_TABLES[r.table].key,
            rows_read=r.rows_read,
            rows_quarantined=r.rows_quarantined,
        )
        for r in results
        if lake.exists(catalog.bronze(r.table))
    ]
    if not tonight:
        return
    metrics = tonight[0]
    for more in tonight[1:]:
        metrics = metrics.unionByName(more)
    if lake.exists(catalog.TABLE_METRICS):
        history = lake.read_history(catalog.TABLE_METRICS, before=night)
        metrics = metrics.unionByName(history.select(*metrics.columns))
    params = DriftParams(**ctx.conf.ingest.drift.model_dump())
    judged = anomalies(metrics, night, params).localCheckpoint()  # a few rows per table
    lake.write_night(catalog.TABLE_METRICS, judged, night)
    for r in judged.where(F.col("status") == "warn").orderBy("table_name", "metric").collect():
        log.warning(
            "%s: %s%s is %.4g on %s, outside %.4g..%.4g (median of the last %d nights %.4g)",
            r.table_name,
            r.metric,
            f" of {r.column_name}" if r.column_name else "",
            r.value,
            night,
            r.low,
            r.high,
            r.history_nights,
            r.median,
        )
    stops = volume_stops(judged)
    if stops:
        raise VolumeDrift(
            f"{'; '.join(stops)} (ingest.drift.stop_volume_ratio "
            f"{params.stop_volume_ratio:g}; bronze keeps the rows, nothing downstream ran)"
        )


def ingest_table(
    ctx: JobContext,
    table: str,
    night: date,
    files: DayFiles,
    validator: ContractValidator | None = None,
) -> TableResult:
    started = time.monotonic()
    spark = ctx.spark
    good_parquet, good_json, bad_files, extra = inspect(spark, files)
    rows = read_rows(spark, files, good_parquet, good_json, extra)
    rules = _rules(ctx, table)

    if table == "listings":
        _adopt_orphans(ctx, night)
    rows_read = rows_bronze = rows_quarantined = 0
    top_rules: list[tuple[str, int]] = []
    if rows is not None:
        known = _sellers_known_to_routing(ctx, night) if table == "listings" else None
        checked = check_rows(rows, table, rules, known_sellers=known).persist()
        try:
            _write_bronze(ctx, table, checked.where(is_valid()), night)
            _write_quarantine(ctx, table, checked.where(~is_valid()), night)
            totals = checked.agg(
                F.count(F.lit(1)).alias("read"), F.sum(is_valid().cast("long")).alias("valid")
            ).first()
            assert totals is not None
            rows_read, rows_bronze = int(totals["read"]), int(totals["valid"] or 0)
            rows_quarantined = rows_read - rows_bronze
            top_rules = [
                (r["rule"], int(r["n"]))
                for r in checked.select(F.explode(VIOLATIONS).alias("rule"))
                .groupBy("rule")
                .agg(F.count(F.lit(1)).alias("n"))
                .orderBy(F.desc("n"), "rule")
                .limit(5)
                .collect()  # bounded: top 5 rules
            ]
            if validator is not None:
                # The routed rows are cached: Great Expectations reads them from memory, where
                # validating `rows` would read and parse the night's files once more.
                with ctx.part("great_expectations"):
                    validator.validate(table, checked.select(*rows.columns), rules)
        finally:
            checked.unpersist()
    elif not ctx.lakehouse.exists(catalog.bronze(table)):
        _create_bronze(ctx, table, night)
    if bad_files:
        _quarantine_files(ctx, table, files.table.schema, bad_files, night)
        file_rows = sum(b.rows for b in bad_files)
        rows_read += file_rows
        rows_quarantined += file_rows
        top_rules = _top_rules(top_rules, bad_files)
        for b in bad_files:
            log.warning("%s: quarantined file %s (%s), raw rows: %d", table, b.path, b.rule, b.rows)
    _reconcile(ctx, table, night, rows_read, rows_bronze, rows_quarantined)
    log.info(
        "%s: read %d, bronze %d, quarantine %d", table, rows_read, rows_bronze, rows_quarantined
    )
    seconds = round(time.monotonic() - started, 3)
    return TableResult(table, rows_read, rows_bronze, rows_quarantined, top_rules, seconds)


def _top_rules(row_rules: list[tuple[str, int]], bad: list[BadFile]) -> list[tuple[str, int]]:
    """The five rules that rejected most rows, a bad file's rule counting the file's rows."""
    counts = Counter(dict(row_rules))
    for b in bad:
        counts[b.rule] += b.rows
    return sorted(counts.items(), key=lambda rule: (-rule[1], rule[0]))[:5]


def _create_bronze(ctx: JobContext, table: str, night: date) -> None:
    """An event table with no partition yet: its bronze table, empty, with the contract's columns.

    The contract says a missing day of an event table means no events that day; later steps read
    bronze.<table> and must find it, empty, on a first night without that table.
    """
    # Nullable, as the table a night's rows create: the contract's "req" is a rule, not a constraint.
    columns = StructType(
        [StructField(f.name, f.dataType) for f in RAW_TABLES[table].schema.fields]
        + [StructField(SOURCE_FILE, StringType())]
    )
    _write_bronze(ctx, table, ctx.spark.createDataFrame([], columns), night)


def _rules(ctx: JobContext, table: str) -> list[Rule]:
    rules = table_rules(
        table,
        currencies=tuple(ctx.conf.conform.rates_to_usd),
        earliest=ctx.conf.ingest.earliest_timestamp,
        late_days=ctx.conf.ingest.late_arrival_days,
    )
    typed = [
        Rule("type", f.name)
        for f in RAW_TABLES[table].schema.fields
        if not isinstance(f.dataType, ArrayType)
    ]
    return typed + rules


def _bronze_columns(frame: DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if not c.startswith("_raw_") and c not in (VIOLATIONS, "_dt", "_copy")
    ]


def _write_bronze(ctx: JobContext, table: str, valid: DataFrame, night: date) -> None:
    rows = valid.select(*_bronze_columns(valid)).withColumn(INGEST_DATE, F.lit(night))
    if table == "listings":
        rows = rows.withColumn(ADOPTED_DATE, F.lit(None).cast("date"))
    ctx.lakehouse.write_night(catalog.bronze(table), rows, night)


def _landing_name(path: F.Column) -> F.Column:
    """A raw file as the contract lays it out, `<table>/dt=<day>/<file>`, whatever root the
    landing zone sits under: re-reading a moved or re-mounted landing (a new bucket, `s3://`
    read as `s3a://`) names the same files, so the quarantine keeps one row per rejected row."""
    name = F.regexp_extract(path, r"([^/]+/dt=[^/]+/[^/]+)$", 1)
    return F.when(name != "", name).otherwise(path)


def _row_id(frame: DataFrame) -> F.Column:
    """A rejected row's identity: its file's landing name, its content (the file path aside) and
    its copy number among identical rows."""
    content = F.to_json(
        F.struct(*[F.col(c) for c in frame.columns if c not in (VIOLATIONS, "_copy", SOURCE_FILE)])
    )
    return F.sha2(
        F.concat_ws("|", _landing_name(F.col(SOURCE_FILE)), content, F.col("_copy").cast("string")),
        256,
    )


def _write_quarantine(ctx: JobContext, table: str, rejected: DataFrame, night: date) -> None:
    rows = rejected.withColumn("_row_id", _row_id(rejected)).withColumn(INGEST_DATE, F.lit(night))
    _merge_quarantine(ctx, table, rows.select(*_bronze_columns(rows), VIOLATIONS), night)


def _quarantine_files(
    ctx: JobContext, table: str, schema: StructType, bad: list[BadFile], night: date
) -> None:
    """One quarantine row per bad file: its path, why, and how many raw rows it holds (counted by
    the reconciliation); the row's columns left null."""
    rows = ctx.spark.createDataFrame(
        [(b.path, [b.rule], b.rows) for b in bad],
        f"{SOURCE_FILE} string, {VIOLATIONS} array<string>, {FILE_ROWS} long",
    )
    for field in schema.fields:
        rows = rows.withColumn(field.name, F.lit(None).cast(field.dataType))
    rows = rows.withColumn("_row_id", F.sha2(_landing_name(F.col(SOURCE_FILE)), 256)).withColumn(
        INGEST_DATE, F.lit(night)
    )
    _merge_quarantine(ctx, table, rows, night)


def _merge_quarantine(ctx: JobContext, table: str, rows: DataFrame, night: date) -> None:
    """Insert rejected rows and files into quarantine.<table> on (_row_id, _ingest_date).

    Insert-only: a row an earlier (or killed) run of the night already wrote is left as it is, so
    a re-run adds nothing. Rows and whole files share the table; a file's row leaves the raw
    columns null.
    """
    ctx.lakehouse.write_night(catalog.quarantine(table), rows, night)


def _known_sellers(ctx: JobContext, night: date) -> DataFrame:
    """Sellers ingested by the night (not after it: a re-run of a past night knows only what
    the night knew)."""
    if not ctx.lakehouse.exists(catalog.bronze("sellers")):
        return ctx.spark.createDataFrame([], "seller_id string")
    return ctx.lakehouse.read_history(catalog.bronze("sellers"), until=night).select("seller_id")


def _sellers_known_to_routing(ctx: JobContext, night: date) -> DataFrame:
    """The sellers a listing of the night may belong to without being an orphan: those ingested
    by the night, and those whose listings of the night a later night adopted. A re-run of a past
    night finds such a listing in bronze, where its adoption put it (keeping its `_ingest_date`):
    quarantining it again would hold it twice, so it is routed to bronze, which already has it."""
    known = _known_sellers(ctx, night)
    listings = catalog.bronze("listings")
    if not ctx.lakehouse.exists(listings):
        return known
    adopted_later = (
        ctx.lakehouse.read_night(listings, night)
        .where(F.col(ADOPTED_DATE) > F.lit(night))
        .select("seller_id")
    )
    return known.unionByName(adopted_later)


def _adopt_orphans(ctx: JobContext, night: date) -> None:
    """Listings that waited as orphans and whose seller is now known move to bronze.

    Each keeps its `_ingest_date` (the night it arrived and was counted) and records tonight in
    `_adopted_date`: conform takes it into silver tonight, and a re-run of its arrival night
    leaves it out (it was not known then). A re-run of tonight finds the quarantine emptied and
    bronze holding the rows already, so it adopts nothing twice."""
    lake, quarantined = ctx.lakehouse, catalog.quarantine("listings")
    if not lake.exists(quarantined) or not lake.exists(catalog.bronze("sellers")):
        return
    waiting = lake.read_history(quarantined, before=night).where(
        F.col(VIOLATIONS) == F.array(F.lit(ORPHAN_RULE))
    )
    adopted = waiting.join(
        _known_sellers(ctx, night).distinct(), "seller_id", "left_semi"
    ).persist()
    try:
        if adopted.isEmpty():
            return
        bronze_rows = adopted.drop(VIOLATIONS, "_row_id", FILE_ROWS).withColumn(
            ADOPTED_DATE, F.lit(night)
        )
        lake.merge(
            catalog.bronze("listings"),
            bronze_rows,
            keys=catalog.bronze("listings").keys,
            update=False,
        )
        lake.delete_matching(quarantined, adopted, on=("_row_id",))
        log.info("listings: %d orphan(s) adopted from quarantine", bronze_rows.count())
    finally:
        adopted.unpersist()


def _reconcile(
    ctx: JobContext, table: str, night: date, read: int, bronze: int, quarantined: int
) -> None:
    """The written tables must hold exactly what was counted, or the step fails loudly."""
    lake = ctx.lakehouse
    accepted, rejected = catalog.bronze(table), catalog.quarantine(table)
    in_bronze = lake.read_night(accepted, night).count() if lake.exists(accepted) else 0
    in_quarantine = (
        _quarantined_rows(lake.read_night(rejected, night)) if lake.exists(rejected) else 0
    )
    if read != bronze + quarantined or in_bronze != bronze or in_quarantine != quarantined:
        raise RuntimeError(
            f"{table} on {night} does not reconcile: read {read}, counted bronze {bronze} + quarantine "
            f"{quarantined}, tables hold bronze {in_bronze} + quarantine {in_quarantine}"
        )


def _quarantined_rows(quarantine: DataFrame) -> int:
    """The raw rows a night's quarantine holds: a rejected row is one, a rejected file its rows."""
    if FILE_ROWS not in quarantine.columns:
        return quarantine.count()
    held = quarantine.agg(F.sum(F.coalesce(F.col(FILE_ROWS), F.lit(1)))).first()
    return int(held[0] or 0) if held is not None else 0
