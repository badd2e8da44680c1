"""Applying a borrower's payment to what the loan has due.

`allocate_repayment(payment, due)` walks the unpaid installments oldest first
(by due date, then installment number) and pays each one completely, in the
order penalties (late fees) → fees (the service fee and its VAT) → interest →
principal, before moving to the next installment. That is the reading of the
rule "penalties → fees → interest → principal, oldest installment first" that
keeps each installment's account simple: an installment is either paid, or the
last one the payment reached. (The other reading, paying every installment's
late fees before any installment's fees, would leave several installments
partly paid at once.) Whatever is left after the last installment is due is
the borrower's overpayment, returned as `borrower_credit`.

Inside the fees tier a short payment is shared between the fee and its VAT in
proportion to what is outstanding of each (largest remainder), so a part-paid
invoice carries its VAT pro rata.

Contract: the applied parts plus the borrower credit always add up exactly to
the payment; no component is ever paid beyond what is outstanding; a payment of
zero or less is refused with `ValidationFailed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

from shared.domain.errors import ValidationFailed
from shared.domain.money import Rupiah, allocate, rupiah

_NOTHING = Rupiah(0)


@dataclass(frozen=True)
class InstallmentParts:
    """Amounts per component of an installment, in the order a payment settles them."""

    late_fee: Rupiah = _NOTHING
    fee: Rupiah = _NOTHING
    fee_vat: Rupiah = _NOTHING
    interest: Rupiah = _NOTHING
    principal: Rupiah = _NOTHING

    def __post_init__(self) -> None:
        negative = {
            part.name: "must not be negative"
            for part in fields(self)
            if rupiah(getattr(self, part.name)) < 0
        }
        if negative:
            raise ValidationFailed("installment amounts must not be negative", negative)

    @property
    def total(self) -> Rupiah:
        return Rupiah(self.late_fee + self.fee + self.fee_vat + self.interest + self.principal)

    @property
    def lenders_part(self) -> Rupiah:
        """What goes to the lenders: principal, interest and late fees."""
        return Rupiah(self.principal + self.interest + self.late_fee)

    @property
    def platform_part(self) -> Rupiah:
        """What goes to the platform: borrower fees and their VAT."""
        return Rupiah(self.fee + self.fee_vat)

    def __add__(self, other: InstallmentParts) -> InstallmentParts:
        return InstallmentParts(
            Rupiah(self.late_fee + other.late_fee),
            Rupiah(self.fee + other.fee),
            Rupiah(self.fee_vat + other.fee_vat),
            Rupiah(self.interest + other.interest),
            Rupiah(self.principal + other.principal),
        )

    def __sub__(self, other: InstallmentParts) -> InstallmentParts:
        return InstallmentParts(
            Rupiah(self.late_fee - other.late_fee),
            Rupiah(self.fee - other.fee),
            Rupiah(self.fee_vat - other.fee_vat),
            Rupiah(self.interest - other.interest),
            Rupiah(self.principal - other.principal),
        )


@dataclass(frozen=True)
class InstallmentDue:
    """An installment with what is still outstanding on it."""

    number: int
    due_date: date
    outstanding: InstallmentParts

    def __post_init__(self) -> None:
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 1:
            raise ValidationFailed(
                "installments are numbered from 1", {"number": f"got {self.number!r}"}
            )


@dataclass(frozen=True)
class AppliedToInstallment:
    """What a payment settled on one installment, and what remains on it."""

    number: int
    due_date: date
    applied: InstallmentParts
    remaining: InstallmentParts

    @property
    def settled(self) -> bool:
        return self.remaining.total == 0


@dataclass(frozen=True)
class RepaymentAllocation:
    """Where every rupiah of a payment went."""

    payment: Rupiah
    installments: tuple[AppliedToInstallment, ...]
    borrower_credit: Rupiah

    def __post_init__(self) -> None:
        # The postcondition every caller relies on: nothing created, nothing lost.
        assert self.collected.total + self.borrower_credit == self.payment

    @property
    def collected(self) -> InstallmentParts:
        """The sum of what was applied to installments (excluding the overpayment)."""
        total = InstallmentParts()
        for installment in self.installments:
            total = total + installment.applied
        return total


def _settle(outstanding: InstallmentParts, available: int) -> InstallmentParts:
    """Pay up to `available` rupiah of one installment, penalties → fees → interest → principal."""
    left = available
    late_fee = min(left, outstanding.late_fee)
    left -= late_fee
    fees_outstanding = outstanding.fee + outstanding.fee_vat
    fees_paid = min(left, fees_outstanding)
    left -= fees_paid
    if fees_paid == fees_outstanding:
        fee, fee_vat = outstanding.fee, outstanding.fee_vat
    else:
        fee, fee_vat = allocate(fees_paid, [outstanding.fee, outstanding.fee_vat])
    interest = min(left, outstanding.interest)
    left -= interest
    principal = min(left, outstanding.principal)
    return InstallmentParts(
        Rupiah(late_fee), Rupiah(fee), Rupiah(fee_vat), Rupiah(interest), Rupiah(principal)
    )


def allocate_repayment(payment: int, due: Sequence[InstallmentDue]) -> RepaymentAllocation:
    """Apply `payment` rupiah to the `due` installments, oldest first; the rest is credit."""
    if isinstance(payment, bool) or not isinstance(payment, int):
        raise ValidationFailed("a payment is whole rupiah", {"payment": "must be an integer"})
    if payment <= 0:
        raise ValidationFailed("a payment must be more than zero", {"payment": "must be > 0"})
    numbers = [installment.number for installment in due]
    if len(set(numbers)) != len(numbers):
        raise ValidationFailed(
            "each installment may be listed once", {"due": "duplicate installment number"}
        )
    left = payment
    applied: list[AppliedToInstallment] = []
    for installment in sorted(due, key=lambda i: (i.due_date, i.number)):
        if left == 0:
            break
        paid = _settle(installment.outstanding, left)
        if paid.total == 0:
            continue
        left -= paid.total
        applied.append(
            AppliedToInstallment(
                installment.number,
                installment.due_date,
                paid,
                installment.outstanding - paid,
            )
        )
    return RepaymentAllocation(Rupiah(payment), tuple(applied), Rupiah(left))
