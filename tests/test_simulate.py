"""The simulator writes the contract exactly, agrees with its own truth, and is deterministic."""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.cli import main
from jobs.runtime.conf import Conf, SimulatorConf, load_conf
from jobs.runtime.context import JobContext
from jobs.simulate import add_arguments, run, simulate
from jobs.simulator.brand_dimension import BRANDS, CHEAP_GENUINE_KINDS, MIN_AUTHORISED_RATIO
from jobs.simulator.marketplace import World, WorldSpec, generate
from jobs.simulator.scenarios import RANGES, SCENARIOS, randomised, scenario
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


# --- Scenarios and randomised worlds (issue 15) --------------------------------------------------

ORIGINAL_KINDS = {"fake", "authorised", "clearance", "genuine", "generic"}


def _knobs(conf: Conf, **overrides: object) -> SimulatorConf:
    return SimulatorConf.model_validate({**conf.simulator.model_dump(), **overrides})


def _world(
    spark: SparkSession, conf: Conf, knobs: SimulatorConf, *, listings: int = 3_000, days: int = 1
) -> World:
    return generate(
        spark, WorldSpec(listings, days, 11, START, dict(conf.conform.rates_to_usd), knobs)
    )


def _price_to_reference(world: World, conf: Conf) -> DataFrame:
    """Listings with their truth and their price over the brand's reference (one version each)."""
    spark = world.truth_listings.sparkSession
    rates = spark.createDataFrame(
        list(conf.conform.rates_to_usd.items()), "currency string, usd double"
    )
    registry = world.tables["brand_registry"].select(
        "brand", "reference_price", "authorized_seller_ids"
    )
    return (
        world.tables["listings"]
        .dropDuplicates(["listing_id"])
        .join(world.truth_listings, "listing_id")
        .join(rates, "currency")
        .join(registry, "brand", "left")
        .withColumn("price_to_reference", F.col("price") * F.col("usd") / F.col("reference_price"))
    )


def test_every_scenario_is_valid_and_every_knob_has_a_randomised_range() -> None:
    base = load_conf(None).simulator
    for name, overrides in SCENARIOS.items():
        knobs = scenario(base, name)
        assert {k: getattr(knobs, k) for k in overrides} == dict(overrides), name
    assert scenario(base, "demo") == base
    assert set(RANGES) == set(SimulatorConf.model_fields)


def test_randomised_knobs_are_drawn_in_their_range_and_depend_only_on_the_seed() -> None:
    base = load_conf(None).simulator
    first, again, other = randomised(base, 1101), randomised(base, 1101), randomised(base, 2202)
    assert first == again
    assert first != other
    for knob, (low, high) in RANGES.items():
        value = getattr(first, knob)
        values = value.values() if isinstance(value, dict) else [value]
        assert all(low <= v <= high for v in values), knob
        if isinstance(low, int):
            assert isinstance(value, int), knob


def test_an_unknown_scenario_is_a_one_line_error_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--listings", "10", "--scenario", "no_such_world"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "unknown scenario 'no_such_world'" in error
    assert all(name in error for name in SCENARIOS)


def test_randomise_sets_the_seed_and_writes_the_drawn_knobs_to_world_json(
    spark: SparkSession, conf: Conf, tmp_path: Path
) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "landing"
    args = parser.parse_args(
        ["--out", str(out), "--listings", "2000", "--days", "1", "--randomise", "2202"]
    )
    run(JobContext(conf), args)
    description = json.loads((out / "_truth" / "world.json").read_text())
    assert description["seed"] == 2202
    assert description["randomise"] == 2202
    assert description["scenario"] is None
    assert description["simulator"] == randomised(conf.simulator, 2202).model_dump()
    # The world on disk is the one those knobs and that seed build.
    rebuilt = generate(
        spark,
        WorldSpec(
            2000, 1, 2202, START, dict(conf.conform.rates_to_usd), randomised(conf.simulator, 2202)
        ),
    )
    written = _read(spark, out, "listings").drop("dt")
    assert written.exceptAll(rebuilt.tables["listings"].drop("dt")).count() == 0
    assert written.count() == rebuilt.tables["listings"].count()


