"""The contract's rules as data: each becomes a Spark predicate and a Great Expectations expectation.

One place maps a rule to both forms, so the rows Spark routes to quarantine and the suite Great
Expectations validates and documents can never drift apart. A rule's `violated` column is TRUE
exactly when a row breaks it (never NULL), and its name is what `_violations` lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import great_expectations as gx
from great_expectations.expectations import Expectation
from pyspark.sql import Column
from pyspark.sql import functions as F

from data_contracts.schemas import LISTING_STATUSES, RAW_TABLES, SOURCE_FILE, TS, VERDICTS, S

Check = Literal[
    "not_null",
    "range",
    "length",
    "allowed",
    "regex",
    "order",
    "window",
    "timeline",
    "required_if",
    "type",
    "utf8",
]

IPV4 = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$"
# RFC 4291 text forms: eight groups, `::` for a run of zero groups, an IPv4 tail (IPv4-mapped
# "::ffff:1.2.3.4"), and an optional zone id (RFC 6874, "fe80::1%eth0"). Not a port: "1.2.3.4:80"
# and "[2001:db8::1]:443" break the rule.
_H = "[0-9A-Fa-f]{1,4}"
_V4 = IPV4[1:-1]
IPV6 = (
    "^("
    f"({_H}:){{7}}{_H}"
    f"|({_H}:){{1,7}}:"
    f"|({_H}:){{1,6}}:{_H}"
    f"|({_H}:){{1,5}}(:{_H}){{1,2}}"
    f"|({_H}:){{1,4}}(:{_H}){{1,3}}"
    f"|({_H}:){{1,3}}(:{_H}){{1,4}}"
    f"|({_H}:){{1,2}}(:{_H}){{1,5}}"
    f"|{_H}:(:{_H}){{1,6}}"
    f"|:((:{_H}){{1,7}}|:)"
    f"|({_H}:){{6}}{_V4}"
    f"|::(ffff(:0{{1,4}})?:)?{_V4}"
    f"|({_H}:){{1,5}}:{_V4}"
    ")(%[0-9A-Za-z._~-]+)?$"
)
IP_PATTERNS = (IPV4, IPV6)
PHASH = r"^[0-9a-f]{16}$"
ALPHA2 = r"^[A-Z]{2}$"


@dataclass(frozen=True)
class Rule:
    """One rule of one column; `name` is `<kind>:<column>` as DATA_CONTRACT.md's vocabulary says."""

    check: Check
    column: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        kind = (
            "range"
            if self.check in ("length", "timeline")
            else "allowed"
            if self.check == "regex"
            else self.check
        )
        return f"{kind}:{self.column}"

    def is_ip(self) -> bool:
        """An IP address rule: the column holds personal data (reduced to a network outside
        the raw layers, features/networks.py)."""
        return self.check == "regex" and tuple(self.params["patterns"]) == IP_PATTERNS

    def violated(self) -> Column:
        """TRUE where the row breaks the rule. A null value breaks only its not_null rule."""
        col = F.col(self.column)
        p = self.params
        if self.check == "not_null":
            return col.isNull()
        if self.check == "range":
            low = (col <= p["min"]) if p.get("strict_min") else (col < p["min"])
            high = (col > p["max"]) if "max" in p else F.lit(False)
            return F.coalesce(low | high, F.lit(False))
        if self.check == "length":
            return F.coalesce((F.length(col) < p["min"]) | (F.length(col) > p["max"]), F.lit(False))
        if self.check == "allowed":
            return F.coalesce(~col.isin(*p["values"]), F.lit(False))
        if self.check == "regex":
            matches = [col.rlike(pattern) for pattern in p["patterns"]]
            any_match = matches[0]
            for m in matches[1:]:
                any_match = any_match | m
            return F.coalesce(~any_match, F.lit(False))
        if self.check == "order":
            return F.coalesce(col < F.col(p["after"]), F.lit(False))
        if self.check in ("window", "timeline", "utf8"):
            return F.coalesce(F.expr(self._broken_sql()), F.lit(False))
        if self.check == "required_if":
            return F.coalesce(col.isNull() & F.col(p["when"]).isin(*p["values"]), F.lit(False))
        if self.check == "type":
            return F.col(f"_raw_{self.column}").isNotNull() & col.isNull()
        raise ValueError(f"unknown check {self.check}")

    def _broken_sql(self) -> str:
        """The rules that Spark and Great Expectations both check as Spark SQL: where the row
        breaks the rule (NULL where the value is null: a null breaks only its not_null rule)."""
        p, c = self.params, f"`{self.column}`"
        if self.check == "window":
            # Within the file's day, late arrivals tolerated by `days` on either side.
            return (
                f"{c} < to_timestamp(date_sub(_dt, {int(p['days'])})) "
                f"OR {c} >= to_timestamp(date_add(_dt, {int(p['days']) + 1}))"
            )
        if self.check == "timeline":
            # Not before the earliest plausible instant, not after the file's day (late clocks
            # tolerated by `days`): a year-1 or epoch-zero default, a year-2150 typo.
            return (
                f"{c} < to_timestamp('{p['earliest'].isoformat()}') "
                f"OR {c} >= to_timestamp(date_add(_dt, {int(p['days']) + 1}))"
            )
        if self.check == "utf8":
            # Parquet strings are bytes: a producer may write any; text downstream must decode.
            return f"NOT is_valid_utf8({c})"
        if self.check == "regex":
            # Raw literals: the patterns' backslashes reach the regex engine as written.
            return "NOT (" + " OR ".join(f"rlike({c}, r'{x}')" for x in p["patterns"]) + ")"
        raise ValueError(f"{self.check} has no SQL form")

    def _unexpected_rows(self, meta: dict[str, str]) -> Expectation:
        """GX's Spark SQL expectation over the batch: it fails on exactly the rows the Spark
        predicate routes, and reports their count only (GX runs the query on the batch's view;
        `{batch}` is its one placeholder, so the regexes' braces are doubled)."""
        where = self._broken_sql().replace("{", "{{").replace("}", "}}")
        return gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query=f"SELECT {SOURCE_FILE} FROM {{batch}} WHERE {where}",
            description=f"{self.name}: no row breaks it",
            meta=meta,
        )

    def expectation(self) -> Expectation | None:
        """The same rule for Great Expectations (None for `type` alone: its evidence is the raw
        text the read keeps beside a value that did not convert, a column of the read, not of
        the contract the suite documents).

        GX 1.24 has no column expectation whose bound is another column plus days (the window,
        the timeline: their end is each row's file day) nor one for valid UTF-8 (its regex
        expectations see text already decoded, so a replacement character and a broken byte
        look alike). Those rules go to GX as an `UnexpectedRowsExpectation`, a Spark SQL query
        with the very predicate Spark routes rows by. So do the IP rules: GX's column
        expectations list up to 20 unexpected values in results and Data Docs, and an IP
        address, valid or not (`1.2.3.4:80`), must not leave the raw layers whole."""
        p, c = self.params, self.column
        meta = {"rule": self.name}
        if self.check in ("window", "timeline", "utf8") or self.is_ip():
            return self._unexpected_rows(meta)
        if self.check == "not_null":
            return gx.expectations.ExpectColumnValuesToNotBeNull(column=c, meta=meta)
        if self.check == "range":
            return gx.expectations.ExpectColumnValuesToBeBetween(
                column=c,
                min_value=p["min"],
                max_value=p.get("max"),
                strict_min=bool(p.get("strict_min")),
                meta=meta,
            )
        if self.check == "length":
            return gx.expectations.ExpectColumnValueLengthsToBeBetween(
                column=c, min_value=p["min"], max_value=p["max"], meta=meta
            )
        if self.check == "allowed":
            return gx.expectations.ExpectColumnValuesToBeInSet(
                column=c, value_set=list(p["values"]), meta=meta
            )
        if self.check == "regex":
            return gx.expectations.ExpectColumnValuesToMatchRegexList(
                column=c, regex_list=list(p["patterns"]), match_on="any", meta=meta
            )
        if self.check == "order":
            return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=c,
                column_B=p["after"],
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=meta,
            )
        if self.check == "required_if":
            quoted = ", ".join(f"'{v}'" for v in p["values"])
            return gx.expectations.ExpectColumnValuesToNotBeNull(
                column=c,
                row_condition=f"{p['when']} IN ({quoted})",
                condition_parser="spark",
                meta=meta,
            )
        return None


