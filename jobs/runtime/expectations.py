"""Great Expectations over a night's raw tables: validation results and Data Docs for people.

Spark routes the rows (data_contracts/checks.py); Great Expectations validates each table with a
suite built from the same rules (data_contracts/rules.py) and documents the result: a JSON result
per table and a Data Docs site per night under `<paths.reports>/<date>/data_docs/`, so a data
engineer can see at a glance which expectations failed and how often.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.base import ProgressBarsConfig
from pyspark.sql import DataFrame

from data_contracts.rules import Rule

log = logging.getLogger("radar.expectations")


class ContractValidator:
    """One Great Expectations context for one night (ephemeral: results are written as files)."""

    def __init__(self, reports: str, night: date) -> None:
        self.folder = Path(reports) / night.isoformat()
        self.folder.mkdir(parents=True, exist_ok=True)
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
        self.source = self.context.data_sources.add_spark(name="landing")
        self.summary: dict[str, Any] = {}

    def validate(self, table: str, rows: DataFrame, rules: list[Rule]) -> bool:
        """Validate one table's raw rows with the suite of its rules; True when all passed."""
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
        result = checkpoint.run(batch_parameters={"dataframe": rows})
        failed = {}
        for validation in result.run_results.values():
            for outcome in validation.results:
                config = outcome.expectation_config
                if not outcome.success and config is not None:
                    rule = (config.meta or {}).get("rule", config.type)
                    failed[rule] = outcome.result.get("unexpected_count")
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
