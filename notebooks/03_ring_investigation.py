# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Ring investigation
#
# Take the night's first ring lead and build the case an investigator hands to a brand: which
# accounts belong to the ring, what ties them together (and what was deliberately *not* taken as
# evidence), which listings and brands they sell, and how long the links have been seen.
#
# Everything comes from the night's tables: `gold.ring_leads` (the lead and its evidence, with
# pseudonymised identifiers), `graph.linkage_edges` (the links), `silver.seller_identifiers`
# through the linkage functions of `features/account_links.py` (the identifiers behind the links),
# `graph.hub_identifiers` (the hubs the linkage cut, which linked no one), `gold.listing_scores`
# (listings).

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
from pyspark.sql import Window
from pyspark.sql import functions as F

from features import account_links
from features.verdicts import verdicts_known
from jobs.reporting.ring_drawing import ring_figure
from jobs.runtime.catalog import (
    HUB_IDENTIFIERS,
    LINKAGE_EDGES,
    LISTING_SCORES,
    LISTINGS_CURRENT,
    RING_LEADS,
    SELLER_IDENTIFIERS,
    bronze,
)
from jobs.runtime.conf import PROJECT_ROOT, load_conf
from jobs.runtime.context import JobContext
from training.scoring import gold_identifier

# %matplotlib inline
# (after the imports: the project's drawing modules choose the Agg backend when imported)
os.chdir(PROJECT_ROOT)  # relative conf paths (data/...) mean the checkout's, as for `make demo`
conf = load_conf(os.environ.get("RADAR_CONF"))
ctx = JobContext(conf)
spark, lake = ctx.spark, ctx.lakehouse
print("lakehouse:", conf.paths.lakehouse, "tables:", len(ctx.open_tables()))

# %% [markdown]
# ## The lead
#
# `lead_rank = 1` is the ring to investigate first on the latest scored night: the highest mean
# risk over its scored accounts.

# %%
lead = spark.sql(
    f"""
    SELECT * FROM {RING_LEADS}
    WHERE score_date = (SELECT max(score_date) FROM {RING_LEADS}) AND lead_rank = 1
    """
).first()
night, ring_id, members = lead.score_date, lead.ring_id, list(lead.member_sellers)
print(f"ring investigated: {ring_id}")
print(
    f"night {night}: risk {lead.risk:.3f} (worst account {lead.max_member_risk:.3f}), "
    f"{lead.ring_size} accounts, {lead.listings} listings of which {lead.flagged_listings} flagged"
)

# %% [markdown]
# ## What links the accounts
#
# Each linked pair of accounts shares identifiers whose evidence reached `linkage.min_link_score`.
# Below, the identifiers two or more members share within the linkage window (blue squares), and
# the hub identifiers members used that the linkage cut that night (`graph.hub_identifiers`): a
# mall's Wi-Fi or a carrier's NAT address, shared by more than `linkage.hub_degree_cap` sellers,
# is no evidence (grey, dashed). IP addresses are shown as their network, as in the gold tables.

# %%
links = (
    lake.read_night(LINKAGE_EDGES, night)
    .where(F.col("src_seller_id").isin(members) & F.col("dst_seller_id").isin(members))
    .select("src_seller_id", "dst_seller_id", "signal_types", "weight")
    .collect()  # bounded: pairs inside one ring
)
window = account_links.identifiers_in_window(
    lake.read(SELLER_IDENTIFIERS), night, conf.linkage.window_days
)
used = window.where(F.col("seller_id").isin(members))
keys = ["identifier_type", "identifier"]
# Degrees over every seller, but only for the identifiers this ring used.
degrees = account_links.identifier_degrees(
    window.join(used.select(*keys).distinct(), keys, "left_semi")
)
hubs = lake.read_night(HUB_IDENTIFIERS, night).select(*keys, F.lit(True).alias("hub"))
members_using = F.size(F.collect_set("seller_id").over(Window.partitionBy(*keys)))
identifiers = (
    used.select("seller_id", *keys)
    .distinct()
    .join(degrees, keys)
    .join(hubs, keys, "left")
    .select(
        "seller_id",
        "identifier_type",
        gold_identifier(F.col("identifier_type"), F.col("identifier")).alias("shown_as"),
        "degree",
        F.coalesce("hub", F.lit(False)).alias("hub"),
        members_using.alias("members_using"),
    )
    .toPandas()  # bounded: one ring's identifiers
)
shared = identifiers[~identifiers["hub"] & (identifiers["members_using"] >= 2)]
cut = identifiers[identifiers["hub"]]


