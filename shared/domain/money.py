"""Integer rupiah, named rounding, and exact allocation.

Amounts are `Rupiah` (an `int` in the smallest unit, the rupiah itself).
Rates are `Decimal`. Every conversion from a rate-times-amount product back to
rupiah goes through `round_rupiah` with a named rounding mode, and every split
of an amount into parts goes through `allocate`, whose parts always add up to
the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import Enum
from typing import NewType

Rupiah = NewType("Rupiah", int)


class Rounding(Enum):
    """How a fractional rupiah amount becomes a whole one."""

    HALF_UP = ROUND_HALF_UP
    HALF_EVEN = ROUND_HALF_EVEN


ALLOWED_UNITS = (1, 100, 1000)


def rupiah(value: int) -> Rupiah:
    """A checked rupiah amount: an int (never a bool or a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"rupiah amounts are integers, got {type(value).__name__}: {value!r}")
    return Rupiah(value)


def round_rupiah(amount: Decimal, rounding: Rounding = Rounding.HALF_UP, unit: int = 1) -> Rupiah:
    """Round a Decimal amount to a multiple of `unit` rupiah (1, 100 or 1,000)."""
    if unit not in ALLOWED_UNITS:
        raise ValueError(f"rounding unit must be one of {ALLOWED_UNITS}, got {unit}")
    units = (amount / unit).quantize(Decimal(1), rounding=rounding.value)
    return Rupiah(int(units) * unit)


def apply_rate(
    amount: int, rate: Decimal, rounding: Rounding = Rounding.HALF_UP, unit: int = 1
) -> Rupiah:
    """`amount × rate`, rounded to whole units of rupiah."""
    return round_rupiah(Decimal(amount) * rate, rounding, unit)


def allocate(total: int, weights: Sequence[int | Decimal]) -> list[Rupiah]:
    """Split `total` rupiah in proportion to `weights`, exactly (largest remainder).

    Each part first gets the floor of its exact share; the rupiah left over go
    one each to the parts with the largest fractional remainders, ties to the
    earlier position. Parts always sum to `total`. A negative total is split as
    the mirror image of its absolute value.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("allocation weights must not be negative")
    weight_sum = sum((Decimal(w) for w in weights), Decimal(0))
    if weight_sum == 0:
        raise ValueError("allocation weights must not all be zero")
    if total < 0:
        return [Rupiah(-part) for part in allocate(-total, weights)]
    floors: list[int] = []
    remainders: list[Decimal] = []
    for weight in weights:
        exact = Decimal(total) * Decimal(weight) / weight_sum
        floor = int(exact)  # exact >= 0, so int() is the floor
        floors.append(floor)
        remainders.append(exact - floor)
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [Rupiah(part) for part in floors]


def format_idr(amount: int) -> str:
    """`Rp 1.234.567` — Indonesian grouping, for demos and reports (not for contracts)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")
