"""Scoring and the gold tables, on hand-built tables and a tiny Spark ML pipeline registered as the
champion in a throw-away MLflow store: known evidence, pseudonymised IPs, idempotent re-runs and a
run killed after its first gold write."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import mlflow
import mlflow.spark
import pytest
from mlflow import MlflowClient
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import Imputer, SQLTransformer, StandardScaler, VectorAssembler
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from features.account_links import ring_lineage
from features.networks import ip_prefix
from jobs.maintenance import maintain
from jobs.runtime import catalog
from jobs.runtime.catalog import GOLD
from jobs.runtime.conf import Conf
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse
from jobs.score import score_night
from tests.conftest import conf_for
from training.metrics import listing_order
from training.scoring import (
    ReasonWeights,
    flag,
    live_listings,
    ranked,
    reason_codes,
    ring_evidence,
    ring_leads,
    seller_risk,
)

NIGHT = date(2026, 11, 3)
FEATURES = ("is_basic_template", "price_to_reference", "brand_term_match", "store_modules")
FEATURE_SCHEMA = (
    "listing_id string, seller_id string, feature_date date, ring_id string, "
    "brand_canonical string, category string, is_basic_template boolean, "
    "price_to_reference double, brand_term_match boolean, store_modules int, status string"
)
# seller -> ring; s3 is a ring member without an active listing, s8 has a ring but no night.
RINGS = {"s1": "R1", "s2": "R1", "s3": "R1", "s6": "R2", "s7": "R2"}
LISTINGS = [
    # listing, seller, brand, category, basic template, price/reference, brand term, modules
    ("l01", "s1", "Lumora", "bags", True, 0.10, True, 0),
    ("l02", "s1", "Orvique", "watches", True, 0.15, True, 0),
    ("l03", "s2", "Lumora", "bags", True, 0.20, True, 1),
    ("l04", "s4", "Lumora", "bags", False, 0.95, True, 9),
    ("l05", "s4", None, "toys", False, None, False, 9),
    ("l06", "s5", "Orvique", "watches", False, 1.05, True, 7),
    ("l07", "s6", "Orvique", "watches", True, 0.60, False, 3),
    ("l08", "s7", None, "toys", False, None, False, 4),
    ("l09", "s5", None, "toys", False, None, False, 8),
    ("l10", "s2", "Orvique", "watches", True, 0.12, True, 0),
]
# Off the marketplace tonight (their feature rows exist: they carry notices), and more suspicious
# than any live listing: neither is scored, so neither takes a place in the review budget.
INACTIVE = [
    ("l11", "s1", "Lumora", "bags", True, 0.05, True, 0, "removed"),
    ("l12", "s2", "Orvique", "watches", True, 0.06, True, 0, "sold_out"),
]
D = NIGHT
OLD = NIGHT - timedelta(days=90)
IDENTIFIERS = [
    # seller, type, identifier, first_seen, last_seen
    ("s1", "payment", "pay-1", D, D),
    ("s2", "payment", "pay-1", D, D),
    ("s3", "payment", "pay-1", D, D),
    ("s1", "device", "dev-a", D - timedelta(days=5), D),
    ("s2", "device", "dev-a", D - timedelta(days=2), D),
    ("s1", "ip", "81.2.69.142", D, D),
    ("s2", "ip", "81.2.69.142", D, D),
    ("s3", "ip", "81.2.69.7", D, D),  # same /24, used by one member only: not evidence alone
    ("s1", "payee", "payee-9", D, D),
    ("s2", "payee", "payee-9", D, D),
    ("s1", "ship_origin", "CN-SZ", D, D),
    ("s6", "ship_origin", "CN-SZ", D, D),  # R2 ships from R1's origin: an upstream source
    ("s3", "ship_origin", "CN-GZ", D, D),
    ("s1", "phone", "ph-old", OLD, OLD),  # outside the linkage window
    ("s2", "phone", "ph-old", OLD, OLD),
    ("s1", "wifi", "mall-wifi", D, D),  # a hub above the cap: no evidence
    ("s2", "wifi", "mall-wifi", D, D),
    ("s4", "wifi", "mall-wifi", D, D),
    ("s5", "wifi", "mall-wifi", D, D),
    ("s6", "bank", "bank-7", D, D),
    ("s7", "bank", "bank-7", D, D),
    ("s6", "ip", "2001:DB8:85a3::8a2e:370:7334", D, D),
    ("s7", "ip", "2001:db8:85a3:0:1::1", D, D),
    ("s7", "ip", "2001:db8:85a3:0:1::1", D, D),
]


@dataclass
class Gold:
    conf: Conf
    ctx: JobContext
    first: dict[str, list[str]]

    @property
    def lake(self) -> Lakehouse:
        return self.ctx.lakehouse


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def gold_rows(lake: Lakehouse, table: catalog.Table) -> list[str]:
    """Every row of the night, as sorted text: equal lists mean identical tables."""
    rows = lake.read_night(table, NIGHT).collect()
    return sorted(repr(r) for r in rows)


def register_champion(spark: SparkSession, conf: Conf) -> str:
    """A tiny pipeline shaped like training's (cast, impute, assemble, scale, LR) as champion."""
    casts = ", ".join(f"CAST(`{c}` AS DOUBLE) AS `{c}__x`" for c in FEATURES)
    pipeline = Pipeline(
        stages=[
            SQLTransformer(statement=f"SELECT *, {casts} FROM __THIS__"),
            Imputer(
                inputCols=[f"{c}__x" for c in FEATURES],
                outputCols=[f"{c}__i" for c in FEATURES],
                strategy="median",
            ),
            VectorAssembler(
                inputCols=[f"{c}__i" for c in FEATURES],
                outputCol="features_raw",
                handleInvalid="keep",
            ),
            StandardScaler(inputCol="features_raw", outputCol="features"),
            LogisticRegression(featuresCol="features", labelCol="label", regParam=0.1),
        ]
    )
    examples = spark.createDataFrame(
        [
            (True, 0.1, True, 0, 1.0),
            (True, 0.2, True, 1, 1.0),
            (True, 0.3, False, 0, 1.0),
            (False, 0.25, True, 2, 1.0),
            (False, 1.0, True, 8, 0.0),
            (False, None, False, 9, 0.0),
            (True, 0.9, False, 6, 0.0),
            (False, 1.1, True, 7, 0.0),
        ],
        "is_basic_template boolean, price_to_reference double, brand_term_match boolean, "
        "store_modules int, label double",
    )
    model = pipeline.fit(examples)
    mlflow.set_tracking_uri(conf.mlflow.tracking_uri)
    mlflow.set_registry_uri(conf.mlflow.tracking_uri)
    experiment = mlflow.create_experiment(
        "scoring-test", artifact_location=conf.mlflow.artifact_root
    )
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.spark.log_model(
            model,
            artifact_path="model",
            registered_model_name=conf.mlflow.model_name,
            pip_requirements=["pyspark"],
        )
    version = str(info.registered_model_version)
    MlflowClient(conf.mlflow.tracking_uri).set_registered_model_alias(
        conf.mlflow.model_name, "champion", version
    )
    return version


