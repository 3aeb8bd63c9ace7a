"""One local SparkSession for the whole suite, and a fresh lakehouse for each test that wants one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pyspark.sql import SparkSession

from jobs.runtime.conf import Conf, load_conf, overrides_under
from jobs.runtime.lakehouse import Lakehouse
from jobs.runtime.session import build_spark

if TYPE_CHECKING:
    from tests.world import World


def conf_for(root: Path, *overrides: str) -> Conf:
    """The project's conf with every path under `root` and a small local Spark."""
    return load_conf(
        None,
        [
            *overrides_under(root),
            "spark.master=local[2]",
            "spark.shuffle_partitions=2",
            "spark.driver_memory=3g",
            "spark.ui_enabled=false",
            "spark.log_level=ERROR",
            *overrides,
        ],
    )


@pytest.fixture(scope="session")
def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("radar")


@pytest.fixture(scope="session")
def spark(session_root: Path) -> Iterator[SparkSession]:
    # The warehouse folder is fixed for the session (a SparkSession keeps the one it started with).
    session = build_spark(conf_for(session_root, f"paths.metastore={session_root / 'metastore'}"))
    yield session
    session.stop()


@pytest.fixture
def conf(tmp_path: Path, session_root: Path, spark: SparkSession) -> Conf:
    """Conf for one test: its own landing, lakehouse, reports and MLflow store under tmp_path."""
    return conf_for(tmp_path, f"paths.metastore={session_root / 'metastore'}")


@pytest.fixture
def lakehouse(spark: SparkSession, conf: Conf) -> Lakehouse:
    return Lakehouse(spark, conf.paths.lakehouse)


@pytest.fixture(scope="session")
def night_world(
    tmp_path_factory: pytest.TempPathFactory, session_root: Path, spark: SparkSession
) -> World:
    """The small world of tests/world.py after its four nights (built once, by a child process).

    RADAR_TEST_WORLD=<dir> builds it in <dir> once and reuses it on later runs (for iterating on
    tests that only read it; delete the folder after changing the pipeline)."""
    from tests.world import build_world, reuse_world

    keep = os.environ.get("RADAR_TEST_WORLD")
    if keep and (Path(keep) / "world.yaml").is_file():
        return reuse_world(Path(keep), session_root / "metastore")
    root = Path(keep) if keep else tmp_path_factory.mktemp("world")
    root.mkdir(parents=True, exist_ok=True)
    return build_world(root, session_root / "metastore")
