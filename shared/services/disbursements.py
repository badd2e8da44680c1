"""Paying a funded loan out to its borrower (docs/lending-rules.md#disbursement).

- `request_disbursement` (`admin.finance`, the maker): the borrower's bank account is
  verified with the bank's account inquiry if it is not yet (`bank_accounts.verify_by_inquiry`:
  the holder the bank names must be the registered one; otherwise 409 and nothing is booked),
  the accepted offer's terms are checked again against the caps in force today, the schedule
  is fixed as of today and stored per installment, and a stored plan (`disburse-<loan id>`)
  is made and run:
  - each chunk of lenders: their committed stakes become the payout in transit
    (lender committed → borrower payout in transit), and each participation is `active`
    with its principal funded;
  - the last step: the origination fee and its VAT out of the payout (payout in transit →
    fee income + VAT payable), the receivable (loan principal → the lenders' claim), the loan
    `active`, and `loan.disbursed`.
  While the plan runs the loan names it, so no other money action touches the loan. Asking
  again (a retry, a crash) resumes the same plan.
- `confirm_payout` (a different `admin.finance`, the checker): the bank transferred the net
  payout to the borrower's bank account; it leaves escrow cash with the bank's reference and
  value date.
- `record_returned_payout`: the bank sent the payout back (a line in suspense shows it): the
  payout and the line's suspense posting are reversed, and the payout is in transit again,
  to be sent once more.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import ConfigDict

from shared.domain.caps import OJK_CAPS, CapTable
from shared.domain.errors import CapExceeded, Conflict, NotFound, ValidationFailed
from shared.domain.events import EventType, LoanDisbursed
from shared.domain.ledger import (
    ESCROW_CASH,
    PLATFORM_FEE_INCOME,
    VAT_PAYABLE,
    AccountId,
    AccountType,
    JournalEntry,
    Posting,
    reverse,
)
from shared.domain.loan import LoanState, LoanTransition
from shared.domain.maker_checker import Made, checked, refuse_own_case
from shared.domain.movements import line_in_reversed
from shared.domain.products import quote
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.personal_data import PersonalDataVault
from shared.platform.providers import BankAccountInquiry
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.installments import InstallmentRecord, Installments, installment_id
from shared.records.ledger import LedgerBook, post_entry
from shared.records.loans import Disbursement, LoanRecord, Loans
from shared.records.money_plans import MoneyPlanRecord, MoneyPlans
from shared.records.participations import ParticipationRecord, Participations
from shared.records.statements import STATEMENT_LINES, StatementLineRecord, StatementLines
from shared.records.users import Users
from shared.services.bank_accounts import account_ref, verify_by_inquiry
from shared.services.money_plans import CHUNK_LENDERS, run_plan, stakes_moved
from shared.services.offers import recheck_offer
from shared.services.withdrawals import BankReference, unexplained_line


class DisbursementView(Model):
    model_config = ConfigDict(frozen=True)

    loan_id: str
    loan_state: LoanState
    disbursement: Disbursement

    @classmethod
    def of(cls, loan: LoanRecord) -> DisbursementView:
        assert loan.disbursement is not None
        return cls(loan_id=loan.id, loan_state=loan.state, disbursement=loan.disbursement)


class PayoutConfirmation(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_reference: BankReference
    value_date: date


class PayoutReturn(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: str


def in_transit(loan_id: str) -> AccountId:
    return AccountId(AccountType.BORROWER_PAYOUT_IN_TRANSIT, loan_id)


def _plan_id(loan_id: str) -> str:
    return f"disburse-{loan_id}"


def request_disbursement(
    uow: UnitOfWork,
    loan_id: str,
    *,
    admin_id: str,
    origin: EventOrigin,
    vault: PersonalDataVault,
    bank: BankAccountInquiry,
    caps: CapTable = OJK_CAPS,
) -> DisbursementView:
    """Book the disbursement of a funded loan (see the module docstring); resumes a plan a
    crash left unfinished."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now
    loan = uow.run(lambda tx: Loans(tx).get(loan_id), read_only=True)
    if loan is not None and loan.state is LoanState.FUNDED and loan.disbursement is None:
        # Not booked yet: the payout goes only to an account the bank named the holder of.
        refuse_own_case(admin_id, loan.borrower_id, "disburse a loan")
        verify_by_inquiry(uow, vault, bank, loan.borrower_id, admin_id=admin_id, clock=origin.clock)
    uow.run(lambda tx: _make_plan(tx, loan_id, admin_id, now(), caps))
    run_plan(
        uow,
        _plan_id(loan_id),
        entry=lambda plan, entry_id, stakes, at: stakes_moved(
            plan, entry_id, stakes, at, to=in_transit(loan_id), memo=f"loan {loan_id} funded out"
        ),
        change=_lent,
        finish=lambda tx, plan: _booked(tx, plan, now(), origin),
        now=now,
    )
    return disbursement(uow, loan_id)


