"""A past night re-run after later nights writes what it wrote then (issue 17).

On a copy of the test world (tests/world.py, four nights), the rows of night 3 are kept aside,
then night 3 is run again with `radar nightly --date D --force` after night 4. Silver has moved
on meanwhile (listings updated, sellers changed, identifiers seen again), so only reads pinned to
the night's Delta versions give the same features and graph rows. Night 3 had no champion (the
first one is trained on night 4): its re-run must stay unscored rather than take the later
champion, and must not train.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from jobs.runtime import catalog, night_versions
from jobs.runtime.catalog import Table
from jobs.runtime.lakehouse import Lakehouse
from tests.conftest import conf_for
from tests.world import NIGHTS, SETTINGS, World, radar

pytestmark = pytest.mark.integration

RERUN = NIGHTS[-2]
# Every table the night writes rows of.
WRITTEN = (
    catalog.SELLER_FEATURES,
    catalog.LISTING_FEATURES,
    catalog.HUB_IDENTIFIERS,
    catalog.LINKAGE_EDGES,
    catalog.ACCOUNT_CLUSTERS,
    catalog.RING_LINEAGE,
    *catalog.GOLD,
)


def _night_rows(lake: Lakehouse, table: Table, night: date) -> DataFrame | None:
    """The table's rows of the night, None when the table was never written."""
    return lake.read_night(table, night) if lake.exists(table) else None


@pytest.fixture(scope="module")
def rerun(
    tmp_path_factory: pytest.TempPathFactory,
    session_root: Path,
    spark: SparkSession,
    night_world: World,
) -> tuple[Lakehouse, Path, str]:
    """A copy of the test world after the re-run of RERUN; the rows of RERUN before it kept
    under `first/`. (The copy has a metastore of its own, so the re-run's process can open it.)"""
    root = tmp_path_factory.mktemp("pit_world")
    for name in ("landing", "lakehouse", "mlartifacts"):  # the model registry's too
        if (night_world.root / name).is_dir():
            shutil.copytree(night_world.root / name, root / name)
    shutil.copy2(night_world.root / "mlflow.db", root / "mlflow.db")
    external = conf_for(root, *SETTINGS, f"paths.metastore={root / 'metastore'}")
    conf_file = root / "world.yaml"
    conf_file.write_text(yaml.safe_dump(external.model_dump(mode="json"), sort_keys=False))
    conf = conf_for(root, *SETTINGS, f"paths.metastore={session_root / 'metastore'}")
    lake = Lakehouse(spark, conf.paths.lakehouse)
    for table in WRITTEN:
        rows = _night_rows(lake, table, RERUN)
        if rows is not None:
            rows.write.parquet(str(root / "first" / table.name))
    radar(
        conf_file,
        "nightly",
        "--date",
        RERUN.isoformat(),
        "--force",
        "--set",
        "ingest.great_expectations=false",
        log=root / "rerun.log",
    )
    return lake, root, conf.mlflow.model_name


def _first(spark: SparkSession, root: Path, table: Table) -> DataFrame | None:
    folder = root / "first" / table.name
    return spark.read.parquet(str(folder)) if folder.is_dir() else None


def _assert_same_rows(spark: SparkSession, lake: Lakehouse, root: Path, table: Table) -> None:
    """The re-run's rows of RERUN equal the first run's (none when the first run wrote none)."""
    first, again = _first(spark, root, table), _night_rows(lake, table, RERUN)
    if first is None or first.isEmpty():
        assert again is None or again.isEmpty(), f"{table}: the re-run wrote rows the first did not"
        return
    assert again is not None
    assertDataFrameEqual(again.select(*first.columns), first)


def test_rerun_of_a_past_night_writes_the_same_features(
    spark: SparkSession, rerun: tuple[Lakehouse, Path, str]
) -> None:
    lake, root, _ = rerun
    first = _first(spark, root, catalog.LISTING_FEATURES)
    assert first is not None and first.count() > 1000
    for table in (catalog.SELLER_FEATURES, catalog.LISTING_FEATURES):
        _assert_same_rows(spark, lake, root, table)


def test_rerun_of_a_past_night_writes_the_same_graph(
    spark: SparkSession, rerun: tuple[Lakehouse, Path, str]
) -> None:
    lake, root, _ = rerun
    clusters = _first(spark, root, catalog.ACCOUNT_CLUSTERS)
    assert clusters is not None and clusters.count() > 0
    for table in (
        catalog.HUB_IDENTIFIERS,
        catalog.LINKAGE_EDGES,
        catalog.ACCOUNT_CLUSTERS,
        catalog.RING_LINEAGE,
    ):
        _assert_same_rows(spark, lake, root, table)


def test_rerun_of_a_night_without_a_champion_stays_unscored(
    spark: SparkSession, rerun: tuple[Lakehouse, Path, str]
) -> None:
    lake, root, model_name = rerun
    # No champion was in force on RERUN (the later night trained one): pinned as such, and the
    # re-run writes no scores either, where the champion of today would have scored it.
    assert night_versions.pins(lake, RERUN)[night_versions.model_pin(model_name)] is None
    assert night_versions.pins(lake, NIGHTS[-1])[night_versions.model_pin(model_name)] is not None
    for table in catalog.GOLD:
        _assert_same_rows(spark, lake, root, table)


def test_rerun_of_a_past_night_does_not_retrain(rerun: tuple[Lakehouse, Path, str]) -> None:
    lake, _, _ = rerun
    trainings = (
        lake.read_night(catalog.RUN_LOG, RERUN)
        .where((F.col("step") == "train") & (F.col("table_name") == "*"))
        .orderBy("started_at")
        .select("message")
        .collect()
    )
    assert len(trainings) == 2
    assert trainings[0]["message"].startswith("skipped: too few decided notices")
    assert trainings[1]["message"].startswith("not due: a re-run of a past night")
