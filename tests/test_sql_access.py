"""The tables are reachable outside the jobs: Spark SQL shell, JDBC through the Thrift server,
and a Delta reader that is not Spark at all.

All three open the world's lakehouse (and, for SQL, its own Derby metastore) from another process,
exactly as `make sql`, `make sql-server` and a downstream consumer would.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.find_spark_home import _find_spark_home
from pyspark.sql import functions as F

from jobs.runtime.catalog import GOLD, Table
from jobs.runtime.conf import PROJECT_ROOT
from tests.world import LAST, World

pytestmark = pytest.mark.integration
SPARK_HOME = Path(_find_spark_home())
# One "ring_id:lead_rank" string per row, whatever the client's output format (no comma: CSV
# output would quote it).
LEADS_QUERY = (
    "SELECT concat(ring_id, ':', lead_rank) AS lead FROM gold.ring_leads "
    f"WHERE score_date = DATE'{LAST}'"
)
# Ring ids are "R" + 12 hex digits (features/account_links.py); a client may print a prompt before the
# first row, so the pattern is searched for, anchored at the line's end.
LEAD_LINE = re.compile(r"\b(R[0-9a-f]{12}):(\d+)\s*$")


def _leads(world: World) -> set[tuple[str, int]]:
    leads = world.lake.read("gold.ring_leads").where(F.col("score_date") == F.lit(LAST))
    return {(r["ring_id"], r["lead_rank"]) for r in leads.collect()}  # small: one night's leads


def _radar(world: World, *args: str) -> list[str]:
    return [sys.executable, "-m", "jobs", args[0], "--conf", str(world.conf_file), *args[1:]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _parse_leads(stdout: str) -> set[tuple[str, int]]:
    matches = (LEAD_LINE.search(line) for line in stdout.splitlines())
    return {(m[1], int(m[2])) for m in matches if m}


def test_sql_shell_resolves_gold_tables_by_name(night_world: World) -> None:
    """What `make sql -e ...` runs: spark-sql over the world's metastore."""
    done = subprocess.run(
        _radar(night_world, "sql", "-e", LEADS_QUERY),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = _parse_leads(done.stdout)
    assert found == _leads(night_world) and found


@pytest.fixture
def thrift_server(night_world: World, tmp_path: Path) -> Iterator[int]:
    """`make sql-server` on a free port; stopped (and the metastore freed) after the test."""
    port = _free_port()
    log = (tmp_path / "thrift.log").open("w")
    server = subprocess.Popen(
        _radar(night_world, "sql", "--server", "--port", str(port)),
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "thrift.log").read_text()[-3000:]
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(2)
        else:
            pytest.fail(f"Thrift server not listening on {port} after 240 s")
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_jdbc_client_queries_the_thrift_server(night_world: World, thrift_server: int) -> None:
    """A real JDBC client (Hive's beeline, shipped with Spark) runs a query over the wire."""
    command = [
        str(SPARK_HOME / "bin" / "beeline"),
        "-u",
        f"jdbc:hive2://127.0.0.1:{thrift_server}/default",
        "--outputformat=csv2",
        "--showHeader=false",
        "--silent=true",
        "-e",
        LEADS_QUERY,
    ]
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME)}
    for _attempt in range(5):  # the port opens a moment before the first session is accepted
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
        if done.returncode == 0:
            break
        time.sleep(5)
    assert done.returncode == 0, done.stderr[-3000:]
    found = _parse_leads(done.stdout)
    assert found == _leads(night_world) and found


@pytest.mark.parametrize("table", GOLD, ids=str)
def test_gold_tables_read_with_a_non_spark_delta_reader(night_world: World, table: Table) -> None:
    """delta-rs (the `deltalake` package) reads what Spark wrote, row for row."""
    lake = night_world.lake
    arrow = DeltaTable(lake.path(table)).to_pyarrow_table(filters=[("score_date", "=", LAST)])
    spark_rows = lake.read(table).where(F.col("score_date") == F.lit(LAST))
    assert arrow.num_rows == spark_rows.count() > 0
    key = {"gold.listing_scores": "listing_id", "gold.seller_risk": "seller_id"}.get(
        table.name, "ring_id"
    )
    assert set(arrow.column(key).to_pylist()) == {r[0] for r in spark_rows.select(key).collect()}
