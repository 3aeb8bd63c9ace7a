"""The night as an Airflow DAG (`radar_nightly`): one task per step of `radar nightly`, in its order.

Each task runs the project's command line in its own virtualenv as a subprocess, so the Airflow
workers need neither PySpark nor Java in Airflow's environment:

    ingest, conform, linkage, features, score, report:  <venv>/bin/radar STEP --conf C --date {{ ds }}
    train, maintenance:  <venv>/bin/python -m jobs.schedule.nightly_step STEP --conf C --date {{ ds }}

`radar nightly` trains only when training is due and runs OPTIMIZE + VACUUM only on its weekday,
recording "not due" otherwise; `radar train` and `radar maintenance` would run whatever the night,
so those two tasks run nightly's own decision (jobs/schedule/nightly_step.py). A task's retry
re-runs its step, which is idempotent for its date, as a resumed `radar nightly` would.

The night of day D runs once D is over: the data interval is [D 02:00, D+1 02:00) UTC, so the
run starts at 02:00 the next morning with `ds` = D, the date of the landing partitions it reads.
`catchup=True` backfills every night since the start date, one night at a time and in date order
(`max_active_runs=1`, and `depends_on_past`: a step waits for the same step of the night before),
like `radar nightly --from D1 --to D2`. Exit status 3 (another run holds the lakehouse's writer
lock) fails the attempt, and the retry tries again later.

Settings, each an Airflow Variable (Admin > Variables, `airflow variables set NAME VALUE`, or the
environment variable AIRFLOW_VAR_<NAME>), read when a task runs:

    radar_project_root  the checkout to run in (default: the one holding this file)
    radar_conf          the conf file over conf/base.yaml, relative to the root or absolute
                        (default conf/local.yaml, as `radar` itself)
    radar_venv          the project's virtualenv, relative to the root or absolute (default .venv)

and one read when the DAG file is parsed, since the schedule must be known then:

    RADAR_DAG_START     (environment) the first night, YYYY-MM-DD (default 2026-11-01)
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, chain

DAG_ID = "radar_nightly"
# jobs/nightly.py STEPS, in its order (tests/test_dag.py keeps the two equal: this file is parsed
# where the project's packages, which import PySpark, are not installed).
STEPS = ("ingest", "conform", "linkage", "features", "train", "score", "maintenance", "report")
# jobs/schedule/nightly_step.py DECIDED_BY_NIGHTLY: the steps run as nightly decides them.
DECIDED_BY_NIGHTLY = ("train", "maintenance")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_START = "2026-11-01"
# A failed step is tried twice more, ten minutes apart: time for a transient fault (a busy
# lakehouse, a lost executor, storage throttling) to pass, not enough to hide a real failure.
RETRIES = 2
RETRY_DELAY = timedelta(minutes=10)
# 02:00 UTC: the landing partitions of the day before are complete by then.
SCHEDULE = "0 2 * * *"


def _variable(name: str, default: str) -> str:
    """A Jinja reference to an Airflow Variable, rendered when the task runs (reading Variables
    when the file is parsed would hit the metadata database on every parse)."""
    return "{{ var.value.get(" + repr(name) + ", " + repr(default) + ") }}"


def step_command(step: str) -> str:
    """The shell command of one step for the night `ds`, from the project root."""
    if step in DECIDED_BY_NIGHTLY:
        program = f'"$RADAR_VENV/bin/python" -m jobs.schedule.nightly_step {step}'
    else:
        program = f'"$RADAR_VENV/bin/radar" {step}'
    return program + ' --conf "$RADAR_CONF" --date {{ ds }}'


def step_task(step: str) -> BashOperator:
    """One step as a task: the command above in the project root, the settings in its env."""
    return BashOperator(
        task_id=step,
        bash_command=step_command(step),
        cwd=_variable("radar_project_root", str(PROJECT_ROOT)),
        env={
            "RADAR_CONF": _variable("radar_conf", "conf/local.yaml"),
            "RADAR_VENV": _variable("radar_venv", ".venv"),
        },
        append_env=True,  # keep the worker's PATH, JAVA_HOME, ...
    )


def start_date() -> datetime:
    """The first night, from RADAR_DAG_START, with a message naming the variable if malformed."""
    value = os.environ.get("RADAR_DAG_START", DEFAULT_START)
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"RADAR_DAG_START: expected YYYY-MM-DD, got {value!r}") from None


with DAG(
    dag_id=DAG_ID,
    description="counterfeit-radar: one night, step by step, as `radar nightly` runs it",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=start_date(),
    catchup=True,
    max_active_runs=1,
    default_args={"retries": RETRIES, "retry_delay": RETRY_DELAY, "depends_on_past": True},
    tags=["counterfeit-radar"],
) as dag:
    chain(*(step_task(step) for step in STEPS))
