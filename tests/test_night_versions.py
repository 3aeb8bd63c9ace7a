"""Pinned night versions: what each night read of the current-state tables, and re-runs reading it
(jobs/runtime/night_versions.py). Small frames in a fresh lakehouse."""

from __future__ import annotations

import argparse
from datetime import date

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from jobs import nightly
from jobs.cli import run_guarded
from jobs.runtime import catalog, night_versions
from jobs.runtime.conf import Conf
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse
from jobs.runtime.night_versions import NightTooOld

SELLERS = "seller_id string, country string, store_modules int"
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
TABLES = (catalog.SELLERS_CURRENT, catalog.LISTINGS_CURRENT)


def _sellers(spark: SparkSession, *rows: tuple[str, str, int]) -> DataFrame:
    return spark.createDataFrame(list(rows), SELLERS)


def _listings(spark: SparkSession, *rows: tuple[str, str, date]) -> DataFrame:
    return spark.createDataFrame(list(rows), "listing_id string, status string, first_seen date")


def _three_nights(spark: SparkSession, lake: Lakehouse) -> None:
    """Each night changes both tables and pins them, as conform does: versions 0, 1, 2."""
    states = [
        (_sellers(spark, ("s1", "DE", 0)), _listings(spark, ("l1", "active", D1))),
        (
            _sellers(spark, ("s1", "DE", 3), ("s2", "FR", 1)),
            _listings(spark, ("l1", "removed", D1), ("l2", "active", D2)),
        ),
        (
            _sellers(spark, ("s1", "PL", 5), ("s2", "FR", 1)),
            _listings(spark, ("l1", "removed", D1), ("l2", "sold_out", D2)),
        ),
    ]
    for night, (sellers, listings) in zip((D1, D2, D3), states, strict=True):
        lake.overwrite(catalog.SELLERS_CURRENT, sellers)
        lake.overwrite(catalog.LISTINGS_CURRENT, listings)
        night_versions.pin_tables(lake, night, TABLES, run_id=f"run-{night}")


def test_each_night_pins_the_versions_it_committed(
    spark: SparkSession, lakehouse: Lakehouse
) -> None:
    _three_nights(spark, lakehouse)
    expected = spark.createDataFrame(
        [
            (D1, "silver.sellers_current", 0),
            (D1, "silver.listings_current", 0),
            (D2, "silver.sellers_current", 1),
            (D2, "silver.listings_current", 1),
            (D3, "silver.sellers_current", 2),
            (D3, "silver.listings_current", 2),
        ],
        "night date, table_name string, version long",
    )
    pins = lakehouse.read(catalog.NIGHT_VERSIONS).select("night", "table_name", "version")
    assertDataFrameEqual(pins, expected)
    assert night_versions.latest_night(lakehouse) == D3
    assert [night_versions.is_past_night(lakehouse, n) for n in (D1, D2, D3)] == [
        True,
        True,
        False,
    ]


def test_a_past_night_reads_its_pinned_version_and_the_latest_night_the_latest(
    spark: SparkSession, lakehouse: Lakehouse
) -> None:
    _three_nights(spark, lakehouse)
    d1, d2, d3 = (night_versions.night_pins(lakehouse, night) for night in (D1, D2, D3))
    assert d2.version(catalog.SELLERS_CURRENT) == 1
    assertDataFrameEqual(
        d2.read(catalog.SELLERS_CURRENT),
        _sellers(spark, ("s1", "DE", 3), ("s2", "FR", 1)),
    )
    assertDataFrameEqual(
        d1.read(catalog.LISTINGS_CURRENT),
        _listings(spark, ("l1", "active", D1)),
    )
    assertDataFrameEqual(
        d3.read(catalog.SELLERS_CURRENT),
        lakehouse.read(catalog.SELLERS_CURRENT),
    )
    # A night that pinned nothing (run before pins existed) reads the latest version.
    unpinned = night_versions.night_pins(lakehouse, date(2026, 10, 31))
    assert unpinned.version(catalog.SELLERS_CURRENT) is None


