"""A disbursed loan's installment schedule, fixed at disbursement
(docs/lending-rules.md#disbursement).

`installments/<loan id>~<NN>`: one document per installment, with its due date and the
amounts due (`principal + interest + fees + fee_vat = total`) as the schedule fixed them on
the disbursement date. Payments and the overdue sweep add what was paid and accrued.
"""

from __future__ import annotations

from pydantic import ConfigDict

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
    paid: int = 0


class Installments(Repository[InstallmentRecord]):
    collection = INSTALLMENTS
    model = InstallmentRecord
