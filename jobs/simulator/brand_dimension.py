"""The alliance's protected brands: a small constant dimension (a dozen rows by design)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Brand:
    name: str
    category: str
    reference_price: float
    products: tuple[str, ...]


BRANDS: tuple[Brand, ...] = (
    Brand("Lumora", "handbags", 420.0, ("tote bag", "shoulder bag", "clutch")),
    Brand("Vantelle", "handbags", 890.0, ("crossbody bag", "wallet", "backpack")),
    Brand("Orvique", "watches", 1250.0, ("chronograph watch", "dive watch", "dress watch")),
    Brand("Kestrion", "watches", 310.0, ("smart watch", "field watch", "watch strap")),
    Brand("Solvane", "sneakers", 180.0, ("running shoes", "high top sneakers", "trainers")),
    Brand("Zephyra", "sneakers", 150.0, ("basketball shoes", "slip-on sneakers", "court shoes")),
    Brand("Marcellin", "perfume", 120.0, ("eau de parfum", "cologne", "perfume gift set")),
    Brand("Aurelis", "cosmetics", 45.0, ("lipstick", "foundation", "eyeshadow palette")),
    Brand("Nordwyn", "electronics", 249.0, ("wireless earbuds", "headphones", "charger")),
    Brand("Bellacorte", "apparel", 95.0, ("hoodie", "t-shirt", "scarf")),
    Brand("Quillon", "sunglasses", 210.0, ("aviator sunglasses", "sunglasses", "eyeglass frames")),
    Brand("Tessaro", "jewelry", 560.0, ("bracelet", "necklace", "ring")),
)

GENERIC_PRODUCTS: tuple[str, ...] = (
    "cotton socks",
    "phone case",
    "usb cable",
    "kitchen towel",
    "water bottle",
    "desk lamp",
    "yoga mat",
    "notebook",
    "garden hose",
    "storage box",
    "shower curtain",
    "plant pot",
)
# Genuine listings of a brand priced like fakes, with the price-to-reference range each is drawn in.
CHEAP_GENUINE_KINDS: dict[str, tuple[float, float]] = {
    "outlet": (0.35, 0.6),
    "pre_owned": (0.2, 0.6),
    "spare_part": (0.1, 0.3),
    "bundle": (0.15, 0.5),
}
SPARE_PART_WORDING: tuple[str, ...] = (
    "spare part",
    "original box and packaging",
    "replacement part",
)
# Generic items that name the brand they fit: "case for Nordwyn wireless earbuds".
ACCESSORY_WORDING: tuple[str, ...] = (
    "case for",
    "cover for",
    "compatible with",
    "replacement strap for",
    "stand for",
    "cleaning kit for",
)
# Brands forbid authorised sellers to ask less than this share of the reference price.
MIN_AUTHORISED_RATIO = 0.6
CATEGORIES: tuple[str, ...] = tuple(sorted({b.category for b in BRANDS} | {"home", "garden"}))
COUNTERFEIT_KEYWORDS: tuple[str, ...] = (
    "replica",
    "1:1",
    "AAA quality",
    "mirror quality",
    "dupe",
    "master copy",
)


def misspellings(name: str) -> tuple[str, ...]:
    """Known misspellings a brand registers as protected terms: a dropped, a doubled, a swapped letter."""
    lower = name.lower()
    dropped = lower[:2] + lower[3:]
    doubled = lower[:3] + lower[2] + lower[3:]
    swapped = lower[:1] + lower[2] + lower[1] + lower[3:]
    return tuple(dict.fromkeys(t for t in (dropped, doubled, swapped) if t != lower))