def disbursement(uow: UnitOfWork, loan_id: str) -> DisbursementView:
    require_document_id(loan_id, "loan")
    loan = uow.run(lambda tx: Loans(tx).get(loan_id), read_only=True)
    if loan is None or loan.disbursement is None:
        raise NotFound(f"loan {loan_id!r} has no disbursement")
    return DisbursementView.of(loan)


def _make_plan(
    tx: DocumentTransaction, loan_id: str, admin_id: str, at: datetime, caps: CapTable
) -> None:
    from shared.services.catalogue import product_of
    from shared.services.overdue import next_sweep_on

    plan_id = _plan_id(loan_id)
    loan = Loans(tx).get(loan_id)
    existing = MoneyPlans(tx).get(plan_id)
    if loan is None:
        raise NotFound(f"there is no loan {loan_id!r}")
    if existing is not None:
        return  # made already: the caller runs what is left of it
    refuse_own_case(admin_id, loan.borrower_id, "disburse a loan")
    if loan.state is not LoanState.FUNDED:
        raise Conflict(f"loan {loan_id} is {loan.state.value}; only a funded loan is disbursed")
    if loan.money_plan is not None:
        raise Conflict(f"loan {loan_id} is busy ({loan.money_plan}); try again shortly")
    offer = loan.offer
    if offer is None:
        raise Conflict(f"loan {loan_id} has no offer to disburse on")
    product = product_of(tx, loan.product_id, loan.product_version)
    borrower = Users(tx).get(loan.borrower_id)
    stakes = Participations(tx).find(
        Where("loan_id", "==", loan_id),
        Where("state", "==", "committed"),
        order_by=(OrderBy("lender_id"),),
        limit=loan.lender_count + 1,
    )
    if borrower is None or borrower.bank_account is None:
        raise Conflict(f"the borrower of loan {loan_id} has no bank account to pay out to")
    if borrower.bank_account.verified_at is None:
        raise Conflict(
            f"the borrower's bank account {borrower.bank_account.account_number_masked} is not "
            "verified (it changed since the bank named its holder): ask for the disbursement "
            "again"
        )
    if sum(s.committed for s in stakes) != loan.principal:
        raise Conflict(
            f"loan {loan_id}'s stakes add up to Rp {sum(s.committed for s in stakes):,}, not "
            f"its principal Rp {loan.principal:,}: reconcile before disbursing"
        )
    today = jakarta_date(at)
    recheck = recheck_offer(product, loan, offer, today, caps)
    if not recheck.compliant:
        raise CapExceeded(
            "the offer no longer meets the caps in force today: "
            + "; ".join(f"{v.rule.value} ({v.source}): {v.detail}" for v in recheck.violations)
        )
    priced = quote(product, loan.principal, loan.tenor, today, offer.rate)
    installments = Installments(tx)
    for line in priced.schedule.installments:
        installments.put(
            InstallmentRecord(
                **line.model_dump(), id=installment_id(loan_id, line.number), loan_id=loan_id
            )
        )
    MoneyPlans(tx).add(
        MoneyPlanRecord(
            id=plan_id,
            kind="disburse",
            loan_id=loan_id,
            lenders=tuple(s.lender_id for s in stakes),
            chunk_size=CHUNK_LENDERS,
            created_at=at,
            updated_at=at,
        )
    )
    fee, vat = priced.origination_fee, priced.origination_fee_vat
    due_dates = [line.due_date for line in priced.schedule.installments]
    Loans(tx).put(
        loan.model_copy(
            update={
                "money_plan": plan_id,
                "updated_at": at,
                # The overdue sweep's first day for the loan, from the schedule fixed today
                # (docs/lending-rules.md#overdue-and-collection).
                "sweep_on": next_sweep_on(due_dates, due_dates[-1], after=today),
                "disbursement": Disbursement(
                    state="booking",
                    requested=Made(by=admin_id, at=at),
                    disbursed_on=today,
                    maturity_date=priced.schedule.installments[-1].due_date,
                    origination_fee=fee,
                    origination_fee_vat=vat,
                    net_disbursement=loan.principal - fee - vat,
                    to_account=account_ref(borrower.bank_account),
                    schedule_costs=sum(i.interest + i.fees for i in priced.schedule.installments),
                ),
            }
        )
    )


