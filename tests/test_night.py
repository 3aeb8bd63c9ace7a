"""A small simulated world through four whole nights: defects caught, nothing lost, gold written.

One world for the module (the nights are the expensive part); each test checks one outcome
against the simulator's truth or against a re-run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from data_contracts.schemas import FILE_ROWS, INGEST_DATE, RAW_TABLES, SOURCE_FILE, VIOLATIONS
from jobs.ingest import ingest
from jobs.simulator.defects import UNIQUE_TABLES, breakers, unique_rule
from tests.world import LAST, MISSING, NIGHTS, World

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(night_world: World) -> World:
    return night_world


def _truth(spark: SparkSession, world: World, name: str) -> DataFrame:
    return spark.read.parquet(str(world.landing / "_truth" / f"{name}.parquet"))


def _raw_rows(landing: Path, table: str, night: date) -> int:
    """The rows a day's files hold, from their footers; an unreadable file counts as one."""
    total = 0
    for path in sorted((landing / table / f"dt={night}").glob("*.parquet")):
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except Exception:  # not Parquet at all: the contract counts the file as one row
            total += 1
    return total


Planted = dict[tuple[str, date], Counter[tuple[str, str]]]


@pytest.fixture(scope="module")
def planted(spark: SparkSession, world: World) -> Planted:
    """The planted defects per table and night, read once for the three tests that use them."""
    return _planted(spark, world)


def _planted(spark: SparkSession, world: World) -> Planted:
    """(table, night) -> the planted (key or file name, rule) pairs that landed on that night: a
    row defect on the night its key is in the files (a `unique:` copy where the key is twice), a
    file defect on the night of its folder. Defects of the partitions taken out are not there."""
    landing = world.landing
    truth = _truth(spark, world, "defects").collect()  # bounded: the world's planted defects
    planted: dict[tuple[str, date], Counter[tuple[str, str]]] = {}
    for table in RAW_TABLES:
        key = F.concat_ws("+", *[F.col(k) for k in RAW_TABLES[table].key])
        copies = {
            (r["key"], r["night"]): r["copies"]
            for r in spark.read.option("ignoreCorruptFiles", "true")
            .schema(RAW_TABLES[table].schema)
            .parquet(str(landing / table))
            .select(
                key.alias("key"),
                F.to_date(
                    F.regexp_extract(F.col("_metadata.file_path"), r"dt=(\d{4}-\d\d-\d\d)", 1)
                ).alias("night"),
            )
            .groupBy("key", "night")
            .agg(F.count(F.lit(1)).alias("copies"))
            .where(F.col("key").isin([d["key"] for d in truth if d["table"] == table]))
            .collect()  # bounded: the planted keys
        }
        for night in NIGHTS:
            found: Counter[tuple[str, str]] = Counter()
            for d in (d for d in truth if d["table"] == table):
                if d["kind"].startswith("file:"):
                    if (
                        d["key"].startswith(f"{table}/dt={night}/")
                        and (landing / d["key"]).exists()
                    ):
                        found[(d["key"].rsplit("/", 1)[-1], d["kind"])] += 1
                elif copies.get((d["key"], night), 0) >= (
                    2 if d["kind"].startswith("unique:") else 1
                ):
                    found[(d["key"], d["kind"])] += 1
            planted[(table, night)] = found
    return planted


# The brand registry lands as a whole snapshot that every night reads again (its latest one), not
# as a day partition: its defects are checked over the nights together, not night by night.
REREAD = frozenset({"brand_registry"})


def _with_file_rows(quarantine: DataFrame) -> DataFrame:
    """The quarantine with its `_file_rows` column (null on row defects), which a table gets
    only once a whole file of it was quarantined."""
    if FILE_ROWS in quarantine.columns:
        return quarantine
    return quarantine.withColumn(FILE_ROWS, F.lit(None).cast("long"))


def test_every_rule_is_planted_in_the_partitions_that_remain(planted: Planted) -> None:
    """The precondition of the two tests below: they check every rule, on some night."""
    kinds = {(table, kind) for (table, _), found in planted.items() for _, kind in found}
    rules = {(table, rule) for table, by_rule in breakers().items() for rule in by_rule}
    uniques = {(t, unique_rule(t)) for t in UNIQUE_TABLES}
    # The two planted files are in the first day's folders; the first day's reviews are taken out
    # with the reviews file that lacks `rating` (tests/test_bad_inputs.py checks that one).
    assert kinds == rules | uniques | {("listings", "file:unreadable")}
    assert all(not planted[missing] for missing in MISSING)