def write_inputs(spark: SparkSession, lake: Lakehouse) -> None:
    features = spark.createDataFrame(
        [
            (lid, sid, NIGHT, RINGS.get(sid), brand, cat, basic, ratio, term, mods, status)
            for lid, sid, brand, cat, basic, ratio, term, mods, status in [
                *[(*row, "active") for row in LISTINGS],
                *INACTIVE,
            ]
        ],
        FEATURE_SCHEMA,
    ).select(
        "*",
        # what else points at a brand (features.listings.names_a_brand): l07 names none but
        # says "replica"; l05, l08 and l09 point at no brand at all
        F.lit(False).alias("brand_fuzzy_match"),
        (F.col("listing_id") == "l07").cast("int").alias("counterfeit_keywords"),
        F.lit(False).alias("image_of_confirmed_fake"),
    )
    lake.replace_date("features.listing_features", features, date_column="feature_date", day=NIGHT)
    sellers = sorted({row[1] for row in LISTINGS} | set(RINGS) | {"s8"})
    clusters = spark.createDataFrame(
        [
            (s, RINGS.get(s, "R9" if s == "s8" else None), 3 if s in RINGS else 1, NIGHT, NIGHT)
            for s in sellers
        ],
        "seller_id string, ring_id string, ring_size int, ring_first_night date, feature_date date",
    )
    lake.replace_date("graph.account_clusters", clusters, date_column="feature_date", day=NIGHT)
    lineage = ring_lineage(clusters.where("ring_id IS NOT NULL"), None)
    lake.replace_date(
        "graph.ring_lineage",
        lineage.withColumn("feature_date", F.lit(NIGHT)),
        date_column="feature_date",
        day=NIGHT,
    )
    hubs = spark.createDataFrame(
        [("wifi", "mall-wifi", 4, NIGHT)],
        "identifier_type string, identifier string, degree long, feature_date date",
    )
    lake.replace_date("graph.hub_identifiers", hubs, date_column="feature_date", day=NIGHT)
    notices = spark.createDataFrame(
        [
            # s1's l01 confirmed the day before: s2, registered tonight, opened after it
            (
                "n1",
                "Lumora",
                "l01",
                "s1",
                at(D - timedelta(days=1)),
                "confirmed",
                at(D - timedelta(days=1), 18),
                D - timedelta(days=1),
            ),
            ("n2", "Lumora", "l04", "s4", at(D), "rejected", at(D, 18), D),
        ],
        "notice_id string, brand string, listing_id string, seller_id string, "
        "received_at timestamp, verdict string, verdict_at timestamp, _ingest_date date",
    )
    lake.overwrite("bronze.takedown_notices", notices)
    orders = spark.createDataFrame(
        [("o1", "l01", at(D - timedelta(days=2)), D - timedelta(days=2))],
        "order_id string, listing_id string, ordered_at timestamp, _ingest_date date",
    )
    lake.overwrite("bronze.orders", orders)
    registered = {"s2": at(D)}
    lake.overwrite(
        "silver.sellers_current",
        spark.createDataFrame(
            [(s, registered.get(s, at(OLD))) for s in sellers],
            "seller_id string, registered_at timestamp",
        ),
    )
    lake.overwrite(
        "silver.listings_current",
        spark.createDataFrame(
            [(row[0], row[1], at(D - timedelta(days=2))) for row in [*LISTINGS, *INACTIVE]],
            "listing_id string, seller_id string, created_at timestamp",
        ),
    )
    identifiers = spark.createDataFrame(
        [(*row, (row[4] - row[3]).days + 1) for row in IDENTIFIERS],
        "seller_id string, identifier_type string, identifier string, first_seen date, "
        "last_seen date, days_seen int",
    )
    lake.overwrite("silver.seller_identifiers", identifiers)
    # What the linkage cut tonight with a cap of 3 sellers (the score reads it, not the cap).
    hubs = spark.createDataFrame(
        [("wifi", "mall-wifi", 4, NIGHT)],
        "identifier_type string, identifier string, degree long, feature_date date",
    )
    lake.write_night(catalog.HUB_IDENTIFIERS, hubs, NIGHT)


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory, session_root: Path, spark: SparkSession) -> Gold:
    root = tmp_path_factory.mktemp("score")
    conf = conf_for(
        root,
        f"paths.metastore={session_root / 'metastore'}",
        "linkage.hub_degree_cap=3",
        "linkage.window_days=30",
        "scoring.flag_threshold=0.5",
        "scoring.flag_budget=4",
        "scoring.reason_codes=2",
    )
    ctx = JobContext(conf)
    write_inputs(spark, ctx.lakehouse)
    register_champion(spark, conf)
    score_night(ctx, NIGHT)
    return Gold(conf, ctx, {t: gold_rows(ctx.lakehouse, t) for t in GOLD})


