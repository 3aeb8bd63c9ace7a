"""The table catalog: every table of the lakehouse, declared once, with what storing it means.

Steps name a table by its entry here (`catalog.LISTING_SCORES`, `catalog.bronze("orders")`) and
leave the rest to `Lakehouse`: where it lives, which column says the night a row belongs to, how a
night is written (replaceWhere of the night, or a MERGE on the keys), how it is partitioned, which
Delta properties it carries, and how maintenance compacts it. Kedro's data catalog is the model:
the pipeline names datasets, the catalog knows how they are stored.

The night column is what makes reads of a night possible (`Lakehouse.read_night`,
`read_history(until=night)`). Tables that hold only the current state (silver) have no history
of their own: they are `pinned`, conform records the Delta version each night committed in
ops.night_versions, and a re-run of a past night reads them as of that version
(jobs/runtime/night_versions.py). Their retention (`retention_properties`) keeps every version a
backfill within `ops.backfill_days` needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from pyspark.sql.types import (
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from data_contracts.schemas import INGEST_DATE, RAW_TABLES

WriteMode = Literal["replace_night", "merge", "insert", "conditional_merge"]


@dataclass(frozen=True)
class Table:
    """One Delta table: `<paths.lakehouse>/<layer>/<name>`, registered as `layer.name`."""

    name: str  # layer.name
    keys: tuple[str, ...]  # what identifies a row (with the night column, for nightly tables)
    # The column holding the night a row belongs to (None: a state table with no such column).
    night_column: str | None = None
    # replace_night: replaceWhere of the night; merge: upsert on keys; insert: insert-only merge
    # on keys (first write wins); conditional_merge: the step gives its own MERGE clauses.
    write: WriteMode = "replace_night"
    partition_by: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False
    )
    # Maintenance: OPTIMIZE and VACUUM after a night, Z-ordered by these columns (None: skipped).
    zorder_by: tuple[str, ...] | None = None
    # The columns readers may rely on before a table we own exists (DDL): the report reads an
    # empty night of them before the first champion. The written table may hold more columns.
    schema: StructType | str | None = field(default=None, compare=False)
    # A current-state table later nights overwrite: each night's version is pinned in
    # ops.night_versions and re-runs of past nights read it as of that version.
    pinned: bool = False

    def __post_init__(self) -> None:
        layer, _, short = self.name.partition(".")
        if not layer or not short or "." in short:
            raise ValueError(f"table name must be 'layer.name', got {self.name!r}")
        if self.write == "replace_night" and self.night_column is None:
            raise ValueError(f"{self.name}: a table written by night needs a night column")

    @property
    def layer(self) -> str:
        return self.name.partition(".")[0]

    @property
    def short_name(self) -> str:
        return self.name.partition(".")[2]

    def __str__(self) -> str:
        return self.name


# Gold tables feed downstream consumers by their change data feed.
CHANGE_FEED = MappingProxyType({"delta.enableChangeDataFeed": "true"})


def _bronze(raw: str) -> Table:
    return Table(
        f"bronze.{raw}",
        keys=(*RAW_TABLES[raw].key, INGEST_DATE),
        night_column=INGEST_DATE,
        write="insert",
        partition_by=(INGEST_DATE,),
    )


def _quarantine(raw: str) -> Table:
    return Table(
        f"quarantine.{raw}",
        keys=("_row_id", INGEST_DATE),
        night_column=INGEST_DATE,
        write="insert",
        partition_by=(INGEST_DATE,),
    )


BRONZE = MappingProxyType({raw: _bronze(raw) for raw in RAW_TABLES})
QUARANTINE = MappingProxyType({raw: _quarantine(raw) for raw in RAW_TABLES})

# silver: the latest version of each entity, merged by conform with conditions of its own;
# pinned per night, so that a past night can be read as it was (see the module's docstring).
LISTINGS_CURRENT = Table(
    "silver.listings_current",
    keys=("listing_id",),
    night_column="first_seen",
    write="conditional_merge",
    zorder_by=(),
    pinned=True,
)
SELLERS_CURRENT = Table(
    "silver.sellers_current",
    keys=("seller_id",),
    write="conditional_merge",
    zorder_by=(),
    pinned=True,
)
SELLER_IDENTIFIERS = Table(
    "silver.seller_identifiers",
    keys=("seller_id", "identifier_type", "identifier"),
    night_column="first_seen",
    write="conditional_merge",
    partition_by=("identifier_type",),
    zorder_by=(),
    pinned=True,
)

SELLER_FEATURES = Table(
    "features.seller_features",
    keys=("seller_id", "feature_date"),
    night_column="feature_date",
    zorder_by=(),
)
LISTING_FEATURES = Table(
    "features.listing_features",
    keys=("listing_id", "feature_date"),
    night_column="feature_date",
    partition_by=("feature_date",),
    zorder_by=(),
)

HUB_IDENTIFIERS = Table(
    "graph.hub_identifiers",
    keys=("identifier_type", "identifier", "feature_date"),
    night_column="feature_date",
)
LINKAGE_EDGES = Table(
    "graph.linkage_edges",
    keys=("src_seller_id", "dst_seller_id", "feature_date"),
    night_column="feature_date",
    zorder_by=(),
)
ACCOUNT_CLUSTERS = Table(
    "graph.account_clusters",
    keys=("seller_id", "feature_date"),
    night_column="feature_date",
    zorder_by=(),
)
RING_LINEAGE = Table(
    "graph.ring_lineage",
    keys=("ring_id", "previous_ring_id", "feature_date"),
    night_column="feature_date",
)

LISTING_SCORES = Table(
    "gold.listing_scores",
    keys=("listing_id", "score_date"),
    night_column="score_date",
    partition_by=("score_date",),
    properties=CHANGE_FEED,
    zorder_by=("brand", "category"),  # what analysts filter on besides the night
    schema="listing_id string, seller_id string, ring_id string, score_date date, score double, "
    "flagged boolean, model_name string, model_version string, reasons array<string>, "
    "brand string, category string",
)
SELLER_RISK = Table(
    "gold.seller_risk",
    keys=("seller_id", "score_date"),
    night_column="score_date",
    partition_by=("score_date",),
    properties=CHANGE_FEED,
    zorder_by=(),
)
RING_LEADS = Table(
    "gold.ring_leads",
    keys=("ring_id", "score_date"),
    night_column="score_date",
    partition_by=("score_date",),
    properties=CHANGE_FEED,
    zorder_by=(),
    schema="ring_id string, score_date date, risk double, member_sellers array<string>, "
    "ring_size int, listings int, flagged_listings int, brands_hit array<string>, "
    "shared_identifiers array<struct<members:bigint,identifier_type:string,identifier:string>>, "
    "ship_origins array<string>, payee_accounts array<string>, first_seen date, last_seen date",
)

SOURCE_LEADS = Table(
    "gold.source_leads",
    keys=("source_type", "source", "score_date"),
    night_column="score_date",
    partition_by=("score_date",),
    properties=CHANGE_FEED,
    zorder_by=(),
    schema="source_type string, source string, score_date date, source_rank int, risk double, "
    "rings array<string>, sellers int, confirmed_takedowns int, listings int, "
    "brands array<string>, first_seen date, last_seen date",
)
DAILY_KPIS = Table(
    "gold.daily_kpis",
    keys=("score_date",),
    night_column="score_date",
    partition_by=("score_date",),
    properties=CHANGE_FEED,
    zorder_by=(),
    schema="score_date date, listings_scored long, flagged long, confirmed_listings long, "
    "share_flagged_before_notice double, share_flagged_before_first_order double, "
    "median_days_to_flag double, flags_decided long, past_flag_precision double, "
    "estimated_prevalence double",
)

RUN_LOG = Table(
    "ops.run_log",
    keys=("run_id", "run_date", "step", "table_name"),
    night_column="run_date",
    write="merge",
    schema=StructType(
        [
            StructField("run_id", StringType(), False),
            StructField("run_date", DateType(), False),
            StructField("step", StringType(), False),
            StructField("table_name", StringType(), False),
            StructField("status", StringType(), False),  # running | succeeded | failed
            StructField("rows_read", LongType(), True),
            StructField("rows_out", LongType(), True),
            StructField("rows_quarantined", LongType(), True),
            StructField("seconds", DoubleType(), True),
            StructField("started_at", TimestampType(), False),
            StructField("finished_at", TimestampType(), True),
            StructField("message", StringType(), True),
        ]
    ),
)

# Each raw table's data-quality metrics of a night, judged against the nights before
# (data_contracts/drift.py).
TABLE_METRICS = Table(
    "ops.table_metrics",
    keys=("table_name", "metric", "column_name", "metric_date"),
    night_column="metric_date",
    partition_by=("metric_date",),
)

# The Delta version of each pinned table a night committed (conform), and the registered model
# version that scored it (score; table_name `model:<mlflow.model_name>`, version null when the
# night had no champion): what a re-run of the night reads. jobs/runtime/night_versions.py.
NIGHT_VERSIONS = Table(
    "ops.night_versions",
    keys=("night", "table_name"),
    night_column="night",
    write="merge",
    schema=StructType(
        [
            StructField("night", DateType(), False),
            StructField("table_name", StringType(), False),
            StructField("version", LongType(), True),
            StructField("run_id", StringType(), True),
            StructField("pinned_at", TimestampType(), True),
        ]
    ),
)

GOLD = (LISTING_SCORES, SELLER_RISK, RING_LEADS, SOURCE_LEADS, DAILY_KPIS)

CATALOG: Mapping[str, Table] = MappingProxyType(
    {
        t.name: t
        for t in (
            *BRONZE.values(),
            *QUARANTINE.values(),
            LISTINGS_CURRENT,
            SELLERS_CURRENT,
            SELLER_IDENTIFIERS,
            SELLER_FEATURES,
            LISTING_FEATURES,
            HUB_IDENTIFIERS,
            LINKAGE_EDGES,
            ACCOUNT_CLUSTERS,
            RING_LINEAGE,
            *GOLD,
            RUN_LOG,
            TABLE_METRICS,
            NIGHT_VERSIONS,
        )
    }
)

PINNED = tuple(t for t in CATALOG.values() if t.pinned)


def bronze(raw: str) -> Table:
    """bronze.<raw>: the accepted rows of a raw table of the landing contract."""
    return BRONZE[raw]


def quarantine(raw: str) -> Table:
    """quarantine.<raw>: the rejected rows and files of a raw table, with their reasons."""
    return QUARANTINE[raw]


def table(name: str) -> Table:
    """The entry of `layer.name`; a name the catalog does not declare is an error, not a path."""
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"{name!r} is not declared in jobs/runtime/catalog.py") from None


def retention_properties(backfill_days: int) -> Mapping[str, str]:
    """Delta retention of a pinned table: its log and the files its old versions point at stay
    for `backfill_days` + 1 days (and never less than Delta's defaults, 30 and 7 days), so a
    backfill of any night within `ops.backfill_days` can read the version the night pinned."""
    keep = backfill_days + 1
    return MappingProxyType(
        {
            "delta.logRetentionDuration": f"interval {max(keep, 30)} days",
            "delta.deletedFileRetentionDuration": f"interval {max(keep, 7)} days",
        }
    )


def maintained() -> Iterator[Table]:
    """The tables OPTIMIZE and VACUUM keep compact after a night."""
    return (t for t in CATALOG.values() if t.zorder_by is not None)
