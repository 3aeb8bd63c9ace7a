"""The daily report: <paths.reports>/<date>/report.html, self-contained (plots embedded).

The proactive KPIs of every night so far as trends (gold.daily_kpis), what changed tonight (new
leads, rings that gained accounts or came back, accounts opened after a ring's takedown), the
upstream source leads, flagged listings by brand and category, the score distribution, the top
ring leads with a picture of each ring's links, the data-quality summary of ingest, the model in
use and its metrics, and the step timings. Everything it reads is aggregated or bounded (top-k,
one row per night) in Spark first.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from mlflow import MlflowClient
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.reporting import templates
from jobs.reporting.ring_drawing import member_numbers, ring_figure
from jobs.runtime import catalog, night_versions
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext
from training.case_files import (
    brand_cases,
    case_leads,
    file_name,
    ring_links,
    ring_listings,
    ring_members,
    ring_timeline,
)
from training.tracking import champion_version, use_tracking

HELP = "write the night's self-contained HTML report"
log = logging.getLogger("radar.report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night to report")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    print(write_report(ctx, args.date))


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def write_report(ctx: JobContext, night: date) -> Path:
    lake, conf = ctx.lakehouse, ctx.conf
    with ctx.step("report", night) as entry:
        # Before a champion exists there are no gold rows: the report shows what the night has.
        scores = _night_or_empty(ctx, catalog.LISTING_SCORES, night)
        totals = scores.agg(
            F.count(F.lit(1)).alias("listings"),
            F.sum(F.col("flagged").cast("int")).alias("flagged"),
        ).first()
        leads_table = _night_or_empty(ctx, catalog.RING_LEADS, night)
        flagged_by_brand = (
            scores.where("flagged")
            .groupBy("brand", "category")
            .agg(F.count(F.lit(1)).alias("flagged"))
            .orderBy(F.desc("flagged"), "brand")
            .limit(30)
            .collect()
        )
        buckets = (
            scores.groupBy(F.floor(F.col("score") * 20).alias("b")).count().orderBy("b").collect()
        )  # <= 21 rows
        fig, ax = plt.subplots(figsize=(6, 2.5))
        ax.bar(
            [r["b"] / 20 for r in buckets], [r["count"] for r in buckets], width=0.045, align="edge"
        )
        ax.set_yscale("log")
        ax.set_xlabel("score")
        ax.set_ylabel("listings")
        # A total order: the leads and their links below are the same rings.
        top = leads_table.orderBy(F.desc("risk"), "ring_id").limit(conf.scoring.report_top_leads)
        leads = [r.asDict(recursive=True) for r in top.collect()]
        folder = Path(conf.paths.reports) / night.isoformat()
        pages = _write_ring_pages(ctx, night, folder / "rings", leads_table)
        # One join for every drawn lead's links; bounded: report_top_leads rings of at most
        # linkage.max_ring_size members.
        links = _by_ring(ring_links(top, lake.read_night(catalog.LINKAGE_EDGES, night)).collect())
        for lead in leads:
            members = lead["member_sellers"]
            lead["picture"] = _ring_picture(
                members,
                [
                    (e["src_seller_id"], e["dst_seller_id"], e["signal_types"])
                    for e in links.get(lead["ring_id"], [])
                ],
            )
            lead["numbers"] = member_numbers(members)
            lead["shared_identifiers"] = (lead.get("shared_identifiers") or [])[:12]
        kpis = [
            r.asDict()
            for r in lake.read_or_empty(catalog.DAILY_KPIS)
            .where(F.col("score_date") <= F.lit(night))
            .orderBy("score_date")
            .collect()  # bounded: one row per night
        ]
        changed = [
            r.asDict(recursive=True)
            for r in _changed_tonight(leads_table)
            .limit(conf.scoring.report_top_leads)
            .collect()  # bounded: top-k
        ]
        sources = [
            r.asDict(recursive=True)
            for r in _night_or_empty(ctx, catalog.SOURCE_LEADS, night)
            .orderBy("source_rank")
            .limit(conf.scoring.report_top_leads)
            .collect()  # bounded: top-k
        ]
        brand_files = _write_brand_cases(ctx, night, folder / "brands", leads_table)
        log_rows = lake.read_night(catalog.RUN_LOG, night)
        quality = log_rows.where(
            (F.col("step") == "ingest")
            & (F.col("table_name") != "*")
            & (F.col("status") == "succeeded")
        )
        quality_rows = (
            quality.groupBy("table_name")
            .agg(
                F.max_by("rows_read", "started_at").alias("rows_read"),
                F.max_by("rows_out", "started_at").alias("rows_out"),
                F.max_by("rows_quarantined", "started_at").alias("rows_quarantined"),
            )
            .orderBy("table_name")
            .collect()
        )
        contracts = {  # the night's validation page of each table, when GE validated it
            r.table_name: f"data_contracts/{r.table_name}.html"
            for r in quality_rows
            if (folder / "data_contracts" / f"{r.table_name}.html").is_file()
        }
        drift = (
            lake.read_night(catalog.TABLE_METRICS, night)
            .where(F.col("status").isin("warn", "stop"))
            .orderBy("table_name", "metric", "column_name")
            .limit(50)
            .collect()
            if lake.exists(catalog.TABLE_METRICS)
            else []
        )
        steps = (
            log_rows.where(F.col("table_name") == "*")
            .groupBy("step")
            .agg(
                F.max_by("status", "started_at").alias("status"),
                F.max_by("seconds", "started_at").alias("seconds"),
                F.min("started_at").alias("first"),
            )
            .orderBy("first")
            .collect()
        )
        html = (
            templates()
            .get_template("report.html.j2")
            .render(
                night=night.isoformat(),
                generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
                totals={
                    "listings": totals["listings"] if totals else 0,
                    "flagged": (totals["flagged"] or 0) if totals else 0,
                    "rings": leads_table.count(),
                },
                flagged_by_brand=flagged_by_brand,
                score_histogram=_png(fig),
                leads=leads,
                kpis=list(reversed(kpis)),
                kpi_trends=_png(_kpi_figure(kpis)) if kpis else None,
                changed=changed,
                sources=sources,
                brand_files=brand_files,
                pages=pages,
                quality=quality_rows,
                contracts=contracts,
                drift=drift,
                steps=steps,
                model=_model(ctx, night),
            )
        )
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "report.html"
        path.write_text(html)
        entry.message = str(path)
        log.info("report written to %s", path)
        return path


# What an investigator reads first: news, in this order (steady and dormant rings are no news).
NEWS = ("new", "re-emerged", "growing", "merged", "split", "shrinking")


def _changed_tonight(leads: DataFrame) -> DataFrame:
    """The night's leads that changed, most newsworthy first: by status, then by risk. A ring
    with accounts opened after its first takedown is news whatever its status."""
    if "status" not in leads.columns:
        return leads.limit(0)
    moles = F.size(F.coalesce("accounts_after_takedown", F.array()))
    rank = F.array_position(F.array(*[F.lit(s) for s in NEWS]), F.col("status"))
    return (
        leads.where((rank > 0) | (moles > 0))
        .withColumn("_news", F.when(rank > 0, rank).otherwise(F.lit(len(NEWS) + 1)))
        .orderBy("_news", F.desc_nulls_last("risk"), "ring_id")
    )


def _kpi_figure(kpis: list[dict[str, Any]]) -> Any:
    """The proactive KPIs over the nights: shares and precision on the left, flags on the right."""
    nights = [k["score_date"] for k in kpis]
    fig, (shares, counts) = plt.subplots(1, 2, figsize=(11, 3))
    for key, label in (
        ("share_flagged_before_notice", "flagged before notice"),
        ("share_flagged_before_first_order", "flagged before first order"),
        ("past_flag_precision", "past-flag precision"),
        ("estimated_prevalence", "estimated prevalence"),
    ):
        shares.plot(nights, [k[key] for k in kpis], marker="o", label=label)
    shares.set_ylim(0, 1)
    shares.legend(fontsize=7)
    counts.bar(nights, [k["flagged"] or 0 for k in kpis])
    counts.set_ylabel("listings flagged")
    fig.autofmt_xdate()
    return fig


def _write_brand_cases(
    ctx: JobContext, night: date, folder: Path, leads: DataFrame
) -> list[tuple[str, int]]:
    """reports/<night>/brands/<brand>.parquet and .csv: each brand's flagged listings of the night
    (training/case_files.py). The folder is rewritten whole, so a re-run leaves no stale brand.
    Returns (brand file name, listings) for the report's links."""
    lake = ctx.lakehouse
    if folder.exists():
        shutil.rmtree(folder)
    if not lake.exists(catalog.LISTING_SCORES) or "sources" not in leads.columns:
        return []
    scores = lake.read_night(catalog.LISTING_SCORES, night)
    cases: pd.DataFrame = brand_cases(scores, leads).toPandas()  # bounded: the night's flags
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for brand, rows in cases.groupby("brand", sort=True):
        name = file_name(str(brand))
        rows.to_parquet(folder / f"{name}.parquet", index=False)
        rows.to_csv(folder / f"{name}.csv", index=False)
        written.append((name, len(rows)))
    return written


