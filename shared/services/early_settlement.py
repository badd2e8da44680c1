"""Early settlement: a payoff quote, and the schedule it replaces when paid
(docs/lending-rules.md#early-settlement).

- `quote_payoff` (`payoffs`, the loan's borrower): what ends the loan on a day (today unless
  asked, at most `MAX_DAYS_AHEAD` ahead and not after maturity), by `payoff.payoff_quote`
  with the product's settlement-interest rule. The quote is stored on the loan, replacing any
  earlier one, with what the loan owed when it was made.
- `settles_by_payoff` / `replace_schedule` (`repayments`): a payment of at least the quote,
  made by its day, while the loan still owes what it owed when quoted, replaces the remaining
  schedule in the allocation's own transaction: the first installment not yet due becomes the
  final one (the quote's principal and interest, its fees waived), later ones owe nothing
  more. The payment then pays the overdue installments and the final one; the loan is repaid
  and any excess is the borrower's credit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from pydantic import ConfigDict

from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.loan import LoanState
from shared.domain.payoff import RemainingInstallment, payoff_quote
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.installments import InstallmentRecord, Installments, installment_id
from shared.records.loans import LoanRecord, Loans, PayoffRecord
from shared.records.payments import PaymentRecord
from shared.services.catalogue import product_of

MAX_DAYS_AHEAD = 30
MONTHS_A_YEAR = 12


class PayoffRequest(Model):
    """`POST /loans/{loan_id}/quotes`: the day to settle on (today if not given)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    settle_on: date | None = None


class PayoffView(Model):
    model_config = ConfigDict(frozen=True)

    loan_id: str
    quote_id: str
    settle_on: date
    overdue: int
    principal: int
    interest: int
    total: int
    virtual_account: str | None


def schedule_of(tx: DocumentTransaction, loan: LoanRecord) -> list[InstallmentRecord]:
    """The loan's installments in order (one a month, or one at maturity)."""
    found = Installments(tx).get_many(
        [installment_id(loan.id, n) for n in range(1, installment_count(loan) + 1)]
    )
    return sorted((i for i in found.values() if i is not None), key=lambda i: i.number)


def installment_count(loan: LoanRecord) -> int:
    return 1 if loan.tenor_unit.value == "day" else loan.tenor


def first_batch(count: int, first: int) -> range:
    """The numbers `installments_from` reads first, of `count` installments from `first`."""
    start = max(first, 1)
    return range(start, min(start + 2, count + 1))


def installments_from(
    tx: DocumentTransaction,
    loan: LoanRecord,
    first: int,
    until: Callable[[InstallmentRecord], bool],
    *,
    read: Mapping[str, InstallmentRecord | None] | None = None,
) -> list[InstallmentRecord]:
    """The loan's installments in order from number `first` up to and including the first one
    `until` accepts (or the last one): part of the schedule, for a reader that needs only
    those. Read in batches of growing size (2, 4, 8, ...; the first is `first_batch`), so a
    reader that stops at the first batch pays one round trip for two documents. `read`: the
    first batch as the caller already read it (by id, with its other reads), used when it is
    that batch, else ignored."""
    count = installment_count(loan)
    found_in_order: list[InstallmentRecord] = []
    numbers, size = first_batch(count, first), 2
    while numbers:
        ids = [installment_id(loan.id, n) for n in numbers]
        if read is not None and sorted(read) == sorted(ids):
            found = read
        else:
            found = Installments(tx).get_many(ids)
        read = None
        batch = sorted((i for i in found.values() if i is not None), key=lambda i: i.number)
        for installment in batch:
            found_in_order.append(installment)
            if until(installment):
                return found_in_order
        size *= 2
        numbers = range(numbers.stop, min(numbers.stop + size, count + 1))
    return found_in_order


def owed(schedule: list[InstallmentRecord]) -> int:
    return sum(i.outstanding.total for i in schedule)


