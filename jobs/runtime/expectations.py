"""Great Expectations over a night's raw tables: validation results and Data Docs for people.

Spark routes the rows (data_contracts/checks.py); Great Expectations validates each table with a
suite built from the same rules (data_contracts/rules.py) and documents the result: a JSON result
per table, one self-contained page per table and night (`<paths.reports>/<date>/data_contracts/
<table>.html`, linked from the daily report), and GE's own Data Docs site under `data_docs/`.

The pages are ours because GE's Data Docs draw their index with scripts and styles fetched from
public CDNs: on a data platform without internet the index lists no validation at all. Ours carry
their style inline and need no script; run name = the night, data asset = the table.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from pyspark.sql import DataFrame

from data_contracts.rules import Rule
from jobs.reporting import templates

log = logging.getLogger("radar.expectations")

# Unexpected values shown per broken expectation: enough to recognise the defect, no more.
EXAMPLES_SHOWN = 5


class ContractValidator:
    """One Great Expectations context for one night (ephemeral: results are written as files)."""

    def __init__(self, reports: str, night: date) -> None:
        self.night = night
        self.folder = Path(reports) / night.isoformat()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pages = templates().get_template("validation.html.j2")
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        self.context.add_data_docs_site(
            site_name="nightly",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.folder / "data_docs"),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        # persist=False: the caller hands in rows it has cached already; GE's default persists
        # each batch again (and never unpersists it), a second copy of every table of the night
        # in the executors' memory, built by GE's first metric (at 10M listings: three stages,
        # 92 of GE's 163 seconds in ingest, BENCHMARKS.md).
        self.source = self.context.data_sources.add_spark(name="landing", persist=False)
        self.summary: dict[str, Any] = {}

    def validate(self, table: str, rows: DataFrame, rules: list[Rule]) -> bool:
        """Validate one table's raw rows with the suite of its rules; True when all passed.
        GE reads `rows` once per metric query: hand in a cached frame (ingest does)."""
        suite = self.context.suites.add(gx.ExpectationSuite(name=f"{table}_contract"))
        for rule in rules:
            expectation = rule.expectation()
            if expectation is not None and rule.column in rows.columns:
                suite.add_expectation(expectation)
        batch_definition = self.source.add_dataframe_asset(
            name=table
        ).add_batch_definition_whole_dataframe("night")
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{table}_night", data=batch_definition, suite=suite)
        )
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(
                name=f"{table}_checkpoint",
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="docs", site_names=["nightly"])],
                result_format="SUMMARY",
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": rows},
            run_id=RunIdentifier(run_name=self.night.isoformat()),
        )
        failed = {}
        outcomes: list[dict[str, Any]] = []
        rows_validated = 0
        for validation in result.run_results.values():
            for outcome in validation.results:
                config = outcome.expectation_config
                if config is None:
                    continue
                rule = (config.meta or {}).get("rule", config.type)
                found = outcome.result or {}
                if "unexpected_count" not in found and "observed_value" in found:
                    # An UnexpectedRowsExpectation (a Spark SQL rule) reports its rows' count as
                    # the observed value, and no values.
                    found = {**found, "unexpected_count": found["observed_value"]}
                rows_validated = max(rows_validated, int(found.get("element_count") or 0))
                outcomes.append(
                    {
                        "rule": rule,
                        "expectation": config.type,
                        "column": config.kwargs.get("column") or rule.partition(":")[2],
                        "success": bool(outcome.success),
                        "unexpected_count": found.get("unexpected_count"),
                        "unexpected_percent": found.get("unexpected_percent"),
                        "examples": [str(v) for v in (found.get("partial_unexpected_list") or [])][
                            :EXAMPLES_SHOWN
                        ],
                    }
                )
                if not outcome.success:
                    failed[rule] = found.get("unexpected_count")
        self._write_page(table, bool(result.success), outcomes, rows_validated)
        self.summary[table] = {"success": result.success, "failed_rules": failed}
        (self.folder / "data_contracts.json").write_text(
            json.dumps(self.summary, indent=2, default=str)
        )
        log.info(
            "%s: contract suite %s%s",
            table,
            "passed" if result.success else "failed: ",
            "" if result.success else failed,
        )
        return bool(result.success)

    def _write_page(
        self, table: str, success: bool, outcomes: list[dict[str, Any]], rows: int
    ) -> None:
        folder = self.folder / "data_contracts"
        folder.mkdir(exist_ok=True)
        ordered = sorted(outcomes, key=lambda o: (o["success"], o["rule"]))  # broken rules first
        (folder / f"{table}.html").write_text(
            self.pages.render(
                table=table,
                night=self.night.isoformat(),
                success=success,
                rows=rows,
                passed=sum(o["success"] for o in outcomes),
                outcomes=ordered,
            )
        )
