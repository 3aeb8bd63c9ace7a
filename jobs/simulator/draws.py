"""Deterministic random draws as Spark columns: every value is a hash of (seed, row key, salt).

No random state lives anywhere: the same seed gives the same world on one core or a thousand,
whatever the partitioning, because each draw depends only on the row's own key.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

_SCALE = float(2**31)


def uniform(seed: int, salt: str, *keys: Column | str) -> Column:
    """A draw in [0, 1) from the hash of the seed, a salt naming the decision, and the row keys."""
    hashed = F.xxhash64(
        F.lit(seed), F.lit(salt), *[F.col(k) if isinstance(k, str) else k for k in keys]
    )
    return F.pmod(hashed, F.lit(2**31)).cast("double") / F.lit(_SCALE)


def integer(
    seed: int, salt: str, low: int | Column, high: int | Column, *keys: Column | str
) -> Column:
    """An integer in [low, high] (both inclusive)."""
    low_c = low if isinstance(low, Column) else F.lit(low)
    high_c = high if isinstance(high, Column) else F.lit(high)
    return (low_c + F.floor(uniform(seed, salt, *keys) * (high_c - low_c + 1))).cast("int")


def chance(seed: int, salt: str, probability: float | Column, *keys: Column | str) -> Column:
    """True with the given probability."""
    p = probability if isinstance(probability, Column) else F.lit(probability)
    return uniform(seed, salt, *keys) < p


def digest(seed: int, kind: str, *keys: Column | str) -> Column:
    """A 24-hex-char pseudonymised identifier (as the contract's hashed identifiers arrive)."""
    parts = [
        F.lit(str(seed)),
        F.lit(kind),
        *[(F.col(k) if isinstance(k, str) else k).cast("string") for k in keys],
    ]
    return F.substring(F.sha2(F.concat_ws("|", *parts), 256), 1, 24)


def pick(values: list[str], index: Column) -> Column:
    """values[index mod len(values)] for a small constant list."""
    return F.element_at(
        F.array(*[F.lit(v) for v in values]), (F.pmod(index, F.lit(len(values))) + 1).cast("int")
    )
