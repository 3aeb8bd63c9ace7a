"""Every notebook, executed top to bottom in a real kernel on the four nights of the test world.

A notebook that no longer runs against the tables the nights write fails here: each one is
converted from its jupytext script and executed with nbclient, with RADAR_CONF pointing the
kernel at the world's lakehouse, MLflow store and Derby metastore. Embedded Derby admits one JVM
at a time, so the kernels run one after another (each shut down, and its JVM gone, before the next
starts) and this process never opens that metastore: it reads the tables by path.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import psutil
import pytest
from mlflow import MlflowClient
from nbclient import NotebookClient
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.runtime.conf import PROJECT_ROOT
from tests.world import LAST, World
from training.tracking import champion_version

pytestmark = pytest.mark.integration

NOTEBOOKS = PROJECT_ROOT / "notebooks"
KERNEL_TIMEOUT = 300  # seconds per cell


@dataclass(frozen=True)
class Executed:
    """An executed notebook and what its checks compare it with."""

    nb: nbformat.NotebookNode
    out: str  # everything the cells printed
    world: World
    spark: SparkSession  # the suite's session: reads the world's tables by path
    champion_before: str | None  # the champion version before the notebook ran


def execute(notebook: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Run the notebook in a fresh python3 kernel (which inherits RADAR_CONF) and return it with
    its outputs; nbclient raises CellExecutionError, naming the cell, if any cell fails."""
    monkeypatch.setenv("RADAR_CONF", str(world.conf_file))
    nb = jupytext.read(notebook)
    client = NotebookClient(
        nb,
        timeout=KERNEL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(PROJECT_ROOT)}},
    )
    try:
        client.execute()  # shuts the kernel down at the end, failed or not
    finally:
        wait_for_jvm_exit(world)
    return nb


def wait_for_jvm_exit(world: World, timeout: float = 60) -> None:
    """Wait until no JVM holds the world's Derby metastore: the kernel's JVM exits when its
    Python driver does, a moment after the kernel is shut down."""
    marker = f"-Dderby.system.home={world.root / 'metastore'}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in psutil.process_iter(["cmdline", "status"]) if holds(p.info, marker)]
        if not alive:
            return
        time.sleep(0.5)
    raise TimeoutError(f"a JVM still holds {marker} after {timeout}s")


def holds(info: dict, marker: str) -> bool:
    alive = info["status"] not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    return alive and any(marker in arg for arg in info["cmdline"] or ())


def stdout_of(nb: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def images_in(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def printed(pattern: str, text: str) -> str:
    """The groups of `pattern`'s first match in what the notebook printed, space-separated."""
    found = re.search(pattern, text)
    assert found, f"the notebook did not print {pattern!r}; it printed:\n{text[-3000:]}"
    return " ".join(found.groups())


def read_table(spark: SparkSession, world: World, table: str) -> DataFrame:
    """A table of the world by path (this process must not open the world's metastore)."""
    layer, name = table.split(".")
    return spark.read.format("delta").load(f"{world.conf.paths.lakehouse}/{layer}/{name}")


def check_catalog_and_data_quality(run: Executed) -> None:
    """The quarantine total the notebook prints is the rows of every quarantine table."""
    quarantine = Path(run.world.conf.paths.lakehouse) / "quarantine"
    tables = sorted(p.name for p in quarantine.iterdir() if (p / "_delta_log").is_dir())
    rows = sum(read_table(run.spark, run.world, f"quarantine.{t}").count() for t in tables)
    assert rows > 0  # the world plants defects
    assert printed(r"quarantined rows: (\d+) in (\d+) tables", run.out) == f"{rows} {len(tables)}"
    assert images_in(run.nb) >= 3  # quarantine by rule, numeric histograms, flag shares


def check_model_iteration(run: Executed) -> None:
    """One MLflow run of the nightly experiment holds the candidate's metrics (those printed),
    the champion's on the same rows and the figure; the champion alias did not move."""
    mlflow_conf = run.world.conf.mlflow
    client = MlflowClient(mlflow_conf.tracking_uri)
    logged = client.get_run(printed(r"mlflow run: (\w+)", run.out))
    experiment = client.get_experiment_by_name(mlflow_conf.experiment)
    assert experiment is not None and logged.info.experiment_id == experiment.experiment_id
    assert logged.data.tags["source"] == "notebooks/02_model_iteration"
    assert "ring_size" in logged.data.params["dropped_features"].split(",")
    pr_auc = logged.data.metrics["model_pr_auc"]
    assert 0 < pr_auc <= 1
    assert float(printed(r"candidate PR-AUC: ([\d.]+)", run.out)) == pytest.approx(pr_auc, abs=1e-6)
    champion_pr_auc = logged.data.metrics["champion_pr_auc"]
    assert 0 < champion_pr_auc <= 1
    version = client.get_model_version(mlflow_conf.model_name, str(run.champion_before))
    trained = client.get_run(str(version.run_id)).data
    if trained.params["cutoff"] == LAST.isoformat():
        # Same night, same Delta versions: the notebook rebuilt the very evaluation notices the
        # champion was measured on when it was trained, so it scores the same.
        assert champion_pr_auc == pytest.approx(trained.metrics["model_pr_auc"], abs=1e-9)
    artifacts = [a.path for a in client.list_artifacts(logged.info.run_id)]
    assert "precision_recall_side_by_side.png" in artifacts
    assert run.champion_before is not None  # the world's nights promoted a first model
    assert champion_version(client, mlflow_conf.model_name) == run.champion_before
    assert images_in(run.nb) >= 1


def check_ring_investigation(run: Executed) -> None:
    """The ring investigated is the last night's lead_rank 1, and the hand-off names its
    accounts."""
    leads = read_table(run.spark, run.world, "gold.ring_leads")
    top = leads.where((F.col("score_date") == F.lit(LAST)) & (F.col("lead_rank") == 1)).collect()
    assert len(top) == 1
    assert printed(r"ring investigated: (\S+)", run.out) == top[0]["ring_id"]
    for member in top[0]["member_sellers"]:
        assert member in run.out
    assert images_in(run.nb) >= 1  # the ring's graph


CHECKS: dict[str, Callable[[Executed], None]] = {
    "01_catalog_and_data_quality": check_catalog_and_data_quality,
    "02_model_iteration": check_model_iteration,
    "03_ring_investigation": check_ring_investigation,
}


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("[0-9]*.py")), ids=lambda p: p.stem)
def test_notebook_runs_on_the_world(
    notebook: Path, night_world: World, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow_conf = night_world.conf.mlflow
    champion = champion_version(MlflowClient(mlflow_conf.tracking_uri), mlflow_conf.model_name)
    nb = execute(notebook, night_world, monkeypatch)
    CHECKS[notebook.stem](Executed(nb, stdout_of(nb), night_world, spark, champion))


def test_every_notebook_is_checked() -> None:
    assert sorted(CHECKS) == sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.py"))
