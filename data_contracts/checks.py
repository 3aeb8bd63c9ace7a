"""Route every raw row: the list of rules it breaks, computed in one pass with built-in functions.

`check_rows` adds `_violations` (array of rule names, empty when the row is valid). Row rules come
from rules.py; two set-level rules are added here:
- uniqueness of the key within one day: one copy is kept (deterministically: the first by source
  file and content), the extra copies break `unique:<key>`;
- orphans: a listing whose seller is in no sellers snapshot known so far breaks `orphan:seller_id`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from data_contracts.rules import ORPHAN_RULE, Rule, unique_rule_name
from data_contracts.schemas import RAW_TABLES, SOURCE_FILE, VIOLATIONS


def _flag(name: str, broken: Column) -> Column:
    return F.when(broken, F.lit(name))


def check_rows(
    rows: DataFrame,
    table: str,
    rules: Sequence[Rule],
    *,
    known_sellers: DataFrame | None = None,
) -> DataFrame:
    """`rows` with `_violations`; needs `_source_file` (and `_dt` for window rules).

    `known_sellers` (one column `seller_id`) turns on the orphan rule for listings.
    """
    key = list(RAW_TABLES[table].key)
    # Copies of a key are numbered in file order, then by content (the path left out, so the same
    # landing read from another root numbers them the same).
    content = F.xxhash64(*[F.col(c) for c in rows.columns if c != SOURCE_FILE])
    copy_number = F.row_number().over(Window.partitionBy(*key).orderBy(F.col(SOURCE_FILE), content))
    key_present = F.lit(True)
    for k in key:
        key_present = key_present & F.col(k).isNotNull()
    checked = rows.withColumn("_copy", F.when(key_present, copy_number).otherwise(F.lit(1)))
    flags = [_flag(rule.name, rule.violated()) for rule in rules]
    flags.append(_flag(unique_rule_name(table), F.col("_copy") > 1))
    if known_sellers is not None:
        sellers = known_sellers.select(F.col("seller_id").alias("_known_seller")).distinct()
        checked = checked.join(sellers, checked["seller_id"] == sellers["_known_seller"], "left")
        flags.append(
            _flag(ORPHAN_RULE, F.col("seller_id").isNotNull() & F.col("_known_seller").isNull())
        )
    violations = F.filter(F.array(*flags), lambda v: v.isNotNull())
    # `_copy` stays: it tells identical extra copies apart when they are given row ids.
    return checked.withColumn(VIOLATIONS, violations).drop("_known_seller")


def is_valid() -> Column:
    return F.size(F.col(VIOLATIONS)) == 0
