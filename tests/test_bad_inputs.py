"""The bad-input matrix: one kind of bad raw input per test, each with its known ending.

Every bad input ends in one of three ways: its rows (or its file, whole) in quarantine under the
rule it breaks; the night stopped with a one-line error and the lake untouched; or, for the ways
producers legitimately differ (how a timestamp is stored), read correctly. Expected bad files log
one WARN line each and no JVM stack trace. The landing of each test is a few rows written with
pyarrow (as pandas- and Arrow-based exporters write them) into the test's own tmp folder, and
ingest runs through the job's own function on the suite's SparkSession.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DecimalType,
    IntegerType,
    StringType,
    TimestampType,
)

from data_contracts.schemas import (
    ADOPTED_DATE,
    FILE_ROWS,
    INGEST_DATE,
    RAW_TABLES,
    SOURCE_FILE,
    VIOLATIONS,
)
from features.networks import network_prefix
from jobs.conform import conform
from jobs.ingest import TableResult, ingest
from jobs.runtime import catalog
from jobs.runtime.context import JobContext
from tests.conftest import conf_for

pytestmark = pytest.mark.integration

NIGHT = date(2026, 11, 1)
T0 = datetime(2026, 11, 1, 10, 0)
SETTINGS = (
    "ingest.great_expectations=false",  # Data Docs are tested with the night; slow here
    "ingest.max_reject_share=1",  # these days are broken on purpose: none stops the night
)


# ---- a landing zone, a few rows at a time ---------------------------------------------------


def _arrow_type(dtype: DataType) -> pa.DataType:
    """The Arrow type a producer writes for a contract type (timestamps as Spark writes them)."""
    if isinstance(dtype, StringType):
        return pa.string()
    if isinstance(dtype, IntegerType):
        return pa.int32()
    if isinstance(dtype, DecimalType):
        return pa.decimal128(dtype.precision, dtype.scale)
    if isinstance(dtype, TimestampType):
        return pa.timestamp("us", tz="UTC")
    if isinstance(dtype, ArrayType):
        return pa.list_(_arrow_type(dtype.elementType))
    raise TypeError(dtype)


def _schema(table: str, **changes: pa.DataType | None) -> pa.Schema:
    """The contract's columns as Arrow fields; `changes` retypes (or, with None, drops) some and
    adds extra ones."""
    fields = {f.name: _arrow_type(f.dataType) for f in RAW_TABLES[table].schema.fields}
    fields.update(changes)
    return pa.schema([(name, dtype) for name, dtype in fields.items() if dtype is not None])


def _seller(seller_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seller_id": seller_id,
        "registered_at": T0,
        "country": "DE",
        "id_doc_hash": None,
        "store_template": "basic",
        "store_modules": 2,
        "payment_account_hash": None,
        "bank_account_hash": None,
        "return_address_hash": None,
        "phone_hash": None,
    }
    return row | changes


def _listing(listing_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "listing_id": listing_id,
        "seller_id": "s1",
        "title": "Lumora tote bag",
        "description": None,
        "brand": "Lumora",
        "category": "handbags",
        "price": Decimal("10.00"),
        "currency": "USD",
        "image_phash": "0123456789abcdef",
        "ships_from": "WH-1",
        "status": "active",
        "created_at": T0,
        "updated_at": T0,
    }
    return row | changes


def _session(session_id: str, ip: str | None = None, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "session_id": session_id,
        "seller_id": "s1",
        "event_ts": T0,
        "device_id": "d1",
        "wifi_bssid": "w1",
        "ip": ip,
    }
    return row | changes


def _review(review_id: str, buyer_ip: str | None = None, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "review_id": review_id,
        "listing_id": "l1",
        "buyer_id": "b1",
        "rating": 5,
        "review_text": "great",
        "created_at": T0,
        "buyer_device_id": "d1",
        "buyer_ip": buyer_ip,
    }
    return row | changes


def _land(
    landing: Path,
    table: str,
    name: str,
    rows: list[dict[str, Any]],
    schema: pa.Schema | None = None,
    *,
    day: date = NIGHT,
    **write_options: Any,
) -> Path:
    """Write `rows` as `<landing>/<table>/dt=<day>/<name>` with pyarrow."""
    schema = schema or _schema(table)
    folder = landing / table / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    path = folder / name
    pq.write_table(pa.table(columns, schema=schema), path, **write_options)
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def ctx(tmp_path: Path, session_root: Path, spark: SparkSession) -> JobContext:
    """A run on the test's own lakehouse, reading the test's own landing."""
    return JobContext(
        conf_for(tmp_path, f"paths.metastore={session_root / 'metastore'}", *SETTINGS)
    )


def _counts(results: list[TableResult]) -> dict[str, tuple[int, int, int]]:
    """table -> (read, bronze, quarantined), as ingest reconciled them against the tables."""
    return {r.table: (r.rows_read, r.rows_bronze, r.rows_quarantined) for r in results}


def _quarantined(ctx: JobContext, table: str) -> dict[str | None, list[str]]:
    """quarantine.<table> of the night: key (None for a whole file) -> the rules it broke."""
    key = RAW_TABLES[table].key[0]
    rows = (
        ctx.lakehouse.read(f"quarantine.{table}")
        .where(F.col(INGEST_DATE) == F.lit(NIGHT))
        .select(key, VIOLATIONS)
        .collect()  # bounded: a few rows
    )
    return {r[key]: list(r[VIOLATIONS]) for r in rows}


def _bronze_keys(ctx: JobContext, table: str) -> set[str]:
    key = RAW_TABLES[table].key[0]
    rows = ctx.lakehouse.read(f"bronze.{table}").select(key).collect()  # bounded: a few rows
    return {r[key] for r in rows}


def _file_rows(ctx: JobContext, table: str) -> list[tuple[str, list[str], int]]:
    """The night's quarantined files: (file name, rules, raw rows it held)."""
    rows = (
        ctx.lakehouse.read(f"quarantine.{table}")
        .where(F.col(FILE_ROWS).isNotNull())
        .select(SOURCE_FILE, VIOLATIONS, FILE_ROWS)
        .collect()  # bounded: a few files
    )
    return sorted(
        (r[SOURCE_FILE].rsplit("/", 1)[-1], list(r[VIOLATIONS]), r[FILE_ROWS]) for r in rows
    )


