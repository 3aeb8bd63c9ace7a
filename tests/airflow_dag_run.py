"""Run by tests/test_dag.py with Airflow's own Python (.venv-airflow), which has no PySpark.

Loads jobs/schedule with a DagBag and prints, as one JSON line, what the DAG declares; with
`--run` it then creates the metadata database under $AIRFLOW_HOME, runs the DAG's first
scheduled night (that of RADAR_DAG_START) with `dag.test()`, and prints the state of the run and
of each task. The radar settings
come from the environment (AIRFLOW_VAR_RADAR_CONF, ...), as a deployment may give them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DAG_FOLDER = Path(__file__).resolve().parents[1] / "jobs" / "schedule"
DAG_ID = "radar_nightly"


def declared(bag: Any) -> dict[str, Any]:
    """What the test checks about the DAG as parsed: ids, order, edges, retries, commands."""
    dag = bag.dags[DAG_ID]
    interval = first_interval(dag)
    return {
        "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
        "dag_ids": sorted(bag.dags),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "first_interval": [interval.start.isoformat(), interval.end.isoformat()],
        "order": [task.task_id for task in dag.topological_sort()],
        "tasks": {
            task.task_id: {
                "upstream": sorted(task.upstream_task_ids),
                "retries": task.retries,
                "retry_delay_s": task.retry_delay.total_seconds(),
                "depends_on_past": task.depends_on_past,
                "bash_command": task.bash_command,
            }
            for task in dag.tasks
        },
    }


def first_interval(dag: Any) -> Any:
    """The data interval of the DAG's first scheduled run, as the scheduler computes it."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(dag.start_date, None, catchup=True)
    return timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=restriction
    ).data_interval


def run_first_night(dag: Any) -> dict[str, Any]:
    """Run the DAG's first scheduled night in this process (dag.test) on a new metadata database."""
    from airflow.utils.db import initdb

    initdb()
    logical_date = first_interval(dag).start
    run = dag.test(logical_date=logical_date)
    return {
        "state": str(run.state),
        "task_states": {ti.task_id: str(ti.state) for ti in run.get_task_instances()},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--run", action="store_true", help="run the first scheduled night with dag.test()"
    )
    args = parser.parse_args()
    from airflow.dag_processing.dagbag import DagBag

    # safe_mode=False parses every module the folder does not .airflowignore, as a DAG processor
    # configured with dag_discovery_safe_mode=False would.
    bag = DagBag(dag_folder=str(DAG_FOLDER), safe_mode=False)
    result: dict[str, Any] = {"declared": declared(bag)}
    if args.run:
        result["run"] = run_first_night(bag.dags[DAG_ID])
    print("RESULT " + json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