def distinct(rows: pd.DataFrame) -> int:
    return len(rows[["identifier_type", "shown_as"]].drop_duplicates())


print(f"{len(links)} links, {distinct(shared)} shared identifiers, {distinct(cut)} hubs cut")

figure = ring_figure(
    members,
    [(e.src_seller_id, e.dst_seller_id, e.signal_types) for e in links],
    identifiers=list(shared[["seller_id", "identifier_type", "shown_as"]].itertuples(index=False)),
    hubs=list(cut[["seller_id", "identifier_type", "shown_as"]].itertuples(index=False)),
    figsize=(10, 7),
)
figure.axes[0].set_title(
    f"Ring {ring_id} on {night}: accounts (red), shared identifiers (blue), hubs cut (grey)"
)
plt.show()

# %%
pd.DataFrame(
    [
        (e.src_seller_id, e.dst_seller_id, ", ".join(e.signal_types), round(e.weight, 2))
        for e in links
    ],
    columns=["account", "linked account", "signals", "evidence"],
).sort_values("evidence", ascending=False, ignore_index=True)

# %% [markdown]
# ## The evidence, as the lead records it
#
# `shared_identifiers` of the lead: each identifier two or more members share, how many share
# it, and when it was first and last seen. Plus where the ring ships from and who gets paid.

# %%
evidence = pd.DataFrame([s.asDict() for s in lead.shared_identifiers])
print(f"seen from {lead.first_seen} to {lead.last_seen}")
print("ship origins:", ", ".join(lead.ship_origins) or "none")
print("payee accounts:", ", ".join(lead.payee_accounts) or "none")
evidence

# %% [markdown]
# ## The listings and brands
#
# Every listing of the ring's accounts scored that night, riskiest first, with the reasons the
# model gives; then the brands they sell, which tells whom to send the case to.

# %%
listings = (
    lake.read_night(LISTING_SCORES, night)
    .where(F.col("seller_id").isin(members))
    .join(
        lake.read(LISTINGS_CURRENT).select("listing_id", "title", "price_usd", "ships_from"),
        "listing_id",
        "left",
    )
    .select(
        "listing_id",
        "seller_id",
        "brand",
        "category",
        "title",
        F.round("price_usd", 2).alias("price_usd"),
        "ships_from",
        F.round("score", 3).alias("score"),
        "flagged",
        F.array_join("reasons", "; ").alias("reasons"),
    )
    .orderBy(F.desc("score"), "listing_id")
    .toPandas()  # bounded: one ring's listings
)
listings

# %%
brands = (
    listings.fillna({"brand": "(no protected brand)"})
    .groupby("brand")
    .agg(listings=("listing_id", "count"), flagged=("flagged", "sum"), mean_score=("score", "mean"))
    .sort_values(["flagged", "listings"], ascending=False)
)
print("brands hit (flagged listings):", ", ".join(lead.brands_hit) or "none")
brands

# %% [markdown]
# ## What the brands already said
#
# Takedown notices against the ring's accounts and their verdicts as known on the night: a ring
# with confirmed fakes already is an easier case to make.

# %%
notices = (
    verdicts_known(lake.read(bronze("takedown_notices")), night)
    .where(F.col("seller_id").isin(members))
    .groupBy("brand", "verdict")
    .count()
    .orderBy("brand", "verdict")
    .toPandas()  # bounded: brands x verdicts
)
notices

# %% [markdown]
# ## Hand-off summary

# %%
print(f"Ring {ring_id}, lead 1 of {night}")
print(f"  accounts ({len(members)}): {', '.join(members)}")
print(f"  listings: {len(listings)} scored, {int(listings['flagged'].sum())} flagged")
print(f"  brands: {', '.join(brands.index[:5])}")
strongest = evidence.head(5)
for row in strongest.itertuples(index=False):
    print(f"  shared {row.identifier_type} {row.identifier} by {row.members} accounts")