def test_quarantine_holds_every_defect_under_its_rule_and_nothing_else(
    world: World, planted: Planted
) -> None:
    for table in RAW_TABLES:
        key = F.concat_ws("+", *[F.col(k) for k in RAW_TABLES[table].key])
        quarantine = _with_file_rows(world.lake.read(f"quarantine.{table}"))
        for night in NIGHTS:
            rows = quarantine.where(F.col(INGEST_DATE) == F.lit(night)).select(
                F.when(F.col(FILE_ROWS).isNotNull(), F.element_at(F.split(SOURCE_FILE, "/"), -1))
                .otherwise(key)
                .alias("key"),
                VIOLATIONS,
            )
            found = Counter((r["key"], *r[VIOLATIONS]) for r in rows.collect())  # bounded
            if table in REREAD:
                everywhere = {pair for n in NIGHTS for pair in planted[(table, n)]}
                assert set(found) == everywhere, (table, night)
            else:
                assert found == planted[(table, night)], (table, night)


def test_raw_rows_are_bronze_plus_quarantine_per_table_and_night(
    world: World, planted: Planted
) -> None:
    """Counted from the landing's files, in the run log and in the tables; a missing partition
    is a day of no rows."""
    logged = {
        (r["table_name"], r["run_date"]): (r["rows_read"], r["rows_out"], r["rows_quarantined"])
        for r in world.lake.read("ops.run_log")
        .where(
            (F.col("step") == "ingest")
            & (F.col("table_name") != "*")
            & (F.col("status") == "succeeded")
        )
        .collect()  # bounded: tables x nights
    }
    assert set(logged) == {(table, night) for table in RAW_TABLES for night in NIGHTS}
    for table in RAW_TABLES:
        bronze = world.lake.read(f"bronze.{table}")
        quarantine = _with_file_rows(world.lake.read(f"quarantine.{table}"))
        for night in NIGHTS:
            if table in REREAD:  # the same snapshot every night: nothing lost in its reading
                read, out, quarantined_rows = logged[(table, night)]
                assert read == out + quarantined_rows > 0, (table, night)
                continue
            raw = _raw_rows(world.landing, table, night)
            on_night = F.col(INGEST_DATE) == F.lit(night)
            file_rows = (
                quarantine.where(on_night & F.col(FILE_ROWS).isNotNull())
                .agg(F.sum(FILE_ROWS))
                .first()[0]  # type: ignore[index]
                or 0
            )
            row_defects = sum(
                n
                for (_, kind), n in planted[(table, night)].items()
                if not kind.startswith("file:")
            )
            quarantined = row_defects + file_rows
            assert logged[(table, night)] == (raw, raw - quarantined, quarantined), (table, night)
            assert bronze.where(on_night).count() == raw - quarantined, (table, night)
            if (table, night) in MISSING:
                assert raw == 0


def test_rerun_of_ingest_adds_nothing(spark: SparkSession, world: World) -> None:
    before = {
        t: world.lake.read(t).count()
        for t in ("bronze.listings", "quarantine.listings", "bronze.reviews", "quarantine.reviews")
    }
    snapshot = world.lake.read("quarantine.listings").drop("_row_id")
    ingest(world.ctx, NIGHTS[0])
    assert {t: world.lake.read(t).count() for t in before} == before
    assert snapshot.exceptAll(world.lake.read("quarantine.listings").drop("_row_id")).count() == 0


def test_unreadable_file_is_quarantined_and_its_table_still_loads(world: World) -> None:
    listings = world.lake.read("bronze.listings").where(F.col("_ingest_date") == F.lit(NIGHTS[0]))
    assert listings.count() > 4_000


def test_the_night_trains_a_champion_with_its_metrics_and_artifacts(world: World) -> None:
    client = MlflowClient(world.conf.mlflow.tracking_uri)
    version = client.get_model_version_by_alias(world.conf.mlflow.model_name, "champion")
    assert version.run_id is not None
    run = client.get_run(version.run_id)
    for metric in (
        "model_pr_auc",
        "model_roc_auc",
        "model_precision_at_budget",
        "rules_baseline_pr_auc",
    ):
        assert 0.0 <= run.data.metrics[metric] <= 1.0, metric
    assert run.data.tags["promotion"] == "champion"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"precision_recall.png", "feature_importance.png", "evaluation.csv"} <= artifacts
    assert any(p.startswith("delta_version.") for p in run.data.params)


