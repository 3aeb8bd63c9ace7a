"""Each contract rule routes exactly the rows that break it, under its vocabulary name."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from data_contracts.checks import check_rows
from data_contracts.rules import table_rules
from data_contracts.schemas import LISTINGS, REVIEWS, SELLER_SESSIONS
from jobs.runtime.expectations import ContractValidator

T0 = datetime(2026, 11, 1, 10, 0)
EARLIEST = date(1995, 1, 1)


def nullable(schema: StructType) -> StructType:
    """The contract's schema with every column nullable, so broken rows can be built."""
    return StructType([StructField(f.name, f.dataType, True) for f in schema.fields])


def _listing(listing_id: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
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
    row.update(changes)
    return row


def test_each_broken_listing_rule_is_named_and_valid_rows_pass(spark: SparkSession) -> None:
    rows = [
        _listing("ok"),
        _listing("no-title", title=None),
        _listing("long-title", title="x" * 501),
        _listing("free", price=Decimal("0.00")),
        _listing("bad-currency", currency="ZZZ"),
        _listing("bad-status", status="deleted"),
        _listing("bad-phash", image_phash="xyz"),
        _listing("time-travel", updated_at=datetime(2026, 10, 30)),
        _listing("orphan", seller_id="nobody"),
        _listing("ok"),  # an exact second copy: one is kept, the other breaks uniqueness
    ]
    frame = (
        spark.createDataFrame(rows, nullable(LISTINGS.schema))
        .withColumn("_source_file", F.lit("f1"))
        .withColumn("_dt", F.lit(date(2026, 11, 1)))
    )
    known = spark.createDataFrame([("s1",)], "seller_id string")
    checked = check_rows(
        frame,
        "listings",
        table_rules("listings", currencies=("USD", "EUR"), earliest=EARLIEST),
        known_sellers=known,
    )
    got = sorted((r["listing_id"], tuple(r["_violations"])) for r in checked.collect())
    assert got == sorted(
        [
            ("ok", ()),
            ("ok", ("unique:listing_id",)),
            ("no-title", ("not_null:title",)),
            ("long-title", ("range:title",)),
            ("free", ("range:price",)),
            ("bad-currency", ("allowed:currency",)),
            ("bad-status", ("allowed:status",)),
            ("bad-phash", ("allowed:image_phash",)),
            ("time-travel", ("order:updated_at",)),
            ("orphan", ("orphan:seller_id",)),
        ]
    )


def test_session_window_and_ip_format(spark: SparkSession) -> None:
    rows = [
        ("x1", "s1", datetime(2026, 11, 1, 23), "d", "w", "10.1.2.3"),
        ("x2", "s1", datetime(2026, 10, 31, 1), "d", "w", "2001:db8::1"),  # a day late: tolerated
        ("x3", "s1", datetime(2026, 11, 6), "d", "w", None),
        ("x4", "s1", datetime(2026, 11, 1), "d", "w", "999.1.2.3"),
    ]
    frame = (
        spark.createDataFrame(rows, nullable(SELLER_SESSIONS.schema))
        .withColumn("_source_file", F.lit("f"))
        .withColumn("_dt", F.lit(date(2026, 11, 1)))
    )
    checked = check_rows(
        frame,
        "seller_sessions",
        table_rules("seller_sessions", currencies=("USD",), earliest=EARLIEST),
    )
    got = {r["session_id"]: list(r["_violations"]) for r in checked.collect()}
    assert got == {"x1": [], "x2": [], "x3": ["window:event_ts"], "x4": ["allowed:ip"]}


def test_ip_rule_takes_every_address_form_and_no_port(spark: SparkSession) -> None:
    forms = {
        "81.2.69.142": [],
        "2001:DB8:85a3:8d3:1319:8a2e:370:7348": [],
        "::1": [],
        "fe80::1%eth0": [],  # a zone id (RFC 6874)
        "::ffff:81.2.69.142": [],  # IPv4-mapped
        "64:ff9b::81.2.69.142": [],  # NAT64
        "1.2.3.4:80": ["allowed:ip"],  # a port: not an address
        "[2001:db8::1]:443": ["allowed:ip"],
        "2001:db8:::1": ["allowed:ip"],
        "1:2:3:4:5:6:7:8:9": ["allowed:ip"],
        "12345::": ["allowed:ip"],
    }
    rows = [(f"x{n}", "s1", T0, "d", "w", ip) for n, ip in enumerate(forms)]
    frame = (
        spark.createDataFrame(rows, nullable(SELLER_SESSIONS.schema))
        .withColumn("_source_file", F.lit("f"))
        .withColumn("_dt", F.lit(date(2026, 11, 1)))
    )
    checked = check_rows(
        frame,
        "seller_sessions",
        table_rules("seller_sessions", currencies=("USD",), earliest=EARLIEST),
    )
    got = {r["ip"]: list(r["_violations"]) for r in checked.collect()}
    assert got == forms


def test_every_review_rule_has_its_great_expectations_expectation() -> None:
    rules = table_rules("reviews", currencies=("USD",), earliest=EARLIEST)
    expectations = {rule.name: rule.expectation() for rule in rules}
    assert {name: type(e).__name__ for name, e in expectations.items()} == {
        "not_null:review_id": "ExpectColumnValuesToNotBeNull",
        "not_null:listing_id": "ExpectColumnValuesToNotBeNull",
        "not_null:buyer_id": "ExpectColumnValuesToNotBeNull",
        "not_null:rating": "ExpectColumnValuesToNotBeNull",
        "not_null:created_at": "ExpectColumnValuesToNotBeNull",
        "range:rating": "ExpectColumnValuesToBeBetween",
        # The IP rule counts its rows without listing them: an address is personal data.
        "allowed:buyer_ip": "UnexpectedRowsExpectation",
        # The timeline's upper end is each row's file day: a Spark SQL query over the batch.
        "range:created_at": "UnexpectedRowsExpectation",
        **{
            f"utf8:{c}": "UnexpectedRowsExpectation"
            for c in (
                "review_id",
                "listing_id",
                "buyer_id",
                "review_text",
                "buyer_device_id",
                "buyer_ip",
            )
        },
    }
    assert all(e is not None and e.meta == {"rule": name} for name, e in expectations.items())


def test_session_window_has_its_great_expectations_expectation() -> None:
    rules = table_rules("seller_sessions", currencies=("USD",), earliest=EARLIEST)
    window = next(r for r in rules if r.name == "window:event_ts").expectation()
    assert type(window).__name__ == "UnexpectedRowsExpectation"


def test_buyer_ip_timeline_and_utf8_rows_are_routed_and_fail_great_expectations(
    spark: SparkSession, tmp_path: Path
) -> None:
    night = date(2026, 11, 1)
    rows = [
        ("ok", "l1", "b1", 5, "great", T0, "d1", "81.2.69.142"),
        ("ok-v6", "l1", "b1", 4, "fine", T0, "d1", "2001:db8::1"),
        ("port", "l1", "b1", 5, "great", T0, "d1", "81.2.69.142:80"),
        ("epoch", "l1", "b1", 5, "great", datetime(1970, 1, 1), "d1", None),
        ("future", "l1", "b1", 5, "great", datetime(2026, 11, 3), "d1", None),
        ("bytes", "l1", "b1", 5, None, T0, "d1", None),
    ]
    not_text = F.unhex(F.lit("C328")).cast("string")  # a truncated two-byte sequence
    frame = (
        spark.createDataFrame(rows, nullable(REVIEWS.schema))
        .withColumn(
            "review_text",
            F.when(F.col("review_id") == "bytes", not_text).otherwise(F.col("review_text")),
        )
        .withColumn("_source_file", F.lit("f"))
        .withColumn("_dt", F.lit(night))
    )
    rules = table_rules("reviews", currencies=("USD",), earliest=EARLIEST)

    checked = check_rows(frame, "reviews", rules)
    assert {r["review_id"]: list(r["_violations"]) for r in checked.collect()} == {
        "ok": [],
        "ok-v6": [],
        "port": ["allowed:buyer_ip"],
        "epoch": ["range:created_at"],
        "future": ["range:created_at"],
        "bytes": ["utf8:review_text"],
    }

    validator = ContractValidator(str(tmp_path), night)
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    assert validator.validate("reviews", frame, rules) is False
    # GE reads the frame it is given: no copy of it cached (and left cached) behind the caller.
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached
    assert validator.summary["reviews"]["failed_rules"] == {
        "allowed:buyer_ip": 1,
        "range:created_at": 2,
        "utf8:review_text": 1,
    }
    suite = validator.context.suites.get("reviews_contract")
    assert len(suite.expectations) == len(rules)
    # Neither our page nor GE's own Data Docs show the address with its port.
    written = [p.read_text() for p in tmp_path.rglob("*") if p.suffix in (".html", ".json")]
    assert written and not any("81.2.69.142" in text for text in written)