def test_every_active_listing_is_scored_by_the_champion_with_flags_and_reasons(
    gold: Gold,
) -> None:
    scores = {
        r["listing_id"]: r.asDict()
        for r in gold.lake.read("gold.listing_scores").where(F.col("score_date") == NIGHT).collect()
    }
    assert set(scores) == {row[0] for row in LISTINGS}
    assert all(0.0 <= s["score"] <= 1.0 for s in scores.values())
    assert {s["model_name"] for s in scores.values()} == {gold.conf.mlflow.model_name}
    assert {s["model_version"] for s in scores.values()} == {"1"}
    # The budget of 4 keeps the four riskiest listings among those over the threshold.
    flagged = {k for k, s in scores.items() if s["flagged"]}
    riskiest = sorted(scores, key=lambda k: -scores[k]["score"])[:4]
    assert flagged == set(riskiest) and {"l01", "l02", "l03", "l10"} == flagged
    # A bare template at a tenth of the reference price: those are its reasons (at most 2).
    assert len(scores["l01"]["reasons"]) == 2
    assert all(r.split("=")[0] in FEATURES for r in scores["l01"]["reasons"])
    assert scores["l01"]["brand"] == "Lumora" and scores["l01"]["category"] == "bags"
    assert scores["l05"]["ring_id"] is None
    # No label was ever drawn from a listing that points at no brand: it scores 0, and says why.
    unbranded = {k for k, s in scores.items() if s["reasons"] == ["names_no_brand"]}
    assert unbranded == {"l05", "l08", "l09"}
    assert all(scores[k]["score"] == 0.0 for k in unbranded)
    assert all(scores[k]["score"] > 0.0 for k in set(scores) - unbranded)


