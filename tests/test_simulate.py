"""The simulator writes the contract exactly, agrees with its own truth, and is deterministic."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.conf import Conf
from jobs.context import JobContext
from jobs.simulate import simulate
from jobs.simulator.world import WorldSpec, generate
from tests.conftest import conf_for

START = date(2026, 11, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Path:
    out = tmp_path_factory.mktemp("world")
    simulate(
        JobContext(conf_for(out)),
        out=str(out / "landing"),
        listings=10_000,
        days=2,
        seed=3,
        start=START,
        defect_rate=0.002,
    )
    return out / "landing"


def _read(spark: SparkSession, landing: Path, table: str) -> DataFrame:
    return spark.read.option("basePath", str(landing / table)).parquet(
        str(landing / table / "dt=*/part-0*.parquet")
    )


def test_every_table_has_the_contract_schema(spark: SparkSession, world: Path) -> None:
    for name, table in RAW_TABLES.items():
        written = spark.read.parquet(str(next((world / name).glob("dt=*/part-0*.parquet"))))
        assert [(f.name, f.dataType) for f in written.schema] == [
            (f.name, f.dataType) for f in table.schema
        ], name
        assert sorted(p.name for p in (world / name).iterdir() if p.is_dir())[0] == f"dt={START}"


def test_ring_members_share_signals_and_honest_hubs_are_large(
    spark: SparkSession, world: Path
) -> None:
    truth = spark.read.parquet(str(world / "_truth" / "sellers.parquet"))
    sellers = _read(spark, world, "sellers").join(truth, "seller_id")
    rings = truth.where("ring_id IS NOT NULL")
    assert rings.select("ring_id").distinct().count() >= 5
    # Ring members share payment accounts with one another, never with honest sellers.
    shared = (
        sellers.groupBy("payment_account_hash")
        .agg(
            F.countDistinct("seller_id").alias("members"),
            F.countDistinct("ring_id").alias("rings"),
            F.max(F.col("is_counterfeit").cast("int")).alias("any_fake"),
            F.min(F.col("is_counterfeit").cast("int")).alias("all_fake"),
        )
        .where("members > 1")
    )
    assert shared.where("any_fake = 1").count() >= 3
    assert shared.where("any_fake = 1 AND (all_fake = 0 OR rings > 1)").count() == 0
    # Every account has its own identity document, rings included.
    assert (
        sellers.groupBy("id_doc_hash")
        .agg(F.countDistinct("seller_id").alias("n"))
        .where("n > 1")
        .count()
        == 0
    )
    # Public Wi-Fi hubs: shared by >= 100 accounts, mostly honest.
    hubs = (
        _read(spark, world, "seller_sessions")
        .groupBy("wifi_bssid")
        .agg(F.countDistinct("seller_id").alias("n"))
        .where("n >= 100")
    )
    assert hubs.count() >= 2


def test_fakes_are_cheap_and_truth_covers_every_listing(spark: SparkSession, world: Path) -> None:
    listings = _read(spark, world, "listings").dropDuplicates(["listing_id"])
    truth = spark.read.parquet(str(world / "_truth" / "listings.parquet"))
    assert (
        listings.join(truth, "listing_id", "left_anti")
        .where(~F.col("listing_id").contains("-D"))
        .count()
        == 0
    )
    share = truth.agg(F.avg(F.col("is_counterfeit").cast("double"))).first()
    assert share is not None
    fake_share = share[0]
    assert 0.01 < fake_share < 0.1


def test_same_seed_gives_the_same_world(spark: SparkSession, conf: Conf) -> None:
    spec = WorldSpec(2_000, 2, 5, START, dict(conf.conform.rates_to_usd), conf.simulator)
    first, second = generate(spark, spec), generate(spark, spec)
    for table in ("listings", "seller_sessions", "takedown_notices"):
        assert first.tables[table].exceptAll(second.tables[table]).count() == 0
        assert first.tables[table].count() == second.tables[table].count() > 0
    other = generate(
        spark, WorldSpec(2_000, 2, 6, START, dict(conf.conform.rates_to_usd), conf.simulator)
    )
    assert first.tables["listings"].exceptAll(other.tables["listings"]).count() > 0


def test_planted_defects_are_recorded_and_break_their_rule(
    spark: SparkSession, world: Path
) -> None:
    defects = spark.read.parquet(str(world / "_truth" / "defects.parquet"))
    kinds = {r["kind"] for r in defects.select("kind").distinct().collect()}
    assert {
        "file:unreadable",
        "file:missing_column:rating",
        "orphan:seller_id",
        "unique:listing_id",
        "range:price",
        "window:event_ts",
        "required_if:verdict_at",
        "allowed:currency",
    } <= kinds
    listings = _read(spark, world, "listings")
    price_keys = defects.where("kind = 'range:price'").select(F.col("key").alias("listing_id"))
    assert listings.join(price_keys, "listing_id").where("price > 0").count() == 0
    dup_keys = defects.where("kind = 'unique:listing_id'").select(F.col("key").alias("listing_id"))
    assert (
        listings.join(dup_keys, "listing_id")
        .groupBy("listing_id", "dt")
        .count()
        .where("count = 2")
        .count()
        == dup_keys.count()
    )
    for path in defects.where("kind LIKE 'file:%'").select("key").collect():
        assert (world / path["key"]).is_file()