def test_a_randomised_world_is_the_same_twice_and_differs_for_another_seed(
    spark: SparkSession, conf: Conf
) -> None:
    def world(seed: int) -> DataFrame:
        knobs = randomised(conf.simulator, seed)
        spec = WorldSpec(2_000, 1, seed, START, dict(conf.conform.rates_to_usd), knobs)
        return generate(spark, spec).tables["listings"]

    first, second, other = world(1101), world(1101), world(3303)
    assert first.exceptAll(second).count() == 0
    assert first.count() == second.count() > 0
    assert first.exceptAll(other).count() == first.count()


def test_the_default_world_has_none_of_the_new_kinds(spark: SparkSession, world: Path) -> None:
    truth = spark.read.parquet(str(world / "_truth" / "listings.parquet"))
    kinds = {r["kind"] for r in truth.select("kind").distinct().collect()}
    assert kinds == ORIGINAL_KINDS
    assert truth.where("price_typo").count() == 0
    assert not (world / "_truth" / "world.json").exists()


def test_price_typos_move_the_decimal_point_of_genuine_listings_only(
    spark: SparkSession, conf: Conf
) -> None:
    typos = _world(spark, conf, _knobs(conf, price_typo_rate=0.05))
    clean = _world(spark, conf, _knobs(conf))
    both = (
        typos.tables["listings"]
        .select("listing_id", F.col("price").alias("typed"))
        .join(clean.tables["listings"].select("listing_id", "price"), "listing_id")
        .join(typos.truth_listings, "listing_id")
    )
    changed = both.where(F.col("typed") != F.col("price"))
    assert changed.count() == typos.truth_listings.where("price_typo").count() > 0
    assert changed.where(~F.col("price_typo") | F.col("is_counterfeit")).count() == 0
    ten_times = F.col("typed") == (F.col("price") * 10).cast("decimal(12,2)")
    a_tenth = F.col("typed") == F.greatest(
        (F.col("price") / 10).cast("decimal(12,2)"), F.lit(0.01).cast("decimal(12,2)")
    )
    assert changed.where(~ten_times & ~a_tenth).count() == 0
    assert changed.where(ten_times).count() > 0
    assert changed.where(a_tenth).count() > 0


def test_genuine_listings_below_the_reference_are_genuine_and_priced_as_their_kind(
    spark: SparkSession, conf: Conf
) -> None:
    world = _world(spark, conf, scenario(conf.simulator, "genuine_below_reference"))
    listings = _price_to_reference(world, conf).where(~F.col("price_typo")).cache()
    cent = 0.01  # prices are rounded to the cent in their currency
    for kind, (low, high) in CHEAP_GENUINE_KINDS.items():
        of_kind = listings.where(F.col("kind") == kind)
        bounds = of_kind.agg(
            F.count("*"), F.min("price_to_reference"), F.max("price_to_reference")
        ).first()
        assert bounds is not None and bounds[0] > 0, kind
        assert low - cent <= bounds[1] and bounds[2] <= high + cent, kind
        assert of_kind.where("is_counterfeit").count() == 0, kind
    # Authorised discounters are in their brand's registry row, and sell below its floor.
    discounted = listings.where(F.col("kind") == "discounter")
    assert discounted.count() > 0
    assert (
        discounted.where(~F.array_contains("authorized_seller_ids", F.col("seller_id"))).count()
        == 0
    )
    assert discounted.where(F.col("price_to_reference") >= MIN_AUTHORISED_RATIO + cent).count() == 0
    # Accessories name the brand they fit in the title, and claim no brand.
    accessories = (
        world.tables["listings"]
        .join(world.truth_listings, "listing_id")
        .where(F.col("kind") == "brand_accessory")
    )
    assert accessories.count() > 0
    brand_named = F.exists(
        F.array(*[F.lit(b.name) for b in BRANDS]), lambda b: F.col("title").contains(b)
    )
    assert accessories.where(~brand_named | F.col("brand").isNotNull()).count() == 0
    assert accessories.where("is_counterfeit").count() == 0
    listings.unpersist()


