"""A disbursed loan's installment schedule, fixed at disbursement
(docs/lending-rules.md#disbursement).

`installments/<loan id>~<NN>`: one document per installment, with its due date and the
amounts due (`principal + interest + fees + fee_vat = total`) as the schedule fixed them on
the disbursement date. Payments and the overdue sweep add what was paid and accrued: each
part's paid amount (`paid_*`) and late fees (`late_fee`), so what is still outstanding is
exact per part (`outstanding`), the input of the allocation of the next payment.
"""

from __future__ import annotations

from pydantic import ConfigDict

from shared.domain.allocation import InstallmentDue, InstallmentParts
from shared.domain.money import Rupiah
from shared.domain.schedule import Installment
from shared.platform.store import Repository

INSTALLMENTS = "installments"


def installment_id(loan_id: str, number: int) -> str:
    return f"{loan_id}~{number:03d}"


class InstallmentRecord(Installment):
    """One installment as the schedule fixed it, with its loan and what was paid."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    loan_id: str
    paid: int = 0  # every part paid, late fees included
    late_fee: int = 0  # accrued by the overdue sweep
    paid_late_fee: int = 0
    paid_fees: int = 0
    paid_fee_vat: int = 0
    paid_interest: int = 0
    paid_principal: int = 0
    replaced_by_payoff: str | None = None  # the early-settlement quote that rewrote it

    @property
    def outstanding(self) -> InstallmentParts:
        return InstallmentParts(
            late_fee=Rupiah(self.late_fee - self.paid_late_fee),
            fee=Rupiah(self.fees - self.paid_fees),
            fee_vat=Rupiah(self.fee_vat - self.paid_fee_vat),
            interest=Rupiah(self.interest - self.paid_interest),
            principal=Rupiah(self.principal - self.paid_principal),
        )

    @property
    def due(self) -> InstallmentDue:
        return InstallmentDue(self.number, self.due_date, self.outstanding)

    @property
    def settled(self) -> bool:
        return self.outstanding.total == 0

    def with_payment(self, applied: InstallmentParts) -> InstallmentRecord:
        return self.model_copy(
            update={
                "paid": self.paid + applied.total,
                "paid_late_fee": self.paid_late_fee + applied.late_fee,
                "paid_fees": self.paid_fees + applied.fee,
                "paid_fee_vat": self.paid_fee_vat + applied.fee_vat,
                "paid_interest": self.paid_interest + applied.interest,
                "paid_principal": self.paid_principal + applied.principal,
            }
        )


class Installments(Repository[InstallmentRecord]):
    collection = INSTALLMENTS
    model = InstallmentRecord
