"""The bench's pure parts on tiny data whose answers are known: the Spark-vs-DuckDB aggregation
and its agreement check, the Spark-vs-scipy partition check, reading the run log, and the
markdown (figures derived from the results, the billion-listing estimate, section replacement).
No timings are asserted: a shared 2-core machine makes them meaningless in a test."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from pyspark.sql import SparkSession

from jobs.bench import compare, markdown
from jobs.bench.run import split_records
from jobs.runtime.conf import Conf
from jobs.runtime.context import JobContext

NIGHT = date(2026, 11, 2)


def _write(spark: SparkSession, rows: list[tuple[Any, ...]], schema: str, path: Path) -> None:
    spark.createDataFrame(rows, schema).write.mode("overwrite").parquet(str(path))


@pytest.fixture
def inputs(spark: SparkSession, tmp_path: Path) -> Path:
    """Four sellers. s1 has a confirmed takedown (twice) and shares its payee with s2 and its
    ship origin with s3; s4 has an even number of priced listings (the median's definition)."""
    folder = tmp_path / "inputs"
    _write(
        spark,
        [
            ("s1", datetime(2026, 10, 1, 10), "basic", 1),
            ("s2", datetime(2026, 11, 1, 23, 30), "pro", 5),
            ("s3", datetime(2026, 6, 15), "basic", 0),
            ("s4", datetime(2026, 11, 2, 8), "pro", 3),
        ],
        "seller_id string, registered_at timestamp, store_template string, store_modules int",
        folder / "sellers",
    )
    _write(
        spark,
        [
            ("s1", "A", 0.2),
            ("s1", "A", 0.4),
            ("s1", "B", 0.3),
            ("s2", None, None),
            ("s2", "C", 0.9),
            ("s4", "D", 4.0),
            ("s4", "D", 1.0),
            ("s4", "D", 3.0),
            ("s4", "D", 2.0),
        ],
        "seller_id string, brand_canonical string, price_to_reference double",
        folder / "listings",
    )
    _write(
        spark,
        [("s1", "confirmed"), ("s1", "confirmed"), ("s2", "rejected"), ("s3", None)],
        "seller_id string, verdict string",
        folder / "verdicts",
    )
    _write(
        spark,
        [
            ("s1", "payee", "P1"),
            ("s1", "ship_origin", "O1"),
            ("s2", "payee", "P1"),
            ("s3", "ship_origin", "O1"),
            ("s3", "device", "D1"),
            ("s2", "device", "D1"),
        ],
        "seller_id string, identifier_type string, identifier string",
        folder / "identifiers",
    )
    return folder


def test_spark_and_duckdb_aggregations_agree_on_known_values(
    spark: SparkSession, inputs: Path, tmp_path: Path
) -> None:
    spark_out, duck_out = tmp_path / "spark_sellers", tmp_path / "duck.parquet"
    compare.spark_seller_aggregation(spark, inputs, NIGHT).write.parquet(str(spark_out))
    compare.run_duckdb_aggregation(inputs, NIGHT, duck_out, threads=2)

    check = compare.aggregation_agreement(spark_out, duck_out)
    assert check["agree"], check
    assert check["sellers"] == 4
    assert check["totals"]["spark"] == check["totals"]["duckdb"]
    assert check["totals"]["spark"]["listing_count"] == 9
    assert check["totals"]["spark"]["identifiers_shared_with_confirmed"] == 2  # s2 and s3

    with duckdb.connect() as con:
        rows = con.execute(
            f"""SELECT seller_id, account_age_days, listing_count, distinct_brands,
                       median_price_to_reference, min_price_to_reference, confirmed_takedowns,
                       rejected_takedowns, identifiers_shared_with_confirmed
                FROM read_parquet('{duck_out}') ORDER BY seller_id"""
        ).fetchall()
    assert rows == [
        ("s1", 32, 3, 2, 0.3, 0.2, 2, 0, None),
        ("s2", 1, 2, 1, 0.9, 0.9, 0, 1, 1),
        ("s3", 140, None, None, None, None, None, None, 1),
        ("s4", 0, 4, 1, 2.0, 1.0, None, None, None),
    ]


def test_aggregation_agreement_counts_a_differing_value(
    spark: SparkSession, inputs: Path, tmp_path: Path
) -> None:
    spark_out, duck_out = tmp_path / "spark_sellers", tmp_path / "duck.parquet"
    compare.spark_seller_aggregation(spark, inputs, NIGHT).write.parquet(str(spark_out))
    compare.run_duckdb_aggregation(inputs, NIGHT, duck_out, threads=1)
    tampered = tmp_path / "tampered.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT * REPLACE (
                        CASE WHEN seller_id = 's1' THEN listing_count + 1 ELSE listing_count END
                          AS listing_count,
                        branded_share + 1e-6 AS branded_share)
                      FROM read_parquet('{duck_out}') WHERE seller_id <> 's4')
                TO '{tampered}' (FORMAT parquet)"""
        )

    check = compare.aggregation_agreement(spark_out, tampered)
    assert not check["agree"]
    assert check["mismatches"]["listing_count"] == 1
    assert check["mismatches"]["branded_share"] == 2  # s3's is null on both sides
    assert check["only_spark"] == 1 and check["only_duckdb"] == 0


def test_spark_and_scipy_components_give_the_same_partition(
    spark: SparkSession, tmp_path: Path
) -> None:
    edges = tmp_path / "edges"
    _write(
        spark,
        [("b", "a"), ("b", "c"), ("e", "d"), ("f", "g"), ("g", "h"), ("h", "f"), ("i", "i")],
        "src_seller_id string, dst_seller_id string",
        edges,
    )
    compare.spark_components(
        spark, edges, max_iterations=10, checkpoint_every=2, local_max_edges=0
    ).write.parquet(str(tmp_path / "spark_cc"))
    spark_vertices, spark_labels = compare.read_components(tmp_path / "spark_cc")
    vertices, labels = compare.scipy_components(edges)

    assert dict(zip(vertices, labels, strict=True)) == {
        "a": "a", "b": "a", "c": "a", "d": "d", "e": "d", "f": "f", "g": "f", "h": "f", "i": "i",
    }  # fmt: skip
    check = compare.same_partition(spark_vertices, spark_labels, vertices, labels)
    assert check.same, check.detail
    assert (check.vertices, check.components, check.largest) == (9, 4, 3)


def test_same_partition_sees_merged_components_and_missing_vertices() -> None:
    vertices = np.array(["a", "b", "c", "d"])
    split = np.array(["a", "a", "c", "c"])
    relabelled = np.array(["x", "x", "y", "y"])  # same partition, other labels
    merged = np.array(["a", "a", "a", "a"])
    assert compare.same_partition(vertices, split, vertices[::-1], relabelled[::-1]).same
    assert not compare.same_partition(vertices, split, vertices, merged).same
    assert not compare.same_partition(vertices, merged, vertices, split).same
    assert not compare.same_partition(vertices, split, vertices[:3], split[:3]).same


def test_split_records_separates_the_night_from_the_score_run() -> None:
    def record(run: str, step: str, minute: int, seconds: float) -> dict[str, Any]:
        return {
            "run_id": run, "step": step, "status": "succeeded", "seconds": seconds,
            "rows_read": 10, "rows_out": 5, "rows_quarantined": 0, "message": None,
            "started_at": f"2026-11-03T01:{minute:02d}:00.000000",
        }  # fmt: skip

    records = [
        record("night", "conform", 5, 2.0),
        record("night", "ingest", 1, 9.0),
        record("night", "ingest", 3, 4.0),  # recorded twice by one run: the latest counts
        record("night", "score", 6, 0.5),  # skipped: no champion yet
        record("scoring", "score", 9, 7.0),
    ]
    steps, score = split_records(records)
    assert [(s["step"], s["seconds"]) for s in steps] == [
        ("ingest", 4.0),
        ("conform", 2.0),
        ("score", 0.5),
    ]
    assert score is not None and score["seconds"] == 7.0
    assert split_records(records[:4])[1] is None


def _size(listings: int, scale: float) -> dict[str, Any]:
    def step(name: str, seconds: float, rows: int | None) -> dict[str, Any]:
        return {"step": name, "status": "succeeded", "seconds": seconds, "rows_read": rows,
                "rows_out": None, "rows_quarantined": None, "message": None}  # fmt: skip

    memory = {"peak_python_gib": 0.2, "peak_jvm_gib": 2.0, "peak_tree_gib": 2.5}
    return {
        "listings": listings,
        "sellers": listings // 20,
        "days": 1,
        "landing_mib": 1.0,
        "simulate": {"seconds": 10.0 * scale, **memory},
        "night": {
            "seconds": 120.0 * scale,
            **memory,
            "steps": [
                step("ingest", 40.0 * scale, listings),
                step("linkage", 60.0 * scale, listings // 50),  # linked sellers
                step("train", 500.0, None),  # excluded from the night's figure
            ],
        },
        "compare": {
            "aggregation": {
                "agree": True,
                "sellers": listings // 20,
                "only_spark": 0,
                "only_duckdb": 0,
                "mismatches": {"listing_count": 0},
                "spark_seconds": 6.0,
                "duckdb_seconds": 2.0,
                "totals": {
                    "spark": {"sellers": 5, "listing_count": listings},
                    "duckdb": {"sellers": 5, "listing_count": listings},
                },
            },
            "components": {
                "same": True,
                "vertices": 30,
                "components": 8,
                "largest": 6,
                "detail": "",
                "edges": 40,
                "spark_seconds": 5.0,
                "scipy_seconds": 0.25,
            },
        },
        "score": {
            "measured": memory,
            "step": {"step": "score", "seconds": 5.0, "rows_read": listings, "message": "ok"},
        },
    }


def _results() -> dict[str, Any]:
    run = {
        "started": "2026-11-25 10:00", "finished": "2026-11-25 11:00", "load_before": 1.0,
        "load_after": 2.0, "command": ".venv/bin/python -m jobs.bench --sizes 1000,2000",
        "machine": {"cpu": "cpu", "cores": 2, "ram_gib": 24.0, "os": "Linux"},
        "versions": {"Spark": "4.1.4", "Delta": "4.4.0"}, "cores": 2, "master": "local[2]",
        "driver_memory": "4g", "shuffle_partitions": 2, "great_expectations": True,
        "days": 1, "seed": 7, "night": "2026-11-02", "weekday_note": "Monday.",
        "model_world": {"listings": 6000, "nights": 3, "train_message": "version 1 -> champion"},
    }  # fmt: skip
    # night excluding train: 100 s at 1,000 listings, 150 s at 2,000.
    return {"run": run, "sizes": [_size(1000, 1.0), _size(2000, 1.5)]}


def test_slope_and_cluster_size_follow_from_the_measurements() -> None:
    assert markdown.slope([(1000.0, 100.0), (2000.0, 150.0)]) == pytest.approx((50.0, 0.05))
    assert markdown.slope([(1000.0, 100.0)]) == pytest.approx((0.0, 0.1))
    # 1e9 listings x 0.05 s x 2 cores = 1e8 core-seconds; / 14,400 s = 6,944.4 -> 6,945 cores.
    assert markdown.cluster_cores(0.05, 2) == 6945
    assert markdown.cluster_cores(0.05, 2, efficiency=0.5) == 13889


def test_render_section_reports_figures_computed_from_the_results() -> None:
    section = markdown.render_section(_results(), "docs/bench_seconds.png")
    assert section.startswith(markdown.TITLE)
    assert "| **night excluding train** | | **100.0** | | | **5** | |" in section  # 1000/100/2
    assert "| **night excluding train** | | **150.0** | | | **7** | |" in section  # 2000/150/2
    assert "| ingest | succeeded | 40.0 | 1,000 | 12 | 12 |" in section  # 1000 / 40 / 2 = 12.5
    assert "| linkage | succeeded | 60.0 | 20 | 0 | 8 |" in section  # 20 / 60 / 2; 1000 / 60 / 2
    assert "| train | succeeded | 500.0 | n/a | n/a | n/a |" in section
    assert "over 5.7 orders of magnitude" in section  # log10(1e9 / 2,000) = 5.7
    assert "| seller aggregation (features/sellers.py) | 6.0 | DuckDB SQL | 2.0 | 3.0x |" in section
    assert "| 20.0x | same partition: 30 sellers, 8 components, largest 6 |" in section
    assert "**100 listings/s/core**" in section  # scoring: 1000 / 5 / 2
    assert "seconds(2,000) / seconds(1,000) = 1.50" in section
    assert "against a size ratio of 2.00" in section
    assert "**6,945 cores**" in section
    assert "![seconds against listings](docs/bench_seconds.png)" in section
    assert "Great Expectations **on**" in section


def test_summary_gives_each_sizes_headline_figures() -> None:
    assert markdown.summary(_results()) == {
        "sizes": {
            size: {
                "night_listings_per_s_per_core": night,
                "steady_night_listings_per_s_per_core": None,
                "scoring_listings_per_s_per_core": scoring,
                "seller_aggregation_vs_duckdb": 3.0,  # 6 s / 2 s
                "components_vs_scipy": 20.0,  # 5 s / 0.25 s
                "steady_night_vs_second": None,
                "great_expectations_share_of_ingest": None,  # no event log in these results
            }
            for size, night, scoring in (
                ("1000", 5.0, 100.0),  # 1,000 / 100 s / 2 cores; 1,000 / 5 s / 2
                ("2000", 2000 / 150 / 2, 200.0),
            )
        }
    }


def test_replace_section_keeps_the_other_sections_and_is_idempotent() -> None:
    section = markdown.render_section(_results(), None)
    text = "# Benchmarks\n\nIntro.\n\n## Simulator: time and peak memory\n\nOLD-TABLE\n\n## Other\n\nkept\n"
    once = markdown.replace_section(text, section)
    assert "OLD-TABLE" not in once and "## Other\n\nkept" in once and "Intro." in once
    assert markdown.replace_section(once, section) == once
    newer = section.replace("Monday.", "Tuesday.")
    twice = markdown.replace_section(once, newer)
    assert "Tuesday." in twice and "Monday." not in twice and twice.count(markdown.BEGIN) == 1


def test_plot_is_written_as_a_png(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "bench_seconds.png"
    markdown.write_plot(_results()["sizes"], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- the event log


def _job(job: int, stages: list[int], group: str | None) -> dict[str, Any]:
    properties = {"spark.jobGroup.id": group} if group else {}
    return {"Event": "SparkListenerJobStart", "Job ID": job, "Stage IDs": stages,
            "Properties": properties}  # fmt: skip


def _task(stage: int, run_ms: int, *, spill: int = 0, shuffle: int = 0) -> dict[str, Any]:
    metrics = {"Executor Run Time": run_ms, "Executor CPU Time": run_ms * 500_000,
               "JVM GC Time": run_ms // 10, "Memory Bytes Spilled": 2 * spill,
               "Disk Bytes Spilled": spill,
               "Shuffle Read Metrics": {"Remote Bytes Read": 0, "Local Bytes Read": shuffle},
               "Shuffle Write Metrics": {"Shuffle Bytes Written": shuffle},
               "Input Metrics": {"Bytes Read": 100}}  # fmt: skip
    return {"Event": "SparkListenerTaskEnd", "Stage ID": stage, "Stage Attempt ID": 0,
            "Task Metrics": metrics}  # fmt: skip


def _stage_done(stage: int, start_ms: int, end_ms: int, tasks: int, details: str) -> dict[str, Any]:
    info = {"Stage ID": stage, "Stage Attempt ID": 0, "Stage Name": "save at X.java:0",
            "Number of Tasks": tasks, "Submission Time": start_ms, "Completion Time": end_ms,
            "Details": details}  # fmt: skip
    return {"Event": "SparkListenerStageCompleted", "Stage Info": info}


def _write_log(folder: Path, events: list[dict[str, Any]], files: int = 1) -> None:
    """A rolling log as Spark 4 writes it (eventlog_v2_APP/events_N_APP), split over `files`."""
    import json

    folder.mkdir(parents=True)
    lines = [json.dumps(e, separators=(",", ":")) for e in events]
    lines.insert(1, '{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart"}')
    step = -(-len(lines) // files)
    for n in range(files):
        chunk = lines[n * step : (n + 1) * step]
        (folder / f"events_{n + 1}_{folder.name[12:]}").write_text("\n".join(chunk) + "\n")


def test_event_log_sums_each_steps_stages_tasks_and_skew(tmp_path: Path) -> None:
    from jobs.bench import stages

    night = [
        _job(0, [0, 1], "ingest"),
        *[_task(0, ms, spill=10, shuffle=5) for ms in (1000, 1000, 1000, 9000)],
        _stage_done(0, 0, 10_000, 4, "o.a.s.sql.delta.commands.MergeIntoCommand.run"),
        _task(1, 2000),
        _stage_done(1, 8_000, 12_000, 1, "o.a.s.sql.delta.Snapshot.recordOperation"),
        _job(1, [2, 1], "features"),  # stage 1 reused (skipped): stays with ingest
        _task(2, 3000),
        _task(2, 1000),
        _stage_done(2, 20_000, 23_000, 2, "x.withThreadLocalCaptured(y)"),
    ]
    score = [_job(0, [0], "score"), _task(0, 500), _stage_done(0, 0, 500, 1, "")]
    logs = tmp_path / "eventlogs"
    _write_log(logs / "eventlog_v2_local-1000", night, files=2)
    _write_log(logs / "eventlog_v2_local-2000", score)

    found = stages.night_stages(logs)
    assert set(found) == {"night", "score"}
    ingest, features = found["night"]["ingest"], found["night"]["features"]
    assert (ingest["stages"], ingest["tasks"]) == (2, 5)
    assert ingest["busy_seconds"] == 12.0  # 0-10 s and 8-12 s overlap: 12 s, not 14
    assert ingest["single_task_seconds"] == 4.0
    assert ingest["task_seconds"] == 14.0  # 1 + 1 + 1 + 9 + 2
    assert ingest["cpu_seconds"] == 7.0 and ingest["gc_seconds"] == 1.4
    assert (ingest["spill_disk_bytes"], ingest["spill_memory_bytes"]) == (40, 80)
    assert ingest["shuffle_write_bytes"] == 20 and ingest["input_bytes"] == 500
    assert [s["kind"] for s in ingest["longest"]] == ["Delta MERGE", "Delta log replay"]
    assert [(s["stage"], s["skew"], s["longest_task_seconds"]) for s in ingest["skewed"]] == [
        (0, 9.0, 9.0)  # 9 s over the median 1 s; stage 1's one task is not skew
    ]
    assert features["stages"] == 1 and features["task_seconds"] == 4.0
    assert features["longest"][0]["kind"] == "AQE query stage"
    assert features["skewed"] == []  # two tasks are too few to call skew
    assert found["score"]["score"]["task_seconds"] == 0.5


def test_where_the_time_goes_divides_by_the_steps_own_seconds(tmp_path: Path) -> None:
    from jobs.bench import stages

    logs = tmp_path / "eventlogs"
    _write_log(
        logs / "eventlog_v2_local-1000",
        [_job(0, [0], "ingest"), *[_task(0, ms) for ms in (1000, 1000, 1000, 8000)],
         _stage_done(0, 0, 10_000, 4, "MergeIntoCommand"),
         _job(1, [1], None), _task(1, 5000), _stage_done(1, 20_000, 25_000, 1, "")],
    )  # fmt: skip
    results = _results()
    for size in results["sizes"]:
        size["stages"] = stages.night_stages(logs)
    section = markdown.render_section(results, None)
    # 2,000 listings: ingest ran 60 s (40 x 1.5), a stage 10 s of it; 11 task-s over 60 s x 2
    # cores = 9%; GC a tenth of each task: 1.1 of 11 s.
    assert "| ingest | 60.0 | 1 | 4 | 10.0 | 50.0 | 0.0 | 11.0 | 9% | 50% | 10% |" in section
    assert (
        "ingest: Delta MERGE (stage 0) 10.0 s, 4 tasks, longest task 8.0 s, median 1.0 s" in section
    )
    # The night-wide row: the logged steps only (ingest); the untagged job's 5 s are no step's.
    assert "| 1,000 | 40.0 | 10.0 | 75% | 14% |" in section


def test_a_part_of_a_step_is_summed_alone_and_within_its_step(tmp_path: Path) -> None:
    from jobs.bench import stages

    logs = tmp_path / "eventlogs"
    _write_log(
        logs / "eventlog_v2_local-1000",
        [_job(0, [0], "ingest"), _task(0, 4000), _stage_done(0, 0, 4_000, 1, "MergeIntoCommand"),
         _job(1, [1], "ingest:great_expectations"), _task(1, 3000), _task(1, 3000),
         _stage_done(1, 10_000, 13_000, 2, "")],
    )  # fmt: skip
    found = stages.night_stages(logs)["night"]
    assert (found["ingest"]["stages"], found["ingest"]["task_seconds"]) == (2, 10.0)
    part = found["ingest:great_expectations"]
    assert (part["stages"], part["busy_seconds"], part["task_seconds"]) == (1, 3.0, 6.0)
    results = _results()
    for size in results["sizes"]:
        size["stages"] = {"night": found}
    # Ingest ran 40 s at 1,000 listings and 60 s at 2,000; its GE stages 3 s: 7.5% and 5%.
    assert markdown.great_expectations_share(results["sizes"][0]) == 3.0 / 40.0
    assert markdown.summary(results)["sizes"]["2000"]["great_expectations_share_of_ingest"] == 0.05
    section = markdown.render_section(results, None)
    assert "its stages ran 3.0 s (1 stages, 6.0 task-s), **5% of ingest's 60.0 s**" in section
    assert "| ingest | 60.0 | 2 | 3 | 7.0 |" in section  # the part's stage counted in ingest


def test_a_part_tags_its_jobs_under_its_step_and_gives_the_steps_group_back(
    spark: SparkSession, conf: Conf
) -> None:
    ctx = JobContext(conf)
    context = spark.sparkContext
    context.setJobGroup("ingest", "ingest 2026-11-02 (run r)")
    try:
        with ctx.part("great_expectations"):
            assert context.getLocalProperty("spark.jobGroup.id") == "ingest:great_expectations"
            assert context.getLocalProperty("spark.job.description") == (
                "great_expectations: ingest 2026-11-02 (run r)"
            )
        assert context.getLocalProperty("spark.jobGroup.id") == "ingest"
        assert context.getLocalProperty("spark.job.description") == "ingest 2026-11-02 (run r)"
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