def test_suspicious_brands_report_the_genuine_listings_priced_like_fakes(
    spark: SparkSession, conf: Conf
) -> None:
    knobs = _knobs(
        conf,
        cheap_genuine_share=0.3,
        authorised_discounter_share=0.05,
        report_rate=0.0,
        false_report_rate=0.0,
        suspicious_report_rate=1.0,
        wrong_verdict_rate=0.0,
        stays_pending_rate=0.0,
    )
    world = _world(spark, conf, knobs, days=2)
    notices = world.tables["takedown_notices"].join(world.truth_listings, "listing_id")
    always_cheap = [*CHEAP_GENUINE_KINDS, "discounter"]  # every price of these is below 0.6x
    assert notices.where("is_counterfeit").count() == 0
    assert notices.where(~F.col("kind").isin(*always_cheap, "clearance")).count() == 0
    reported = notices.where(F.col("kind").isin(*always_cheap)).select("listing_id").distinct()
    assert reported.count() == world.truth_listings.where(F.col("kind").isin(*always_cheap)).count()
    decided = notices.where("verdict != 'pending'")
    assert decided.count() > 0
    assert decided.where("verdict != 'rejected'").count() == 0


def test_workshops_share_their_kit_inside_and_lone_accounts_share_no_account(
    spark: SparkSession, conf: Conf
) -> None:
    # Every ring account uses its ring's payment and payee accounts, unless a knob says otherwise.
    rates = {**conf.simulator.ring_signal_rates, "payment": 1.0, "payee": 1.0}

    def ring_accounts(knobs: SimulatorConf) -> tuple[DataFrame, DataFrame]:
        world = _world(spark, conf, knobs, listings=4_000)
        ring = world.truth_sellers.where("is_counterfeit")
        sellers = world.tables["sellers"].dropDuplicates(["seller_id"]).join(ring, "seller_id")
        return sellers.cache(), world.tables["orders"].join(
            world.tables["listings"].select("listing_id", "seller_id").distinct(), "listing_id"
        ).join(ring, "seller_id")

    split, split_orders = ring_accounts(
        _knobs(conf, ring_seller_share=0.3, workshops_per_ring=3, ring_signal_rates=rates)
    )
    workshops = split.select("ring_id", "workshop").distinct().count()
    rings = split.select("ring_id").distinct().count()
    # A payment account per workshop, one payee per ring: the money links the workshops.
    assert split.select("payment_account_hash").distinct().count() == workshops > rings
    assert (
        split_orders.select("payee_account_hash").distinct().count()
        == split_orders.select("ring_id").distinct().count()
    )
    split.unpersist()
    lone, _ = ring_accounts(
        _knobs(conf, ring_seller_share=0.3, lone_signal_share=1.0, ring_signal_rates=rates)
    )
    assert lone.select("payment_account_hash").distinct().count() == lone.count() > 0
    lone.unpersist()


def test_rings_of_one_factory_ship_from_one_origin(spark: SparkSession, conf: Conf) -> None:
    rates = {**conf.simulator.ring_signal_rates, "ship_origin": 1.0}
    knobs = _knobs(conf, ring_seller_share=0.3, rings_per_factory=2, ring_signal_rates=rates)
    world = _world(spark, conf, knobs, listings=4_000)
    ring = world.truth_sellers.where("is_counterfeit")
    shipped = (
        world.tables["listings"]
        .select("seller_id", "ships_from")
        .distinct()
        .join(ring, "seller_id")
    )
    per_factory = shipped.groupBy("factory").agg(
        F.countDistinct("ships_from").alias("origins"), F.countDistinct("ring_id").alias("rings")
    )
    # Rings 2k and 2k+1 ship from factory k, and each factory from an origin of its own.
    number = F.split("ring_id", "-")[1].cast("int")
    assert (
        ring.where(F.col("factory") != F.format_string("factory-%d", F.floor(number / 2))).count()
        == 0
    )
    assert per_factory.where("origins != 1").count() == 0
    assert shipped.select("ships_from").distinct().count() == per_factory.count()
    assert per_factory.where("rings = 2").count() >= 2


