"""A synthetic marketplace, generated in parallel from `spark.range` and hashes of the seed.

What makes it hard enough that a naive detector fails:
- rings of accounts, each with its own identity document, that share devices, Wi-Fi, IPs, payment
  and bank accounts, return addresses, phones, payees, ship origins and images, each only with
  some probability (some members share a single weak signal);
- honest look-alikes: public Wi-Fi hubs and carrier NAT addresses shared by hundreds of honest
  accounts, marketplace warehouses, honest families of linked stores, authorised resellers with
  real discounts, honest new sellers on the bare template, clearance sales, unbranded generics;
- fakes that hide the brand from the title, and rings that open new accounts on later days
  reusing part of their old signals;
- partial, late and noisy labels: brands report a share of fakes, some reports are rejected as
  genuine, verdicts arrive days later and some stay pending.

Each table is a DataFrame with a `dt` column (the export day); the job writes it partitioned by dt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.conf import SimulatorConf
from jobs.simulator.brands import (
    BRANDS,
    CATEGORIES,
    COUNTERFEIT_KEYWORDS,
    GENERIC_PRODUCTS,
    misspellings,
)
from jobs.simulator.draws import chance, digest, integer, pick, uniform

SIGNALS = (
    "device",
    "wifi",
    "ip",
    "payment",
    "bank",
    "return_address",
    "phone",
    "payee",
    "ship_origin",
    "image",
)


@dataclass(frozen=True)
class WorldSpec:
    listings: int
    days: int
    seed: int
    start: date
    rates_to_usd: dict[str, float]
    proportions: SimulatorConf

    @property
    def sellers(self) -> int:
        return max(20, int(self.listings / self.proportions.listings_per_seller))

    @property
    def ring_sellers(self) -> int:
        return int(self.sellers * self.proportions.ring_seller_share)

    @property
    def rings(self) -> int:
        return max(1, round(self.ring_sellers / self.proportions.mean_ring_size))

    @property
    def family_sellers(self) -> int:
        return 2 * int(self.sellers * self.proportions.family_seller_share / 2)


@dataclass(frozen=True)
class World:
    tables: dict[str, DataFrame]  # raw table name -> rows with the contract columns + dt
    truth_sellers: DataFrame
    truth_listings: DataFrame


def generate(spark: SparkSession, spec: WorldSpec) -> World:
    sellers = _sellers(spark, spec)
    listings = _listings(spark, spec, sellers)
    tables = {
        "sellers": _seller_snapshots(spark, spec, sellers),
        "brand_registry": _brand_registry(spark, spec, sellers),
        "listings": listings.select(*_contract("listings"), "dt"),
        "seller_sessions": _sessions(spark, spec, sellers),
        "reviews": _reviews(spec, listings, sellers),
        "orders": _orders(spec, listings, sellers),
        "takedown_notices": _notices(spec, listings),
    }
    truth_sellers = sellers.select(
        "seller_id",
        F.col("is_ring").alias("is_counterfeit"),
        F.when(F.col("is_ring"), F.concat(F.lit("ring-"), F.col("ring_idx").cast("string"))).alias(
            "ring_id"
        ),
    )
    truth_listings = listings.where(F.col("version") == 1).select("listing_id", "is_counterfeit")
    return World(tables, truth_sellers, truth_listings)


def _contract(table: str) -> list[str]:
    return list(RAW_TABLES[table].required_columns)


def _ts(spec: WorldSpec, day: Column, seconds: Column) -> Column:
    start = datetime.combine(spec.start, datetime.min.time())
    return F.lit(start).cast("timestamp") + F.make_dt_interval(
        day, F.lit(0), F.lit(0), seconds.cast("double")
    )


def _dt(spec: WorldSpec, day: Column) -> Column:
    return F.date_add(F.lit(spec.start), day)


def _sellers(spark: SparkSession, spec: WorldSpec) -> DataFrame:
    """One row per account with its hidden role and the identifiers it uses."""
    p, s = spec.proportions, spec.seed
    idx = F.col("seller_idx")
    is_ring = idx < spec.ring_sellers
    family_idx = F.when(
        (idx >= spec.ring_sellers) & (idx < spec.ring_sellers + spec.family_sellers),
        F.floor((idx - spec.ring_sellers) / 2),
    )
    wifi_hubs = max(1, spec.sellers // p.sellers_per_wifi_hub)
    nat_ips = max(1, spec.sellers // p.sellers_per_nat_ip)
    frame = (
        spark.range(spec.sellers)
        .withColumnRenamed("id", "seller_idx")
        .withColumn("is_ring", is_ring)
        .withColumn(
            "ring_idx",
            F.when(is_ring, F.pmod(F.xxhash64(F.lit(s), F.lit("ring"), idx), F.lit(spec.rings))),
        )
        .withColumn("family_idx", family_idx)
        .withColumn("seller_id", F.concat(F.lit("S"), digest(s, "seller", idx).substr(1, 15)))
        .withColumn(
            "opened_day",
            F.when(
                is_ring & chance(s, "late", p.new_account_share, idx) & F.lit(spec.days > 1),
                integer(s, "late_day", 1, max(1, spec.days - 1), idx),
            ).otherwise(0),
        )
        # Authorised resellers: a few honest accounts per brand, with real discounts.
        .withColumn(
            "authorised_brand",
            F.when(~is_ring & (F.pmod(idx, F.lit(53)) == 7), F.pmod(idx, F.lit(len(BRANDS)))),
        )
        .withColumn(
            "basic_template",
            F.when(is_ring, chance(s, "tpl", 0.8, idx)).otherwise(chance(s, "tpl", 0.18, idx)),
        )
        .withColumn(
            "registered_days_ago",
            F.when(is_ring, integer(s, "age", 0, 150, idx)).otherwise(
                integer(s, "age", 0, 2500, idx)
            ),
        )
        .withColumn(
            "ship_hub",
            F.when(
                ~is_ring & chance(s, "fc", p.warehouse_share, idx),
                F.concat(F.lit("FC-"), integer(s, "fc_n", 1, 3, idx).cast("string")),
            ),
        )
        .withColumn(
            "wifi_hub",
            digest(s, "wifi-hub", F.pmod(F.xxhash64(F.lit(s), F.lit("wh"), idx), F.lit(wifi_hubs))),
        )
        .withColumn(
            "nat_ip",
            _ipv4(s, "nat", F.pmod(F.xxhash64(F.lit(s), F.lit("nat"), idx), F.lit(nat_ips))),
        )
    )
    for signal in SIGNALS:
        own = (
            _ipv4(s, "ip-own", idx)
            if signal == "ip"
            else digest(s, signal, idx).substr(1, 16)
            if signal == "image"
            else F.concat(F.lit("WH-"), digest(s, signal, idx).substr(1, 8))
            if signal == "ship_origin"
            else digest(s, signal, idx)
        )
        ring_value = (
            _ipv4(s, "ip-ring", F.col("ring_idx"))
            if signal == "ip"
            else digest(s, signal + "-ring", F.col("ring_idx")).substr(1, 16)
            if signal == "image"
            else F.concat(F.lit("WH-"), digest(s, signal + "-ring", F.col("ring_idx")).substr(1, 8))
            if signal == "ship_origin"
            else digest(s, signal + "-ring", F.col("ring_idx"))
        )
        shares = is_ring & chance(s, "share-" + signal, p.ring_signal_rates.get(signal, 0.0), idx)
        value = F.when(shares, ring_value)
        if signal in ("device", "wifi"):
            value = value.when(
                F.col("family_idx").isNotNull(), digest(s, signal + "-family", F.col("family_idx"))
            )
        if signal == "ip":
            value = value.when(~is_ring & chance(s, "natted", 0.5, idx), F.col("nat_ip"))
        if signal == "ship_origin":
            value = value.when(F.col("ship_hub").isNotNull(), F.col("ship_hub"))
        frame = frame.withColumn(f"{signal}_value", value.otherwise(own))
    return frame.withColumn("id_doc_hash", digest(s, "id_doc", idx))


def _ipv4(seed: int, salt: str, key: Column) -> Column:
    octets = [integer(seed, f"{salt}-{n}", 1, 254, key).cast("string") for n in range(4)]
    return F.concat_ws(".", *octets)


def _seller_snapshots(spark: SparkSession, spec: WorldSpec, sellers: DataFrame) -> DataFrame:
    """The full sellers table on every day: every account opened by then."""
    s = spec.seed
    days = spark.range(spec.days).select(F.col("id").cast("int").alias("day"))
    idx = F.col("seller_idx")
    return (
        sellers.crossJoin(F.broadcast(days))
        .where(F.col("opened_day") <= F.col("day"))
        .select(
            "seller_id",
            F.when(
                F.col("opened_day") > 0,
                _ts(spec, F.col("opened_day"), integer(s, "reg_s", 0, 3600, idx)),
            )
            .otherwise(
                _ts(spec, -F.col("registered_days_ago") - 1, integer(s, "reg_s", 0, 86000, idx))
            )
            .alias("registered_at"),
            pick(
                ["US", "CN", "DE", "GB", "FR", "TR", "VN", "IN", "BR", "JP"],
                F.xxhash64(F.lit(s), F.lit("cty"), idx),
            ).alias("country"),
            "id_doc_hash",
            F.when(F.col("basic_template"), F.lit("basic"))
            .otherwise(
                pick(
                    ["studio", "boutique", "flagship", "classic"],
                    F.xxhash64(F.lit(s), F.lit("tplname"), idx),
                )
            )
            .alias("store_template"),
            F.when(F.col("basic_template"), integer(s, "mods", 0, 2, idx))
            .otherwise(integer(s, "mods", 2, 14, idx))
            .alias("store_modules"),
            F.col("payment_value").alias("payment_account_hash"),
            F.col("bank_value").alias("bank_account_hash"),
            F.col("return_address_value").alias("return_address_hash"),
            F.when(chance(s, "phone_known", 0.9, idx), F.col("phone_value")).alias("phone_hash"),
            _dt(spec, F.col("day")).alias("dt"),
        )
    )


def _brand_registry(spark: SparkSession, spec: WorldSpec, sellers: DataFrame) -> DataFrame:
    rows = [
        (n, b.name, b.category, b.reference_price, [b.name.lower(), *misspellings(b.name)])
        for n, b in enumerate(BRANDS)
    ]
    brands = spark.createDataFrame(
        rows, "brand_idx long, brand string, category string, ref double, terms array<string>"
    )
    authorised = (
        sellers.where(F.col("authorised_brand").isNotNull())
        .groupBy(F.col("authorised_brand").alias("brand_idx"))
        .agg(F.sort_array(F.collect_list("seller_id")).alias("authorized_seller_ids"))
    )
    return brands.join(authorised, "brand_idx", "left").select(
        "brand",
        "category",
        F.col("ref").cast("decimal(12,2)").alias("reference_price"),
        (F.col("ref") * 0.6).cast("decimal(12,2)").alias("min_authorized_price"),
        "authorized_seller_ids",
        F.col("terms").alias("protected_terms"),
        F.lit(spec.start).alias("dt"),
    )


def _listings(spark: SparkSession, spec: WorldSpec, sellers: DataFrame) -> DataFrame:
    """Every listing with its hidden truth; version 2 rows are later changes of the same listing."""
    p, s = spec.proportions, spec.seed
    brands = spark.createDataFrame(
        [
            (n, b.name, b.category, b.reference_price, list(b.products), list(misspellings(b.name)))
            for n, b in enumerate(BRANDS)
        ],
        "brand_idx long, brand_name string, brand_category string, ref double, products array<string>, typos array<string>",
    )
    idx = F.col("listing_idx")
    u = lambda salt: uniform(s, salt, idx)  # noqa: E731 - a local shorthand for this listing's draws
    base = (
        spark.range(spec.listings)
        .withColumnRenamed("id", "listing_idx")
        .withColumn(
            "seller_idx", F.pmod(F.xxhash64(F.lit(s), F.lit("owner"), idx), F.lit(spec.sellers))
        )
        .join(
            sellers.select(
                "seller_idx",
                "seller_id",
                "is_ring",
                "ring_idx",
                "opened_day",
                "authorised_brand",
                "image_value",
                "ship_origin_value",
            ),
            "seller_idx",
        )
        .withColumn(
            "day",
            F.greatest(
                F.col("opened_day"),
                F.when(u("day") < p.initial_catalog_share, F.lit(0)).otherwise(
                    integer(s, "day_n", 0, spec.days - 1, idx)
                ),
            ),
        )
        .withColumn("is_counterfeit", F.col("is_ring") & (u("fake") < p.counterfeit_share_in_ring))
        .withColumn(
            "kind",
            F.when(F.col("is_counterfeit"), "fake")
            .when(F.col("authorised_brand").isNotNull() & (u("auth") < 0.8), "authorised")
            .when(
                u("branded") < p.branded_share_honest,
                F.when(u("clear") < 0.15, "clearance").otherwise("genuine"),
            )
            .otherwise("generic"),
        )
        .withColumn(
            "brand_idx",
            F.when(F.col("kind") == "authorised", F.col("authorised_brand")).when(
                F.col("kind") != "generic",
                F.pmod(F.xxhash64(F.lit(s), F.lit("brand"), idx), F.lit(len(BRANDS))),
            ),
        )
        .join(F.broadcast(brands), "brand_idx", "left")
    )
    fake = F.col("kind") == "fake"
    ratio = (
        F.when(fake, 0.12 + u("ratio") * 0.38)
        .when(F.col("kind") == "authorised", 0.62 + u("ratio") * 0.25)
        .when(F.col("kind") == "clearance", 0.4 + u("ratio") * 0.3)
        .otherwise(0.85 + u("ratio") * 0.4)
    )
    price_usd = F.when(F.col("kind") == "generic", 3 + u("gprice") * 80).otherwise(
        F.col("ref") * ratio
    )
    currencies = list(spec.rates_to_usd)
    currency = F.when(
        u("cur") < 0.7, F.lit("USD") if "USD" in currencies else F.lit(currencies[0])
    ).otherwise(pick(currencies, F.xxhash64(F.lit(s), F.lit("cur_n"), idx)))
    rate = F.element_at(
        F.create_map(*[x for c, r in spec.rates_to_usd.items() for x in (F.lit(c), F.lit(r))]),
        currency,
    )
    product = F.when(
        F.col("kind") == "generic",
        pick(list(GENERIC_PRODUCTS), F.xxhash64(F.lit(s), F.lit("gp"), idx)),
    ).otherwise(
        F.element_at(
            F.col("products"),
            (F.pmod(F.xxhash64(F.lit(s), F.lit("pr"), idx), F.lit(3)) + 1).cast("int"),
        )
    )
    typo = F.element_at(
        F.col("typos"),
        (F.pmod(F.xxhash64(F.lit(s), F.lit("ty"), idx), F.size(F.col("typos"))) + 1).cast("int"),
    )
    # Fakes: the brand in the title (often misspelt), or hidden behind "designer style" wording.
    title_brand = (
        F.when(fake & (u("hide") < 0.25), F.lit("designer style"))
        .when(fake & (u("typo") < 0.4), F.initcap(typo))
        .when(F.col("kind") != "generic", F.col("brand_name"))
    )
    keyword = F.when(
        fake & (u("kw") < 0.35),
        pick(list(COUNTERFEIT_KEYWORDS), F.xxhash64(F.lit(s), F.lit("kwn"), idx)),
    )
    title = F.concat_ws(" ", title_brand, product, keyword, F.when(u("new") < 0.5, F.lit("new")))
    claimed_brand = (
        F.when(fake & (u("bfield") < 0.2), F.lit(None).cast("string"))
        .when(fake & (u("bfield") < 0.45), F.initcap(typo))
        .when(F.col("kind") != "generic", F.col("brand_name"))
    )
    image = F.when(fake & (uniform(s, "img", idx) < 0.5), F.col("image_value")).otherwise(
        digest(s, "img-own", idx).substr(1, 16)
    )
    created = _ts(spec, F.col("day"), integer(s, "sec", 0, 86399, idx))
    v1 = base.select(
        "listing_idx",
        "seller_id",
        "is_counterfeit",
        "day",
        "brand_name",
        F.concat(F.lit("L"), digest(s, "listing", idx).substr(1, 17)).alias("listing_id"),
        title.alias("title"),
        F.when(u("desc") < 0.8, F.concat_ws(" ", F.lit("Item:"), product)).alias("description"),
        claimed_brand.alias("brand"),
        F.coalesce(
            F.col("brand_category"), pick(list(CATEGORIES), F.xxhash64(F.lit(s), F.lit("cat"), idx))
        ).alias("category"),
        (price_usd / rate).cast("decimal(12,2)").alias("price"),
        currency.alias("currency"),
        image.alias("image_phash"),
        F.col("ship_origin_value").alias("ships_from"),
        F.lit("active").alias("status"),
        created.alias("created_at"),
        created.alias("updated_at"),
        F.lit(1).alias("version"),
    )
    # A later change of some listings (a new price or sold out): the latest version must win.
    later = v1.where(
        (F.col("day") < spec.days - 1) & (uniform(s, "chg", F.col("listing_idx")) < 0.05)
    )
    change_day = integer(s, "chg_day", F.col("day") + 1, spec.days - 1, F.col("listing_idx"))
    v2 = (
        later.withColumn("day", change_day)
        .withColumn(
            "status",
            F.when(uniform(s, "sold", F.col("listing_idx")) < 0.3, "sold_out").otherwise("active"),
        )
        .withColumn("price", (F.col("price") * 0.95).cast("decimal(12,2)"))
        .withColumn(
            "updated_at",
            _ts(spec, F.col("day"), integer(s, "chg_s", 0, 86399, F.col("listing_idx"))),
        )
        .withColumn("version", F.lit(2))
    )
    return v1.unionByName(v2).withColumn("dt", _dt(spec, F.col("day")))


def _sessions(spark: SparkSession, spec: WorldSpec, sellers: DataFrame) -> DataFrame:
    p, s = spec.proportions, spec.seed
    per_day = spark.range(spec.days * p.sessions_per_seller_day).select(
        (F.col("id") % spec.days).cast("int").alias("day"), F.col("id").alias("n")
    )
    key = [F.col("seller_idx"), F.col("n")]
    at_hub = chance(s, "hub", p.hub_session_share, *key)
    return (
        sellers.crossJoin(F.broadcast(per_day))
        .where(F.col("opened_day") <= F.col("day"))
        .select(
            F.concat(F.lit("X"), digest(s, "session", *key).substr(1, 20)).alias("session_id"),
            "seller_id",
            _ts(spec, F.col("day"), integer(s, "ses_s", 0, 86399, *key)).alias("event_ts"),
            F.col("device_value").alias("device_id"),
            F.when(at_hub, F.col("wifi_hub")).otherwise(F.col("wifi_value")).alias("wifi_bssid"),
            F.when(at_hub, F.col("nat_ip")).otherwise(F.col("ip_value")).alias("ip"),
            _dt(spec, F.col("day")).alias("dt"),
        )
    )


def _per_listing(spec: WorldSpec, listings: DataFrame, salt: str, count: Column) -> DataFrame:
    """Explode each first version of a listing into `count` events on days from its listing day."""
    s = spec.seed
    return (
        listings.where(F.col("version") == 1)
        .withColumn("n", F.explode(F.sequence(F.lit(1), F.greatest(count, F.lit(0)))))
        .withColumn(
            "event_day", integer(s, salt + "-day", F.col("day"), spec.days - 1, "listing_idx", "n")
        )
    )


def _reviews(spec: WorldSpec, listings: DataFrame, sellers: DataFrame) -> DataFrame:
    """Honest reviews, and for fakes bursts of duplicated 5-star reviews, some from the seller's own kit."""
    s, p = spec.seed, spec.proportions
    burst = F.col("is_counterfeit") & chance(s, "burst", 0.5, "listing_idx")
    count = F.when(burst, integer(s, "burst_n", 4, 8, "listing_idx")).otherwise(
        integer(s, "rev_n", 0, max(0, round(2 * p.reviews_per_listing)), "listing_idx")
    )
    kit = sellers.select("seller_id", "device_value", "ip_value")
    rows = _per_listing(spec, listings.withColumn("burst", burst), "rev", count).join(
        kit, "seller_id"
    )
    key = ["listing_idx", "n"]
    own_kit = F.col("burst") & chance(s, "kit", 0.35, *key)
    texts = [
        "Great product",
        "Works as described",
        "Fast shipping",
        "Not bad for the price",
        "Would buy again",
        "Quality could be better",
        "Exactly what I needed",
        "Arrived damaged",
    ]
    return (
        rows.select(
            F.concat(F.lit("R"), digest(s, "review", *key).substr(1, 20)).alias("review_id"),
            "listing_id",
            F.concat(F.lit("B"), digest(s, "buyer", *key).substr(1, 15)).alias("buyer_id"),
            F.when(F.col("burst"), F.lit(5))
            .otherwise(integer(s, "rating", 1, 5, *key))
            .alias("rating"),
            F.when(
                F.col("burst"),
                F.lit("Amazing quality, exactly like the original!!! Highly recommend seller"),
            )
            .otherwise(
                F.concat_ws(
                    ". ",
                    pick(texts, F.xxhash64(F.lit(s), F.lit("txt"), *[F.col(k) for k in key])),
                    F.col("n").cast("string"),
                )
            )
            .alias("review_text"),
            F.col("event_day").alias("day"),
            _ts(spec, F.col("event_day"), integer(s, "rev_s", 0, 86399, *key)).alias("created_at"),
            F.when(own_kit, F.col("device_value"))
            .otherwise(digest(s, "buyer-dev", *key))
            .alias("buyer_device_id"),
            F.when(own_kit, F.col("ip_value"))
            .otherwise(_ipv4(s, "buyer-ip", F.xxhash64(*[F.col(k) for k in key])))
            .alias("buyer_ip"),
        )
        .withColumn("dt", _dt(spec, F.col("day")))
        .drop("day")
    )


