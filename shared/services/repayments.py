"""A borrower's payment applied to their loan (docs/lending-rules.md#repayment).

`allocate_payment` (`repayments`, on `payment.received`) runs one transaction per payment:
it reads the payment, the loan and its installments, applies the payment to what is billed on
the day it was paid (every unpaid installment due by then, and the coming one), oldest
installment first in the order penalties → fees → interest → principal
(`allocation.allocate_repayment`), keeps the rest as the borrower's credit, and writes every
consequence together:

- each installment's paid parts (paid, or partly paid);
- the loan's outstanding principal, and the loan `repaid` once nothing is owed
  (`loan.repaid`);
- the allocation on the payment, which makes a redelivered event a no-op;
- one journal entry: the unapplied receipt to the lenders' pending split, the borrower's
  fees and their VAT to the platform, an overpayment to the borrower's credit, and the
  principal collected out of the receivable and the lenders' claim;
- `installment.paid` with the allocation, which `billing_split` splits to the lenders.

A payment of at least the loan's payoff quote, made by its day while the loan owes what it
owed when quoted, first replaces the remaining schedule with the quote's final installment
(shared/services/early_settlement.py), all in the same transaction, and pays all of it.

Payments of one loan are applied in the order their transactions commit; a payment to a
loan already repaid is all borrower credit. A written-off loan still owes its installments:
a payment to it is allocated the same way, but its principal is a recovery for the lenders,
not a repayment of the receivable the write-off cleared, so the entry leaves the receivable
and the lenders' claim alone (docs/lending-rules.md#write-off). While the write-off's plan
runs, a payment waits (`Busy`, redelivered).
"""

from __future__ import annotations

from datetime import date

from pydantic import ConfigDict

from shared.domain.allocation import allocate_repayment
from shared.domain.errors import Conflict
from shared.domain.events import EventType, InstallmentPaid, LoanRepaid, PaidParts
from shared.domain.loan import LoanState, LoanTransition
from shared.domain.movements import repayment_allocated
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.errors import Busy
from shared.platform.event_origin import EventOrigin
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.installments import InstallmentRecord, Installments
from shared.records.ledger import LedgerBook
from shared.records.loans import Loans
from shared.records.payments import AllocationRecord, AppliedRecord, Parts, Payments
from shared.services.early_settlement import replace_schedule, schedule_of, settles_by_payoff


class AllocationView(Model):
    model_config = ConfigDict(frozen=True)

    payment_id: str
    loan_id: str
    installments: tuple[int, ...]
    borrower_credit: int
    outstanding_principal: int
    loan_state: str


