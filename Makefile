# counterfeit-radar: every target runs from a fresh clone; `setup` is idempotent.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3.11
VENV        := .venv
PY          := $(VENV)/bin/python
RADAR       := $(VENV)/bin/radar
UV_VERSION  := 0.13.9
DEPS_STAMP  := $(VENV)/.deps.stamp
JARS_STAMP  := .cache/jars/manifest.json
AIRFLOW_VENV  := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.deps.stamp
CONF        ?= conf/local.yaml
DEMO_LISTINGS ?= 20000
DEMO_DAYS   ?= 5
DEMO_START  ?= 2026-11-01

.PHONY: help setup setup-airflow setup-browser lock lock-airflow test test-cluster test-airflow demo nightly lint bench sql sql-server notebooks clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON_BOOT) -m venv $(VENV)

$(DEPS_STAMP): requirements.lock pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip sync --quiet --python $(PY) --require-hashes requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	touch $@

$(JARS_STAMP): jobs/runtime/jars.py | $(DEPS_STAMP)
	$(PY) -m jobs.runtime.jars

setup: $(DEPS_STAMP) $(JARS_STAMP)  ## create .venv, install the locked packages and fetch the JVM jars (once)

# Airflow in a venv of its own: it cannot share one with the project's lock (pyproject.toml,
# [dependency-groups] airflow). The DAG's tasks run .venv/bin/radar as subprocesses.
$(AIRFLOW_VENV)/bin/python:
	$(PYTHON_BOOT) -m venv $(AIRFLOW_VENV)

$(AIRFLOW_STAMP): requirements-airflow.lock | $(AIRFLOW_VENV)/bin/python $(DEPS_STAMP)
	$(VENV)/bin/uv pip sync --quiet --python $(AIRFLOW_VENV)/bin/python --require-hashes requirements-airflow.lock
	touch $@

setup-airflow: $(AIRFLOW_STAMP)  ## create .venv-airflow with the locked Airflow, for jobs/schedule/radar_dag.py (once)

lock:  ## re-resolve requirements.lock from pyproject.toml (needs network)
	$(VENV)/bin/uv pip compile --quiet --python 3.11 --extra dev --generate-hashes pyproject.toml -o requirements.lock

lock-airflow:  ## re-resolve requirements-airflow.lock from pyproject.toml's airflow group (needs network)
	$(VENV)/bin/uv pip compile --quiet --python 3.11 --generate-hashes --group pyproject.toml:airflow -o requirements-airflow.lock

PYTEST_ARGS ?=
setup-browser:  ## headless Chromium for the report test (Debian's package; needs root)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium; } \
	  || { echo "install Chromium (apt-get install chromium) to run the report test" >&2; exit 1; }

test: setup setup-browser  ## run the test suite (PYTEST_ARGS="-k linkage" to narrow it)
	rc=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

test-cluster: setup  ## the night on a real standalone cluster (master + 2 workers on 127.0.0.1)
	$(VENV)/bin/pytest -m cluster tests/test_cluster.py

test-airflow: setup setup-airflow  ## the DAG parsed by a DagBag and one night run by Airflow's dag.test()
	$(VENV)/bin/pytest -m airflow tests/test_dag.py

lint: setup  ## ruff and mypy
	$(VENV)/bin/ruff check jobs features training data_contracts tests notebooks
	$(VENV)/bin/ruff format --check jobs features training data_contracts tests notebooks
	$(VENV)/bin/mypy

# A 20,000-listing world has about ten confirmed listings a day to evaluate on; the gate's default
# (training.min_eval_positives: 20) guards a marketplace with thousands, and would leave the demo
# with no champion, so nothing scored. The demo says so by lowering it, not the default.
DEMO_SET ?= --set training.min_eval_positives=5
demo: setup  ## simulate a small marketplace and run every night of it end to end
	$(RADAR) demo --conf $(CONF) --listings $(DEMO_LISTINGS) --days $(DEMO_DAYS) --start $(DEMO_START) $(DEMO_SET)

nightly: setup  ## run one night: make nightly DATE=YYYY-MM-DD [CONF=conf/local.yaml]
	@test -n "$${DATE:-}" || { echo "usage: make nightly DATE=YYYY-MM-DD" >&2; exit 2; }
	$(RADAR) nightly --conf $(CONF) --date $(DATE)

BENCH_SIZES ?= 1000000,2000000,5000000,10000000
# conf/local.yaml is sized for small worlds (2 shuffle partitions); 10M listings need more room.
BENCH_SET ?= --set spark.driver_memory=12g --set spark.shuffle_partitions=16
bench: setup  ## the first night at 1M..10M listings vs DuckDB and scipy; rewrites BENCHMARKS.md
	$(PY) -m jobs.bench --sizes $(BENCH_SIZES) $(BENCH_SET) --summary data/bench/summary.json

sql: setup  ## Spark SQL shell over the catalog (SELECT * FROM gold.ring_leads LIMIT 10)
	$(RADAR) sql --conf $(CONF)

sql-server: setup  ## Spark Thrift JDBC server on localhost for BI tools
	$(RADAR) sql --server --conf $(CONF)

# RADAR_CONF picks the lakehouse the notebooks open (default: CONF, the `make demo` one).
notebooks: setup  ## Jupyter Lab on notebooks/ with the project's venv (RADAR_CONF=FILE: another lakehouse)
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[notebooks]'
	RADAR_CONF="$${RADAR_CONF:-$(abspath $(CONF))}" $(VENV)/bin/jupyter lab --notebook-dir=notebooks

clean:  ## remove generated data, reports and caches (keeps .venv and the jar cache)
	rm -rf data/ spark-warehouse/ metastore_db/ derby.log .pytest_cache .mypy_cache .ruff_cache
