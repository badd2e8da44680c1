"""Integer rupiah, named rounding and exact allocation (shared/domain/money.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.money import (
    Rounding,
    allocate,
    apply_rate,
    format_idr,
    round_rupiah,
    rupiah,
)

# --- the rupiah type ---------------------------------------------------------------


def test_rupiah_accepts_integers_only() -> None:
    assert rupiah(1_500) == 1_500
    assert rupiah(-3) == -3
    with pytest.raises(TypeError, match="integers"):
        rupiah(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="integers"):
        rupiah(True)
    with pytest.raises(TypeError, match="integers"):
        rupiah(Decimal("10"))  # type: ignore[arg-type]


# --- rounding ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "half_up", "half_even"),
    [
        ("2.5", 3, 2),
        ("3.5", 4, 4),
        ("2.4999", 2, 2),
        ("2.5001", 3, 3),
        ("-2.5", -3, -2),
        ("0.5", 1, 0),
        ("7", 7, 7),
    ],
)
def test_half_up_and_half_even_differ_only_on_exact_halves(
    amount: str, half_up: int, half_even: int
) -> None:
    assert round_rupiah(Decimal(amount)) == half_up  # half-up is the default
    assert round_rupiah(Decimal(amount), Rounding.HALF_UP) == half_up
    assert round_rupiah(Decimal(amount), Rounding.HALF_EVEN) == half_even


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        ("416666.67", 100, 416_700),
        ("416649.99", 100, 416_600),
        ("416650", 100, 416_700),
        ("1500", 1000, 2_000),
        ("1499.99", 1000, 1_000),
        ("191666.67", 100, 191_700),
        ("191666.67", 1, 191_667),
    ],
)
def test_rounding_to_a_unit_of_100_or_1000_rupiah(amount: str, unit: int, expected: int) -> None:
    assert round_rupiah(Decimal(amount), unit=unit) == expected


def test_half_even_to_a_unit_goes_to_the_even_multiple() -> None:
    assert round_rupiah(Decimal(250), Rounding.HALF_EVEN, unit=100) == 200
    assert round_rupiah(Decimal(350), Rounding.HALF_EVEN, unit=100) == 400


@pytest.mark.parametrize("unit", [0, 10, 500, -100])
def test_a_unit_other_than_1_100_or_1000_is_refused(unit: int) -> None:
    with pytest.raises(ValueError, match="rounding unit"):
        round_rupiah(Decimal(1), unit=unit)


def test_apply_rate_multiplies_then_rounds() -> None:
    """2% a month on 10,000,000 is 200,000; 2% on 9,583,300 is 191,666 → 191,700 to the 100."""
    assert apply_rate(10_000_000, Decimal("0.02")) == 200_000
    assert apply_rate(9_583_300, Decimal("0.02"), unit=100) == 191_700
    assert apply_rate(5, Decimal("0.1")) == 1  # 0.5 → 1 half-up
    assert apply_rate(5, Decimal("0.1"), Rounding.HALF_EVEN) == 0


# --- allocation --------------------------------------------------------------------


def test_allocation_in_proportion_with_the_remainder_to_the_largest_fractions() -> None:
    """100 by 1:1:1 → 33.33 each: floors 33+33+33 = 99, one rupiah left, tie → first."""
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]


def test_largest_remainder_beats_position() -> None:
    """10 by 2:3:5 of 10 → exact; 11 by 2:3:5 → 2.2, 3.3, 5.5 → floors 2, 3, 5 and the
    rupiah left goes to the largest fraction (.5, the third)."""
    assert allocate(10, [2, 3, 5]) == [2, 3, 5]
    assert allocate(11, [2, 3, 5]) == [2, 3, 6]


def test_ties_go_to_the_earlier_position_deterministically() -> None:
    """12,345 by 6:3:1 → 7,407 / 3,703.5 / 1,234.5: the .5 tie goes to the second lender."""
    assert allocate(12_345, [6_000_000, 3_000_000, 1_000_000]) == [7_407, 3_704, 1_234]


def test_allocation_accepts_decimal_weights_and_zero_weights() -> None:
    assert allocate(1_000, [Decimal("0.25"), Decimal("0.75")]) == [250, 750]
    assert allocate(1_000, [0, 1, 0]) == [0, 1_000, 0]


def test_a_negative_total_is_the_mirror_image_of_the_positive_one() -> None:
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]


@pytest.mark.parametrize(
    ("weights", "message"),
    [([], "at least one weight"), ([1, -1], "must not be negative"), ([0, 0], "not all be zero")],
)
def test_allocation_refuses_weights_it_cannot_split_by(weights: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        allocate(100, weights)


@given(
    total=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=12).filter(
        any
    ),
)
def test_allocation_always_adds_up_and_each_part_is_within_a_rupiah_of_its_exact_share(
    total: int, weights: list[int]
) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part) - exact) < 1
        if weight == 0:
            assert part == 0


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=8),
)
def test_a_larger_weight_never_gets_a_smaller_part(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    for i, weight_i in enumerate(weights):
        for j, weight_j in enumerate(weights):
            if weight_i > weight_j:
                assert parts[i] >= parts[j]


# --- display -----------------------------------------------------------------------


def test_format_idr_uses_indonesian_grouping() -> None:
    assert format_idr(1_234_567) == "Rp 1.234.567"
    assert format_idr(0) == "Rp 0"
    assert format_idr(-2_500) == "-Rp 2.500"