def test_removed_and_sold_out_listings_are_neither_scored_nor_flagged(gold: Gold) -> None:
    # The review budget is spent on listings still live: the two most suspicious rows of the
    # night's features are off the marketplace, so gold holds no row of them, flagged or not.
    scored = gold.lake.read_night(catalog.LISTING_SCORES, NIGHT)
    assert scored.where(F.col("listing_id").isin("l11", "l12")).count() == 0
    flagged = {r[0] for r in scored.where("flagged").select("listing_id").collect()}
    assert flagged == {"l01", "l02", "l03", "l10"}
    risk = gold.lake.read_night(catalog.SELLER_RISK, NIGHT)
    assert {r[0]: r[1] for r in risk.select("seller_id", "listings").collect()}["s1"] == 2


def test_live_listings_are_the_active_ones(spark: SparkSession) -> None:
    features = spark.createDataFrame(
        [("a", "active"), ("r", "removed"), ("s", "sold_out")],
        "listing_id string, status string",
    )
    expected = spark.createDataFrame([("a", "active")], "listing_id string, status string")
    assertDataFrameEqual(live_listings(features), expected)


def test_seller_risk_is_the_riskiest_listing_with_counts(gold: Gold) -> None:
    scores = gold.lake.read("gold.listing_scores").where(F.col("score_date") == NIGHT)
    s1 = scores.where("seller_id = 's1'").agg(F.max("score")).first()
    risk = {
        r["seller_id"]: r
        for r in gold.lake.read("gold.seller_risk").where(F.col("score_date") == NIGHT).collect()
    }
    assert s1 is not None and risk["s1"]["risk"] == pytest.approx(s1[0])
    assert (risk["s1"]["listings"], risk["s1"]["flagged_listings"], risk["s1"]["ring_id"]) == (
        2,
        2,
        "R1",
    )
    assert (risk["s4"]["flagged_listings"], risk["s4"]["ring_id"]) == (0, None)
    assert "s3" not in risk  # no active listing, nothing to score