def allocate_payment(uow: UnitOfWork, payment_id: str, *, origin: EventOrigin) -> AllocationView:
    """Apply an unapplied loan payment; a payment already applied is answered as it was."""

    def allocate(tx: DocumentTransaction) -> AllocationView:
        payments = Payments(tx)
        payment = payments.require(payment_id)
        if payment.kind != "loan" or payment.owner_id is None:
            raise Conflict(f"payment {payment_id} is not a loan's: nothing to allocate")
        loans = Loans(tx)
        loan = loans.require(payment.owner_id)
        if loan.borrower_id != payment.borrower_id:
            raise Conflict(f"payment {payment_id}'s account belongs to another borrower")
        if payment.allocation is not None:
            outstanding = loan.outstanding_principal or 0
            return _view(payment_id, loan.id, payment.allocation, outstanding, loan.state.value)
        if loan.money_plan is not None and loan.money_plan.startswith("write-off-"):
            # The lenders' losses are being fixed from what they were paid: wait for them.
            raise Busy(f"loan {loan.id} is being written off", retry_after_s=5)
        schedule = schedule_of(tx, loan)
        now = origin.clock.now()
        payoff = loan.payoff if settles_by_payoff(loan, payment, schedule) else None
        if payoff is not None:
            replaced = {i.number: i for i in replace_schedule(payoff, schedule)}
            schedule = [replaced.get(i.number, i) for i in schedule]
            billed = [i for i in schedule if not i.settled]  # the quote owes all of it now
        else:
            billed = _billed(schedule, jakarta_date(payment.paid_at))
        allocation = allocate_repayment(payment.amount, [i.due for i in billed])
        entry = repayment_allocated(
            payment_id,
            loan.id,
            loan.borrower_id,
            allocation.collected,
            allocation.borrower_credit,
            now,
            receivable_cleared=loan.state is LoanState.WRITTEN_OFF,
        )
        balances = tx.get_documents(LedgerBook.refs_to_read([entry]))
        by_number = {i.number: i for i in schedule}
        changed = set(replaced) if payoff is not None else set()
        for applied in allocation.installments:
            by_number[applied.number] = by_number[applied.number].with_payment(applied.applied)
            changed.add(applied.number)
        for number in sorted(changed):
            Installments(tx).put(by_number[number])
        with LedgerBook(tx) as book:
            book.post(entry, balances, source=f"payments/{payment_id}")
        before = (
            loan.principal if loan.outstanding_principal is None else loan.outstanding_principal
        )
        outstanding = before - allocation.collected.principal
        owed = sum(i.outstanding.total for i in by_number.values())
        repaid = loan.state is LoanState.ACTIVE and owed == 0
        settled_payoff = (
            {"payoff": payoff.model_copy(update={"settled_by": payment_id})} if payoff else {}
        )
        if repaid:
            updated_loan = loan.moved(
                LoanTransition.REPAY,
                at=now,
                by=None,
                outstanding_principal=outstanding,
                **settled_payoff,
            )
        else:
            updated_loan = loan.model_copy(
                update={"outstanding_principal": outstanding, "updated_at": now, **settled_payoff}
            )
        loans.put(updated_loan)
        record = AllocationRecord(
            installments=tuple(
                AppliedRecord(number=a.number, applied=Parts.of(a.applied), settled=a.settled)
                for a in allocation.installments
            ),
            collected=Parts.of(allocation.collected),
            borrower_credit=allocation.borrower_credit,
            entry_id=entry.entry_id,
            allocated_at=now,
        )
        payments.put(payment.model_copy(update={"state": "allocated", "allocation": record}))
        tx.emit(
            origin.event(
                EventType.INSTALLMENT_PAID,
                InstallmentPaid(
                    payment_id=payment_id,
                    loan_id=loan.id,
                    amount=payment.amount,
                    collected=PaidParts(**Parts.of(allocation.collected).model_dump()),
                    installments=tuple(a.number for a in allocation.installments),
                    settled=tuple(a.number for a in allocation.installments if a.settled),
                    borrower_credit=allocation.borrower_credit,
                    outstanding_principal=outstanding,
                    loan_repaid=repaid,
                ),
            )
        )
        if repaid:
            tx.emit(
                origin.event(
                    EventType.LOAN_REPAID,
                    LoanRepaid(
                        loan_id=loan.id,
                        repaid_on=jakarta_date(now),
                        total_paid=sum(i.paid for i in by_number.values()),
                    ),
                )
            )
        return _view(payment_id, loan.id, record, outstanding, updated_loan.state.value)

    return uow.run(allocate)


def _billed(schedule: list[InstallmentRecord], paid_on: date) -> list[InstallmentRecord]:
    """What a payment made on `paid_on` pays: every unpaid installment due by then, and the
    next one (a borrower may pay the coming installment before its due date). Anything beyond
    stays as the borrower's credit (docs/lending-rules.md#repayment)."""
    unpaid = sorted((i for i in schedule if not i.settled), key=lambda i: (i.due_date, i.number))
    due = [i for i in unpaid if i.due_date <= paid_on]
    coming = [i for i in unpaid if i.due_date > paid_on][:1]
    return due + coming


def _view(
    payment_id: str, loan_id: str, record: AllocationRecord, outstanding: int, state: str
) -> AllocationView:
    return AllocationView(
        payment_id=payment_id,
        loan_id=loan_id,
        installments=tuple(a.number for a in record.installments),
        borrower_credit=record.borrower_credit,
        outstanding_principal=outstanding,
        loan_state=state,
    )
