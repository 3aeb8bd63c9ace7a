"""The Airflow DAG (jobs/schedule/radar_dag.py): parsed by a DagBag, one night run by `dag.test()`.

Airflow lives in a venv of its own (`make setup-airflow`: .venv-airflow), so the Airflow side runs
in a child process of that Python (tests/airflow_dag_run.py) with AIRFLOW_HOME and its sqlite
database under tmp_path; this process checks what it printed and what the night left in the lake.

The night is a tiny world of its own (one day, a few hundred listings), so nothing the other tests
read changes. The DAG must run the night as `radar nightly` does: every step once, in its order,
on the landing partition of `ds`, and train and maintenance decided as nightly decides them (a
first night has no champion, so training is due; a Sunday is not the maintenance weekday).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.cli import COMMANDS
from jobs.nightly import STEPS
from jobs.runtime.conf import PROJECT_ROOT, Conf
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse
from jobs.runtime.runlog import RUN_LOG
from jobs.schedule.nightly_step import DECIDED_BY_NIGHTLY
from jobs.simulate import simulate
from tests.conftest import conf_for
from tests.world import SETTINGS

# Its own target (make test-airflow): one night through Airflow's task processes is ~12 minutes.
pytestmark = [pytest.mark.integration, pytest.mark.airflow]

AIRFLOW_PYTHON = PROJECT_ROOT / ".venv-airflow" / "bin" / "python"
NIGHT = date(2026, 11, 1)  # a Sunday: not SETTINGS' maintenance weekday (3), so "not due"
LISTINGS, SEED = 400, 5
QUICK = ("ingest.great_expectations=false",)  # Data Docs are the ingest tests' concern


def _printed_result(log: Path) -> dict[str, Any] | None:
    """The JSON the Airflow child printed last (None if it printed none)."""
    if not log.is_file():
        return None
    results = [line for line in log.read_text().splitlines() if line.startswith("RESULT ")]
    return dict(json.loads(results[-1].removeprefix("RESULT "))) if results else None


def _run_airflow(home: Path, conf_file: Path, log: Path) -> dict[str, Any]:
    """Parse the DAG and run its first night in Airflow's venv; what the child printed, as JSON."""
    if not AIRFLOW_PYTHON.is_file():
        pytest.fail(f"{AIRFLOW_PYTHON} is missing: run `make setup-airflow` first")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "jobs" / "schedule"),
        "RADAR_DAG_START": NIGHT.isoformat(),
        "AIRFLOW_VAR_RADAR_CONF": str(conf_file),
        "AIRFLOW_VAR_RADAR_PROJECT_ROOT": str(PROJECT_ROOT),
        # Worktrees may share one .venv whose editable install points at another checkout: the
        # tasks' `radar` must run this checkout's code.
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    home.mkdir(parents=True, exist_ok=True)
    script = [str(AIRFLOW_PYTHON), str(PROJECT_ROOT / "tests" / "airflow_dag_run.py"), "--run"]
    with log.open("w") as out:
        done = subprocess.run(script, env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT)
    result = _printed_result(log)
    if done.returncode != 0 or result is None:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise AssertionError(f"the Airflow run failed ({done.returncode}); log {log}:\n{tail}")
    return result


def _night_records(spark: SparkSession, conf: Conf) -> list[dict[str, Any]]:
    """The night's run-log records (one per step and attempt, and per table of a step)."""
    rows = (
        Lakehouse(spark, conf.paths.lakehouse)
        .read(RUN_LOG)
        .where(F.col("run_date") == F.lit(NIGHT))
        .collect()  # bounded: a few rows per step
    )
    return [row.asDict() for row in rows]


def _landing_rows(spark: SparkSession, landing: Path) -> dict[str, int]:
    """Rows per raw table in the landing partition of the night (dt=NIGHT)."""
    return {
        table: spark.read.parquet(str(landing / table / f"dt={NIGHT}")).count()
        for table in RAW_TABLES
        if (landing / table / f"dt={NIGHT}").is_dir()
    }


@dataclass(frozen=True)
class DagNight:
    result: dict[str, Any]  # what the Airflow child printed: the DAG as parsed, the run's states
    conf: Conf  # the conf the tasks ran with
    records: list[dict[str, Any]]  # the night's ops.run_log records
    landing_rows: dict[str, int]

    def whole_steps(self) -> list[dict[str, Any]]:
        """The whole-step records, in step order."""
        steps = [r for r in self.records if r["table_name"] == "*"]
        return sorted(steps, key=lambda r: STEPS.index(r["step"]))

    def message(self, step: str) -> str:
        return next(str(r["message"]) for r in self.whole_steps() if r["step"] == step)


