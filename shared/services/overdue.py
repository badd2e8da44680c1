"""The daily overdue sweep (docs/lending-rules.md#overdue-and-collection).

`sweep_overdue` runs once a day (Asia/Jakarta) over every active loan, one transaction per
loan, in pages of `PAGE` loans by id. For each loan it covers every day since it last swept
(a missed run catches up; a second run the same day changes nothing) and:

- **late fees**: each day, on the unpaid principal and interest of the installments past
  due beyond the product's grace days, at the product's late-fee rate, never more than that
  day's cap rate (the caps table's `late_fee` row) on the loan's outstanding balance (baki
  debet), and stopping at that day's total-cost cap (`total_cost` row) on interest, fees
  and late fees together (`delinquency.accrue_late_fee`). Each day's fee is shared between
  the past-due installments in proportion to what is unpaid on each, exactly. The days'
  fees are posted as one entry, the late-fee receivable against the lenders' claim;
- **quality**: days past due, the quality bucket and the bureau collectability, on the loan;
- **events**: `installment.due_soon` three days before a due date, `installment.overdue` on
  the first day past due, `loan.maturing` three days before the final installment;
- **borrower credit**: on a due date, what the borrower overpaid pays what is due, as a
  payment to the loan (`credit-<loan>-<day>`) that `repayments` applies like any other.

A caught-up day is charged on what is unpaid when the sweep runs: a payment made on a day
the sweep missed counts from that day on only as far as the catch-up sees it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import ConfigDict

from shared.domain.caps import OJK_CAPS, CapTable
from shared.domain.caps_table import CapRule
from shared.domain.delinquency import (
    accrue_late_fee,
    days_past_due,
    quality_bucket,
    reminder_date,
    slik_collectability,
)
from shared.domain.events import (
    EventType,
    InstallmentDueSoon,
    InstallmentOverdue,
    LoanMaturing,
    PaymentReceived,
)
from shared.domain.ledger import AccountId, AccountType, JournalEntry, Posting
from shared.domain.loan import LoanState
from shared.domain.money import allocate
from shared.domain.movements import late_fees_accrued
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.installments import InstallmentRecord, Installments
from shared.records.ledger import LedgerBook, balance_ref, post_entry
from shared.records.loans import LOANS, LoanRecord, Loans, OverdueRecord
from shared.records.payments import PaymentRecord, Payments
from shared.services.catalogue import product_of
from shared.services.early_settlement import schedule_of

PAGE = 200


class SweepRun(Model):
    model_config = ConfigDict(frozen=True)

    day: date
    loans_swept: int
    late_fees: int  # accrued by this run, all loans
    events: int


def sweep_overdue(uow: UnitOfWork, *, origin: EventOrigin, caps: CapTable = OJK_CAPS) -> SweepRun:
    """Sweep every active loan up to today (Jakarta)."""
    today = jakarta_date(origin.clock.now())
    swept = fees = events = 0
    after: str | None = None
    while True:

        def page(tx: DocumentTransaction, after: str | None = after) -> list[str]:
            where = [Where("state", "==", LoanState.ACTIVE.value)]
            if after is not None:
                where.append(Where("id", ">", after))
            return [doc.id for doc in tx.query(LOANS, where, [OrderBy("id")], PAGE)]

        loan_ids = uow.run(page, read_only=True)
        for loan_id in loan_ids:

            def sweep(tx: DocumentTransaction, loan_id: str = loan_id) -> tuple[int, int] | None:
                return _sweep_loan(tx, loan_id, today, origin, caps)

            result = uow.run(sweep)
            if result is not None:
                swept += 1
                fees += result[0]
                events += result[1]
        if len(loan_ids) < PAGE:
            return SweepRun(day=today, loans_swept=swept, late_fees=fees, events=events)
        after = loan_ids[-1]


def _sweep_loan(
    tx: DocumentTransaction, loan_id: str, today: date, origin: EventOrigin, caps: CapTable
) -> tuple[int, int] | None:
    """(late fees accrued, events published) for one loan, or None when nothing was due."""
    loans = Loans(tx)
    loan = loans.get(loan_id)
    if loan is None or loan.state is not LoanState.ACTIVE or loan.disbursement is None:
        return None
    done = loan.overdue
    if done is not None and done.last_swept_on >= today:
        return None  # swept today already
    product = product_of(tx, loan.product_id, loan.product_version)
    schedule = schedule_of(tx, loan)
    terms = loan.disbursement
    start = (done.last_swept_on if done else terms.disbursed_on) + timedelta(days=1)
    days = [start + timedelta(days=n) for n in range((today - start).days + 1)]
    tenor_days = (terms.maturity_date - terms.disbursed_on).days
    costs = sum(i.interest + i.fees for i in schedule) + terms.origination_fee
    so_far = done.late_fees if done else 0
    balance = loan.principal if loan.outstanding_principal is None else loan.outstanding_principal
    added = dict.fromkeys((i.number for i in schedule), 0)
    accrued = 0
    for day in days:
        late = [
            i
            for i in schedule
            if not i.settled and days_past_due(i.due_date, day) > product.grace_days
        ]
        unpaid = [i.outstanding.principal + i.outstanding.interest for i in late]
        late_row = caps.applicable(
            CapRule.LATE_FEE,
            day,
            purpose=product.purpose,
            segment=product.borrower_segment,
            tenor_days=tenor_days,
        )
        total_row = caps.applicable(CapRule.TOTAL_COST, day)
        if not sum(unpaid) or late_row is None or total_row is None:
            continue  # nothing past due (or no cap to hold a fee to: none is charged)
        fee = accrue_late_fee(
            outstanding=sum(unpaid),
            balance=balance,
            product_daily_rate=product.late_fee_rate_per_day,
            cap_daily_rate=late_row.row.limit,
            funded_principal=loan.principal,
            interest_and_fees=costs,
            late_fees_so_far=so_far + accrued,
            total_cost_limit=total_row.row.limit,
        ).amount
        for installment, part in zip(late, allocate(fee, unpaid), strict=True):
            added[installment.number] += part
        accrued += fee
    now = origin.clock.now()
    credit_used = _apply_credit(tx, loan, schedule, days, today, now, origin)
    if accrued:
        post_entry(
            tx, late_fees_accrued(loan.id, today, accrued, now), {}, source=f"loan/{loan.id}"
        )
        installments = Installments(tx)
        for installment in schedule:
            if added[installment.number]:
                installments.put(
                    installment.model_copy(
                        update={"late_fee": installment.late_fee + added[installment.number]}
                    )
                )
    events = _events(tx, loan, schedule, days, origin)
    unpaid_dues = [i.due_date for i in schedule if not i.settled]
    dpd = days_past_due(min(unpaid_dues, default=None), today)
    loans.put(
        loan.model_copy(
            update={
                "overdue": OverdueRecord(
                    last_swept_on=today,
                    late_fees=so_far + accrued,
                    days_past_due=dpd,
                    bucket=quality_bucket(dpd).value,
                    collectability=int(slik_collectability(dpd)),
                ),
                "updated_at": now,
            }
        )
    )
    return accrued, events + credit_used


def _apply_credit(
    tx: DocumentTransaction,
    loan: LoanRecord,
    schedule: list[InstallmentRecord],
    days: list[date],
    today: date,
    now: datetime,
    origin: EventOrigin,
) -> int:
    """On a due date, the borrower's credit (what they overpaid) pays what is due: it becomes
    a payment to the loan, applied like any other (`payment.received`). Reads before any
    write of the sweep: call it first. The number of payments made (0 or 1)."""
    window = set(days)
    if not any(i.due_date in window for i in schedule):
        return 0
    due = sum(i.outstanding.total for i in schedule if i.due_date <= today and not i.settled)
    credit = AccountId(AccountType.BORROWER_CREDIT, loan.borrower_id)
    read = tx.get_documents([balance_ref(credit)])
    held = int((read[balance_ref(credit)] or {}).get("balance", 0))
    amount = min(held, due)
    if amount <= 0:
        return 0
    payment_id = f"credit-{loan.id}-{today.isoformat()}"
    entry = JournalEntry(
        f"payment-{payment_id}",
        now,
        (
            Posting.debit(credit, amount),
            Posting.credit(AccountId(AccountType.UNAPPLIED_RECEIPTS, loan.id), amount),
        ),
        f"borrower credit applied to loan {loan.id}",
    )
    with LedgerBook(tx) as book:
        book.post(entry, read, source=f"payments/{payment_id}")
    Payments(tx).add(
        PaymentRecord(
            id=payment_id,
            external_id="borrower-credit",
            virtual_account=loan.virtual_account or "",
            amount=amount,
            paid_at=now,
            received_at=now,
            kind="loan",
            owner_id=loan.id,
            borrower_id=loan.borrower_id,
            state="unapplied",
            entry_id=entry.entry_id,
        )
    )
    tx.emit(
        origin.event(
            EventType.PAYMENT_RECEIVED,
            PaymentReceived(payment_id=payment_id, loan_id=loan.id, amount=amount, paid_at=now),
        )
    )
    return 1


def _events(
    tx: DocumentTransaction,
    loan: LoanRecord,
    schedule: list[InstallmentRecord],
    days: list[date],
    origin: EventOrigin,
) -> int:
    """The reminders and notices whose day is among `days` (each day is swept once)."""
    window = set(days)
    published = 0
    for installment in schedule:
        if installment.settled:
            continue
        if reminder_date(installment.due_date) in window:
            tx.emit(
                origin.event(
                    EventType.INSTALLMENT_DUE_SOON,
                    InstallmentDueSoon(
                        loan_id=loan.id,
                        borrower_id=loan.borrower_id,
                        installment=installment.number,
                        due_date=installment.due_date,
                        amount_due=installment.outstanding.total,
                    ),
                )
            )
            published += 1
        if installment.due_date + timedelta(days=1) in window:
            tx.emit(
                origin.event(
                    EventType.INSTALLMENT_OVERDUE,
                    InstallmentOverdue(
                        loan_id=loan.id,
                        borrower_id=loan.borrower_id,
                        installment=installment.number,
                        due_date=installment.due_date,
                        amount_overdue=installment.outstanding.total,
                    ),
                )
            )
            published += 1
    terms = loan.disbursement
    assert terms is not None
    if reminder_date(terms.maturity_date) in window:
        tx.emit(
            origin.event(
                EventType.LOAN_MATURING,
                LoanMaturing(
                    loan_id=loan.id,
                    maturity_date=terms.maturity_date,
                    outstanding_principal=(
                        loan.principal
                        if loan.outstanding_principal is None
                        else loan.outstanding_principal
                    ),
                ),
            )
        )
        published += 1
    return published