def _orders(spec: WorldSpec, listings: DataFrame, sellers: DataFrame) -> DataFrame:
    s, p = spec.seed, spec.proportions
    count = integer(s, "ord_n", 0, max(0, round(2 * p.orders_per_listing)), "listing_idx")
    money = sellers.select("seller_id", "payee_value", "ship_origin_value")
    rows = (
        _per_listing(spec, listings, "ord", count)
        .drop("ship_origin_value")
        .join(money, "seller_id")
    )
    key = ["listing_idx", "n"]
    quantity = integer(s, "qty", 1, 3, *key)
    return rows.select(
        F.concat(F.lit("O"), digest(s, "order", *key).substr(1, 20)).alias("order_id"),
        "listing_id",
        F.concat(F.lit("B"), digest(s, "obuyer", *key).substr(1, 15)).alias("buyer_id"),
        quantity.alias("quantity"),
        (F.col("price") * quantity).cast("decimal(14,2)").alias("amount"),
        _ts(spec, F.col("event_day"), integer(s, "ord_s", 0, 86399, *key)).alias("ordered_at"),
        F.col("ship_origin_value").alias("ship_origin"),
        pick(
            ["DHL", "UPS", "FedEx", "SF", "Cainiao"],
            F.xxhash64(F.lit(s), F.lit("cour"), *[F.col(k) for k in key]),
        ).alias("courier"),
        F.col("payee_value").alias("payee_account_hash"),
        _dt(spec, F.col("event_day")).alias("dt"),
    )


