"""The daily overdue sweep (docs/lending-rules.md#overdue-and-collection).

`sweep_overdue` runs once a day (Asia/Jakarta) over the active loans that have something to
do that day, one transaction per loan. For each loan it covers every day since it last swept
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

**Which loans.** Each active loan carries `sweep_on`, the next day the sweep has anything to
do for it (`next_sweep_on`): the earliest of, for each installment not yet settled, its
reminder day (due date − 3), its due date (borrower credit) and, once it is due, every
following day (the overdue notice, days past due and late fees change daily); and the
maturity reminder. Disbursement sets it from the fixed schedule and each sweep of the loan
moves it in the same transaction. The days a loan is not swept are days with nothing to do:
no reminder, no due date, nothing past due, so no late fee, no notice and no credit; the next
sweep covers them with the rest of its window all the same. It is a lower bound, never
later than needed: payments only settle installments (less work), a write-off takes the
loan out of the active set, and a payoff repays it. The sweep asks for `state == active,
sweep_on <= today` a page of `PAGE` loans at a time; a swept loan leaves the set (its
`sweep_on` is after today), so each page is asked afresh. A page reads of each loan only
`PAGE_FIELDS` (a projection): its product (the page's products are read once per page) and
what says which installments its sweep reads first, which the loan's transaction reads with
the loan in one round trip (the loan as the transaction reads it decides: a page gone stale
by then costs a second read, never a different sweep). A page's loans are independent
transactions, run `WORKERS` at a time on a pool of threads (the transactions mostly wait on
Firestore); the page is done before the next one is asked for, so no loan is in two
transactions of the run at once and the paging ends.

**Which installments.** A swept loan's late fees, notices, credit and days past due depend
only on its installments not yet settled that fall due by today + 3 days, and its next
`sweep_on` on the first one owing due after that; due dates follow the installments'
numbers. So the sweep reads from `overdue.read_from`, the first installment still owing when
it last swept (every earlier one was settled then, and a settled installment stays settled:
the number lags behind payments, never ahead of an installment that owes), up to the first
one owing due after today + 3 days. The total-cost cap's base, the schedule's interest and
fees, is on the disbursement terms (`schedule_costs`, set at disbursement); a loan disbursed
before it was kept has its whole schedule read once and keeps it from then on.

**What it writes.** Only what it changed (`Repository.put_fields`, an update of those fields):
on the loan its overdue record, `sweep_on` and `updated_at` (and the schedule costs, once, for
an older loan), on each past-due installment its late fee; every other field stays as read.

**Loans disbursed before `sweep_on` existed** have no date to be found by. The first sweep
run that finds no `overdue_sweep/sweep-on-backfill` record gives every active loan without
one today's date (a page of loans by id per transaction) and then stores the record: they are
swept that day as before and carry their own date from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from pydantic import ConfigDict

from shared.domain.caps import OJK_CAPS, CapTable
from shared.domain.caps_table import CapRule
from shared.domain.delinquency import (
    REMINDER_DAYS_BEFORE_DUE,
    accrue_late_fee,
    days_past_due,
    delinquent_since,
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
from shared.domain.products import LoanProduct
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.store import (
    Document,
    DocumentTransaction,
    OrderBy,
    Repository,
    UnitOfWork,
    Where,
)
from shared.records.installments import (
    INSTALLMENTS,
    InstallmentRecord,
    Installments,
    installment_id,
)
from shared.records.ledger import LedgerBook, balance_ref, post_entry
from shared.records.loans import LOANS, LoanRecord, Loans, OverdueRecord
from shared.records.payments import PaymentRecord, Payments
from shared.services.catalogue import product_of
from shared.services.early_settlement import first_batch, installments_from, schedule_of

PAGE = 200
WORKERS = 8  # loans swept at once: each transaction mostly waits on Firestore

PAGE_FIELDS = (  # of a page's loans: their products, and the installments their sweeps read first
    "product_id",
    "product_version",
    "tenor",
    "tenor_unit",
    "overdue.read_from",
    "disbursement.schedule_costs",
)

OVERDUE_SWEEP = "overdue_sweep"
BACKFILL = "sweep-on-backfill"


class SweepRun(Model):
    model_config = ConfigDict(frozen=True)

    day: date
    loans_swept: int
    late_fees: int  # accrued by this run, all loans
    events: int


class SweepBackfill(Model):
    """`overdue_sweep/sweep-on-backfill`: the day every active loan then without a `sweep_on`
    was given one (once; see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = BACKFILL
    done_on: date
    loans: int


class SweepBackfills(Repository[SweepBackfill]):
    collection = OVERDUE_SWEEP
    model = SweepBackfill


ProductKey = tuple[str, int | None]


def sweep_overdue(
    uow: UnitOfWork, *, origin: EventOrigin, caps: CapTable = OJK_CAPS, workers: int = WORKERS
) -> SweepRun:
    """Sweep every active loan with something to do up to today (Jakarta), `workers` loans'
    transactions at a time."""
    today = jakarta_date(origin.clock.now())
    schedule_unscheduled_loans(uow, today)
    swept = fees = events = 0
    looked_at: set[str] = set()
    while True:

        def page(tx: DocumentTransaction) -> tuple[list[Document], dict[ProductKey, LoanProduct]]:
            docs = tx.query(
                LOANS,
                [
                    Where("state", "==", LoanState.ACTIVE.value),
                    Where("sweep_on", "<=", today.isoformat()),
                ],
                [OrderBy("sweep_on")],
                PAGE,
                fields=PAGE_FIELDS,
            )
            # Only what says which documents each loan's sweep reads first (`PAGE_FIELDS`):
            # each loan is read (and parsed) in its own transaction.
            keys = {(doc.data["product_id"], doc.data.get("product_version")) for doc in docs}
            return docs, {key: product_of(tx, *key) for key in keys}

        docs, products = uow.run(page, read_only=True)
        loan_ids = [doc.id for doc in docs]
        if looked_at.issuperset(loan_ids) and loan_ids:
            # A loan the sweep looked at leaves the set; one that stays would be asked for
            # again and again.
            raise RuntimeError(f"loans {sorted(loan_ids)[:5]} are still due after their sweep")
        looked_at.update(loan_ids)

        sweeps = []
        for doc in docs:

            def sweep(
                tx: DocumentTransaction,
                loan_id: str = doc.id,
                first: tuple[str, ...] = _first_installments(doc),
                products: dict[ProductKey, LoanProduct] = products,
            ) -> tuple[int, int] | None:
                return _sweep_loan(tx, loan_id, first, today, origin, caps, products)

            sweeps.append(sweep)
        # The page's loans are independent transactions, run a few at a time; the page is
        # done (every transaction committed, or the first failure raised) before the next is
        # asked for, so no loan is swept by two transactions at once.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(uow.run, sweeps))
        for result in results:
            if result is not None:
                swept += 1
                fees += result[0]
                events += result[1]
        if len(loan_ids) < PAGE:
            return SweepRun(day=today, loans_swept=swept, late_fees=fees, events=events)


def schedule_unscheduled_loans(uow: UnitOfWork, today: date) -> int:
    """Once: every active loan without a `sweep_on` (disbursed before it existed) is due
    today, so today's sweep finds it and gives it its own date. The loans given one; 0 once
    the backfill is recorded (one read)."""
    if uow.run(lambda tx: SweepBackfills(tx).get(BACKFILL), read_only=True) is not None:
        return 0
    scheduled = 0
    after: str | None = None
    while True:

        def page(tx: DocumentTransaction, after: str | None = after) -> tuple[list[str], int]:
            where = [Where("state", "==", LoanState.ACTIVE.value)]
            if after is not None:
                where.append(Where("id", ">", after))
            docs = tx.query(LOANS, where, [OrderBy("id")], PAGE)
            unscheduled = [doc.id for doc in docs if doc.data.get("sweep_on") is None]
            for loan_id in unscheduled:
                tx.update(LOANS, loan_id, {"sweep_on": today.isoformat()})
            return [doc.id for doc in docs], len(unscheduled)

        loan_ids, count = uow.run(page)
        scheduled += count
        if len(loan_ids) < PAGE:
            break
        after = loan_ids[-1]

    def record(tx: DocumentTransaction) -> None:
        SweepBackfills(tx).put(SweepBackfill(done_on=today, loans=scheduled))

    uow.run(record)
    return scheduled


def next_sweep_on(unsettled_due_dates: Iterable[date], maturity_date: date, after: date) -> date:
    """The first day after `after` with anything for the sweep to do, for a loan whose
    installments not yet settled fall due on `unsettled_due_dates`: tomorrow while any is
    due (days past due grow, the overdue notice, late fees after the grace days), else the
    earliest reminder (`installment.due_soon`, `loan.maturing`) or due date (borrower
    credit) still to come. Never later than needed; tomorrow when nothing is left."""
    tomorrow = after + timedelta(days=1)
    days = [d for d in (reminder_date(maturity_date),) if d > after]
    for due in unsettled_due_dates:
        if due <= after:
            return tomorrow
        days += [d for d in (reminder_date(due), due) if d > after]
    return min(days, default=tomorrow)


def _next_sweep(schedule: list[InstallmentRecord], loan: LoanRecord, after: date) -> date:
    terms = loan.disbursement
    assert terms is not None
    unsettled = (i.due_date for i in schedule if not i.settled)
    return next_sweep_on(unsettled, terms.maturity_date, after)


def _first_installments(page: Document) -> tuple[str, ...]:
    """The installments the sweep of a loan reads first (`installments_from`'s first batch),
    by id, as its page saw the loan (`PAGE_FIELDS`); none when it reads the whole schedule
    (no `schedule_costs`). The sweep reads them with the loan, in one round trip, and uses
    them if the loan read says they are still the first (else it reads what it needs)."""
    data = page.data
    tenor = data.get("tenor")
    costs = (data.get("disbursement") or {}).get("schedule_costs")
    if not isinstance(tenor, int) or not isinstance(costs, int):
        return ()
    read_from = (data.get("overdue") or {}).get("read_from", 1)
    count = 1 if data.get("tenor_unit") == "day" else tenor
    return tuple(installment_id(page.id, n) for n in first_batch(count, read_from))


def _schedule_to_sweep(
    tx: DocumentTransaction,
    loan: LoanRecord,
    today: date,
    read: Mapping[str, InstallmentRecord | None] | None = None,
) -> tuple[list[InstallmentRecord], int]:
    """The part of the loan's schedule a sweep up to `today` needs, and the total-cost cap's
    base (the schedule's interest and fees and the origination fee).

    What a sweep does with an installment depends only on installments not yet settled and
    due by today + 3 days (late fees, days past due, the notices, the borrower's credit), and
    on the first one not yet settled due after that (the next `sweep_on`). Due dates follow
    the installments' numbers, so it reads from the first installment not settled when the
    loan was last swept (`OverdueRecord.read_from`, from the first when never swept) to that
    one. A loan disbursed before its terms kept `schedule_costs` is read whole, once. `read`:
    the installments read with the loan (`_first_installments`)."""
    terms = loan.disbursement
    assert terms is not None
    if terms.schedule_costs is None:
        schedule = schedule_of(tx, loan)
        costs = sum(i.interest + i.fees for i in schedule)
        return schedule, costs + terms.origination_fee
    last_reminded = today + timedelta(days=REMINDER_DAYS_BEFORE_DUE)

    def enough(installment: InstallmentRecord) -> bool:
        return installment.due_date > last_reminded and not installment.settled

    read_from = loan.overdue.read_from if loan.overdue else 1
    schedule = installments_from(tx, loan, read_from, enough, read=read)
    return schedule, terms.schedule_costs + terms.origination_fee


def _read_from(schedule: list[InstallmentRecord], done: OverdueRecord | None) -> int:
    """The first installment the next sweep reads: the first one still owing among those read
    (every earlier one is settled), else the last one read."""
    for installment in schedule:
        if not installment.settled:
            return installment.number
    return schedule[-1].number if schedule else (done.read_from if done else 1)


def _sweep_loan(
    tx: DocumentTransaction,
    loan_id: str,
    first: Sequence[str],
    today: date,
    origin: EventOrigin,
    caps: CapTable,
    products: dict[ProductKey, LoanProduct],
) -> tuple[int, int] | None:
    """(late fees accrued, events published) for one loan, or None when nothing was due.
    `first`: the installments to read with the loan (`_first_installments`)."""
    loans = Loans(tx)
    found = tx.get_documents([(LOANS, loan_id), *((INSTALLMENTS, i) for i in first)])
    stored = found[(LOANS, loan_id)]
    loan = None if stored is None else LoanRecord.model_validate(stored)
    if loan is None or loan.state is not LoanState.ACTIVE or loan.disbursement is None:
        return None
    read = {
        i: None
        if (data := found[(INSTALLMENTS, i)]) is None
        else InstallmentRecord.model_validate(data)
        for i in first
    }
    done = loan.overdue
    if done is not None and done.last_swept_on >= today:
        if loan.sweep_on is not None and loan.sweep_on > today:
            return None  # swept today already
        # Swept today but given an earlier date since (the backfill): its own date again.
        schedule = _schedule_to_sweep(tx, loan, today, read)[0]
        later = _next_sweep(schedule, loan, done.last_swept_on)
        loans.put_fields(loan.model_copy(update={"sweep_on": later}), ["sweep_on"])
        return None
    key = (loan.product_id, loan.product_version)
    product = products[key] if key in products else product_of(tx, *key)
    schedule, costs = _schedule_to_sweep(tx, loan, today, read)
    terms = loan.disbursement
    start = (done.last_swept_on if done else terms.disbursed_on) + timedelta(days=1)
    days = [start + timedelta(days=n) for n in range((today - start).days + 1)]
    tenor_days = (terms.maturity_date - terms.disbursed_on).days
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
        if not sum(unpaid):
            continue  # nothing past due beyond the grace days
        late_row = caps.applicable(
            CapRule.LATE_FEE,
            day,
            purpose=product.purpose,
            segment=product.borrower_segment,
            tenor_days=tenor_days,
        )
        total_row = caps.applicable(CapRule.TOTAL_COST, day)
        if late_row is None or total_row is None:
            continue  # no cap to hold a fee to: none is charged
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
                installments.put_fields(
                    installment.model_copy(
                        update={"late_fee": installment.late_fee + added[installment.number]}
                    ),
                    ["late_fee"],
                )
    events = _events(tx, loan, schedule, days, origin)
    unpaid_dues = [i.due_date for i in schedule if not i.settled]
    dpd = days_past_due(min(unpaid_dues, default=None), today)
    swept: dict[str, object] = {
        "overdue": OverdueRecord(
            last_swept_on=today,
            late_fees=so_far + accrued,
            days_past_due=dpd,
            bucket=quality_bucket(dpd).value,
            collectability=int(slik_collectability(dpd)),
            read_from=_read_from(schedule, done),
            delinquent_since=(done.delinquent_since if done else None)
            or delinquent_since(today, dpd),
        ),
        "sweep_on": _next_sweep(schedule, loan, today),
        "updated_at": now,
    }
    if terms.schedule_costs is None:  # kept from now on (read whole this once)
        swept["disbursement"] = terms.model_copy(
            update={"schedule_costs": costs - terms.origination_fee}
        )
    # Only what the sweep changed is written: the rest of the loan stays as read.
    loans.put_fields(loan.model_copy(update=swept), swept)
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
