"""The tables are reachable outside the jobs: Spark SQL shell, JDBC through the Thrift server,
and a Delta reader that is not Spark at all.

All three open the world's lakehouse from another process, exactly as `make sql`, `make
sql-server` and a downstream consumer would; the shell answers while a night writes.
"""

from __future__ import annotations

import os
import re
import shutil
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
from jobs.runtime.lakehouse import local_tables
from jobs.runtime.session import LAYERS
from jobs.runtime.writer_lock import LOCK_FILE
from jobs.sql import registration_sql
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
    """What `make sql -e ...` runs: spark-sql over the world's lakehouse, tables named by path."""
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
    # Each gold table by its own key: the night column alone for the one row a night of KPIs.
    key = [c for c in table.keys if c != table.night_column] or list(table.keys)
    arrow_keys = set(zip(*(arrow.column(c).to_pylist() for c in key), strict=True))
    assert arrow_keys == {tuple(r) for r in spark_rows.select(*key).collect()}


def _copy_of(world: World, into: Path) -> Path:
    """The world's landing, lakehouse and MLflow store under `into`, and its conf pointing there:
    a night can run on the copy without changing what the other tests read."""
    shutil.copytree(
        world.root, into, ignore=shutil.ignore_patterns("metastore", "checkpoints", "*.log")
    )
    conf_file = into / "world.yaml"
    conf_file.write_text(world.conf_file.read_text().replace(str(world.root), str(into)))
    return conf_file


def test_the_shell_answers_while_a_night_writes_and_a_second_night_is_refused(
    night_world: World, tmp_path: Path
) -> None:
    conf_file = _copy_of(night_world, tmp_path / "world")
    radar = [sys.executable, "-m", "jobs"]
    log = (tmp_path / "night.log").open("w")
    night = subprocess.Popen(
        [*radar, "nightly", "--conf", str(conf_file), "--date", str(LAST), "--force"],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        lock = tmp_path / "world" / "lakehouse" / LOCK_FILE
        deadline = time.monotonic() + 300
        while not lock.exists():
            assert night.poll() is None, (tmp_path / "night.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the night never took the writer lock"
            time.sleep(0.5)

        query = "SELECT count(*) AS n FROM gold.listing_scores"
        reader = subprocess.run(
            [*radar, "sql", "--conf", str(conf_file), "-e", query],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        second = subprocess.run(
            [*radar, "nightly", "--conf", str(conf_file), "--date", str(LAST)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert night.poll() is None, "the night ended before both answered: the test proved nothing"
    finally:
        os.killpg(night.pid, signal.SIGKILL)
        night.wait()
        log.close()

    assert reader.returncode == 0, reader.stderr[-3000:]
    scored = night_world.lake.read("gold.listing_scores").count()
    assert str(scored) in reader.stdout.split(), reader.stdout[-2000:]
    assert second.returncode == 3, second.stderr[-2000:]
    refusal = second.stderr.strip().splitlines()
    assert len(refusal) == 1 and refusal[0].startswith("radar nightly: refused: "), refusal
    assert f"radar nightly --date {LAST}" in refusal[0]


def test_the_shell_names_each_stored_table_by_its_folder(tmp_path: Path) -> None:
    """A folder with a Delta log is a table; anything else under the lakehouse is not."""
    for folder in ("gold/ring_leads", "gold/listing_scores", "ops/run_log"):
        (tmp_path / folder / "_delta_log").mkdir(parents=True)
    (tmp_path / "gold" / "half_written").mkdir()  # no log: not a table (yet)
    (tmp_path / "scratch" / "x" / "_delta_log").mkdir(parents=True)  # not a layer
    tables = local_tables(str(tmp_path), LAYERS)
    assert tables == ["gold.listing_scores", "gold.ring_leads", "ops.run_log"]
    assert registration_sql("/lake", tables) == (
        "CREATE DATABASE IF NOT EXISTS gold;\n"
        "CREATE DATABASE IF NOT EXISTS ops;\n"
        "CREATE TABLE IF NOT EXISTS gold.listing_scores USING DELTA LOCATION '/lake/gold/listing_scores';\n"
        "CREATE TABLE IF NOT EXISTS gold.ring_leads USING DELTA LOCATION '/lake/gold/ring_leads';\n"
        "CREATE TABLE IF NOT EXISTS ops.run_log USING DELTA LOCATION '/lake/ops/run_log';\n"
    )