def _write_ring_pages(
    ctx: JobContext, night: date, folder: Path, leads: DataFrame
) -> dict[str, str]:
    """reports/<night>/rings/<ring>.html: a case page for each of the first scoring.case_pages
    ring leads (members and their risk, the timeline across nights, the evidence with digests and
    IP prefixes only, the ring drawn, its riskiest listings, its sources). The folder is rewritten
    whole, so a re-run leaves no stale page. Returns {ring_id: page path relative to the report}.
    Everything collected is bounded: case_pages leads, each of at most linkage.max_ring_size
    members, scoring.case_page_nights nights and scoring.case_page_listings listings."""
    lake, conf = ctx.lakehouse, ctx.conf.scoring
    if folder.exists():
        shutil.rmtree(folder)
    if "lead_rank" not in leads.columns or not lake.exists(catalog.SELLER_RISK):
        return {}
    chosen = case_leads(leads, pages=conf.case_pages).localCheckpoint()
    rows = [r.asDict(recursive=True) for r in chosen.orderBy("lead_rank").collect()]
    if not rows:
        return {}
    members = _by_ring(ring_members(chosen, lake.read_night(catalog.SELLER_RISK, night)).collect())
    timeline = _by_ring(
        ring_timeline(
            chosen, lake.read_history(catalog.RING_LEADS, until=night), nights=conf.case_page_nights
        ).collect()
    )
    listings = _by_ring(
        ring_listings(
            chosen,
            lake.read_night(catalog.LISTING_SCORES, night),
            per_ring=conf.case_page_listings,
        ).collect()
    )
    links = _by_ring(ring_links(chosen, lake.read_night(catalog.LINKAGE_EDGES, night)).collect())
    template = templates().get_template("ring.html.j2")
    folder.mkdir(parents=True, exist_ok=True)
    pages = {}
    for lead in rows:
        ring = lead["ring_id"]
        people = members.get(ring, [])
        order = [m["seller_id"] for m in people]  # riskiest first: the ones drawn first
        drawn = [
            (e["src_seller_id"], e["dst_seller_id"], e["signal_types"]) for e in links.get(ring, [])
        ]
        name = f"{file_name(ring)}.html"
        (folder / name).write_text(
            template.render(
                night=night.isoformat(),
                lead=lead,
                members=people,
                numbers=member_numbers(order),
                timeline=timeline.get(ring, []),
                listings=listings.get(ring, []),
                links=links.get(ring, []),
                picture=_ring_picture(order, drawn),
            )
        )
        pages[ring] = f"rings/{name}"
    chosen.unpersist()
    return pages


