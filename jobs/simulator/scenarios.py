"""Named and randomised worlds: overrides of the simulator conf, declared in this one place.

The demo world is the one the team built the detector on. A scenario turns on, at a stated level,
what real marketplaces have and the demo world lacks (genuine listings priced like fakes, brands
that report selectively and wrongly, rings that evade, honest hubs); a randomised world draws every
knob from its range below with a seeded RNG, so that a detector can be judged on worlds no one
tuned it on (BENCHMARKS.md names the held-out seeds). Each knob stays a documented conf key
(`simulator.*` in conf/base.yaml, README "Configuration"): a scenario is only a set of values.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from jobs.runtime.conf import ConfError, SimulatorConf

# Genuine listings priced like fakes, and genuine listings that name a brand.
_GENUINE_BELOW_REFERENCE: dict[str, Any] = {
    "authorised_discounter_share": 0.04,
    "cheap_genuine_share": 0.3,
    "price_typo_rate": 0.01,
    "brand_accessory_share": 0.25,
    "honest_basic_template_share": 0.35,
    "home_currency_share": 0.4,
}
# Brands that report what looks suspicious to them, at their own rates, and get it wrong.
_SELECTIVE_BRANDS: dict[str, Any] = {
    "report_rate": 0.1,
    "report_rate_spread": 0.9,
    "suspicious_report_rate": 0.08,
    "wrong_verdict_rate": 0.12,
    "stays_pending_rate": 0.25,
    "max_verdict_delay_days": 5,
}
# Operators who split their rings, keep one weak tie, dress up their stores, learn after takedowns.
_EVASIVE_RINGS: dict[str, Any] = {
    "lone_signal_share": 0.3,
    "workshops_per_ring": 3,
    "new_account_share": 0.4,
    "new_account_signal_scale": 0.5,
    "ring_basic_template_share": 0.4,
}
# Identifiers shared by many honest accounts: VPN exits, forwarders, fulfilment centres, Wi-Fi, NAT.
_HONEST_HUBS: dict[str, Any] = {
    "vpn_session_share": 0.15,
    "vpn_exit_ips": 10,
    "parcel_forwarder_share": 0.15,
    "parcel_forwarders": 4,
    "fulfilment_centres": 2,
    "warehouse_share": 0.4,
    "sellers_per_wifi_hub": 400,
    "sellers_per_nat_ip": 600,
    "nat_seller_share": 0.8,
    "hub_session_share": 0.45,
}

SCENARIOS: Mapping[str, Mapping[str, Any]] = {
    "demo": {},
    "genuine_below_reference": _GENUINE_BELOW_REFERENCE,
    "selective_brands": _SELECTIVE_BRANDS,
    "evasive_rings": _EVASIVE_RINGS,
    "honest_hubs": _HONEST_HUBS,
    "real_marketplace": {
        **_GENUINE_BELOW_REFERENCE,
        **_SELECTIVE_BRANDS,
        **_EVASIVE_RINGS,
        **_HONEST_HUBS,
    },
}

# Where --randomise draws each knob (inclusive; an int range draws an int). Every knob of
# SimulatorConf has one; each ring signal's rate is drawn in the `ring_signal_rates` range.
RANGES: Mapping[str, tuple[float, float] | tuple[int, int]] = {
    "listings_per_seller": (10.0, 40.0),
    "ring_seller_share": (0.02, 0.08),
    "mean_ring_size": (3.0, 8.0),
    "counterfeit_share_in_ring": (0.5, 0.95),
    "family_seller_share": (0.0, 0.06),
    "new_account_share": (0.1, 0.5),
    "ring_signal_rates": (0.15, 0.7),
    "sellers_per_wifi_hub": (100, 600),
    "sellers_per_nat_ip": (150, 800),
    "hub_session_share": (0.1, 0.5),
    "warehouse_share": (0.1, 0.5),
    "initial_catalog_share": (0.7, 0.95),
    "branded_share_honest": (0.3, 0.7),
    "reviews_per_listing": (0.5, 2.0),
    "orders_per_listing": (0.5, 2.0),
    "sessions_per_seller_day": (1, 3),
    "report_rate": (0.05, 0.3),
    "false_report_rate": (0.0, 0.03),
    "max_verdict_delay_days": (1, 6),
    "authorised_discounter_share": (0.0, 0.05),
    "cheap_genuine_share": (0.0, 0.3),
    "price_typo_rate": (0.0, 0.02),
    "brand_accessory_share": (0.0, 0.3),
    "home_currency_share": (0.3, 0.9),
    "ring_basic_template_share": (0.3, 0.9),
    "honest_basic_template_share": (0.1, 0.4),
    "report_rate_spread": (0.0, 0.9),
    "suspicious_report_rate": (0.0, 0.1),
    "wrong_verdict_rate": (0.0, 0.15),
    "stays_pending_rate": (0.0, 0.25),
    "lone_signal_share": (0.0, 0.3),
    "workshops_per_ring": (1, 3),
    "new_account_signal_scale": (0.3, 1.0),
    "nat_seller_share": (0.3, 0.8),
    "fulfilment_centres": (1, 6),
    "parcel_forwarder_share": (0.0, 0.2),
    "parcel_forwarders": (2, 10),
    "vpn_session_share": (0.0, 0.2),
    "vpn_exit_ips": (5, 40),
    "rings_per_factory": (1, 3),
}


def scenario(base: SimulatorConf, name: str) -> SimulatorConf:
    """`base` with the named scenario's values; an unknown name is a ConfError naming the known."""
    if name not in SCENARIOS:
        raise ConfError(f"unknown scenario '{name}' (known: {', '.join(SCENARIOS)})")
    return _with(base, SCENARIOS[name], f"scenario '{name}'")


def randomised(base: SimulatorConf, seed: int) -> SimulatorConf:
    """`base` with every knob in RANGES drawn by an RNG seeded with `seed` (same seed, same knobs).

    Knobs are drawn in the order of RANGES, ring signals in sorted order, so adding a knob at the
    end of RANGES leaves the earlier draws of every seed as they were. Floats keep 4 decimals, so
    that world.json reads as the values the world was built from."""
    rng = random.Random(seed)
    drawn: dict[str, Any] = {}
    for knob, (low, high) in RANGES.items():
        if knob == "ring_signal_rates":
            drawn[knob] = {
                signal: round(rng.uniform(low, high), 4)
                for signal in sorted(base.ring_signal_rates)
            }
        elif isinstance(low, int) and isinstance(high, int):
            drawn[knob] = rng.randint(low, high)
        else:
            drawn[knob] = round(rng.uniform(low, high), 4)
    return _with(base, drawn, f"--randomise {seed}")


def _with(base: SimulatorConf, overrides: Mapping[str, Any], source: str) -> SimulatorConf:
    try:
        return SimulatorConf.model_validate({**base.model_dump(), **overrides})
    except ValueError as exc:
        first = str(exc).strip().splitlines()
        raise ConfError(f"{source}: {' '.join(first[:3])}") from None
