"""Ingest under stress: a process killed mid-night, JSON lines landings, raw files with new columns.

The module simulates one small landing zone (two days, planted defects, an unreadable listings file
and a reviews file without `rating` on the first day) and shares it read-only; a test that changes
raw files works on its own copy. Each test ingests into lakehouses of its own under tmp_path.

Bronze and quarantine rows carry no volatile column (no ingest timestamp, no run id): besides the
raw columns they hold `_ingest_date` (the night), `_source_file` (the raw file's path) and, in
quarantine, `_row_id` (a hash of the file's `<table>/dt=<day>/<name>` and the row). Lakehouses
ingesting the same landing must therefore hold equal rows, whole; a landing read from another
root changes `_source_file` only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from data_contracts.schemas import INGEST_DATE, RAW_TABLES, SOURCE_FILE
from jobs.ingest import ingest
from jobs.runtime.catalog import Table
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse
from jobs.simulate import simulate
from tests.conftest import conf_for

pytestmark = pytest.mark.integration

NIGHT_1 = date(2026, 11, 1)
NIGHT_2 = NIGHT_1 + timedelta(days=1)
SETTINGS = (
    "ingest.great_expectations=false",  # Data Docs are tested with the night; slow here
    "ingest.max_reject_share=0.5",  # a 12-row brand registry with one planted defect is 8% bad
)
INGESTED = tuple(f"{layer}.{table}" for table in RAW_TABLES for layer in ("bronze", "quarantine"))


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory, session_root: Path) -> Path:
    """Two days of a 2000-listing marketplace with defects planted, as DATA_CONTRACT.md lays it out."""
    root = tmp_path_factory.mktemp("ingest_world")
    ctx = _context(root, root / "landing", session_root)
    simulate(
        ctx,
        out=str(root / "landing"),
        listings=2_000,
        days=2,
        seed=29,
        start=NIGHT_1,
        defect_rate=0.01,
    )
    return root / "landing"


def _context(root: Path, landing: Path, session_root: Path) -> JobContext:
    """A fresh run (its own run id) on the lakehouse under `root`, reading `landing`."""
    conf = conf_for(
        root, f"paths.metastore={session_root / 'metastore'}", f"paths.landing={landing}", *SETTINGS
    )
    return JobContext(conf)


class Killed(RuntimeError):
    """Stands for the process dying: raised instead of a table write."""


def _killed_at(monkeypatch: pytest.MonkeyPatch, table: str, nth: int) -> None:
    """Make the `nth` write into `table` die (the writes before it go through, then nothing)."""
    original = Lakehouse.merge
    writes = 0

    def merge(self: Lakehouse, name: Table | str, *args: Any, **kwargs: Any) -> None:
        nonlocal writes
        if str(name) == table:
            writes += 1
            if writes == nth:
                raise Killed(f"killed before write {nth} into {table}")
        original(self, name, *args, **kwargs)

    monkeypatch.setattr(Lakehouse, "merge", merge)


def _reconciled_counts(ctx: JobContext) -> dict[str, tuple[int, int, int]]:
    """table -> (read, bronze, quarantined) that this run's ingest recorded in ops.run_log."""
    rows = (
        ctx.lakehouse.read("ops.run_log")
        .where(
            (F.col("run_id") == ctx.run_id)
            & (F.col("step") == "ingest")
            & (F.col("table_name") != "*")
            & (F.col("status") == "succeeded")
        )
        .collect()  # bounded: one row per raw table
    )
    return {r["table_name"]: (r["rows_read"], r["rows_out"], r["rows_quarantined"]) for r in rows}


def _night_status(ctx: JobContext) -> list[str]:
    """The whole-step ingest attempts recorded on this lakehouse, in order."""
    rows = (
        ctx.lakehouse.read("ops.run_log")
        .where((F.col("step") == "ingest") & (F.col("table_name") == "*"))
        .orderBy("started_at")
        .collect()  # bounded: one row per attempt
    )
    return [r["status"] for r in rows]


