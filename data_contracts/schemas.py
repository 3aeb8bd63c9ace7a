"""The raw landing contract (shared/DATA_CONTRACT.md) as Spark schemas, and the silver schemas.

The simulator writes exactly RAW_TABLES; ingest reads with them (never by inference); conform
writes SILVER_TABLES, which features and linkage read. One place, so producers and consumers agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql.types import (
    ArrayType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

TableKind = Literal["event", "snapshot"]


@dataclass(frozen=True)
class RawTable:
    """One table of the landing contract."""

    name: str
    kind: TableKind  # event: read dt=D; snapshot: read the newest dt<=D
    schema: StructType  # the required columns with their types and nullability ("req")
    key: tuple[str, ...]  # unique within one dt

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.schema.fields)


def _fields(*spec: tuple[str, object, bool]) -> StructType:
    return StructType([StructField(name, dtype, nullable) for name, dtype, nullable in spec])  # type: ignore[arg-type]


S, TS, INT = StringType(), TimestampType(), IntegerType()
PRICE = DecimalType(12, 2)
AMOUNT = DecimalType(14, 2)

LISTINGS = RawTable(
    "listings",
    "event",
    _fields(
        ("listing_id", S, False),
        ("seller_id", S, False),
        ("title", S, False),
        ("description", S, True),
        ("brand", S, True),
        ("category", S, False),
        ("price", PRICE, False),
        ("currency", S, False),
        ("image_phash", S, True),
        ("ships_from", S, True),
        ("status", S, False),
        ("created_at", TS, False),
        ("updated_at", TS, False),
    ),
    ("listing_id",),
)

SELLERS = RawTable(
    "sellers",
    "snapshot",
    _fields(
        ("seller_id", S, False),
        ("registered_at", TS, False),
        ("country", S, False),
        ("id_doc_hash", S, True),
        ("store_template", S, False),
        ("store_modules", INT, False),
        ("payment_account_hash", S, True),
        ("bank_account_hash", S, True),
        ("return_address_hash", S, True),
        ("phone_hash", S, True),
    ),
    ("seller_id",),
)

SELLER_SESSIONS = RawTable(
    "seller_sessions",
    "event",
    _fields(
        ("session_id", S, False),
        ("seller_id", S, False),
        ("event_ts", TS, False),
        ("device_id", S, True),
        ("wifi_bssid", S, True),
        ("ip", S, True),
    ),
    ("session_id",),
)

REVIEWS = RawTable(
    "reviews",
    "event",
    _fields(
        ("review_id", S, False),
        ("listing_id", S, False),
        ("buyer_id", S, False),
        ("rating", INT, False),
        ("review_text", S, True),
        ("created_at", TS, False),
        ("buyer_device_id", S, True),
        ("buyer_ip", S, True),
    ),
    ("review_id",),
)

ORDERS = RawTable(
    "orders",
    "event",
    _fields(
        ("order_id", S, False),
        ("listing_id", S, False),
        ("buyer_id", S, False),
        ("quantity", INT, False),
        ("amount", AMOUNT, False),
        ("ordered_at", TS, False),
        ("ship_origin", S, True),
        ("courier", S, True),
        ("payee_account_hash", S, True),
    ),
    ("order_id",),
)

BRAND_REGISTRY = RawTable(
    "brand_registry",
    "snapshot",
    _fields(
        ("brand", S, False),
        ("category", S, False),
        ("reference_price", PRICE, False),
        ("min_authorized_price", PRICE, True),
        ("authorized_seller_ids", ArrayType(S), True),
        ("protected_terms", ArrayType(S), True),
    ),
    ("brand", "category"),
)

TAKEDOWN_NOTICES = RawTable(
    "takedown_notices",
    "event",
    _fields(
        ("notice_id", S, False),
        ("brand", S, False),
        ("listing_id", S, False),
        ("seller_id", S, False),
        ("received_at", TS, False),
        ("verdict", S, False),
        ("verdict_at", TS, True),
    ),
    ("notice_id",),
)

RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in (
        SELLERS,
        BRAND_REGISTRY,
        LISTINGS,
        SELLER_SESSIONS,
        REVIEWS,
        ORDERS,
        TAKEDOWN_NOTICES,
    )
}

LISTING_STATUSES = ("active", "removed", "sold_out")
VERDICTS = ("pending", "confirmed", "rejected")
BASIC_TEMPLATE = "basic"

# Bronze adds these to every raw table's columns.
INGEST_DATE, SOURCE_FILE = "_ingest_date", "_source_file"
# A listing that waited in quarantine as an orphan keeps its INGEST_DATE in bronze (the night it
# arrived, so that night still reconciles) and gets the night its seller appeared here; bronze
# rows ingested directly hold null.
ADOPTED_DATE = "_adopted_date"
# Quarantine adds these (plus INGEST_DATE and SOURCE_FILE) to the raw columns it could read.
VIOLATIONS = "_violations"
# A rejected file's one quarantine row holds its raw row count here (null on a rejected row).
FILE_ROWS = "_file_rows"

# ---- silver ---------------------------------------------------------------------------------

# silver.seller_identifiers: one row per (seller, identifier type, value) ever seen.
IDENTIFIER_TYPES = (
    "device",  # seller_sessions.device_id
    "wifi",  # seller_sessions.wifi_bssid
    "ip",  # seller_sessions.ip
    "id_doc",  # sellers.id_doc_hash
    "payment",  # sellers.payment_account_hash
    "bank",  # sellers.bank_account_hash
    "return_address",  # sellers.return_address_hash
    "phone",  # sellers.phone_hash
    "payee",  # orders.payee_account_hash (through the order's listing)
    "ship_origin",  # orders.ship_origin (through the order's listing)
    "image",  # listings.image_phash
)

SELLER_IDENTIFIERS_SCHEMA = StructType(
    [
        StructField("seller_id", S, False),
        StructField("identifier_type", S, False),
        StructField("identifier", S, False),
        StructField("first_seen", DateType(), False),
        StructField("last_seen", DateType(), False),
        StructField("days_seen", INT, False),
    ]
)

# silver.listings_current adds to the listing columns: price_usd (price converted with
# conf currency rates), first_seen (date of the first version ingested), INGEST_DATE of the
# winning version. silver.sellers_current adds INGEST_DATE of the winning version.
PRICE_USD = ("price_usd", DoubleType())