def quote_payoff(
    uow: UnitOfWork,
    loan_id: str,
    request: PayoffRequest,
    *,
    borrower_id: str,
    origin: EventOrigin,
) -> PayoffView:
    """The borrower's payoff quote for their active loan, stored on the loan."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now()
    today = jakarta_date(now)
    settle_on = request.settle_on or today
    if not today <= settle_on <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed(
            f"a payoff is quoted for a day from today to {MAX_DAYS_AHEAD} days ahead",
            {"settle_on": f"choose a day from {today} to {today + timedelta(MAX_DAYS_AHEAD)}"},
        )

    def quote(tx: DocumentTransaction) -> PayoffView:
        loans = Loans(tx)
        loan = loans.get(loan_id)
        if loan is None or loan.borrower_id != borrower_id:
            raise NotFound(f"you have no loan {loan_id!r}")
        if loan.state is not LoanState.ACTIVE or loan.offer is None or loan.disbursement is None:
            raise Conflict(f"loan {loan_id} is {loan.state.value}: only an active loan is settled")
        if settle_on > loan.disbursement.maturity_date:
            raise ValidationFailed(
                "the loan matures before that day: pay its schedule",
                {"settle_on": f"on or before {loan.disbursement.maturity_date}"},
            )
        product = product_of(tx, loan.product_id, loan.product_version)
        schedule = schedule_of(tx, loan)
        offer = loan.offer
        yearly = offer.rate * MONTHS_A_YEAR if offer.rate_period == "month" else offer.rate
        priced = payoff_quote(
            [RemainingInstallment(i.number, i.due_date, i.outstanding) for i in schedule],
            settle_on,
            period_start=loan.disbursement.disbursed_on,
            yearly_rate=Decimal(yearly),
            day_count=product.day_count,
            rule=product.settlement_interest,
        )
        record = PayoffRecord(
            quote_id=origin.ids.new_id("payoff"),
            settle_on=settle_on,
            overdue=priced.overdue.total,
            principal=priced.principal,
            interest=priced.interest,
            total=priced.total,
            owed_when_quoted=owed(schedule),
            quoted_at=now,
        )
        loans.put(loan.model_copy(update={"payoff": record, "updated_at": now}))
        return _view(loan, record)

    return uow.run(quote)


def current_payoff(uow: UnitOfWork, loan_id: str, *, borrower_id: str) -> PayoffView:
    """The borrower's latest payoff quote (404 when none was asked for)."""
    require_document_id(loan_id, "loan")
    loan = uow.run(lambda tx: Loans(tx).get(loan_id), read_only=True)
    if loan is None or loan.borrower_id != borrower_id:
        raise NotFound(f"you have no loan {loan_id!r}")
    if loan.payoff is None:
        raise NotFound(f"loan {loan_id} has no payoff quote: ask for one")
    return _view(loan, loan.payoff)


def _view(loan: LoanRecord, record: PayoffRecord) -> PayoffView:
    return PayoffView(
        loan_id=loan.id,
        quote_id=record.quote_id,
        settle_on=record.settle_on,
        overdue=record.overdue,
        principal=record.principal,
        interest=record.interest,
        total=record.total,
        virtual_account=loan.virtual_account,
    )


# --- settling by the quote (inside the allocation's transaction) -----------------------------


def settles_by_payoff(
    loan: LoanRecord, payment: PaymentRecord, schedule: list[InstallmentRecord]
) -> bool:
    """Whether `payment` settles the loan by its payoff quote: enough, in time, still current."""
    quote = loan.payoff
    return (
        quote is not None
        and quote.settled_by is None
        and payment.amount >= quote.total
        and jakarta_date(payment.paid_at) <= quote.settle_on
        and owed(schedule) == quote.owed_when_quoted
    )


def replace_schedule(
    quote: PayoffRecord, schedule: list[InstallmentRecord]
) -> list[InstallmentRecord]:
    """The installments as the quote leaves them (only those that change): the first one not
    yet due owes the quote's principal and interest on its day, with its fees waived; later
    ones owe nothing more. What was already paid on each stays paid."""
    coming = [i for i in schedule if i.due_date > quote.settle_on and not i.settled]
    changed = []
    for n, installment in enumerate(coming):
        principal = installment.paid_principal + (quote.principal if n == 0 else 0)
        interest = installment.paid_interest + (quote.interest if n == 0 else 0)
        fees, fee_vat = installment.paid_fees, installment.paid_fee_vat
        changed.append(
            installment.model_copy(
                update={
                    "due_date": quote.settle_on if n == 0 else installment.due_date,
                    "principal": principal,
                    "interest": interest,
                    "fees": fees,
                    "fee_vat": fee_vat,
                    "total": principal + interest + fees + fee_vat,
                    "balance_after": 0,
                    "replaced_by_payoff": quote.quote_id,
                }
            )
        )
    return changed