def _notices(spec: WorldSpec, listings: DataFrame) -> DataFrame:
    """Brand reports: a share of the fakes, a few genuine branded listings; verdicts come later."""
    s, p = spec.seed, spec.proportions
    branded_genuine = ~F.col("is_counterfeit") & F.col("brand_name").isNotNull()
    reported = listings.where((F.col("version") == 1) & F.col("brand_name").isNotNull()).where(
        (F.col("is_counterfeit") & chance(s, "report", p.report_rate, "listing_idx"))
        | (branded_genuine & chance(s, "false_report", p.false_report_rate, "listing_idx"))
    )
    notice_day = integer(s, "notice_day", F.col("day"), spec.days - 1, "listing_idx")
    delay = integer(s, "delay", 1, p.max_verdict_delay_days, "listing_idx")
    # Brands are right most of the time, not always: a few fakes are rejected, a few genuine confirmed.
    right = chance(s, "right", 0.95, "listing_idx")
    verdict = F.when(F.col("is_counterfeit") == right, "confirmed").otherwise("rejected")
    notices = reported.select(
        F.concat(F.lit("N"), digest(s, "notice", "listing_idx").substr(1, 15)).alias("notice_id"),
        F.col("brand_name").alias("brand"),
        "listing_id",
        "seller_id",
        notice_day.alias("notice_day"),
        _ts(spec, notice_day, integer(s, "not_s", 0, 86399, "listing_idx")).alias("received_at"),
        verdict.alias("final_verdict"),
        (notice_day + delay).alias("verdict_day"),
        chance(s, "stays_pending", 0.08, "listing_idx").alias("stays_pending"),
    )
    pending = notices.select(
        "*",
        F.col("notice_day").alias("day"),
        F.lit("pending").alias("verdict"),
        F.lit(None).cast("timestamp").alias("verdict_at"),
    )
    decided = notices.where(~F.col("stays_pending") & (F.col("verdict_day") < spec.days)).select(
        "*",
        F.col("verdict_day").alias("day"),
        F.col("final_verdict").alias("verdict"),
        _ts(spec, F.col("verdict_day"), F.lit(3600)).alias("verdict_at"),
    )
    return pending.unionByName(decided).select(
        *_contract("takedown_notices"), _dt(spec, F.col("day")).alias("dt")
    )