def _not_null(table: str) -> list[Rule]:
    return [Rule("not_null", f.name) for f in RAW_TABLES[table].schema.fields if not f.nullable]


def _utf8(table: str) -> list[Rule]:
    return [Rule("utf8", f.name) for f in RAW_TABLES[table].schema.fields if f.dataType == S]


def _timelines(table: str, earliest: date, late_days: int) -> list[Rule]:
    """Every timestamp within its plausible range; a timestamp with a window rule has the
    stricter one alone."""
    windowed = {"event_ts"} if table == "seller_sessions" else set()
    return [
        Rule("timeline", f.name, {"earliest": earliest, "days": late_days})
        for f in RAW_TABLES[table].schema.fields
        if f.dataType == TS and f.name not in windowed
    ]


def table_rules(
    table: str, *, currencies: tuple[str, ...], earliest: date, late_days: int = 1
) -> list[Rule]:
    """Every row rule of a raw table (uniqueness and orphans are set-level: see checks.py)."""
    specific: dict[str, list[Rule]] = {
        "listings": [
            Rule("length", "title", {"min": 1, "max": 500}),
            Rule("range", "price", {"min": 0, "strict_min": True}),
            Rule("allowed", "currency", {"values": currencies}),
            Rule("regex", "image_phash", {"patterns": [PHASH]}),
            Rule("allowed", "status", {"values": LISTING_STATUSES}),
            Rule("order", "updated_at", {"after": "created_at"}),
        ],
        "sellers": [
            Rule("regex", "country", {"patterns": [ALPHA2]}),
            Rule("range", "store_modules", {"min": 0}),
        ],
        "seller_sessions": [
            Rule("window", "event_ts", {"days": late_days}),
            Rule("regex", "ip", {"patterns": IP_PATTERNS}),
        ],
        "reviews": [
            Rule("range", "rating", {"min": 1, "max": 5}),
            Rule("regex", "buyer_ip", {"patterns": IP_PATTERNS}),
        ],
        "orders": [Rule("range", "quantity", {"min": 1}), Rule("range", "amount", {"min": 0})],
        "brand_registry": [
            Rule("range", "reference_price", {"min": 0, "strict_min": True}),
            Rule("range", "min_authorized_price", {"min": 0, "strict_min": True}),
        ],
        "takedown_notices": [
            Rule("allowed", "verdict", {"values": VERDICTS}),
            Rule(
                "required_if",
                "verdict_at",
                {"when": "verdict", "values": ("confirmed", "rejected")},
            ),
        ],
    }
    return (
        _not_null(table) + specific[table] + _timelines(table, earliest, late_days) + _utf8(table)
    )


def unique_rule_name(table: str) -> str:
    return "unique:" + "+".join(RAW_TABLES[table].key)


ORPHAN_RULE = "orphan:seller_id"
