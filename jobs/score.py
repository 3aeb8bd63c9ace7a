"""Score every active listing of a night with the champion, and write the gold tables.

Loads the registered model by alias `champion`, scores features.listing_features of the night in
Spark, and writes with replaceWhere on score_date (a re-run replaces, never duplicates):
gold.listing_scores, gold.seller_risk and gold.ring_leads (ordered by risk when read through
`ORDER BY risk DESC`; Delta keeps no row order). Gold tables carry the change data feed for
downstream consumers, and hold pseudonymised identifiers only.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

import mlflow.spark
from mlflow import MlflowClient
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import functions as F

from features import linkage
from features.scoring import flag, reason_codes, ring_leads, seller_risk
from jobs.context import JobContext
from training import models
from training.tracking import champion_uri, champion_version, use_tracking

HELP = "score every active listing with the champion model; write the gold tables"
log = logging.getLogger("radar.score")
GOLD = ("gold.listing_scores", "gold.seller_risk", "gold.ring_leads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from jobs.cli import iso_date

    parser.add_argument(
        "--date", type=iso_date, required=True, help="the night to score (YYYY-MM-DD)"
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    score_night(ctx, args.date)


def score_night(ctx: JobContext, night: date) -> None:
    conf, lake = ctx.conf, ctx.lakehouse
    with ctx.step("score", night) as entry:
        use_tracking(conf.mlflow.tracking_uri, conf.mlflow.experiment, conf.mlflow.artifact_root)
        version = champion_version(MlflowClient(conf.mlflow.tracking_uri), conf.mlflow.model_name)
        if version is None:
            # The first nights of a new deployment have too few decided notices to train on.
            entry.message = f"skipped: no `champion` version of {conf.mlflow.model_name} yet (see the train step)"
            log.warning(entry.message)
            return
        model = mlflow.spark.load_model(champion_uri(conf.mlflow.model_name))
        assembler = next(s for s in model.stages if isinstance(s, VectorAssembler))
        columns = [c.removesuffix("__i") for c in assembler.getInputCols()]
        features = lake.read("features.listing_features").where(
            F.col("feature_date") == F.lit(night)
        )
        scored = models.score(model, features).select(
            "listing_id", "seller_id", "ring_id", "brand_canonical", "category", "score", *columns
        )
        scored = scored.persist()
        reasons = reason_codes(
            scored, models.importances(model, columns), top=conf.scoring.reason_codes
        )
        listing_scores = flag(
            reasons, threshold=conf.scoring.flag_threshold, budget=conf.scoring.flag_budget
        ).select(
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
        lake.replace_date(
            "gold.listing_scores",
            listing_scores,
            date_column="score_date",
            day=night,
            partition_by=("score_date",),
        )
        scored.unpersist()
        written = lake.read("gold.listing_scores").where(F.col("score_date") == F.lit(night))

        risks = seller_risk(written)
        lake.replace_date(
            "gold.seller_risk",
            risks,
            date_column="score_date",
            day=night,
            partition_by=("score_date",),
        )

        clusters = (
            lake.read("graph.account_clusters")
            .where(F.col("feature_date") == F.lit(night))
            .select("seller_id", "ring_id")
        )
        identifiers = linkage.identifiers_in_window(
            lake.read("silver.seller_identifiers"), night, conf.linkage.window_days
        )
        capped = identifiers.join(
            linkage.hubs(linkage.identifier_degrees(identifiers), conf.linkage.hub_degree_cap),
            ["identifier_type", "identifier"],
            "left_anti",
        )
        ring_identifiers = capped.join(clusters, "seller_id")
        seller_rows = lake.read("gold.seller_risk").where(F.col("score_date") == F.lit(night))
        leads = ring_leads(written, seller_rows, ring_identifiers)
        lake.replace_date(
            "gold.ring_leads",
            leads,
            date_column="score_date",
            day=night,
            partition_by=("score_date",),
        )
        for table in GOLD:
            lake.enable_change_feed(table)
        totals = written.agg(
            F.count(F.lit(1)).alias("n"), F.sum(F.col("flagged").cast("int")).alias("flagged")
        ).first()
        assert totals is not None
        entry.rows_read, entry.rows_out = int(totals["n"]), int(totals["flagged"] or 0)
        entry.message = f"model {conf.mlflow.model_name} v{version}: {totals['n']} listings scored, {totals['flagged']} flagged"
        log.info(entry.message)
