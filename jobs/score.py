"""Score every active listing of a night with the champion, and write the gold tables.

Reads features.listing_features (feature_date = D; its active listings only: removed and
sold-out listings are not scored, so never flagged), graph.account_clusters and
graph.hub_identifiers of the night, and silver.seller_identifiers (as of the night's pinned
version, jobs/runtime/night_versions.py); loads the registered model version the alias `champion`
names (by number, so a promotion during the night cannot mix two models; the number is pinned for
the night in ops.night_versions, and a re-run of a past night scores with the version pinned
then, not today's champion), scores in Spark, and writes:

- gold.listing_scores  listing x score_date: score, flagged, model name and version, reasons
- gold.seller_risk     seller x score_date: risk, ring, listing and flagged counts
- gold.source_leads    upstream source x score_date: ship origins, payees and photos shared by
                       several rings or confirmed sellers (hubs left out), rings, sellers, risk
- gold.ring_leads      ring x score_date: risk, lead_rank, members, listings, brands hit,
                       shared identifiers (evidence), ship origins, payee accounts, first/last seen,
                       status across nights, accounts opened after the first takedown, sources
- gold.daily_kpis      score_date: flagged, shares flagged before the notice / the first order,
                       median days to flag, past-flag precision, estimated prevalence

Besides the night's features it reads bronze.takedown_notices and bronze.orders ingested by the
night, silver.sellers_current and silver.listings_current, graph.hub_identifiers and
graph.ring_lineage of the night, and the previous night's graph.account_clusters and
gold.ring_leads (the lifecycle is state carried from night to night).

Idempotent: each table is written with replaceWhere on score_date, and the other gold tables
are derived from the listing scores as written, so a re-run, or a run killed half-way and run
again, leaves the same rows. Gold tables are partitioned by score_date (OPTIMIZE Z-orders
listing_scores by brand, see jobs/maintenance.py), carry the change data feed, and hold
pseudonymised identifiers only (IPs as networks).
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

import mlflow.spark
from mlflow import MlflowClient
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import account_links
from features.listings import names_a_brand
from features.sellers import takedown_history
from features.verdicts import verdicts_known
from jobs.runtime import catalog, night_versions
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.conf import Conf
from jobs.runtime.context import JobContext
from jobs.runtime.lakehouse import Lakehouse
from training import models
from training.kpis import daily_kpis
from training.lifecycle import ring_status, whack_a_mole
from training.scoring import (
    flag,
    live_listings,
    reason_codes,
    reason_weights,
    ring_leads,
    seller_risk,
)
from training.sources import source_leads, with_sources
from training.tracking import champion_version, use_tracking

HELP = "score every active listing with the champion model; write the gold tables"
log = logging.getLogger("radar.score")
NAMES_NO_BRAND = "names_no_brand"  # the reason of a listing outside the model's scope (score 0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night to score")
    parser.add_argument(
        "--model-version",
        default=None,
        help="score with this registered version of mlflow.model_name instead of the champion "
        "(a comparison or a backfill with the model of that night)",
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    score_night(ctx, args.date, version=args.model_version)


def score_night(ctx: JobContext, night: date, *, version: str | None = None) -> None:
    """Score the night with `version` of the registered model, the champion when None."""
    conf, lake = ctx.conf, ctx.lakehouse
    with ctx.step("score", night) as entry:
        use_tracking(conf.mlflow.tracking_uri, conf.mlflow.experiment, conf.mlflow.artifact_root)
        pins = night_versions.night_pins(lake, night)  # the model's pin is added below, if any
        if version is None and night_versions.is_past_night(lake, night):
            # A backfill scores with the champion that was in force on the night, not today's.
            _, version = pins.model(conf.mlflow.model_name)
            if version is None:
                entry.message = (
                    f"skipped: {night} is a past night and no champion of "
                    f"{conf.mlflow.model_name} was pinned for it (it was not scored then; "
                    "--model-version V scores it with a given version)"
                )
                log.warning(entry.message)
                return
        elif version is None:
            version = champion_version(
                MlflowClient(conf.mlflow.tracking_uri), conf.mlflow.model_name
            )
            night_versions.pin_model(
                lake, conf.mlflow.model_name, night, version, run_id=ctx.run_id
            )
        if version is None:
            # The first nights of a new deployment have too few decided notices to train on.
            entry.message = f"skipped: no `champion` version of {conf.mlflow.model_name} yet (see the train step)"
            log.warning(entry.message)
            return
        model = mlflow.spark.load_model(f"models:/{conf.mlflow.model_name}/{version}")
        features = live_listings(lake.read_night(catalog.LISTING_FEATURES, night))
        # The model runs once: the reasons' statistics, the flags' cut-off and the write read this.
        model_output = model_scores(features, model).persist()
        lake.write_night(
            catalog.LISTING_SCORES,
            listing_scores(model_output, model, conf, night=night, version=version),
            night,
        )
        model_output.unpersist()
        written = lake.read_night(catalog.LISTING_SCORES, night)
        lake.write_night(catalog.SELLER_RISK, seller_risk(written), night)
        sellers = lake.read_night(catalog.SELLER_RISK, night)
        night_clusters = lake.read_night(catalog.ACCOUNT_CLUSTERS, night)
        clusters = night_clusters.select("seller_id", "ring_id")
        notices = lake.read_history(catalog.bronze("takedown_notices"), until=night)
        sources = source_leads(
            account_links.identifiers_in_window(
                pins.read(catalog.SELLER_IDENTIFIERS), night, conf.linkage.window_days
            ),
            lake.read_night(catalog.HUB_IDENTIFIERS, night),
            clusters,
            takedown_history(verdicts_known(notices, night)),
            sellers,
            written,
            min_rings=conf.scoring.source_min_rings,
            min_confirmed_sellers=conf.scoring.source_min_confirmed_sellers,
            night=night,
        )
        lake.write_night(
            catalog.SOURCE_LEADS, sources.repartition(1).sortWithinPartitions("source_rank"), night
        )
        sources = lake.read_night(catalog.SOURCE_LEADS, night)
        leads = (
            ring_leads(
                written,
                sellers,
                clusters,
                _ring_identifiers(lake, pins, conf, clusters),
                night=night,
            )
            .transform(
                ring_status,
                lake.read_night(catalog.RING_LINEAGE, night),
                night_clusters.select("seller_id", "ring_id", "ring_first_night"),
                _previous_clusters(lake, night),
                _previous_leads(lake, night),
            )
            .transform(
                whack_a_mole,
                clusters,
                notices,
                pins.read(catalog.SELLERS_CURRENT),
                written,
                night=night,
            )
            .transform(with_sources, sources)
        )
        # One file per night, in lead order: readers that keep file order see it ranked.
        lake.write_night(
            catalog.RING_LEADS, leads.repartition(1).sortWithinPartitions("lead_rank"), night
        )
        kpis = daily_kpis(
            written,
            lake.read(catalog.LISTING_SCORES).select("listing_id", "score_date", "flagged"),
            notices,
            lake.read_history(catalog.bronze("orders"), until=night).select(
                "listing_id", "ordered_at"
            ),
            pins.read(catalog.LISTINGS_CURRENT).select("listing_id", "created_at"),
            night=night,
        )
        lake.write_night(catalog.DAILY_KPIS, kpis, night)
        totals = written.agg(
            F.count(F.lit(1)).alias("n"), F.sum(F.col("flagged").cast("int")).alias("flagged")
        ).first()
        assert totals is not None
        entry.rows_read, entry.rows_out = int(totals["n"]), int(totals["flagged"] or 0)
        entry.message = (
            f"model {conf.mlflow.model_name} v{version}: "
            f"{totals['n']} listings scored, {totals['flagged'] or 0} flagged"
        )
        log.info(entry.message)


def model_scores(features: DataFrame, model: PipelineModel) -> DataFrame:
    """The model's score of each listing, with what listing_scores needs besides."""
    columns = [c for c in models.input_columns(model) if c in features.columns]
    return models.score(model, features).select(
        "listing_id", "seller_id", "ring_id", "brand_canonical", "category", "score",
        names_a_brand().alias("_names_a_brand"), *columns,
    )  # fmt: skip