def test_gold_tables_hold_scores_reasons_and_ring_leads(world: World) -> None:
    scores = world.lake.read("gold.listing_scores").where(F.col("score_date") == F.lit(LAST))
    unbranded = F.array_contains("reasons", "names_no_brand")
    stats = scores.agg(
        F.min("score"),
        F.max("score"),
        F.sum(F.col("flagged").cast("int")),
        F.min(F.when(~unbranded, F.size("reasons"))),
        F.count(F.when(unbranded, 1)),
        F.count(F.when(unbranded & ((F.col("score") != 0) | F.col("flagged")), 1)),
    ).first()
    assert stats is not None and 0.0 <= stats[0] <= stats[1] <= 1.0
    assert 0 < stats[2] <= world.conf.scoring.flag_budget
    assert stats[3] == world.conf.scoring.reason_codes
    # Listings pointing at no brand (the world's unbranded goods) score 0 and are never flagged.
    assert stats[4] > 0 and stats[5] == 0
    leads = world.lake.read("gold.ring_leads").where(F.col("score_date") == F.lit(LAST))
    assert leads.where(F.size("shared_identifiers") > 0).count() > 0
    # Raw IPs never reach gold: the evidence holds network prefixes only.
    ips = leads.select(F.explode("shared_identifiers").alias("e")).where("e.identifier_type = 'ip'")
    assert (
        ips.where(
            ~F.col("e.identifier").endswith("/24") & ~F.col("e.identifier").endswith("/48")
        ).count()
        == 0
    )


def test_report_and_data_docs_are_written(world: World) -> None:
    report = Path(world.conf.paths.reports) / LAST.isoformat() / "report.html"
    html = report.read_text()
    assert "Counterfeit radar" in html and "data:image/png;base64," in html
    assert (
        Path(world.conf.paths.reports) / NIGHTS[0].isoformat() / "data_docs" / "index.html"
    ).is_file()


# Chromium with every name unresolvable and a proxy that answers nothing: a page that needs the
# network to show its content shows nothing here, as on a data platform without internet.
_OFFLINE = ("--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")
_HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    *_OFFLINE,
)


# Screenshots of the rendered pages, kept for a reader of the CI run (build/ is not versioned).
ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts"