def _lent(stake: ParticipationRecord, at: datetime) -> ParticipationRecord:
    return stake.model_copy(
        update={"state": "active", "principal_funded": stake.committed, "updated_at": at}
    )


def _booked(
    tx: DocumentTransaction, plan: MoneyPlanRecord, at: datetime, origin: EventOrigin
) -> None:
    """The plan's last step: fees, the receivable, the loan active, `loan.disbursed`."""
    loan = Loans(tx).require(plan.loan_id)
    terms = loan.disbursement
    assert terms is not None
    fee, vat = terms.origination_fee, terms.origination_fee_vat
    source = f"loan/{loan.id}"
    if fee + vat:
        fees = [Posting.debit(in_transit(loan.id), fee + vat)]
        fees += [Posting.credit(PLATFORM_FEE_INCOME, fee)] if fee else []
        fees += [Posting.credit(VAT_PAYABLE, vat)] if vat else []
        post_entry(
            tx,
            JournalEntry(f"{plan.id}-fees", at, tuple(fees), f"loan {loan.id} origination fee"),
            {},
            source=source,
        )
    post_entry(
        tx,
        JournalEntry(
            f"{plan.id}-receivable",
            at,
            (
                Posting.debit(AccountId(AccountType.LOAN_PRINCIPAL, loan.id), loan.principal),
                Posting.credit(AccountId(AccountType.LOAN_LENDERS_CLAIM, loan.id), loan.principal),
            ),
            f"loan {loan.id} principal owed to its lenders",
        ),
        {},
        source=source,
    )
    active = loan.moved(
        LoanTransition.DISBURSE,
        at=at,
        by=terms.requested.by,
        money_plan=None,
        disbursement=terms.model_copy(update={"state": "in_transit"}),
        outstanding_principal=loan.principal,
        # Set when the plan was made; a plan made before the sweep kept `sweep_on` is swept
        # the next day, which then sets its own date.
        sweep_on=loan.sweep_on or terms.disbursed_on + timedelta(days=1),
    )
    Loans(tx).put(active)
    tx.emit(
        origin.event(
            EventType.LOAN_DISBURSED,
            LoanDisbursed(
                loan_id=loan.id,
                principal=loan.principal,
                origination_fee=fee,
                origination_fee_vat=vat,
                net_disbursement=terms.net_disbursement,
                disbursed_on=terms.disbursed_on,
                maturity_date=terms.maturity_date,
                requested_by=terms.requested.by,
            ),
        )
    )


def _payout(loan_id: str, number: int, amount: int, at: datetime) -> JournalEntry:
    return JournalEntry(
        f"payout-{loan_id}-{number}",
        at,
        (Posting.debit(in_transit(loan_id), amount), Posting.credit(ESCROW_CASH, amount)),
        f"loan {loan_id} paid out to the borrower",
    )