def test_ring_leads_carry_their_evidence_without_hubs_old_links_or_raw_ips(gold: Gold) -> None:
    leads = {
        r["ring_id"]: r.asDict(recursive=True)
        for r in gold.lake.read("gold.ring_leads").where(F.col("score_date") == NIGHT).collect()
    }
    # R9 has no scored member: its lead is dormant material, without risk, ranked last
    assert set(leads) == {"R1", "R2", "R9"}
    assert (leads["R9"]["risk"], leads["R9"]["lead_rank"], leads["R9"]["scored_members"]) == (
        None,
        3,
        0,
    )
    r1, r2 = leads["R1"], leads["R2"]
    assert (r1["lead_rank"], r2["lead_rank"]) == (1, 2) and r1["risk"] > r2["risk"]
    assert r1["member_sellers"] == ["s1", "s2", "s3"]
    assert (r1["ring_size"], r1["scored_members"]) == (3, 2)
    assert (r1["listings"], r1["flagged_listings"]) == (4, 4)
    assert r1["brands_hit"] == ["Lumora", "Orvique"]
    evidence = [
        (e["members"], e["identifier_type"], e["identifier"]) for e in r1["shared_identifiers"]
    ]
    assert evidence == [
        (3, "payment", "pay-1"),
        (2, "payee", "payee-9"),
        (2, "ip", "81.2.69.0/24"),
        (2, "device", "dev-a"),
    ]
    assert r1["shared_identifiers"][3]["first_seen"] == D - timedelta(days=5)
    assert (r1["first_seen"], r1["last_seen"]) == (D - timedelta(days=5), D)
    assert r1["ship_origins"] == ["CN-GZ", "CN-SZ"] and r1["payee_accounts"] == ["payee-9"]
    r2_evidence = {
        (e["members"], e["identifier_type"], e["identifier"]) for e in r2["shared_identifiers"]
    }
    # s6 and s7 use different addresses of one /48: each address alone links no one.
    assert r2_evidence == {(2, "bank", "bank-7")}
    assert r2["brands_hit"] == [] and r2["ship_origins"] == ["CN-SZ"]


def test_ring_leads_carry_status_moles_and_sources(gold: Gold) -> None:
    leads = {
        r["ring_id"]: r.asDict(recursive=True)
        for r in gold.lake.read("gold.ring_leads").where(F.col("score_date") == NIGHT).collect()
    }
    # The first night: every ring is new, first seen and active tonight (R9 has no live listing)
    assert {r: (v["status"], v["first_night"], v["nights_active"]) for r, v in leads.items()} == {
        "R1": ("new", NIGHT, 1),
        "R2": ("new", NIGHT, 1),
        "R9": ("new", NIGHT, 0),
    }
    r1 = leads["R1"]
    assert r1["new_members"] == ["s1", "s2", "s3"]
    assert r1["first_takedown_at"] == at(D - timedelta(days=1), 18)
    assert r1["accounts_after_takedown"] == ["s2"]
    assert r1["listings_after_takedown"] == ["l03", "l10"]
    origin = {"source_type": "ship_origin", "source": "CN-SZ"}
    assert r1["sources"] == [origin] and leads["R2"]["sources"] == [origin]
    (source,) = gold.lake.read("gold.source_leads").where(F.col("score_date") == NIGHT).collect()
    assert (source["source_type"], source["source"], source["rings"], source["seller_ids"]) == (
        "ship_origin",
        "CN-SZ",
        ["R1", "R2"],
        ["s1", "s6"],
    )
    assert (source["confirmed_sellers"], source["listings"], source["source_rank"]) == (1, 3, 1)