def listing_scores(
    scored: DataFrame, model: PipelineModel, conf: Conf, *, night: date, version: str
) -> DataFrame:
    """gold.listing_scores rows of the night from `model_scores`: score, reasons, flag, model
    name and version. Reasons and flags each run an action over `scored`: persist it."""
    columns = [c for c in models.input_columns(model) if c in scored.columns]
    return (
        scored.transform(
            reason_codes,
            reason_weights(model, columns, directions=conf.training.monotone_constraints),
            top=conf.scoring.reason_codes,
        )
        .withColumn(
            "reasons",
            F.when(F.col("_names_a_brand"), F.col("reasons")).otherwise(
                F.array(F.lit(NAMES_NO_BRAND))
            ),
        )
        .transform(flag, threshold=conf.scoring.flag_threshold, budget=conf.scoring.flag_budget)
        .select(
            "listing_id",
            "seller_id",
            "ring_id",
            F.lit(night).alias("score_date"),
            "score",
            "flagged",
            F.lit(conf.mlflow.model_name).alias("model_name"),
            F.lit(version).alias("model_version"),
            "reasons",
            F.col("brand_canonical").alias("brand"),
            "category",
        )
    )


def _ring_identifiers(
    lake: Lakehouse, pins: night_versions.NightPins, conf: Conf, clusters: DataFrame
) -> DataFrame:
    """The identifiers ring members used in the linkage window, with the member's ring; the hubs
    the linkage cut tonight (graph.hub_identifiers) left out, as they linked no one (a mall's
    Wi-Fi is no evidence). Read, not recomputed: the leads show the evidence the rings rest on."""
    night = pins.night
    identifiers = account_links.identifiers_in_window(
        pins.read(catalog.SELLER_IDENTIFIERS), night, conf.linkage.window_days
    )
    hubs = lake.read_night(catalog.HUB_IDENTIFIERS, night).select("identifier_type", "identifier")
    return identifiers.join(hubs, ["identifier_type", "identifier"], "left_anti").join(
        clusters.where(F.col("ring_id").isNotNull()), "seller_id"
    )


def _previous_clusters(lake: Lakehouse, night: date) -> DataFrame | None:
    """(seller_id, ring_id) of the last linkage night before this one."""
    before = lake.latest_night(catalog.ACCOUNT_CLUSTERS, before=night)
    if before is None:
        return None
    return lake.read_night(catalog.ACCOUNT_CLUSTERS, before).select("seller_id", "ring_id")


def _previous_leads(lake: Lakehouse, night: date) -> DataFrame | None:
    """(ring_id, status, nights_active) of the last scored night before this one (None before
    the first night, or when those leads predate the lifecycle columns)."""
    before = lake.latest_night(catalog.RING_LEADS, before=night)
    if before is None:
        return None
    leads = lake.read_night(catalog.RING_LEADS, before)
    if not {"status", "nights_active"} <= set(leads.columns):
        return None
    return leads.select("ring_id", "status", "nights_active")