def _failed_spark_jobs(spark: SparkSession) -> set[int]:
    """The ingest Spark jobs that failed so far. A failed task is what makes an executor log an
    ERROR with a JVM stack trace (the executor's log is the JVM's, which pytest cannot capture)."""
    tracker = spark.sparkContext.statusTracker()
    jobs = (tracker.getJobInfo(job) for job in tracker.getJobIdsForGroup("ingest"))
    return {job.jobId for job in jobs if job is not None and job.status == "FAILED"}


def _assert_quiet(caplog: pytest.LogCaptureFixture, spark: SparkSession, failed: set[int]) -> None:
    """No Spark job failed since `failed` was taken, and nothing was logged above a WARN line."""
    assert _failed_spark_jobs(spark) == failed
    assert [r.getMessage() for r in caplog.records if r.levelno > logging.WARNING] == []
    assert all(r.exc_info is None for r in caplog.records)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# ---- missing and empty ----------------------------------------------------------------------


def test_empty_event_day_ingests_no_rows(ctx: JobContext, landing: Path) -> None:
    _land(landing, "seller_sessions", "part-0.parquet", [])
    assert _counts(ingest(ctx, NIGHT, ("seller_sessions",))) == {"seller_sessions": (0, 0, 0)}
    assert ctx.lakehouse.read("bronze.seller_sessions").count() == 0


