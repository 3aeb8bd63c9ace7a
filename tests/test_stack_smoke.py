"""The stack works together in one session, offline: Delta, MLflow, Great Expectations, the jars."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import great_expectations as gx
import mlflow
import pytest
from mlflow import MlflowClient
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from data_contracts.schemas import INGEST_DATE
from jobs.runtime.catalog import Table
from jobs.runtime.conf import Conf
from jobs.runtime.context import JobContext
from jobs.runtime.jars import JarCacheError, cached_jars
from jobs.runtime.lakehouse import Lakehouse


def test_delta_write_merge_read_and_time_travel(spark: SparkSession, lakehouse: Lakehouse) -> None:
    first = spark.createDataFrame([("a", 1), ("b", 2)], "key string, value int")
    lakehouse.merge("bronze.smoke", first, keys=["key"])
    change = spark.createDataFrame([("b", 20), ("c", 3)], "key string, value int")
    lakehouse.merge("bronze.smoke", change, keys=["key"])

    assertDataFrameEqual(
        lakehouse.read("bronze.smoke"),
        spark.createDataFrame([("a", 1), ("b", 20), ("c", 3)], "key string, value int"),
    )
    assertDataFrameEqual(lakehouse.read("bronze.smoke", version=1), first)
    assert spark.table("bronze.smoke").count() == 3  # registered in the catalog by name


def test_merge_into_one_date_partition_is_written_by_every_task(
    spark: SparkSession, lakehouse: Lakehouse
) -> None:
    # A night's rows all carry one date: Delta's default repartitioning by the partition column
    # would send them all to one task and one file.
    night = spark.range(400).withColumn(INGEST_DATE, F.lit(date(2026, 11, 2))).repartition(4)
    lakehouse.merge("bronze.one_night", night, keys=["id"], partition_by=[INGEST_DATE])
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{lakehouse.path('bronze.one_night')}`").first()
    assert detail is not None and detail["numFiles"] == 4
    assert lakehouse.read("bronze.one_night").count() == 400


def test_replace_date_twice_leaves_one_copy(spark: SparkSession, lakehouse: Lakehouse) -> None:
    rows = spark.createDataFrame([("x", date(2026, 11, 1))], "id string, feature_date date")
    for _ in range(2):
        lakehouse.replace_date(
            "features.smoke", rows, date_column="feature_date", day=date(2026, 11, 1)
        )
    assert lakehouse.read("features.smoke").count() == 1


SMOKE_NIGHTS = Table("graph.smoke_nights", keys=("id", "feature_date"), night_column="feature_date")


def test_nights_written_through_a_catalog_entry_read_back_by_night_and_history(
    spark: SparkSession, lakehouse: Lakehouse
) -> None:
    first, second = date(2026, 11, 1), date(2026, 11, 2)
    rows = spark.createDataFrame([("x",), ("y",)], "id string")
    lakehouse.write_night(SMOKE_NIGHTS, rows, first)
    lakehouse.write_night(SMOKE_NIGHTS, rows.where("id = 'x'"), second)
    lakehouse.write_night(SMOKE_NIGHTS, rows.where("id = 'x'"), second)  # a re-run replaces

    on = "id string, feature_date date"
    assertDataFrameEqual(
        lakehouse.read_night(SMOKE_NIGHTS, second), spark.createDataFrame([("x", second)], on)
    )
    assertDataFrameEqual(
        lakehouse.read_history(SMOKE_NIGHTS, before=second),
        spark.createDataFrame([("x", first), ("y", first)], on),
    )
    assert lakehouse.read_history(SMOKE_NIGHTS, until=second).count() == 3
    assert lakehouse.latest_night(SMOKE_NIGHTS, before=second) == first
    assert lakehouse.latest_night(SMOKE_NIGHTS) == second


def test_session_fails_clearly_without_the_delta_jar(conf: Conf, tmp_path: Path) -> None:
    cache = Path(conf.paths.jar_cache)
    manifest = json.loads((cache / "manifest.json").read_text())
    broken = tmp_path / "jars"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps(manifest))  # lists the jars, holds none
    with pytest.raises(JarCacheError, match="delta-spark"):
        cached_jars(broken)


def test_mlflow_run_registered_version_and_alias(conf: Conf) -> None:
    mlflow.set_tracking_uri(conf.mlflow.tracking_uri)
    experiment = mlflow.create_experiment("smoke", artifact_location=conf.mlflow.artifact_root)
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_metric("pr_auc", 0.5)
        mlflow.pyfunc.log_model(
            name="model", python_model=_Constant(), registered_model_name="smoke_model"
        )
    client = MlflowClient(conf.mlflow.tracking_uri)
    version = client.search_model_versions("name = 'smoke_model'")[0].version
    client.set_registered_model_alias("smoke_model", "champion", version)

    assert client.get_run(run.info.run_id).data.metrics["pr_auc"] == 0.5
    assert client.get_model_version_by_alias("smoke_model", "champion").version == version


class _Constant(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return [0.5] * len(model_input)


def test_great_expectations_suite_on_a_spark_dataframe(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("a", 5), ("b", 0)], "listing_id string, quantity int")
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_spark(name="smoke")
        .add_dataframe_asset(name="orders")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    passing = gx.expectations.ExpectColumnValuesToNotBeNull(column="listing_id")
    failing = gx.expectations.ExpectColumnValuesToBeBetween(column="quantity", min_value=1)

    assert batch.validate(passing).success
    result = batch.validate(failing)
    assert not result.success
    assert result.result["unexpected_count"] == 1


def test_a_steps_spark_jobs_carry_its_name_as_their_job_group(
    spark: SparkSession, conf: Conf
) -> None:
    ctx = JobContext(conf)
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup("features"))
    with ctx.step("features", date(2026, 11, 2)):
        spark.range(10).count()
    assert set(tracker.getJobIdsForGroup("features")) - before  # the step's jobs, by its name
    assert spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None  # cleared after it