def confirm_payout(
    uow: UnitOfWork,
    loan_id: str,
    confirmation: PayoutConfirmation,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> DisbursementView:
    """The bank made the payout (a different `admin.finance` than the one who requested it)."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now()
    reference = confirmation.bank_reference
    if confirmation.value_date > jakarta_date(now):
        raise ValidationFailed(
            "a payout is confirmed once the bank made it", {"value_date": "is in the future"}
        )

    def confirm(tx: DocumentTransaction) -> DisbursementView:
        loans = Loans(tx)
        loan = loans.require(loan_id)
        same_reference = loans.find(Where("disbursement.bank_reference", "==", reference), limit=2)
        terms = loan.disbursement
        if terms is None:
            raise Conflict(f"loan {loan_id} has no disbursement to confirm")
        if terms.state == "paid" and terms.bank_reference == confirmation.bank_reference:
            return DisbursementView.of(loan)
        if terms.state != "in_transit":
            raise Conflict(f"loan {loan_id}'s payout is {terms.state}, not waiting for the bank")
        if any(other.id != loan_id for other in same_reference):
            raise Conflict(f"bank reference {reference} already confirms another payout")
        if confirmation.value_date < terms.disbursed_on:
            raise ValidationFailed(
                "the payout cannot predate the disbursement",
                {"value_date": f"is before {terms.disbursed_on}"},
            )
        line = unexplained_line(tx, reference, terms.net_disbursement)
        made = checked(
            admin_id, terms.requested, now, action="confirm the payout", subject=loan.borrower_id
        )
        number = terms.payouts + 1
        post_entry(
            tx,
            _payout(loan_id, number, terms.net_disbursement, now),
            {},
            source=f"loan/{loan_id}",
            value_date=confirmation.value_date,
            bank_reference=confirmation.bank_reference,
        )
        paid = loan.model_copy(
            update={
                "updated_at": now,
                "disbursement": terms.model_copy(
                    update={
                        "state": "paid",
                        "payouts": number,
                        "confirmed": made,
                        "bank_reference": reference,
                        "value_date": confirmation.value_date,
                        "line_id": line.id if line else None,
                    }
                ),
            }
        )
        loans.put(paid)
        if line is not None:
            StatementLines(tx).put(
                line.model_copy(
                    update={"state": "explained", "loan_id": loan_id, "updated_at": now}
                )
            )
        return DisbursementView.of(paid)

    return uow.run(confirm)


def record_returned_payout(
    uow: UnitOfWork, loan_id: str, returned: PayoutReturn, *, admin_id: str, origin: EventOrigin
) -> DisbursementView:
    """The bank returned the payout (a line in suspense shows the money back): the payout
    is in transit again, to be sent once more."""
    require_document_id(loan_id, "loan")
    require_document_id(returned.line_id, "statement line")
    now = origin.clock.now()

    def record(tx: DocumentTransaction) -> DisbursementView:
        loans = Loans(tx)
        loan = loans.require(loan_id)
        line_doc = tx.get(STATEMENT_LINES, returned.line_id)
        terms = loan.disbursement
        refuse_own_case(admin_id, loan.borrower_id, "record a returned payout")
        if terms is None or terms.state != "paid":
            raise Conflict(f"loan {loan_id} has no payout the bank could return")
        if line_doc is None:
            raise NotFound(f"there is no statement line {returned.line_id!r}")
        line = StatementLineRecord.model_validate(line_doc)
        if line.state != "in_suspense" or line.direction != "credit":
            raise ValidationFailed(
                f"line {line.id} is {line.direction} and {line.state}, not money in",
                {"line_id": "choose a line in suspense"},
            )
        if line.amount != terms.net_disbursement:
            raise ValidationFailed(
                f"line {line.id} is Rp {line.amount:,}, the payout Rp {terms.net_disbursement:,}",
                {"line_id": "the amounts differ"},
            )
        paid = _payout(loan_id, terms.payouts, terms.net_disbursement, now)
        unpaid = reverse(paid, f"payout-{loan_id}-{terms.payouts}-returned", now)
        explained = line_in_reversed(line.id, line.amount, now)
        with LedgerBook(tx) as book:
            for entry in (unpaid, explained):
                book.post(
                    entry,
                    {},
                    source=f"loan/{loan_id}",
                    value_date=line.value_date,
                    bank_reference=line.bank_reference,
                )
        again = loan.model_copy(
            update={
                "updated_at": now,
                "disbursement": terms.model_copy(
                    update={
                        "state": "in_transit",
                        "confirmed": None,
                        "bank_reference": None,
                        "line_id": None,
                    }
                ),
            }
        )
        loans.put(again)
        StatementLines(tx).put(line.model_copy(update={"state": "explained", "updated_at": now}))
        return DisbursementView.of(again)

    return uow.run(record)