def test_a_rerun_keeps_a_past_nights_pins_and_pins_the_latest_night_again(
    spark: SparkSession, lakehouse: Lakehouse
) -> None:
    _three_nights(spark, lakehouse)
    # The re-runs' merges commit new versions (3 and 4 here).
    lakehouse.overwrite(catalog.SELLERS_CURRENT, _sellers(spark, ("s1", "PL", 6)))
    lakehouse.overwrite(catalog.LISTINGS_CURRENT, _listings(spark, ("l1", "removed", D1)))
    night_versions.pin_tables(lakehouse, D2, TABLES, run_id="rerun")
    assert night_versions.pins(lakehouse, D2) == {
        "silver.sellers_current": 1,
        "silver.listings_current": 1,
    }
    night_versions.pin_tables(lakehouse, D3, TABLES, run_id="rerun")
    assert night_versions.pins(lakehouse, D3) == {
        "silver.sellers_current": 3,
        "silver.listings_current": 3,
    }


def test_the_model_of_a_night_is_pinned_with_no_champion_recorded_as_none(
    lakehouse: Lakehouse,
) -> None:
    assert night_versions.night_pins(lakehouse, D1).model("radar") == (False, None)
    night_versions.pin_model(lakehouse, "radar", D1, None, run_id="r1")
    night_versions.pin_model(lakehouse, "radar", D2, "3", run_id="r2")
    assert night_versions.night_pins(lakehouse, D1).model("radar") == (True, None)
    assert night_versions.night_pins(lakehouse, D2).model("radar") == (True, "3")
    assert night_versions.pins(lakehouse, D2) == {"model:radar": 3}
    assert night_versions.night_pins(lakehouse, D2).model("other") == (False, None)


def test_a_night_older_than_backfill_days_is_refused() -> None:
    latest = date(2026, 11, 20)
    night_versions.check_backfill_window(date(2026, 11, 6), latest, 14)  # 14 days back: allowed
    night_versions.check_backfill_window(date(2026, 11, 1), None, 14)  # nothing run yet
    with pytest.raises(NightTooOld) as refused:
        night_versions.check_backfill_window(date(2026, 11, 5), latest, 14)
    assert str(refused.value) == (
        "night 2026-11-05 is 15 days before the latest night run (2026-11-20); only the last "
        "14 (conf: ops: backfill_days) can be re-run as they were"
    )


def test_nightly_refuses_an_old_night_before_running_any_step(
    conf: Conf, lakehouse: Lakehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = JobContext(
        conf.model_copy(update={"ops": conf.ops.model_copy(update={"backfill_days": 1})})
    )
    night_versions.pin_model(ctx.lakehouse, "radar", D3, None, run_id="r3")
    args = argparse.Namespace(date=D1, start=None, end=None, force=True)
    with pytest.raises(NightTooOld):
        nightly.run(ctx, args)
    assert not lakehouse.exists(catalog.RUN_LOG)  # no step started

    def body(_: JobContext) -> None:
        nightly.run(ctx, args)

    assert run_guarded("radar nightly", None, [], body) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "radar nightly: refused: night 2026-11-01 is 2 days before the latest night run "
        "(2026-11-03); only the last 1 (conf: ops: backfill_days) can be re-run as they were"
    ]


def test_pinned_tables_keep_backfill_days_plus_one_of_history(
    spark: SparkSession, lakehouse: Lakehouse
) -> None:
    lakehouse.overwrite(catalog.SELLERS_CURRENT, _sellers(spark, ("s1", "DE", 0)))
    retention = catalog.retention_properties(45)
    assert dict(retention) == {
        "delta.logRetentionDuration": "interval 46 days",
        "delta.deletedFileRetentionDuration": "interval 46 days",
    }
    assert dict(catalog.retention_properties(14)) == {
        "delta.logRetentionDuration": "interval 30 days",  # Delta's default is longer
        "delta.deletedFileRetentionDuration": "interval 15 days",
    }
    lakehouse.ensure_properties(catalog.SELLERS_CURRENT, retention)
    lakehouse.ensure_properties(catalog.SELLERS_CURRENT, retention)  # already set: no new commit
    table = DeltaTable.forPath(spark, lakehouse.path(catalog.SELLERS_CURRENT))
    properties = table.detail().first()["properties"]  # type: ignore[index]
    assert {k: properties[k] for k in retention} == dict(retention)
    assert lakehouse.version(catalog.SELLERS_CURRENT) == 1
    assert night_versions.pinned_retention_hours(168, 14) == 360
    assert night_versions.pinned_retention_hours(720, 14) == 720
    assert {t.name for t in catalog.PINNED} == {
        "silver.listings_current",
        "silver.sellers_current",
        "silver.seller_identifiers",
    }
