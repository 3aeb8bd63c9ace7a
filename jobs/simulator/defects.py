"""Contract-breaking rows, planted so that ingest can be checked against a known answer.

Each defect is an extra row: a copy of a real row under a new key (so the clean world is left
whole) that breaks exactly one rule, named as data_contracts names it; a `unique:` defect is an
exact second copy of a real row. Every kind of a table is planted at least once on the first day,
then on every day at the given rate. The rows' keys and rule names go to `_truth/defects.parquet`.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.simulator.draws import uniform


def breakers() -> dict[str, dict[str, dict[str, Column]]]:
    """table -> rule name -> the columns to overwrite on the copy (only that rule is broken).

    A function, not a constant: Spark columns can only be built once a session is running.
    """
    return {
        "listings": {
            "not_null:title": {"title": F.lit(None).cast("string")},
            "range:title": {"title": F.repeat(F.lit("x"), 501)},
            "range:price": {"price": F.lit(0).cast("decimal(12,2)")},
            "allowed:currency": {"currency": F.lit("ZZZ")},
            "allowed:status": {"status": F.lit("deleted")},
            "allowed:image_phash": {"image_phash": F.lit("not-a-phash")},
            "order:updated_at": {"updated_at": F.col("created_at") - F.expr("INTERVAL 1 DAY")},
            "orphan:seller_id": {"seller_id": F.concat(F.lit("S-unknown-"), F.col("listing_id"))},
            # Created at epoch zero, an exporter's default for a missing date (still <= updated_at).
            "range:created_at": {"created_at": F.lit("1970-01-01 00:00:00").cast("timestamp")},
        },
        "sellers": {
            "allowed:country": {"country": F.lit("Atlantis")},
            "range:store_modules": {"store_modules": F.lit(-1)},
            "not_null:store_template": {"store_template": F.lit(None).cast("string")},
            "range:registered_at": {
                "registered_at": F.col("registered_at") + F.expr("INTERVAL 200 YEARS")
            },
            # Bytes that are no UTF-8 text ("\xc3\x28": a truncated two-byte sequence).
            "utf8:phone_hash": {"phone_hash": F.unhex(F.lit("C328")).cast("string")},
        },
        "seller_sessions": {
            "window:event_ts": {"event_ts": F.col("event_ts") + F.expr("INTERVAL 5 DAYS")},
            "not_null:seller_id": {"seller_id": F.lit(None).cast("string")},
            "allowed:ip": {"ip": F.lit("999.1.2.3")},
        },
        "reviews": {
            "range:rating": {"rating": F.lit(6)},
            "not_null:buyer_id": {"buyer_id": F.lit(None).cast("string")},
            # An address with its port: not an IP literal.
            "allowed:buyer_ip": {"buyer_ip": F.lit("81.2.69.142:443")},
        },
        "orders": {
            "range:quantity": {"quantity": F.lit(0)},
            "range:amount": {"amount": F.lit(-1).cast("decimal(14,2)")},
            "not_null:listing_id": {"listing_id": F.lit(None).cast("string")},
        },
        "takedown_notices": {
            "allowed:verdict": {"verdict": F.lit("maybe")},
            "required_if:verdict_at": {
                "verdict": F.lit("confirmed"),
                "verdict_at": F.lit(None).cast("timestamp"),
            },
        },
        "brand_registry": {
            "range:reference_price": {"reference_price": F.lit(0).cast("decimal(12,2)")},
        },
    }


UNIQUE_TABLES = ("listings", "seller_sessions", "reviews", "orders", "takedown_notices")


def unique_rule(table: str) -> str:
    return "unique:" + "+".join(RAW_TABLES[table].key)


def plant(table: str, rows: DataFrame, *, seed: int, rate: float) -> tuple[DataFrame, DataFrame]:
    """Rows of one raw table (with dt) plus planted defects, and the defects' truth rows."""
    key_cols = RAW_TABLES[table].key
    table_breakers = breakers().get(table, {})
    kinds = [*table_breakers, *([unique_rule(table)] if table in UNIQUE_TABLES else [])]
    if not kinds or rate <= 0:
        return rows, rows.sparkSession.createDataFrame([], "table string, key string, kind string")
    row_key = F.concat_ws("+", *[F.col(k) for k in key_cols])
    kind_of = F.array(*[F.lit(k) for k in kinds])
    drawn = rows.withColumn("_draw", uniform(seed, "defect-" + table, row_key, F.col("dt")))
    # One of each kind on the first day (the rows with the smallest draws: a top-k, no full sort) ...
    first_day = rows.agg(F.min("dt")).first()[0]  # type: ignore[index]
    guaranteed = (
        drawn.where(F.col("dt") == F.lit(first_day))
        .orderBy("_draw")
        .limit(len(kinds))
        .withColumn("_kind", F.element_at(kind_of, F.row_number().over(Window.orderBy("_draw"))))
    )
    # ... then every row with a draw under the rate, of a kind drawn from its key.
    by_rate = drawn.where(F.col("_draw") < rate).join(
        guaranteed.select(*key_cols, "dt"), [*key_cols, "dt"], "left_anti"
    )
    by_rate = by_rate.withColumn(
        "_kind",
        F.element_at(
            kind_of, (F.pmod(F.xxhash64(F.lit(seed), row_key), F.lit(len(kinds))) + 1).cast("int")
        ),
    )
    broken = guaranteed.unionByName(by_rate)
    for kind, changes in table_breakers.items():
        for column, value in changes.items():
            broken = broken.withColumn(
                column, F.when(F.col("_kind") == kind, value).otherwise(F.col(column))
            )
    # A new key for every defect but the duplicate (after the breakers, which read the old row).
    suffix = F.concat(F.lit("-D"), F.substring(F.sha2(F.col("_kind"), 256), 1, 6))
    for k in key_cols:
        broken = broken.withColumn(
            k,
            F.when(F.col("_kind") == unique_rule(table), F.col(k)).otherwise(
                F.concat(F.col(k), suffix)
            ),
        )
    defects = broken.select(
        F.lit(table).alias("table"),
        F.concat_ws("+", *[F.col(k) for k in key_cols]).alias("key"),
        F.col("_kind").alias("kind"),
    )
    return rows.unionByName(broken.drop("_draw", "_kind")), defects
