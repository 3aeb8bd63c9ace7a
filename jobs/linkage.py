"""Link seller accounts into rings for one night.

Reads silver.seller_identifiers (within the conf window) and silver.listings_current as of the
versions the night pinned (jobs/runtime/night_versions.py),
bronze.takedown_notices (ingested and decided by the night) and the previous night's
graph.account_clusters; writes, for feature_date = the night (replaceWhere, so a re-run replaces):
- graph.hub_identifiers: identifiers above the degree cap, which linked no one;
- graph.linkage_edges: linked seller pairs with their signal types, shared identifiers, weight;
- graph.account_clusters: seller, ring_id (stable across nights), ring size and ring features:
  the ring's record (confirmed takedowns known by the night over its members), its first night
  (carried from the previous night's clusters) and age, the member's link strength;
- graph.ring_lineage: where each ring's members were last night (continued, merged, split, new).

Rings are connected components, by the engine `linkage.engine` names (`choose_engine`): GraphFrames
where its jar is in the jar cache, else the project's own (features/graph.py); one log line says
which ran and why.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import account_links
from features.networks import network_prefix
from features.sellers import takedown_history
from features.verdicts import verdicts_known
from jobs.runtime import catalog, night_versions
from jobs.runtime.arguments import add_night_argument
from jobs.runtime.context import JobContext
from jobs.runtime.jars import GRAPHFRAMES, graphframes_available

HELP = "link seller accounts that share identifiers into rings (graph.* tables)"
log = logging.getLogger("radar.linkage")


Engine = Literal["graphframes", "dataframe"]


class GraphFramesUnavailable(RuntimeError):
    """`linkage.engine: graphframes` on a machine whose jar cache lacks the GraphFrames jar."""


def choose_engine(setting: str, *, graphframes_jar_cached: bool) -> tuple[Engine, str]:
    """The connected-components engine of the night for `linkage.engine` (auto, graphframes or
    dataframe) and whether the GraphFrames jar is in the jar cache; with the reason to log."""
    if setting == "dataframe":
        return "dataframe", "linkage.engine dataframe"
    if setting == "graphframes":
        if not graphframes_jar_cached:
            raise GraphFramesUnavailable(
                f"linkage.engine is graphframes but the jar cache holds no {GRAPHFRAMES}: "
                "run `make setup` where Maven Central serves it, "
                "or set linkage.engine to auto or dataframe"
            )
        return "graphframes", "linkage.engine graphframes"
    if graphframes_jar_cached:
        return "graphframes", "linkage.engine auto: the GraphFrames jar is in the jar cache"
    return "dataframe", (
        "linkage.engine auto: the GraphFrames jar is not in the jar cache, "
        "features/graph.py runs instead"
    )


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
        pins = night_versions.night_pins(lake, night)
        engine, why = choose_engine(
            conf.engine, graphframes_jar_cached=graphframes_available(ctx.conf.paths.jar_cache)
        )
        log.info("connected components: %s (%s)", engine, why)
        identifiers = account_links.identifiers_in_window(
            pins.read(catalog.SELLER_IDENTIFIERS), night, conf.window_days
        ).persist()
        cap = hub_cap if hub_cap is not None else 1 << 30
        degrees = account_links.identifier_degrees(identifiers)
        lake.write_night(catalog.HUB_IDENTIFIERS, account_links.hubs(degrees, cap), night)
        top = lake.read_night(catalog.HUB_IDENTIFIERS, night)
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
        edges = account_links.links(evidence, conf.min_link_score)
        lake.write_night(catalog.LINKAGE_EDGES, edges, night)
        edges = lake.read_night(catalog.LINKAGE_EDGES, night)

        components = account_links.rings(
            edges,
            max_ring_size=conf.max_ring_size,
            max_iterations=conf.max_iterations,
            lpa_iterations=conf.label_propagation_iterations,
            checkpoint_every=conf.checkpoint_every,
            local_max_edges=conf.local_components_max_edges,
            graphframes=engine == "graphframes",
        ).persist()
        previous = _previous_clusters(ctx, night)
        clusters = account_links.stable_ring_ids(components, previous, night).join(
            components.select("seller_id", F.col("split").alias("ring_split")), "seller_id"
        )
        notices = lake.read_history(catalog.bronze("takedown_notices"), until=night)
        features = account_links.ring_features(
            clusters,
            edges,
            takedowns=takedown_history(verdicts_known(notices, night)),
            active_listings=lake.read_history(
                catalog.LISTINGS_CURRENT,
                until=night,
                version=pins.version(catalog.LISTINGS_CURRENT),
            ).where(F.col("status") == "active"),
            first_nights=account_links.ring_first_nights(
                clusters.select("seller_id", "ring_id"), previous, night
            ),
            night=night,
        )
        rows = clusters.join(features, "ring_id").join(
            account_links.member_links(clusters, edges), "seller_id"
        )
        lake.write_night(catalog.ACCOUNT_CLUSTERS, rows, night)
        components.unpersist()
        written = lake.read_night(catalog.ACCOUNT_CLUSTERS, night)
        lineage = account_links.ring_lineage(written.select("seller_id", "ring_id"), previous)
        lake.write_night(catalog.RING_LINEAGE, lineage, night)
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
            for r in lake.read_night(catalog.RING_LINEAGE, night)
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
    latest = lake.latest_night(catalog.ACCOUNT_CLUSTERS, before=night)
    if latest is None:
        return None
    return lake.read_night(catalog.ACCOUNT_CLUSTERS, latest).select(
        "seller_id", "ring_id", "ring_first_night"
    )


def _shown(identifier_type: str, identifier: str) -> str:
    """How a hub appears in the log: an IP as its network only, a digest by its first 12 hex."""
    if identifier_type == "ip":
        return network_prefix(identifier) or "(not an IP address)"
    return identifier[:12]