def test_missing_event_table_is_an_empty_day_with_its_bronze_table(
    ctx: JobContext, landing: Path
) -> None:
    # A first night without any `reviews` folder: later steps read bronze.reviews, so it exists,
    # empty, with the contract's columns.
    _land(landing, "sellers", "part-0.parquet", [_seller("s1")])
    assert _counts(ingest(ctx, NIGHT, ("sellers", "reviews"))) == {
        "sellers": (1, 1, 0),
        "reviews": (0, 0, 0),
    }
    reviews = ctx.lakehouse.read("bronze.reviews")
    assert reviews.count() == 0
    assert set(RAW_TABLES["reviews"].required_columns) <= set(reviews.columns)
    assert {SOURCE_FILE, INGEST_DATE} <= set(reviews.columns)


def test_missing_snapshot_table_stops_the_night_in_one_line_with_the_lake_untouched(
    ctx: JobContext, landing: Path
) -> None:
    _land(landing, "sellers", "part-0.parquet", [_seller("s1")])
    with pytest.raises(FileNotFoundError) as stopped:
        ingest(ctx, NIGHT, ("sellers", "brand_registry"))
    assert str(stopped.value) == (
        f"snapshot table brand_registry has no dt<={NIGHT} under {landing}/brand_registry: "
        "the first night needs a full snapshot"
    )
    # Sellers come first and are readable, but nothing was written before the night stopped.
    for table in ("bronze.sellers", "quarantine.sellers", "bronze.brand_registry"):
        assert not ctx.lakehouse.exists(table), table


# ---- bad files ------------------------------------------------------------------------------


def test_unreadable_file_is_quarantined_with_one_warning_and_no_stack_trace(
    ctx: JobContext,
    landing: Path,
    caplog: pytest.LogCaptureFixture,
    spark: SparkSession,
) -> None:
    _land(landing, "sellers", "part-0.parquet", [_seller("s1"), _seller("s2")])
    broken = landing / "sellers" / f"dt={NIGHT}" / "part-1.parquet"
    broken.write_bytes(b"PAR1 this is not a parquet file \x00\x01\x02")
    failed = _failed_spark_jobs(spark)
    with caplog.at_level(logging.WARNING):
        results = ingest(ctx, NIGHT, ("sellers",))
    # An unreadable file's rows cannot be counted: it counts as one.
    assert _counts(results) == {"sellers": (3, 2, 1)}
    assert _file_rows(ctx, "sellers") == [("part-1.parquet", ["file:unreadable"], 1)]
    assert _warnings(caplog) == [
        f"sellers: quarantined file file:{broken} (file:unreadable), raw rows: 1"
    ]
    _assert_quiet(caplog, spark, failed)


