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

Knobs that are off in the demo world (jobs/simulator/scenarios.py turns them on) add what real
marketplaces have: genuine listings priced like fakes (authorised discounters, outlet, pre-owned,
spare parts, bundles, price typos, accessories that name a brand), brands that report at their own
rates and report cheap genuine listings, rings split into workshops tied only by money, logistics
and photos, accounts that keep one weak tie, VPN exits and parcel forwarders. The truth says what
each listing is (`kind`, `price_typo`) and which workshop a ring account belongs to.

Each table is a DataFrame with a `dt` column (the export day); the job writes it partitioned by dt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from data_contracts.schemas import RAW_TABLES
from jobs.runtime.conf import SimulatorConf
from jobs.simulator.brand_dimension import (
    ACCESSORY_WORDING,
    BRANDS,
    CATEGORIES,
    CHEAP_GENUINE_KINDS,
    COUNTERFEIT_KEYWORDS,
    GENERIC_PRODUCTS,
    MIN_AUTHORISED_RATIO,
    SPARE_PART_WORDING,
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
# What a ring's workshops keep to themselves (their own kit and accounts); the other signals (money,
# logistics, photos) are the ring's, shared across its workshops.
WORKSHOP_SIGNALS = ("device", "wifi", "ip", "payment", "bank", "return_address", "phone")
# The weak signals an evasive account may keep as its only tie to its ring.
LONE_SIGNALS = ("image", "ship_origin", "payee")


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
        "workshop",
        F.when(
            F.col("is_ring"),
            F.concat(
                F.lit("factory-"), _factory(spec.proportions.rings_per_factory).cast("string")
            ),
        ).alias("factory"),
    )
    truth_listings = listings.where(F.col("version") == 1).select(
        "listing_id", "is_counterfeit", "kind", "price_typo"
    )
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
    reseller = ~is_ring & (F.pmod(idx, F.lit(53)) == 7)
    discounters = p.authorised_discounter_share
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
        # Authorised resellers: a few honest accounts per brand, with real discounts; authorised
        # discounters (registered too) sell the same brand far below the reference.
        .withColumn(
            "is_discounter", ~is_ring & ~reseller & chance(s, "discounter", discounters, idx)
        )
        .withColumn(
            "authorised_brand",
            F.when(reseller, F.pmod(idx, F.lit(len(BRANDS)))).when(
                F.col("is_discounter"),
                F.pmod(F.xxhash64(F.lit(s), F.lit("disc_brand"), idx), F.lit(len(BRANDS))),
            ),
        )
        .withColumn(
            "basic_template",
            F.when(is_ring, chance(s, "tpl", p.ring_basic_template_share, idx)).otherwise(
                chance(s, "tpl", p.honest_basic_template_share, idx)
            ),
        )
        .withColumn(
            "workshop",
            F.when(
                is_ring,
                F.pmod(F.xxhash64(F.lit(s), F.lit("workshop"), idx), F.lit(p.workshops_per_ring)),
            ).cast("int"),
        )
        .withColumn(
            "lone_signal",
            F.when(
                is_ring & chance(s, "lone", p.lone_signal_share, idx),
                pick(list(LONE_SIGNALS), F.xxhash64(F.lit(s), F.lit("lone_n"), idx)),
            ),
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
                F.concat(
                    F.lit("FC-"), integer(s, "fc_n", 1, p.fulfilment_centres, idx).cast("string")
                ),
            ).when(
                ~is_ring & chance(s, "forwarder", p.parcel_forwarder_share, idx),
                F.concat(
                    F.lit("PF-"), integer(s, "pf_n", 1, p.parcel_forwarders, idx).cast("string")
                ),
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
        unit = _ring_unit(signal, p.workshops_per_ring, p.rings_per_factory)
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
            _ipv4(s, "ip-ring", unit)
            if signal == "ip"
            else digest(s, signal + "-ring", unit).substr(1, 16)
            if signal == "image"
            else F.concat(F.lit("WH-"), digest(s, signal + "-ring", unit).substr(1, 8))
            if signal == "ship_origin"
            else digest(s, signal + "-ring", unit)
        )
        shares = is_ring & _shares_ring_signal(s, signal, p)
        value = F.when(shares, ring_value)
        if signal in ("device", "wifi"):
            value = value.when(
                F.col("family_idx").isNotNull(), digest(s, signal + "-family", F.col("family_idx"))
            )
        if signal == "ip":
            value = value.when(
                ~is_ring & chance(s, "natted", p.nat_seller_share, idx), F.col("nat_ip")
            )
        if signal == "ship_origin":
            value = value.when(F.col("ship_hub").isNotNull(), F.col("ship_hub"))
        frame = frame.withColumn(f"{signal}_value", value.otherwise(own))
    return frame.withColumn("id_doc_hash", digest(s, "id_doc", idx))