def _by_ring(rows: list[Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["ring_id"], []).append(row.asDict(recursive=True))
    return grouped


def _night_or_empty(ctx: JobContext, table: catalog.Table, night: date) -> DataFrame:
    lake = ctx.lakehouse
    return lake.read_night(table, night) if lake.exists(table) else lake.read_or_empty(table)


def _ring_picture(members: list[str], edges: list[tuple[str, str, list[str]]]) -> str:
    return _png(ring_figure(members, edges))


def _model(ctx: JobContext, night: date) -> dict[str, Any]:
    """The model that scored the night: the version pinned for it (a past night's report shows
    the champion of then, jobs/runtime/night_versions.py), else today's champion."""
    conf = ctx.conf.mlflow
    use_tracking(conf.tracking_uri, conf.experiment, conf.artifact_root)
    client = MlflowClient(conf.tracking_uri)
    pinned, version = night_versions.night_pins(ctx.lakehouse, night).model(conf.model_name)
    if not pinned:
        version = champion_version(client, conf.model_name)
    metrics: dict[str, float] = {}
    if version is not None:
        run_id = client.get_model_version(conf.model_name, version).run_id
        if run_id:
            metrics = {
                k: v
                for k, v in sorted(client.get_run(run_id).data.metrics.items())
                if k.startswith(("model_", "rules_baseline_pr", "champion_pr"))
            }
    return {"name": conf.model_name, "version": version, "metrics": metrics}