@pytest.fixture(scope="module")
def dag_night(
    tmp_path_factory: pytest.TempPathFactory, spark: SparkSession, session_root: Path
) -> DagNight:
    """One night of a tiny world of its own, run by the DAG with dag.test().

    RADAR_TEST_DAG=<dir> runs it in <dir> once and reuses it on later runs (for iterating on
    the assertions; delete the folder after changing the DAG or the steps)."""
    keep = os.environ.get("RADAR_TEST_DAG")
    base = Path(keep) if keep else tmp_path_factory.mktemp("dag")
    root, landing = base / "world", base / "landing"
    conf = conf_for(
        root, *SETTINGS, *QUICK, f"paths.metastore={root / 'metastore'}", f"paths.landing={landing}"
    )
    result = _printed_result(base / "airflow.log") if keep else None
    if result is None:
        root.mkdir(parents=True, exist_ok=True)
        # In this process's session (its metastore): simulate writes only the landing files.
        simulator = conf_for(root, f"paths.metastore={session_root / 'metastore'}")
        simulate(
            JobContext(simulator),
            out=str(landing),
            listings=LISTINGS,
            days=1,
            seed=SEED,
            start=NIGHT,
        )
        conf_file = root / "conf.yaml"
        conf_file.write_text(yaml.safe_dump(conf.model_dump(mode="json"), sort_keys=False))
        result = _run_airflow(base / "airflow", conf_file, base / "airflow.log")
    return DagNight(result, conf, _night_records(spark, conf), _landing_rows(spark, landing))


def test_dagbag_loads_the_dag_without_import_errors(dag_night: DagNight) -> None:
    declared = dag_night.result["declared"]
    assert declared["import_errors"] == {}
    assert declared["dag_ids"] == ["radar_nightly"]


def test_one_task_per_step_in_the_order_of_radar_nightly(dag_night: DagNight) -> None:
    declared = dag_night.result["declared"]
    assert declared["order"] == list(STEPS)
    upstream = {step: declared["tasks"][step]["upstream"] for step in STEPS}
    assert upstream == {step: [STEPS[n - 1]] if n else [] for n, step in enumerate(STEPS)}


def test_every_task_retries_and_waits_for_the_night_before(dag_night: DagNight) -> None:
    declared = dag_night.result["declared"]
    tasks = declared["tasks"]
    assert {step: tasks[step]["retries"] for step in STEPS} == dict.fromkeys(STEPS, 2)
    assert {step: tasks[step]["retry_delay_s"] for step in STEPS} == dict.fromkeys(STEPS, 600.0)
    assert {step: tasks[step]["depends_on_past"] for step in STEPS} == dict.fromkeys(STEPS, True)
    assert declared["catchup"] is True
    assert declared["max_active_runs"] == 1


def test_the_first_run_is_the_night_of_the_start_date(dag_night: DagNight) -> None:
    """The interval [D 02:00, D+1 02:00): the run starts the morning after, with ds = D."""
    after = NIGHT + timedelta(days=1)
    assert dag_night.result["declared"]["first_interval"] == [
        f"{NIGHT}T02:00:00+00:00",
        f"{after}T02:00:00+00:00",
    ]


def test_each_task_runs_the_command_line_with_the_night_as_ds(dag_night: DagNight) -> None:
    tasks = dag_night.result["declared"]["tasks"]
    expected = {}
    for step in STEPS:
        if step in DECIDED_BY_NIGHTLY:
            program = f'"$RADAR_VENV/bin/python" -m jobs.schedule.nightly_step {step}'
        else:
            assert step in COMMANDS
            program = f'"$RADAR_VENV/bin/radar" {step}'
        expected[step] = program + ' --conf "$RADAR_CONF" --date {{ ds }}'
    assert {step: tasks[step]["bash_command"] for step in STEPS} == expected


def test_dag_test_runs_every_task_of_the_night(dag_night: DagNight) -> None:
    run = dag_night.result["run"]
    assert run["state"] == "success"
    assert run["task_states"] == dict.fromkeys(STEPS, "success")


def test_each_task_records_its_step_once_in_its_own_run(dag_night: DagNight) -> None:
    records = dag_night.whole_steps()
    assert [(r["step"], r["status"]) for r in records] == [(s, "succeeded") for s in STEPS]
    assert len({r["run_id"] for r in records}) == len(STEPS)  # one process per task


def test_ingest_reads_the_landing_partition_of_ds(dag_night: DagNight) -> None:
    """Every raw table of the night was read whole: the task's --date was the night's date."""
    ingested = {
        r["table_name"]: r["rows_read"]
        for r in dag_night.records
        if r["step"] == "ingest" and r["table_name"] != "*"
    }
    assert ingested == dag_night.landing_rows
    assert dag_night.landing_rows["listings"] == LISTINGS


def test_maintenance_is_not_due_off_its_weekday_as_in_nightly(dag_night: DagNight) -> None:
    weekday = dag_night.conf.scoring.maintenance_weekday
    assert NIGHT.weekday() != weekday
    expected = f"not due: OPTIMIZE and VACUUM run on weekday {weekday} (0 = Monday)"
    assert dag_night.message("maintenance") == expected


def test_train_is_due_without_a_champion_and_score_follows_it(dag_night: DagNight) -> None:
    """A first night has no champion, so nightly trains; score uses the champion if one came of it."""
    trained = dag_night.message("train")
    assert trained.startswith(("version ", "skipped: ")), (
        trained
    )  # train's own record, not "not due"
    scored = dag_night.message("score")
    model = dag_night.conf.mlflow.model_name
    if " -> champion: " in trained:
        assert scored.startswith(f"model {model} v")
    else:
        assert scored == f"skipped: no `champion` version of {model} yet (see the train step)"