def _ring_unit(signal: str, workshops: int, rings_per_factory: int) -> Column:
    """Whose value a ring account shares: its ring's, for a workshop's own kit its workshop's, and
    for the ship origin its factory's (`rings_per_factory` rings ship from one: an upstream source
    that nothing but logistics ties, so it links no account across rings).

    One workshop per ring and one ring per factory key by the ring alone, so the default world
    keeps its values."""
    if signal == "ship_origin" and rings_per_factory > 1:
        return _factory(rings_per_factory)
    if workshops == 1 or signal not in WORKSHOP_SIGNALS:
        return F.col("ring_idx")
    return F.col("ring_idx") * workshops + F.col("workshop")


def _factory(rings_per_factory: int) -> Column:
    return F.floor(F.col("ring_idx") / F.lit(rings_per_factory))


def _shares_ring_signal(seed: int, signal: str, p: SimulatorConf) -> Column:
    """Whether a ring account uses its ring's `signal`.

    An evasive (lone-signal) account keeps exactly one weak tie; accounts opened after day one
    share each signal less often when new_account_signal_scale < 1 (the operator learned)."""
    idx = F.col("seller_idx")
    rate: float | Column = p.ring_signal_rates.get(signal, 0.0)
    if p.new_account_signal_scale != 1.0:
        rate = F.when(F.col("opened_day") > 0, F.lit(rate * p.new_account_signal_scale)).otherwise(
            F.lit(rate)
        )
    shares = chance(seed, "share-" + signal, rate, idx)
    if p.lone_signal_share > 0:
        shares = F.when(F.col("lone_signal").isNotNull(), F.col("lone_signal") == signal).otherwise(
            shares
        )
    return shares


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
        (F.col("ref") * MIN_AUTHORISED_RATIO).cast("decimal(12,2)").alias("min_authorized_price"),
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
                "is_discounter",
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
            .when(
                F.col("authorised_brand").isNotNull() & (u("auth") < 0.8),
                F.when(F.col("is_discounter"), "discounter").otherwise("authorised"),
            )
            .when(
                u("branded") < p.branded_share_honest,
                F.when(u("clear") < 0.15, "clearance")
                .when(
                    u("cheap") < p.cheap_genuine_share,
                    pick(list(CHEAP_GENUINE_KINDS), F.xxhash64(F.lit(s), F.lit("cheap_n"), idx)),
                )
                .otherwise("genuine"),
            )
            .when(u("accessory") < p.brand_accessory_share, "brand_accessory")
            .otherwise("generic"),
        )
        .withColumn(
            "brand_idx",
            F.when(F.col("kind").isin("authorised", "discounter"), F.col("authorised_brand")).when(
                F.col("kind") != "generic",
                F.pmod(F.xxhash64(F.lit(s), F.lit("brand"), idx), F.lit(len(BRANDS))),
            ),
        )
        .join(F.broadcast(brands), "brand_idx", "left")
    )
    kind = F.col("kind")
    fake = kind == "fake"
    ratio = (
        F.when(fake, 0.12 + u("ratio") * 0.38)
        .when(kind == "authorised", 0.62 + u("ratio") * 0.25)
        .when(kind == "clearance", 0.4 + u("ratio") * 0.3)
        .when(kind == "discounter", 0.3 + u("ratio") * 0.3)
    )
    for cheap_kind, (low, high) in CHEAP_GENUINE_KINDS.items():
        ratio = ratio.when(kind == cheap_kind, low + u("ratio") * (high - low))
    ratio = ratio.otherwise(0.85 + u("ratio") * 0.4)
    price_usd = (
        F.when(kind == "generic", 3 + u("gprice") * 80)
        .when(kind == "brand_accessory", 3 + u("gprice") * 37)
        .otherwise(F.col("ref") * ratio)
    )
    # A typo moves the decimal point of a genuine listing's price, one way or the other.
    price_typo = ~F.col("is_counterfeit") & chance(s, "price_typo", p.price_typo_rate, idx)
    typo_up = u("typo_up") < 0.5
    typo_factor = F.when(~price_typo, F.lit(1.0)).when(typo_up, 10.0).otherwise(0.1)
    currencies = list(spec.rates_to_usd)
    currency = F.when(
        u("cur") < p.home_currency_share,
        F.lit("USD") if "USD" in currencies else F.lit(currencies[0]),
    ).otherwise(pick(currencies, F.xxhash64(F.lit(s), F.lit("cur_n"), idx)))
    rate = F.element_at(
        F.create_map(*[x for c, r in spec.rates_to_usd.items() for x in (F.lit(c), F.lit(r))]),
        currency,
    )
    product = F.when(
        kind == "generic",
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
        .when(kind != "generic", F.col("brand_name"))
    )
    keyword = F.when(
        fake & (u("kw") < 0.35),
        pick(list(COUNTERFEIT_KEYWORDS), F.xxhash64(F.lit(s), F.lit("kwn"), idx)),
    )
    # Genuine kinds say what they are: "pre-owned ...", "... outlet", "case for <brand> ...".
    wording_before = F.when(kind == "pre_owned", F.lit("pre-owned")).when(
        kind == "brand_accessory",
        pick(list(ACCESSORY_WORDING), F.xxhash64(F.lit(s), F.lit("acc_n"), idx)),
    )
    wording_after = (
        F.when(kind == "outlet", F.lit("outlet"))
        .when(kind == "bundle", F.lit("sample bundle"))
        .when(
            kind == "spare_part",
            pick(list(SPARE_PART_WORDING), F.xxhash64(F.lit(s), F.lit("spare_n"), idx)),
        )
    )
    title = F.concat_ws(
        " ",
        wording_before,
        title_brand,
        product,
        wording_after,
        keyword,
        F.when(u("new") < 0.5, F.lit("new")),
    )
    # An accessory names the brand it fits; it does not claim to be the brand.
    claimed_brand = (
        F.when(fake & (u("bfield") < 0.2), F.lit(None).cast("string"))
        .when(fake & (u("bfield") < 0.45), F.initcap(typo))
        .when(~kind.isin("generic", "brand_accessory"), F.col("brand_name"))
    )
    image = F.when(fake & (uniform(s, "img", idx) < 0.5), F.col("image_value")).otherwise(
        digest(s, "img-own", idx).substr(1, 16)
    )
    created = _ts(spec, F.col("day"), integer(s, "sec", 0, 86399, idx))
    v1 = base.select(
        "listing_idx",
        "seller_id",
        "is_counterfeit",
        "kind",
        price_typo.alias("price_typo"),
        # What a brand sees when it looks: a genuine listing priced like a fake.
        (
            ~F.col("is_counterfeit")
            & (price_usd * typo_factor < F.col("ref") * MIN_AUTHORISED_RATIO)
        ).alias("looks_cheap"),
        "day",
        "brand_name",
        F.concat(F.lit("L"), digest(s, "listing", idx).substr(1, 17)).alias("listing_id"),
        title.alias("title"),
        F.when(u("desc") < 0.8, F.concat_ws(" ", F.lit("Item:"), product)).alias("description"),
        claimed_brand.alias("brand"),
        F.coalesce(
            F.col("brand_category"), pick(list(CATEGORIES), F.xxhash64(F.lit(s), F.lit("cat"), idx))
        ).alias("category"),
        _price(price_usd, rate, price_typo, typo_up).alias("price"),
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


def _price(price_usd: Column, rate: Column, price_typo: Column, typo_up: Column) -> Column:
    """The asking price in its currency, to the cent; a typo multiplies it or divides it by ten."""
    price = (price_usd / rate).cast("decimal(12,2)")
    cent = F.lit(0.01).cast("decimal(12,2)")
    return (
        F.when(~price_typo, price)
        .when(typo_up, (price * 10).cast("decimal(12,2)"))
        .otherwise(F.greatest((price / 10).cast("decimal(12,2)"), cent))
    )


def _sessions(spark: SparkSession, spec: WorldSpec, sellers: DataFrame) -> DataFrame:
    p, s = spec.proportions, spec.seed
    per_day = spark.range(spec.days * p.sessions_per_seller_day).select(
        (F.col("id") % spec.days).cast("int").alias("day"), F.col("id").alias("n")
    )
    key = [F.col("seller_idx"), F.col("n")]
    at_hub = chance(s, "hub", p.hub_session_share, *key)
    # A commercial VPN: a few exit addresses shared by whoever uses it, honest or not.
    at_vpn = chance(s, "vpn", p.vpn_session_share, *key)
    vpn_exit = _ipv4(
        s, "vpn", F.pmod(F.xxhash64(F.lit(s), F.lit("vpn_n"), *key), F.lit(p.vpn_exit_ips))
    )
    return (
        sellers.crossJoin(F.broadcast(per_day))
        .where(F.col("opened_day") <= F.col("day"))
        .select(
            F.concat(F.lit("X"), digest(s, "session", *key).substr(1, 20)).alias("session_id"),
            "seller_id",
            _ts(spec, F.col("day"), integer(s, "ses_s", 0, 86399, *key)).alias("event_ts"),
            F.col("device_value").alias("device_id"),
            F.when(at_hub, F.col("wifi_hub")).otherwise(F.col("wifi_value")).alias("wifi_bssid"),
            F.when(at_vpn, vpn_exit)
            .when(at_hub, F.col("nat_ip"))
            .otherwise(F.col("ip_value"))
            .alias("ip"),
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
    """Brand reports: a share of the fakes, a few genuine branded listings; verdicts come later.

    Brands report what looks suspicious to them: each at its own rate (report_rate_spread), and
    genuine listings priced like fakes more often than others (suspicious_report_rate)."""
    s, p = spec.seed, spec.proportions
    branded_genuine = ~F.col("is_counterfeit") & F.col("brand_name").isNotNull()
    reported = listings.where((F.col("version") == 1) & F.col("brand_name").isNotNull()).where(
        (F.col("is_counterfeit") & chance(s, "report", _brand_report_rate(s, p), "listing_idx"))
        | (branded_genuine & chance(s, "false_report", p.false_report_rate, "listing_idx"))
        | (
            F.col("looks_cheap")
            & chance(s, "suspicious_report", p.suspicious_report_rate, "listing_idx")
        )
    )
    notice_day = integer(s, "notice_day", F.col("day"), spec.days - 1, "listing_idx")
    delay = integer(s, "delay", 1, p.max_verdict_delay_days, "listing_idx")
    # Brands are right most of the time, not always: a few fakes are rejected, a few genuine confirmed.
    right = chance(s, "right", 1 - p.wrong_verdict_rate, "listing_idx")
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
        chance(s, "stays_pending", p.stays_pending_rate, "listing_idx").alias("stays_pending"),
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


def _brand_report_rate(seed: int, p: SimulatorConf) -> float | Column:
    """The share of its fakes a brand reports: report_rate, spread per brand by report_rate_spread."""
    if p.report_rate_spread == 0:
        return p.report_rate
    spread = 1 + p.report_rate_spread * (2 * uniform(seed, "brand_report", "brand_name") - 1)
    return F.least(F.lit(1.0), F.lit(p.report_rate) * spread)