def test_daily_kpis_of_the_night(gold: Gold) -> None:
    (kpis,) = gold.lake.read("gold.daily_kpis").collect()
    scores = gold.lake.read("gold.listing_scores").where(F.col("score_date") == NIGHT)
    mean = scores.agg(F.avg("score")).first()
    assert mean is not None
    assert kpis["score_date"] == NIGHT
    assert (kpis["listings_scored"], kpis["flagged"], kpis["confirmed_listings"]) == (10, 4, 1)
    # l01 was reported and sold before its first flag tonight, two days after its creation
    assert kpis["share_flagged_before_notice"] == 0.0
    assert kpis["share_flagged_before_first_order"] == 0.0
    assert kpis["median_days_to_flag"] == 2.0
    assert (kpis["flags_decided"], kpis["past_flag_precision"]) == (1, 1.0)
    assert kpis["estimated_prevalence"] == pytest.approx(mean[0])


def test_rerun_of_score_leaves_identical_gold_tables(gold: Gold) -> None:
    score_night(gold.ctx, NIGHT)
    assert {t: gold_rows(gold.lake, t) for t in GOLD} == gold.first


def test_score_killed_after_first_gold_write_then_rerun_equals_uninterrupted(
    gold: Gold, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Lakehouse.replace_date

    def killed_after_listing_scores(
        self: Lakehouse, table: catalog.Table | str, *args: Any, **kwargs: Any
    ) -> None:
        if table == catalog.SELLER_RISK:
            raise RuntimeError("killed")
        original(self, table, *args, **kwargs)

    # A night left half-written: stale seller risks, then a run that dies after its first write.
    original(
        gold.lake,
        "gold.seller_risk",
        gold.lake.read("gold.seller_risk").withColumn("risk", F.lit(0.0)),
        date_column="score_date",
        day=NIGHT,
    )
    monkeypatch.setattr(Lakehouse, "replace_date", killed_after_listing_scores)
    with pytest.raises(RuntimeError, match="killed"):
        score_night(gold.ctx, NIGHT)
    failed = gold.lake.read("ops.run_log").where("step = 'score' AND status = 'failed'")
    assert failed.count() >= 1
    monkeypatch.setattr(Lakehouse, "replace_date", original)
    score_night(gold.ctx, NIGHT)
    assert {t: gold_rows(gold.lake, t) for t in GOLD} == gold.first


def test_gold_tables_are_partitioned_by_date_with_change_data_feed(
    gold: Gold, spark: SparkSession
) -> None:
    for table in GOLD:
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{gold.lake.path(table)}`").first()
        assert detail is not None
        assert detail["partitionColumns"] == ["score_date"], table
        assert detail["properties"].get("delta.enableChangeDataFeed") == "true", table
    changes = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", 0)
        .load(gold.lake.path("gold.ring_leads"))
        .where("_change_type = 'insert'")
        .select("ring_id")
        .distinct()
    )
    assert {r[0] for r in changes.collect()} == {"R1", "R2", "R9"}  # R9: dormant


def test_ip_addresses_are_reduced_to_their_network(spark: SparkSession) -> None:
    cases = {
        "81.2.69.142": "81.2.69.0/24",
        "2001:DB8:85a3:8d3:1319:8a2e:370:7348": "2001:db8:85a3::/48",
        "2001:db8::1": "2001:db8::/48",
        "::1": "::/48",
        "fe80:0000:00ab::": "fe80:0:ab::/48",
        "fe80::1%eth0": "fe80::/48",  # the zone id goes
        "::ffff:81.2.69.142": "81.2.69.0/24",  # an IPv4-mapped address is its IPv4 address
        "1.2.3.4:80": None,  # with a port it is no address: nothing of it reaches gold
        "not-an-ip": None,
    }
    ips = spark.createDataFrame([(ip,) for ip in [*cases, None]], "ip string")
    got = {
        r["ip"]: r["prefix"]
        for r in ips.select("ip", ip_prefix(F.col("ip")).alias("prefix")).collect()
    }
    assert got == {**cases, None: None}


def test_reasons_of_a_logistic_model_are_the_positive_terms_of_the_logit(
    spark: SparkSession,
) -> None:
    # Means: a = 1, b = 1; standard deviations: 1 and 1 (sample).
    scored = spark.createDataFrame(
        [("x", 2.0, 0.0), ("y", 0.0, 2.0), ("z", 1.0, 1.0)], "listing_id string, a double, b double"
    )
    weights = ReasonWeights({"a": 2.0, "b": -1.0}, signed=True)
    reasons = {
        r["listing_id"]: r["reasons"] for r in reason_codes(scored, weights, top=2).collect()
    }
    # x: a pushes +2, b pushes +1; y: both push down; z: at the mean, nothing pushes.
    assert reasons == {"x": ["a=2.00", "b=0.00"], "y": [], "z": []}
    unsigned = ReasonWeights({"a": 2.0, "b": 1.0}, signed=False)
    trees = {r["listing_id"]: r["reasons"] for r in reason_codes(scored, unsigned, top=1).collect()}
    assert trees == {"x": ["a=2.00"], "y": ["a=0.00"], "z": []}


def test_a_constrained_feature_is_a_reason_only_on_its_suspicious_side(
    spark: SparkSession,
) -> None:
    """A genuine listing at 20x its brand's reference price is unusual, but never suspicious for
    being expensive: with the trees' monotone direction (-1: lower is more suspicious), its price
    is no reason, while a listing far below the reference keeps it."""
    scored = spark.createDataFrame(
        [("cheap", 0.2, 1.0), ("dear", 20.0, 1.0), ("usual", 10.0, 4.0)],
        "listing_id string, price_to_reference double, store_modules double",
    )
    weights = ReasonWeights(
        {"price_to_reference": 3.0, "store_modules": 1.0},
        signed=False,
        directions={"price_to_reference": -1},
    )
    reasons = {
        r["listing_id"]: r["reasons"] for r in reason_codes(scored, weights, top=1).collect()
    }
    assert reasons == {
        "cheap": ["price_to_reference=0.20"],
        "dear": ["store_modules=1.00"],
        "usual": ["store_modules=4.00"],
    }


def test_flags_stop_at_the_review_budget(spark: SparkSession) -> None:
    scores = spark.createDataFrame(
        [(f"l{i}", i / 10) for i in range(10)], "listing_id string, score double"
    )

    def flagged(frame: DataFrame) -> set[str]:
        return {r["listing_id"] for r in frame.where("flagged").collect()}

    assert flagged(flag(scores, threshold=0.5, budget=3)) == {"l9", "l8", "l7"}
    assert flagged(flag(scores, threshold=0.85, budget=3)) == {"l9"}
    # A tree model gives many listings one score: still 3 flagged, the same 3 in any row order.
    ties = spark.createDataFrame(
        [(f"t{i}", 0.9) for i in range(40)] + [("top", 0.95)], "listing_id string, score double"
    )
    first = flagged(flag(ties, threshold=0.5, budget=3))
    assert len(first) == 3 and "top" in first
    shuffled = ties.repartition(4).orderBy(F.rand(seed=1))
    assert flagged(flag(shuffled, threshold=0.5, budget=3)) == first


def _flagged_by_the_old_window(scored: DataFrame, *, threshold: float, budget: int) -> set[str]:
    """The flag as defined by one window over the night: the `budget` best scores, equal scores
    by the listing hash, at or above the threshold."""
    night = Window.orderBy(F.desc("score"), F.asc(listing_order()))
    ranked_rows = scored.withColumn("_rank", F.row_number().over(night))
    kept = ranked_rows.where((F.col("_rank") <= budget) & (F.col("score") >= threshold))
    return {r["listing_id"] for r in kept.collect()}


def test_flags_are_those_of_one_window_over_the_night(spark: SparkSession) -> None:
    # 300 listings over 6 partitions, scores in steps of 0.05 so that many tie, on both sides of
    # the budget's cut-off and of the threshold.
    scored = spark.createDataFrame(
        [(f"l{i:03d}", round((i % 20) * 0.05, 2)) for i in range(300)],
        "listing_id string, score double",
    ).repartition(6)
    for threshold, budget, count in ((0.5, 40, 40), (0.5, 1, 1), (0.9, 100, 30), (0.0, 300, 300)):
        flagged = flag(scored, threshold=threshold, budget=budget).where("flagged")
        ids = {r["listing_id"] for r in flagged.collect()}
        assert ids == _flagged_by_the_old_window(scored, threshold=threshold, budget=budget)
        assert len(ids) == count


def test_ranks_over_partitions_equal_one_window(spark: SparkSession) -> None:
    # Risks tie (tree models), ring ids break the ties; the rows are spread over 5 partitions.
    leads = spark.createDataFrame(
        [(f"R{i:03d}", (i * 7 % 11) / 10) for i in range(120)], "ring_id string, risk double"
    ).repartition(5)
    order = (F.desc("risk"), F.asc("ring_id"))
    expected = leads.withColumn("lead_rank", F.row_number().over(Window.orderBy(*order)))
    got = ranked(leads, *order, name="lead_rank")
    assertDataFrameEqual(got, expected.withColumn("lead_rank", F.col("lead_rank").cast("int")))
    assert sorted(r["lead_rank"] for r in got.collect()) == list(range(1, 121))
    empty = spark.createDataFrame([], "ring_id string, risk double")
    assert ranked(empty, *order, name="lead_rank").count() == 0


def test_evidence_counts_members_per_exact_identifier(spark: SparkSession) -> None:
    rows = spark.createDataFrame(
        [
            ("R", "ip", "10.0.0.1", "a", D, D),
            ("R", "ip", "10.0.0.1", "b", D, D),
            ("R", "ip", "10.0.0.2", "c", D, D),
            ("R", "ip", "10.0.0.2", "d", D, D),
            ("R", "ip", "10.0.0.2", "e", D, D),
            ("R", "device", "d1", "a", D, D),
        ],
        "ring_id string, identifier_type string, identifier string, seller_id string, "
        "first_seen date, last_seen date",
    )
    got = [
        (r["identifier_type"], r["identifier"], r["members"]) for r in ring_evidence(rows).collect()
    ]
    assert got == [("ip", "10.0.0.0/24", 3)]


def test_ring_lead_risk_is_the_mean_of_its_scored_members(spark: SparkSession) -> None:
    scores = spark.createDataFrame(
        [("l1", "a", "R", NIGHT, 0.9, True, "B1"), ("l2", "b", "R", NIGHT, 0.5, False, "B2")],
        "listing_id string, seller_id string, ring_id string, score_date date, score double, "
        "flagged boolean, brand string",
    )
    clusters = spark.createDataFrame(
        [("a", "R"), ("b", "R"), ("c", "R")], "seller_id string, ring_id string"
    )
    no_identifiers = spark.createDataFrame(
        [],
        "ring_id string, identifier_type string, identifier string, seller_id string, first_seen date, last_seen date",
    )
    (lead,) = ring_leads(
        scores, seller_risk(scores), clusters, no_identifiers, night=NIGHT
    ).collect()
    assert lead["risk"] == pytest.approx(0.7) and lead["max_member_risk"] == pytest.approx(0.9)
    assert (lead["ring_size"], lead["scored_members"], lead["brands_hit"]) == (3, 2, ["B1"])
    assert lead["shared_identifiers"] == [] and lead["lead_rank"] == 1


def test_maintenance_z_orders_gold_scores_by_brand_and_keeps_every_row(
    gold: Gold, spark: SparkSession
) -> None:
    maintain(gold.ctx, NIGHT)
    assert {t: gold_rows(gold.lake, t) for t in GOLD} == gold.first
    history = spark.sql(f"DESCRIBE HISTORY delta.`{gold.lake.path('gold.listing_scores')}`")
    optimize = history.where("operation = 'OPTIMIZE'").orderBy(F.desc("version")).first()
    assert optimize is not None
    assert json.loads(optimize["operationParameters"]["zOrderBy"]) == ["brand", "category"]
    vacuumed = history.where(F.col("operation").startswith("VACUUM")).count()
    assert vacuumed >= 1