def test_ingest_killed_midway_then_rerun_equals_an_uninterrupted_one(
    landing: Path, tmp_path: Path, session_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uninterrupted = _context(tmp_path / "a", landing, session_root)
    ingest(uninterrupted, NIGHT_1)

    # Killed twice, each time between writes of one table: first after bronze.listings and
    # before its rejected rows; then, restarted, after the rejected reviews and before the
    # reviews file that lacks `rating` is quarantined whole. The third start completes.
    first = _context(tmp_path / "b", landing, session_root)
    _killed_at(monkeypatch, "quarantine.listings", nth=1)
    with pytest.raises(Killed):
        ingest(first, NIGHT_1)
    monkeypatch.undo()
    assert first.lakehouse.exists("bronze.listings")
    assert not first.lakehouse.exists("quarantine.listings")

    second = _context(tmp_path / "b", landing, session_root)
    _killed_at(monkeypatch, "quarantine.reviews", nth=2)
    with pytest.raises(Killed):
        ingest(second, NIGHT_1)
    monkeypatch.undo()

    restarted = _context(tmp_path / "b", landing, session_root)
    ingest(restarted, NIGHT_1)
    assert _night_status(restarted) == ["failed", "failed", "succeeded"]

    for table in INGESTED:
        assert restarted.lakehouse.exists(table), table
        assertDataFrameEqual(
            restarted.lakehouse.read(table),
            uninterrupted.lakehouse.read(table),
            ignoreColumnOrder=True,
        )
    counts = _reconciled_counts(uninterrupted)
    assert _reconciled_counts(restarted) == counts
    assert set(counts) == set(RAW_TABLES)
    for table, (read, bronze, quarantined) in counts.items():
        assert read == bronze + quarantined > 0, table
        assert quarantined > 0, table  # every table had defects planted: quarantine was compared

    # A second uninterrupted run of the night changes nothing, even with the landing zone read
    # from another root (moved, re-mounted): rejected rows are known by their file's
    # <table>/dt=<day>/<name>, so none goes into quarantine twice (the reconciliation would fail).
    versions = {table: uninterrupted.lakehouse.version(table) for table in INGESTED}
    moved = tmp_path / "mounted_elsewhere" / "landing"
    shutil.copytree(landing, moved)
    again = _context(tmp_path / "a", moved, session_root)
    ingest(again, NIGHT_1)
    for table, version in versions.items():
        assertDataFrameEqual(
            again.lakehouse.read(table),
            again.lakehouse.read(table, version=version),
            ignoreColumnOrder=True,
        )
    assert _reconciled_counts(again) == counts


def _rewrite_day(
    spark: SparkSession,
    folder: Path,
    fmt: str,
    change: Callable[[DataFrame], DataFrame] = lambda rows: rows,
) -> None:
    """Replace the readable Parquet files of one landing day by `change(rows)` written as `fmt`.

    Unreadable files are left where they are (the day then mixes formats). The new files get the
    writer's own names (part-*.json or part-*.parquet), as a producer would write them.
    """
    table = folder.parent.name
    rows = (
        spark.read.option("ignoreCorruptFiles", "true")
        .schema(RAW_TABLES[table].schema)
        .parquet(str(folder))
        .withColumn("_file", F.col("_metadata.file_path"))
    )
    originals = [r["_file"] for r in rows.select("_file").distinct().collect()]  # a few files
    staging = folder.parent / f"_staging_{folder.name}"
    change(rows.drop("_file")).coalesce(1).write.format(fmt).save(str(staging))
    for original in originals:
        Path(original.removeprefix("file:")).unlink()
    for written in staging.glob("part-*"):
        written.rename(folder / written.name)
    shutil.rmtree(staging)


@pytest.fixture
def own_landing(landing: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the module's landing that a test may change."""
    copy = tmp_path / "own_landing"
    shutil.copytree(landing, copy)
    yield copy
    shutil.rmtree(copy)


def test_json_lines_raw_file_loads(
    spark: SparkSession, landing: Path, own_landing: Path, tmp_path: Path, session_root: Path
) -> None:
    # Spark's JSON writer leaves null values out: on the first day no notice has a verdict yet,
    # so `verdict_at` (nullable) is in no line of the takedown notices' file at all.
    for table in ("listings", "takedown_notices"):
        _rewrite_day(spark, own_landing / table / f"dt={NIGHT_1}", "json")
    notices_json = spark.read.json(str(own_landing / "takedown_notices" / f"dt={NIGHT_1}"))
    assert "verdict_at" not in notices_json.columns

    tables = ("sellers", "listings", "takedown_notices")
    from_parquet = _context(tmp_path / "parquet", landing, session_root)
    from_json = _context(tmp_path / "json", own_landing, session_root)
    ingest(from_parquet, NIGHT_1, tables)
    ingest(from_json, NIGHT_1, tables)

    for table in ("listings", "takedown_notices"):
        bronze = from_json.lakehouse.read(f"bronze.{table}")
        sources = {r[0].rsplit(".", 1)[-1] for r in bronze.select(SOURCE_FILE).distinct().collect()}
        assert sources == {"json"}, table
        assert bronze.count() > 0, table
        assertDataFrameEqual(
            bronze.drop(SOURCE_FILE),
            from_parquet.lakehouse.read(f"bronze.{table}").drop(SOURCE_FILE),
            ignoreColumnOrder=True,
        )
        # The same rows are rejected for the same rules (ids hash the file path, so they differ).
        assertDataFrameEqual(
            from_json.lakehouse.read(f"quarantine.{table}").drop(SOURCE_FILE, "_row_id"),
            from_parquet.lakehouse.read(f"quarantine.{table}").drop(SOURCE_FILE, "_row_id"),
            ignoreColumnOrder=True,
        )
    assert _reconciled_counts(from_json) == _reconciled_counts(from_parquet)


def test_extra_unknown_column_is_kept_in_bronze(
    spark: SparkSession, own_landing: Path, tmp_path: Path, session_root: Path
) -> None:
    # Night 1's listings (Parquet) carry `promo_code`, night 2's do not: the column is created
    # with bronze.listings and later files leave it null. Night 2's reviews (JSON lines) bring
    # `helpful_votes` to a bronze.reviews that exists without it: the table's schema evolves.
    def with_promo_code(rows: DataFrame) -> DataFrame:
        return rows.withColumn(
            "promo_code", F.concat(F.lit("P-"), F.substring(F.sha2("listing_id", 256), 1, 6))
        )

    def with_helpful_votes(rows: DataFrame) -> DataFrame:
        return rows.withColumn("helpful_votes", F.pmod(F.xxhash64("review_id"), F.lit(50)))

    listings_day = own_landing / "listings" / f"dt={NIGHT_1}"
    reviews_day = own_landing / "reviews" / f"dt={NIGHT_2}"
    _rewrite_day(spark, listings_day, "parquet", with_promo_code)
    _rewrite_day(spark, reviews_day, "json", with_helpful_votes)

    ctx = _context(tmp_path / "lake", own_landing, session_root)
    for night in (NIGHT_1, NIGHT_2):
        ingest(ctx, night, ("sellers", "listings", "reviews"))
    lake = ctx.lakehouse

    raw_listings = (
        spark.read.option("ignoreCorruptFiles", "true")  # the day's unreadable file stays
        .parquet(str(listings_day))
        .select("listing_id", "promo_code")
    )
    _assert_extra_column_kept(lake, "listings", "promo_code", raw_listings, NIGHT_1)
    # JSON values of a column the contract does not type are kept as their text.
    raw_reviews = spark.read.json(str(reviews_day)).select(
        "review_id", F.col("helpful_votes").cast("string")
    )
    _assert_extra_column_kept(lake, "reviews", "helpful_votes", raw_reviews, NIGHT_2)


def _assert_extra_column_kept(
    lake: Lakehouse, table: str, column: str, raw: DataFrame, night: date
) -> None:
    """Every row of `night` (bronze and quarantine) holds the raw file's value of `column`;
    rows of the other night, whose files lack the column, hold null."""
    key = RAW_TABLES[table].key
    on_night = F.col(INGEST_DATE) == F.lit(night)
    for layer in ("bronze", "quarantine"):
        rows = lake.read(f"{layer}.{table}").where(F.col(key[0]).isNotNull())
        assert column in rows.columns, f"{layer}.{table}"
        night_rows = rows.where(on_night)
        assert night_rows.count() > 0, f"{layer}.{table}"
        assert night_rows.join(raw, [*key, column], "left_anti").count() == 0, f"{layer}.{table}"
    other_nights = lake.read(f"bronze.{table}").where(~on_night)
    assert other_nights.count() > 0
    assert other_nights.where(F.col(column).isNotNull()).count() == 0
