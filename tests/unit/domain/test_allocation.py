"""Repayment allocation: penalties → fees → interest → principal, oldest installment first."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.allocation import (
    InstallmentDue,
    InstallmentParts,
    allocate_repayment,
)
from shared.domain.errors import ValidationFailed
from shared.domain.money import Rupiah


def parts(
    late_fee: int = 0, fee: int = 0, fee_vat: int = 0, interest: int = 0, principal: int = 0
) -> InstallmentParts:
    return InstallmentParts(
        Rupiah(late_fee), Rupiah(fee), Rupiah(fee_vat), Rupiah(interest), Rupiah(principal)
    )


FIRST = InstallmentDue(1, date(2025, 1, 2), parts(12_345, 3_000, 330, 200_000, 416_700))
SECOND = InstallmentDue(2, date(2025, 2, 2), parts(2_000, 3_000, 330, 191_700, 416_700))


def test_worked_example_the_oldest_installment_is_paid_in_full_before_the_next() -> None:
    """Payment 700,000 against two overdue installments.

    Installment 1 owes 12,345 + 3,000 + 330 + 200,000 + 416,700 = 632,375: paid in full,
    67,625 left. Installment 2: late fee 2,000 (65,625 left), fee 3,000 and VAT 330
    (62,295 left), then interest 62,295 of its 191,700; its principal gets nothing.
    """
    result = allocate_repayment(700_000, [FIRST, SECOND])
    first, second = result.installments
    assert first.applied == FIRST.outstanding
    assert first.settled
    assert second.applied == parts(2_000, 3_000, 330, 62_295, 0)
    assert second.remaining == parts(0, 0, 0, 129_405, 416_700)
    assert not second.settled
    assert result.borrower_credit == 0
    assert result.collected == parts(14_345, 6_000, 660, 262_295, 416_700)
    assert result.collected.total == 700_000
    assert result.collected.lenders_part == 14_345 + 262_295 + 416_700
    assert result.collected.platform_part == 6_660


def test_an_overpayment_is_returned_as_borrower_credit() -> None:
    """Both installments owe 632,375 + 613,730 = 1,246,105; paying 1,300,000 leaves 53,895."""
    result = allocate_repayment(1_300_000, [FIRST, SECOND])
    assert all(installment.settled for installment in result.installments)
    assert result.collected.total == 1_246_105
    assert result.borrower_credit == 53_895


def test_a_payment_with_nothing_due_is_all_borrower_credit() -> None:
    result = allocate_repayment(50_000, [])
    assert result.installments == ()
    assert result.borrower_credit == 50_000


def test_an_exact_payment_leaves_no_credit() -> None:
    result = allocate_repayment(632_375, [SECOND, FIRST])
    assert [i.number for i in result.installments] == [1]
    assert result.borrower_credit == 0


def test_installments_are_paid_by_due_date_whatever_order_they_are_listed_in() -> None:
    same_day = InstallmentDue(3, date(2025, 1, 2), parts(principal=100))
    result = allocate_repayment(632_375 + 100 + 10, [SECOND, same_day, FIRST])
    assert [i.number for i in result.installments] == [1, 3, 2]
    assert result.installments[2].applied == parts(late_fee=10)


def test_a_short_payment_settles_penalties_then_fees_then_interest() -> None:
    assert allocate_repayment(10_000, [FIRST]).collected == parts(late_fee=10_000)
    assert allocate_repayment(12_345 + 3_330 + 5, [FIRST]).collected == parts(
        12_345, 3_000, 330, 5, 0
    )


def test_a_part_paid_fee_carries_its_vat_pro_rata() -> None:
    """1,000 towards fee 3,000 + VAT 330: 1,000 × 3,000/3,330 = 900.9 and 99.1 →
    floors 900 + 99 = 999, the rupiah left goes to the larger remainder (.9): 901 / 99."""
    result = allocate_repayment(12_345 + 1_000, [FIRST])
    assert result.collected == parts(12_345, 901, 99, 0, 0)


def test_installments_with_nothing_outstanding_are_skipped() -> None:
    paid_off = InstallmentDue(1, date(2025, 1, 2), parts())
    result = allocate_repayment(100, [paid_off, SECOND])
    assert [i.number for i in result.installments] == [2]


@pytest.mark.parametrize("payment", [0, -1, -632_375])
def test_a_payment_of_zero_or_less_is_refused(payment: int) -> None:
    with pytest.raises(ValidationFailed) as refused:
        allocate_repayment(payment, [FIRST])
    assert refused.value.field_errors == {"payment": "must be > 0"}


@pytest.mark.parametrize("payment", [1.5, True, "100"])
def test_a_payment_that_is_not_whole_rupiah_is_refused(payment: object) -> None:
    with pytest.raises(ValidationFailed, match="whole rupiah"):
        allocate_repayment(payment, [FIRST])  # type: ignore[arg-type]


def test_the_same_installment_listed_twice_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="listed once"):
        allocate_repayment(100, [FIRST, FIRST])


def test_negative_amounts_and_bad_installment_numbers_are_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parts(interest=-1)
    assert refused.value.field_errors == {"interest": "must not be negative"}
    with pytest.raises(ValidationFailed, match="numbered from 1"):
        InstallmentDue(0, date(2025, 1, 2), parts())


# --- properties --------------------------------------------------------------------

component = st.integers(min_value=0, max_value=5_000_000)
installment_parts = st.builds(parts, component, component, component, component, component)


@st.composite
def schedules(draw: st.DrawFn) -> list[InstallmentDue]:
    outstanding = draw(st.lists(installment_parts, max_size=6))
    start = date(2025, 1, 2)
    offsets = draw(
        st.lists(st.integers(0, 400), min_size=len(outstanding), max_size=len(outstanding))
    )
    return [
        InstallmentDue(n + 1, start + timedelta(days=offset), amounts)
        for n, (offset, amounts) in enumerate(zip(offsets, outstanding, strict=True))
    ]


ORDER = ("late_fee", "fee_and_vat", "interest", "principal")


def tier(amounts: InstallmentParts, name: str) -> int:
    if name == "fee_and_vat":
        return amounts.fee + amounts.fee_vat
    return int(getattr(amounts, name))


@given(payment=st.integers(min_value=1, max_value=40_000_000), due=schedules())
def test_allocation_conserves_the_payment_and_respects_the_order(
    payment: int, due: list[InstallmentDue]
) -> None:
    result = allocate_repayment(payment, due)
    assert result.collected.total + result.borrower_credit == payment
    by_number = {installment.number: installment for installment in due}
    outstanding_total = sum(installment.outstanding.total for installment in due)
    assert result.collected.total == min(payment, outstanding_total)
    for applied in result.installments:
        owed = by_number[applied.number].outstanding
        assert applied.applied + applied.remaining == owed
        # nothing is paid beyond what is outstanding
        for name in ("late_fee", "fee", "fee_vat", "interest", "principal"):
            assert 0 <= getattr(applied.applied, name) <= getattr(owed, name)
        # a tier is paid only once every earlier tier of the installment is settled
        for earlier, later in itertools.combinations(ORDER, 2):
            if tier(applied.applied, later) > 0:
                assert tier(applied.remaining, earlier) == 0
    # only the last installment reached may be left part-paid, and it is the newest reached
    reached = result.installments
    assert all(installment.settled for installment in reached[:-1])
    if result.borrower_credit > 0:
        assert all(installment.settled for installment in reached)
    order = [(i.due_date, i.number) for i in reached]
    assert order == sorted(order)
    untouched = set(by_number) - {i.number for i in reached}
    if reached and not reached[-1].settled:
        last = (reached[-1].due_date, reached[-1].number)
        for number in untouched:
            unreached = by_number[number]
            assert (unreached.due_date, unreached.number) > last or (
                unreached.outstanding.total == 0
            )