def test_storefronts_and_currencies_follow_their_knobs(spark: SparkSession, conf: Conf) -> None:
    knobs = _knobs(
        conf,
        ring_basic_template_share=0.0,
        honest_basic_template_share=1.0,
        home_currency_share=1.0,
    )
    world = _world(spark, conf, knobs, listings=2_000)
    sellers = world.tables["sellers"].join(world.truth_sellers, "seller_id")
    assert sellers.where("is_counterfeit AND store_template = 'basic'").count() == 0
    assert sellers.where("NOT is_counterfeit AND store_template != 'basic'").count() == 0
    assert world.tables["listings"].where("currency != 'USD'").count() == 0


def test_honest_hubs_forwarders_and_vpn_exits_are_shared_by_many(
    spark: SparkSession, conf: Conf
) -> None:
    knobs = scenario(conf.simulator, "honest_hubs")
    hubs = _world(spark, conf, knobs, days=2)
    without_vpn = _world(spark, conf, knobs.model_copy(update={"vpn_session_share": 0.0}), days=2)
    shippers = (
        hubs.tables["listings"]
        .where(F.col("ships_from").startswith("PF-"))
        .join(hubs.truth_sellers, "seller_id")
    )
    assert shippers.where("is_counterfeit").count() == 0
    assert shippers.select("ships_from").distinct().count() == knobs.parcel_forwarders
    sessions = hubs.tables["seller_sessions"].select("session_id", "seller_id", "ip")
    moved = sessions.join(
        without_vpn.tables["seller_sessions"].select("session_id", F.col("ip").alias("own_ip")),
        "session_id",
    ).where(F.col("ip") != F.col("own_ip"))
    assert moved.select("ip").distinct().count() == knobs.vpn_exit_ips
    # Whoever uses the VPN, honest or not, shares its few exits with many others.
    sharers = moved.groupBy("ip").agg(F.countDistinct("seller_id").alias("sellers"))
    assert sharers.where("sellers > 1").count() > 0


def test_each_brand_reports_at_its_own_rate(spark: SparkSession, conf: Conf) -> None:
    def report_share_by_brand(spread: float) -> DataFrame:
        knobs = _knobs(conf, report_rate=1.0, report_rate_spread=spread, false_report_rate=0.0)
        world = _world(spark, conf, knobs, listings=6_000)
        noticed = world.tables["takedown_notices"].select("listing_id").distinct()
        noticed = noticed.withColumn("noticed", F.lit(1))
        return (
            world.tables["listings"]
            .join(world.truth_listings.where("is_counterfeit"), "listing_id")
            .join(world.tables["brand_registry"].select("brand"), "brand")
            .join(noticed, "listing_id", "left")
            .groupBy("brand")
            .agg(F.avg(F.coalesce("noticed", F.lit(0))).alias("share"))
        )

    assert {r["share"] for r in report_share_by_brand(0.0).collect()} == {1.0}  # bounded: 12 brands
    assert report_share_by_brand(1.0).where("share < 1").count() > 0


def test_accounts_opened_after_day_one_can_stop_sharing_their_rings_accounts(
    spark: SparkSession, conf: Conf
) -> None:
    rates = {**conf.simulator.ring_signal_rates, "payment": 1.0}
    knobs = _knobs(
        conf,
        ring_seller_share=0.3,
        new_account_share=0.5,
        new_account_signal_scale=0.0,
        ring_signal_rates=rates,
    )
    world = _world(spark, conf, knobs, listings=4_000, days=2)
    ring = (
        world.tables["sellers"]
        .where(F.col("dt") == F.lit(START + timedelta(days=1)))
        .join(world.truth_sellers.where("is_counterfeit"), "seller_id")
        .withColumn("late", F.col("registered_at") >= F.lit(START).cast("timestamp"))
    )
    sharers = ring.groupBy("payment_account_hash").agg(
        F.count("*").alias("members"), F.max(F.col("late").cast("int")).alias("any_late")
    )
    assert ring.where("late").count() > 0
    assert sharers.where("members > 1 AND any_late = 1").count() == 0
    # The accounts of day one still share their ring's: one payment account per ring.
    early = ring.where("NOT late")
    assert (
        early.select("payment_account_hash").distinct().count()
        == early.select("ring_id").distinct().count()
    )
