"""Link seller accounts into rings for one night.

Reads silver.seller_identifiers (within the conf window), silver.listings_current,
bronze.takedown_notices (ingested and decided by the night) and the previous night's
graph.account_clusters; writes, for feature_date = the night (replaceWhere, so a re-run replaces):
- graph.hub_identifiers: identifiers above the degree cap, which linked no one;
- graph.linkage_edges: linked seller pairs with their signal types, shared identifiers, weight;
- graph.account_clusters: seller, ring_id (stable across nights), ring size and ring features:
  the ring's record (confirmed takedowns known by the night over its members), its first night
  (carried from the previous night's clusters) and age, the member's link strength;
- graph.ring_lineage: where each ring's members were last night (continued, merged, split, new).
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import account_links
from features.networks import network_prefix
from features.sellers import takedown_history
from features.verdicts import verdicts_known
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext

HELP = "link seller accounts that share identifiers into rings (graph.* tables)"
log = logging.getLogger("radar.linkage")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_night_argument(parser, "the night to link")
    parser.add_argument(
        "--no-hub-cap",
        action="store_true",
        help="diagnostics: let hubs link (shows the giant component)",
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    link(ctx, args.date, hub_cap=None if args.no_hub_cap else ctx.conf.linkage.hub_degree_cap)


def link(ctx: JobContext, night: date, *, hub_cap: int | None) -> None:
    conf, lake = ctx.conf.linkage, ctx.lakehouse
    with ctx.step("linkage", night) as entry:
        identifiers = account_links.identifiers_in_window(
            lake.read("silver.seller_identifiers"), night, conf.window_days
        ).persist()
        cap = hub_cap if hub_cap is not None else 1 << 30
        degrees = account_links.identifier_degrees(identifiers)
        hub_rows = account_links.hubs(degrees, cap).withColumn("feature_date", F.lit(night))
        lake.replace_date("graph.hub_identifiers", hub_rows, date_column="feature_date", day=night)
        top = lake.read("graph.hub_identifiers").where(F.col("feature_date") == F.lit(night))
        top_hubs = top.orderBy(F.desc("degree")).limit(conf.top_hubs).collect()  # bounded: top-k
        hubs_cut = top.count()
        log.info(
            "hubs cut: %d identifiers above %d sellers; largest: %s",
            hubs_cut,
            cap,
            ", ".join(
                f"{h['identifier_type']} {_shown(h['identifier_type'], h['identifier'])} "
                f"({h['degree']})"
                for h in top_hubs[:5]
            ),
        )

        evidence = account_links.pair_evidence(
            identifiers,
            cap=cap,
            rare_degree=conf.rare_degree,
            type_weights=conf.type_weights,
            repeat_decay=conf.repeat_decay,
        )
        edges = account_links.links(evidence, conf.min_link_score).withColumn(
            "feature_date", F.lit(night)
        )
        lake.replace_date("graph.linkage_edges", edges, date_column="feature_date", day=night)
        edges = lake.read("graph.linkage_edges").where(F.col("feature_date") == F.lit(night))

        components = account_links.rings(
            edges,
            max_ring_size=conf.max_ring_size,
            max_iterations=conf.max_iterations,
            lpa_iterations=conf.label_propagation_iterations,
            checkpoint_every=conf.checkpoint_every,
            local_max_edges=conf.local_components_max_edges,
        ).persist()
        previous = _previous_clusters(ctx, night)
        clusters = account_links.stable_ring_ids(components, previous, night).join(
            components.select("seller_id", F.col("split").alias("ring_split")), "seller_id"
        )
        notices = lake.read("bronze.takedown_notices").where(F.col("_ingest_date") <= F.lit(night))
        features = account_links.ring_features(
            clusters,
            edges,
            takedowns=takedown_history(verdicts_known(notices, night)),
            active_listings=lake.read("silver.listings_current").where(
                (F.col("status") == "active") & (F.col("first_seen") <= F.lit(night))
            ),
            first_nights=account_links.ring_first_nights(
                clusters.select("seller_id", "ring_id"), previous, night
            ),
            night=night,
        )
        rows = (
            clusters.join(features, "ring_id")
            .join(account_links.member_links(clusters, edges), "seller_id")
            .withColumn("feature_date", F.lit(night))
        )
        lake.replace_date("graph.account_clusters", rows, date_column="feature_date", day=night)
        components.unpersist()
        written = lake.read("graph.account_clusters").where(F.col("feature_date") == F.lit(night))
        lineage = account_links.ring_lineage(written.select("seller_id", "ring_id"), previous)
        lake.replace_date(
            "graph.ring_lineage",
            lineage.withColumn("feature_date", F.lit(night)),
            date_column="feature_date",
            day=night,
        )
        identifiers.unpersist()

        health = written.agg(
            F.countDistinct("ring_id").alias("rings"),
            F.count(F.lit(1)).alias("sellers"),
            F.max("ring_size").alias("largest"),
        ).first()
        assert health is not None
        entry.rows_out = int(health["sellers"])
        events = {
            r["event"]: r["count"]
            for r in lake.read("graph.ring_lineage")
            .where(F.col("feature_date") == F.lit(night))
            .groupBy("event")
            .count()
            .collect()  # bounded: four event kinds
        }
        entry.message = (
            f"rings={health['rings']} linked_sellers={health['sellers']} "
            f"largest_ring={health['largest']} hubs_cut={hubs_cut} lineage={events}"
        )
        log.info("linkage: %s", entry.message)


def _previous_clusters(ctx: JobContext, night: date) -> DataFrame | None:
    lake = ctx.lakehouse
    if not lake.exists("graph.account_clusters"):
        return None
    clusters = lake.read("graph.account_clusters")
    latest = clusters.where(F.col("feature_date") < F.lit(night)).agg(F.max("feature_date")).first()
    if latest is None or latest[0] is None:
        return None
    return clusters.where(F.col("feature_date") == F.lit(latest[0])).select(
        "seller_id", "ring_id", "ring_first_night"
    )


def _shown(identifier_type: str, identifier: str) -> str:
    """How a hub appears in the log: an IP as its network only, a digest by its first 12 hex."""
    if identifier_type == "ip":
        return network_prefix(identifier) or "(not an IP address)"
    return identifier[:12]