def test_file_missing_a_required_column_is_quarantined_with_all_its_rows_counted(
    ctx: JobContext, landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _land(landing, "sellers", "part-0.parquet", [_seller("s1")])
    without_country = _schema("sellers", country=None)
    _land(
        landing, "sellers", "part-1.parquet", [_seller(f"n{i}") for i in range(3)], without_country
    )
    with caplog.at_level(logging.WARNING):
        results = ingest(ctx, NIGHT, ("sellers",))
    assert _counts(results) == {"sellers": (4, 1, 3)}
    assert results[0].top_rules == [("file:missing_column:country", 3)]
    assert _file_rows(ctx, "sellers") == [("part-1.parquet", ["file:missing_column:country"], 3)]
    assert len(_warnings(caplog)) == 1


def test_required_column_of_another_type_quarantines_its_file(
    ctx: JobContext, landing: Path
) -> None:
    # pandas writes integers as int64: the contract's int cannot hold every int64.
    _land(landing, "sellers", "part-0.parquet", [_seller("s1")])
    wide = _schema("sellers", store_modules=pa.int64())
    _land(landing, "sellers", "part-1.parquet", [_seller("w1"), _seller("w2")], wide)
    textual = _schema("sellers", registered_at=pa.string())
    _land(
        landing, "sellers", "part-2.parquet", [_seller("t1", registered_at="2026-11-01")], textual
    )
    assert _counts(ingest(ctx, NIGHT, ("sellers",))) == {"sellers": (4, 1, 3)}
    assert _file_rows(ctx, "sellers") == [
        ("part-1.parquet", ["file:wrong_type:store_modules"], 2),
        ("part-2.parquet", ["file:wrong_type:registered_at"], 1),
    ]


def test_extra_column_with_conflicting_types_is_carried_as_text(
    ctx: JobContext, landing: Path
) -> None:
    _land(
        landing,
        "sellers",
        "part-0.parquet",
        [_seller("s1", tier=3)],
        _schema("sellers", tier=pa.int64()),
    )
    _land(
        landing,
        "sellers",
        "part-1.parquet",
        [_seller("s2", tier="gold")],
        _schema("sellers", tier=pa.string()),
    )
    _land(landing, "sellers", "part-2.parquet", [_seller("s3")])
    assert _counts(ingest(ctx, NIGHT, ("sellers",))) == {"sellers": (3, 3, 0)}
    bronze = ctx.lakehouse.read("bronze.sellers")
    assert bronze.schema["tier"].dataType == StringType()
    tiers = {r["seller_id"]: r["tier"] for r in bronze.select("seller_id", "tier").collect()}
    assert tiers == {"s1": "3", "s2": "gold", "s3": None}


def test_same_file_landed_twice_keeps_one_copy_and_quarantines_the_other(
    ctx: JobContext, landing: Path
) -> None:
    first = _land(landing, "seller_sessions", "part-0.parquet", [_session("x1"), _session("x2")])
    shutil.copy(first, first.with_name("part-1.parquet"))  # exported again, under a new name
    assert _counts(ingest(ctx, NIGHT, ("seller_sessions",))) == {"seller_sessions": (4, 2, 2)}
    kept = ctx.lakehouse.read("bronze.seller_sessions").select(SOURCE_FILE).distinct().collect()
    assert [r[0].rsplit("/", 1)[-1] for r in kept] == ["part-0.parquet"]
    assert _quarantined(ctx, "seller_sessions") == {
        "x1": ["unique:session_id"],
        "x2": ["unique:session_id"],
    }


def test_late_file_is_picked_up_by_a_rerun_of_its_night(
    ctx: JobContext, landing: Path, tmp_path: Path, session_root: Path
) -> None:
    _land(landing, "seller_sessions", "part-0.parquet", [_session("x1"), _session("x2")])
    assert _counts(ingest(ctx, NIGHT, ("seller_sessions",))) == {"seller_sessions": (2, 2, 0)}
    # The night ran; then a file lands in its partition. `nightly --date D --force` runs ingest
    # again: the late rows are added, the others are not written twice.
    _land(landing, "seller_sessions", "part-1-late.parquet", [_session("x3"), _session("x1")])
    rerun = JobContext(ctx.conf)
    assert _counts(ingest(rerun, NIGHT, ("seller_sessions",))) == {"seller_sessions": (4, 3, 1)}
    assert _bronze_keys(rerun, "seller_sessions") == {"x1", "x2", "x3"}
    assert _quarantined(rerun, "seller_sessions") == {"x1": ["unique:session_id"]}


# ---- timestamps -----------------------------------------------------------------------------


def test_timestamps_in_the_future_or_the_far_past_are_quarantined(
    ctx: JobContext, landing: Path
) -> None:
    end_of_tolerance = datetime.combine(NIGHT + timedelta(days=2), datetime.min.time())
    sellers = [
        _seller("ok-old", registered_at=datetime(1995, 1, 1)),
        _seller("ok-late-clock", registered_at=end_of_tolerance - timedelta(microseconds=1)),
        _seller("future", registered_at=end_of_tolerance),
        _seller("typo", registered_at=datetime(2150, 1, 1)),
        _seller("epoch", registered_at=datetime(1970, 1, 1)),
        _seller("year-one", registered_at=datetime(1, 1, 1)),
    ]
    _land(landing, "sellers", "part-0.parquet", sellers)
    assert _counts(ingest(ctx, NIGHT, ("sellers",))) == {"sellers": (6, 2, 4)}
    assert _bronze_keys(ctx, "sellers") == {"ok-old", "ok-late-clock"}
    assert _quarantined(ctx, "sellers") == {
        key: ["range:registered_at"] for key in ("future", "typo", "epoch", "year-one")
    }


def test_timestamps_stored_every_way_are_read_as_the_same_instant(
    ctx: JobContext, landing: Path, caplog: pytest.LogCaptureFixture, spark: SparkSession
) -> None:
    # One file per way a producer stores `registered_at` at 10:00 UTC: Spark (microseconds, UTC),
    # Spark's legacy INT96, pyarrow and pandas (nanoseconds, no time zone), milliseconds, and
    # microseconds without a time zone (read as UTC, the session's zone).
    stored = {
        "spark": pa.timestamp("us", tz="UTC"),
        "int96": pa.timestamp("ns"),
        "nanos": pa.timestamp("ns"),
        "nanos-utc": pa.timestamp("ns", tz="UTC"),
        "millis": pa.timestamp("ms", tz="UTC"),
        "millis-local": pa.timestamp("ms"),
        "micros-local": pa.timestamp("us"),
    }
    for name, dtype in stored.items():
        options = {"use_deprecated_int96_timestamps": True} if name == "int96" else {}
        value = T0.replace(tzinfo=UTC) if dtype.tz else T0
        schema = _schema("sellers", registered_at=dtype)
        _land(
            landing,
            "sellers",
            f"part-{name}.parquet",
            [_seller(name, registered_at=value)],
            schema,
            **options,
        )
    # A sellers file as pandas writes it (datetime64[ns], int64 modules: cast to the contract).
    exported = pd.DataFrame([_seller("pandas")]).astype({"store_modules": "int32"})
    exported["registered_at"] = pd.to_datetime(exported["registered_at"])
    exported.to_parquet(landing / "sellers" / f"dt={NIGHT}" / "part-pandas.parquet", index=False)
    failed = _failed_spark_jobs(spark)

    with caplog.at_level(logging.WARNING):
        assert _counts(ingest(ctx, NIGHT, ("sellers",))) == {"sellers": (8, 8, 0)}
    registered = ctx.lakehouse.read("bronze.sellers").select("seller_id", "registered_at").collect()
    assert {r["seller_id"]: r["registered_at"] for r in registered} == {
        name: T0 for name in [*stored, "pandas"]
    }
    _assert_quiet(caplog, spark, failed)
    assert _warnings(caplog) == []


# ---- values ---------------------------------------------------------------------------------


def test_ip_forms_route_to_their_rule_and_reduce_to_a_network(
    ctx: JobContext, landing: Path
) -> None:
    sessions = [
        _session("with-port", "81.2.69.142:80"),
        _session("zone-id", "fe80::1%eth0"),
        _session("mapped", "::ffff:81.2.69.142"),
        _session("plain", "81.2.69.142"),
    ]
    _land(landing, "seller_sessions", "part-0.parquet", sessions)
    assert _counts(ingest(ctx, NIGHT, ("seller_sessions",))) == {"seller_sessions": (4, 3, 1)}
    assert _quarantined(ctx, "seller_sessions") == {"with-port": ["allowed:ip"]}
    bronze = ctx.lakehouse.read("bronze.seller_sessions").select("session_id", "ip").collect()
    # What may leave the raw layers: the network only.
    assert {r["session_id"]: network_prefix(r["ip"]) for r in bronze} == {
        "zone-id": "fe80::/48",
        "mapped": "81.2.69.0/24",
        "plain": "81.2.69.0/24",
    }


def test_buyer_ip_timeline_and_utf8_rows_are_quarantined_and_fail_their_expectations(
    tmp_path: Path, session_root: Path, spark: SparkSession, landing: Path
) -> None:
    # Great Expectations on: the suite validates the same day and fails on the same rows.
    ctx = JobContext(
        conf_for(tmp_path, f"paths.metastore={session_root / 'metastore'}", SETTINGS[1])
    )
    reviews = [
        _review("ok", "81.2.69.142"),
        _review("mapped", "::ffff:81.2.69.142"),
        _review("with-port", "81.2.69.142:80"),
        _review("epoch", created_at=datetime(1970, 1, 1)),
        _review("bytes"),
    ]
    texts = pa.array([b"great"] * 4 + [b"gr\xc3\x28at"], pa.binary()).view(pa.string())
    folder = landing / "reviews" / f"dt={NIGHT}"
    folder.mkdir(parents=True)
    columns = {f.name: [r[f.name] for r in reviews] for f in RAW_TABLES["reviews"].schema.fields}
    columns["review_text"] = texts
    pq.write_table(pa.table(columns, schema=_schema("reviews")), folder / "part-0.parquet")

    assert _counts(ingest(ctx, NIGHT, ("reviews",))) == {"reviews": (5, 2, 3)}
    assert _quarantined(ctx, "reviews") == {
        "with-port": ["allowed:buyer_ip"],
        "epoch": ["range:created_at"],
        "bytes": ["utf8:review_text"],
    }
    validations = Path(ctx.conf.paths.reports) / NIGHT.isoformat()
    summary = json.loads((validations / "data_contracts.json").read_text())
    assert summary["reviews"] == {
        "success": False,
        "failed_rules": {"allowed:buyer_ip": 1, "range:created_at": 1, "utf8:review_text": 1},
    }
    # What may leave the raw layers: buyer IPs as their network, in no report whole.
    bronze = ctx.lakehouse.read("bronze.reviews").select("review_id", "buyer_ip").collect()
    assert {r["review_id"]: network_prefix(r["buyer_ip"]) for r in bronze} == {
        "ok": "81.2.69.0/24",
        "mapped": "81.2.69.0/24",
    }
    pages = [p.read_text() for p in validations.rglob("*") if p.suffix in (".html", ".json")]
    assert pages and not any("81.2.69.142" in page for page in pages)


def test_invalid_utf8_text_is_quarantined(ctx: JobContext, landing: Path) -> None:
    # Parquet strings are bytes; a producer can write bytes that are no text at all.
    templates = pa.array([b"basic", b"gold\xff\xfe"], pa.binary()).view(pa.string())
    folder = landing / "sellers" / f"dt={NIGHT}"
    folder.mkdir(parents=True)
    columns = {
        name: [_seller(key)[name] for key in ("s1", "s2")]
        for name in RAW_TABLES["sellers"].required_columns
    }
    columns["seller_id"], columns["store_template"] = ["s1", "s2"], templates
    pq.write_table(pa.table(columns, schema=_schema("sellers")), folder / "part-0.parquet")
    assert _counts(ingest(ctx, NIGHT, ("sellers",))) == {"sellers": (2, 1, 1)}
    assert _quarantined(ctx, "sellers") == {"s2": ["utf8:store_template"]}


def test_ten_megabyte_title_is_quarantined_for_its_length(ctx: JobContext, landing: Path) -> None:
    _land(landing, "sellers", "part-0.parquet", [_seller("s1")])
    huge = "counterfeit " * (10 * 2**20 // 12)
    _land(landing, "listings", "part-0.parquet", [_listing("huge", title=huge), _listing("ok")])
    counts = _counts(ingest(ctx, NIGHT, ("sellers", "listings")))
    assert counts["listings"] == (2, 1, 1)
    assert _quarantined(ctx, "listings") == {"huge": ["range:title"]}


def test_day_with_ten_times_the_usual_rows_ingests(ctx: JobContext, landing: Path) -> None:
    usual = [_session(f"u{i}", event_ts=T0 - timedelta(days=1)) for i in range(40)]
    _land(landing, "seller_sessions", "part-0.parquet", usual, day=NIGHT - timedelta(days=1))
    busy = [_session(f"b{i}") for i in range(400)]
    _land(landing, "seller_sessions", "part-0.parquet", busy)
    ingest(ctx, NIGHT - timedelta(days=1), ("seller_sessions",))
    assert _counts(ingest(ctx, NIGHT, ("seller_sessions",))) == {"seller_sessions": (400, 400, 0)}


# ---- orphans --------------------------------------------------------------------------------


def _night(ctx: JobContext, night: date) -> None:
    """Ingest and conform a night (the tables conform reads), as a fresh run."""
    run = JobContext(ctx.conf)
    ingest(run, night, ("sellers", "listings", "seller_sessions", "orders"))
    conform(run, night)


def test_orphan_listing_reaches_silver_the_night_its_seller_arrives(
    ctx: JobContext, landing: Path
) -> None:
    # Night 1: L2's seller s2 is in no snapshot yet, so L2 waits in quarantine as an orphan.
    # Night 2: s2 arrives with the sellers snapshot; no listing changes that day.
    night_2 = NIGHT + timedelta(days=1)
    _land(landing, "sellers", "part-0.parquet", [_seller("s1")])
    _land(landing, "sellers", "part-0.parquet", [_seller("s1"), _seller("s2")], day=night_2)
    _land(
        landing,
        "listings",
        "part-0.parquet",
        [_listing("L1"), _listing("L2", seller_id="s2", image_phash="fedcba9876543210")],
    )
    lake = ctx.lakehouse
    _night(ctx, NIGHT)
    assert _quarantined(ctx, "listings") == {"L2": ["orphan:seller_id"]}
    _night(ctx, night_2)

    # Adopted on night 2, L2 is in silver from that night on, so the night's features (which
    # read silver's listings first seen by the night) and scores hold it.
    silver = lake.read(catalog.LISTINGS_CURRENT).select("listing_id", "first_seen")
    assert sorted(silver.collect()) == [("L1", NIGHT), ("L2", night_2)]
    seen_by = lake.read_history(catalog.LISTINGS_CURRENT, until=night_2).select("listing_id")
    assert {r[0] for r in seen_by.collect()} == {"L1", "L2"}
    # In bronze it keeps the night it arrived (night 1 still reconciles) and says when it was
    # adopted.
    bronze = lake.read(catalog.bronze("listings")).select("listing_id", INGEST_DATE, ADOPTED_DATE)
    assert sorted(bronze.collect()) == [("L1", NIGHT, None), ("L2", NIGHT, night_2)]

    # Re-running night 2 changes nothing; re-running night 1 after it keeps L2 out of night 1:
    # its photo, an identifier of s2, stays first seen on night 2.
    def image_of_s2() -> list[tuple[date, date, int]]:
        rows = lake.read(catalog.SELLER_IDENTIFIERS).where(
            (F.col("seller_id") == "s2") & (F.col("identifier_type") == "image")
        )
        return [tuple(r) for r in rows.select("first_seen", "last_seen", "days_seen").collect()]

    assert image_of_s2() == [(night_2, night_2, 1)]
    _night(ctx, night_2)
    _night(ctx, NIGHT)
    assert sorted(bronze.collect()) == [("L1", NIGHT, None), ("L2", NIGHT, night_2)]
    assert sorted(silver.collect()) == [("L1", NIGHT), ("L2", night_2)]
    assert image_of_s2() == [(night_2, night_2, 1)]
    seen_by_1 = lake.read_history(catalog.LISTINGS_CURRENT, until=NIGHT).select("listing_id")
    assert {r[0] for r in seen_by_1.collect()} == {"L1"}