def _rendered_dom(page: Path, profile: Path, *, screenshot: Path | None = None) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "headless Chromium is needed: `make setup-browser` (apt-get install chromium)"
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                chromium,
                *_HEADLESS,
                f"--user-data-dir={profile}",
                "--window-size=1200,2400",
                f"--screenshot={screenshot}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
        assert screenshot.stat().st_size > 0
    return subprocess.run(
        [
            chromium,
            *_HEADLESS,
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def test_each_tables_validation_of_the_night_is_reachable_from_the_report_offline(
    world: World, tmp_path: Path
) -> None:
    """The first night ran Great Expectations: its report links one page per raw table that
    landed, and says of the one that did not (its reviews are missing) that no rows landed."""
    folder = Path(world.conf.paths.reports) / NIGHTS[0].isoformat()
    dom = _rendered_dom(folder / "report.html", tmp_path / "profile")
    landed = [t for t in RAW_TABLES if (t, NIGHTS[0]) not in MISSING]
    assert landed == [t for t in RAW_TABLES if t != "reviews"]
    empty = "<td>reviews</td>" + '<td class="num">0</td>' * 3 + "<td>no rows landed</td>"
    assert empty in dom
    links = dict(
        re.findall(
            r'<td>(\w+)</td>(?:<td class="num">\d+</td>){3}<td><a class="contract" href="([^"]+)"',
            dom,
        )
    )
    assert sorted(links) == sorted(landed)
    for table, href in links.items():
        page = _rendered_dom(folder / href, tmp_path / "profile")
        assert f'<span id="data-asset">{table}</span>' in page
        assert f'<span id="run-name">{NIGHTS[0].isoformat()}</span>' in page
        assert re.search(r'<table id="expectations">.*<td>\w+</td>', page, re.S), table
        assert not re.search(r'(src|href)="https?://', page), f"{table}: fetches from the network"


def test_report_renders_in_chromium_with_the_nights_figures(world: World, tmp_path: Path) -> None:
    report = Path(world.conf.paths.reports) / LAST.isoformat() / "report.html"
    dom = _rendered_dom(report, tmp_path / "profile", screenshot=ARTIFACTS / "report.png")
    scores = world.lake.read("gold.listing_scores").where(F.col("score_date") == F.lit(LAST))
    listings, flagged = scores.count(), scores.where("flagged").count()
    assert f'<b id="listings-scored">{listings}</b>' in dom
    assert f'<b id="listings-flagged">{flagged}</b>' in dom
    assert "ring graph of" in dom  # the lead pictures were embedded and rendered


def test_a_planted_rings_case_page_shows_its_members_and_evidence(
    spark: SparkSession, world: World, tmp_path: Path
) -> None:
    """The planted ring the linkage recovers best: the report links its case page, and the page,
    rendered offline in Chromium, lists every member and every identifier they share."""
    truth = _truth(spark, world, "sellers").where(F.col("ring_id").isNotNull())
    leads = world.lake.read("gold.ring_leads").where(F.col("score_date") == F.lit(LAST))
    best = (
        leads.select("ring_id", "lead_rank", F.explode("member_sellers").alias("seller_id"))
        .join(truth.select("seller_id", F.col("ring_id").alias("true_ring")), "seller_id")
        .groupBy("ring_id", "lead_rank", "true_ring")
        .count()
        .orderBy(F.desc("count"), "lead_rank")
        .first()
    )
    assert best is not None and best["count"] >= 2, "no planted ring was linked"
    lead = leads.where(F.col("ring_id") == best["ring_id"]).first()
    assert lead is not None and lead["lead_rank"] <= world.conf.scoring.case_pages
    folder = Path(world.conf.paths.reports) / LAST.isoformat()
    report = _rendered_dom(folder / "report.html", tmp_path / "profile")
    href = f"rings/{lead['ring_id']}.html"
    assert f'href="{href}"' in report
    page = _rendered_dom(
        folder / href, tmp_path / "profile", screenshot=ARTIFACTS / "ring_case_page.png"
    )
    assert f'<h1 id="ring-id">Ring {lead["ring_id"]}</h1>' in page
    assert sorted(re.findall(r'<td class="member">([^<]+)</td>', page)) == sorted(
        lead["member_sellers"]
    )
    shown = set(re.findall(r'<td>(\w+)</td><td class="identifier">([^<]+)</td>', page))
    assert shown == {(e["identifier_type"], e["identifier"]) for e in lead["shared_identifiers"]}
    assert shown, "the ring's evidence table is empty"
    assert f'alt="ring graph of {lead["ring_id"]}"' in page


def test_an_origin_two_planted_rings_ship_from_is_a_source_lead_joining_both(
    spark: SparkSession, world: World
) -> None:
    """The world's rings ship in pairs from one factory (simulator.rings_per_factory = 2): each
    factory's origin is a source lead of the last night joining the clusters of every seller that
    ships from it, and each of those ring leads names it among its sources."""
    lake = world.lake
    truth = _truth(spark, world, "sellers").where(F.col("ring_id").isNotNull())
    origins = lake.read("silver.seller_identifiers").where(
        F.col("identifier_type") == "ship_origin"
    )
    # A factory's origin: one shipped from by accounts of two planted rings.
    factory_origins = (
        origins.join(truth, "seller_id")
        .groupBy(F.col("identifier").alias("source"))
        .agg(F.countDistinct("ring_id").alias("true_rings"))
        .where("true_rings = 2")
    )
    clusters = lake.read("graph.account_clusters").where(F.col("feature_date") == F.lit(LAST))
    expected = (
        origins.join(factory_origins, F.col("identifier") == F.col("source"))
        .join(clusters.select("seller_id", "ring_id"), "seller_id", "left")
        .groupBy("source")
        .agg(
            F.sort_array(F.collect_set("ring_id")).alias("rings"),
            F.sort_array(F.collect_set("seller_id")).alias("seller_ids"),
        )
        .where(F.size("rings") >= world.conf.scoring.source_min_rings)
    )
    sources = lake.read("gold.source_leads").where(
        (F.col("score_date") == F.lit(LAST)) & (F.col("source_type") == "ship_origin")
    )
    found = {r["source"]: (r["rings"], r["seller_ids"]) for r in sources.collect()}
    wanted = {r["source"]: (r["rings"], r["seller_ids"]) for r in expected.collect()}
    assert wanted, "no factory's origin reached two clusters: the check would be empty"
    assert {source: found.get(source) for source in wanted} == wanted
    # The two planted rings of a factory are told apart, and both of their leads name the origin.
    leads = lake.read("gold.ring_leads").where(F.col("score_date") == F.lit(LAST))
    named = {
        r["ring_id"]: {(s["source_type"], s["source"]) for s in r["sources"]}
        for r in leads.select("ring_id", "sources").collect()
    }
    for source, (rings, _) in wanted.items():
        for ring in rings:
            if ring in named:
                assert ("ship_origin", source) in named[ring], (ring, source)
    assert any(sum(ring in named for ring in rings) >= 2 for rings, _ in wanted.values())
