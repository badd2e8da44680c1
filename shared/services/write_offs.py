"""Writing off a loan that will not be repaid, and what its lenders see of it
(docs/lending-rules.md#write-off).

Maker-checker, on the loan's `write_off` record:

- `propose_write_off`: one `admin.credit` proposes, with a narrative, writing off an active
  loan whose days past due (today − the oldest unpaid installment's due date, on the Jakarta
  calendar) have reached its product's `write_off_after_days`. One open proposal at a time.
- `confirm_write_off`: one `admin.finance` (not the proposer, not the borrower) confirms.
  The confirming transaction checks the loan is still that late and that every payment
  allocated to it has been split (the loan's principal receivable equals the principal its
  lenders are still owed), fixes each lender's loss (their outstanding principal:
  principal funded − principal received) and makes the stored money plan
  `write-off-<loan>` (kind `write_off`), which the loan names while it runs. Each chunk of
  lenders records its lenders' losses on their participations (`principal_written_off`) and
  a loss line among their receipts (`lender_receipts`, so it shows on their statements).
  The plan's last step posts the entry that clears every receivable of the loan (its asset
  accounts in the chart: principal, interest, whatever else the chart holds) against the
  lenders' claim, moves the loan `written_off` and publishes `loan.written_off`.
  Confirming again resumes an interrupted plan or answers the finished one: one effect.
- `reject_write_off`: another admin than the proposer turns it down with a reason.

Afterwards the loan still takes payments into its virtual account: `repayments` allocates
them without touching the cleared receivable, and `billing_split` splits them to the lenders
as recoveries (shared/services/repayments.py, shared/services/billing_split.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from pydantic import ConfigDict

from shared.domain.delinquency import days_past_due
from shared.domain.errors import Conflict, NotFound
from shared.domain.events import EventType, LoanWrittenOff
from shared.domain.ledger import AccountId, AccountType, JournalEntry
from shared.domain.loan import LoanTransition, transition
from shared.domain.maker_checker import Made, checked, refuse_own_case
from shared.domain.movements import loan_receivables, loan_written_off
from shared.fields import ProseStr
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.errors import Busy
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.installments import InstallmentRecord
from shared.records.ledger import LedgerBook, read_balances
from shared.records.loans import LoanRecord, Loans, WriteOffRecord
from shared.records.money_plans import MONEY_PLANS, MoneyPlanRecord, MoneyPlans
from shared.records.participations import ParticipationRecord, Participations
from shared.records.payments import LenderReceiptRecord, LenderReceipts, receipt_id
from shared.services.catalogue import product_of
from shared.services.early_settlement import schedule_of
from shared.services.money_plans import CHUNK_LENDERS, run_plan


class WriteOffProposal(Model):
    """`POST /loans/{loan_id}/write-off`: why the loan will not be repaid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    narrative: ProseStr


class WriteOffRejection(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: ProseStr


class WriteOffView(Model):
    """A loan's write-off as the admins see it."""

    model_config = ConfigDict(frozen=True)

    loan_id: str
    loan_state: str
    write_off: WriteOffRecord | None
    principal_written_off: int  # the lenders' losses, once confirmed (0 before)
    lender_count: int  # the lenders who share the loss, once confirmed (0 before)


def plan_id_of(loan_id: str) -> str:
    return f"write-off-{loan_id}"


def loan_days_past_due(tx: DocumentTransaction, loan: LoanRecord, on: date) -> int:
    """How many days the loan's oldest unpaid installment is past its due date on `on`."""
    return overdue_days(schedule_of(tx, loan), on)


def overdue_days(schedule: list[InstallmentRecord], on: date) -> int:
    unpaid = [i.due_date for i in schedule if not i.settled]
    return days_past_due(min(unpaid) if unpaid else None, on)


def _view(loan: LoanRecord, plan: MoneyPlanRecord | None) -> WriteOffView:
    return WriteOffView(
        loan_id=loan.id,
        loan_state=loan.state.value,
        write_off=loan.write_off,
        principal_written_off=sum(plan.losses) if plan is not None else 0,
        lender_count=len(plan.lenders) if plan is not None else 0,
    )


def _loan(tx: DocumentTransaction, loan_id: str) -> LoanRecord:
    loan = Loans(tx).get(loan_id)
    if loan is None:
        raise NotFound(f"there is no loan {loan_id!r}")
    return loan


def _late_enough(tx: DocumentTransaction, loan: LoanRecord, on: date) -> int:
    """The loan's days past due on `on`, or a 409 when its product's threshold is not reached."""
    threshold = product_of(tx, loan.product_id, loan.product_version).write_off_after_days
    days = loan_days_past_due(tx, loan, on)
    if days < threshold:
        raise Conflict(
            f"loan {loan.id} is {days} days past due; its product allows a write-off from "
            f"{threshold} days past due"
        )
    return days


def propose_write_off(
    uow: UnitOfWork,
    loan_id: str,
    proposal: WriteOffProposal,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> WriteOffView:
    """Propose writing the loan off (one open proposal at a time)."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now()

    def propose(tx: DocumentTransaction) -> WriteOffView:
        loan = _loan(tx, loan_id)
        refuse_own_case(admin_id, loan.borrower_id, "propose a write-off")
        transition(loan.state, LoanTransition.WRITE_OFF, loan.id)  # 409 unless active
        current = loan.write_off
        if current is not None and current.outcome is None:
            raise Conflict(f"loan {loan_id} has a write-off proposal waiting for a decision")
        days = _late_enough(tx, loan, jakarta_date(now))
        record = WriteOffRecord(
            narrative=proposal.narrative,
            days_past_due=days,
            outstanding_principal=(
                loan.principal if loan.outstanding_principal is None else loan.outstanding_principal
            ),
            proposed=Made(by=admin_id, at=now),
        )
        updated = loan.model_copy(update={"write_off": record, "updated_at": now})
        Loans(tx).put(updated)
        return _view(updated, None)

    return uow.run(propose)


def reject_write_off(
    uow: UnitOfWork,
    loan_id: str,
    rejection: WriteOffRejection,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> WriteOffView:
    """Turn the proposal down (another admin than its maker); the loan stays as it is."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> WriteOffView:
        loan = _loan(tx, loan_id)
        proposal = loan.write_off
        if proposal is None or proposal.outcome is not None:
            raise Conflict(f"loan {loan_id} has no write-off proposal to reject")
        decided = checked(
            admin_id, proposal.proposed, now, action="reject the write-off",
            subject=loan.borrower_id,
        )  # fmt: skip
        outcome = proposal.model_copy(
            update={"decided": decided, "outcome": "rejected", "rejection_reason": rejection.reason}
        )
        updated = loan.model_copy(update={"write_off": outcome, "updated_at": now})
        Loans(tx).put(updated)
        return _view(updated, None)

    return uow.run(reject)


def confirm_write_off(
    uow: UnitOfWork, loan_id: str, *, admin_id: str, origin: EventOrigin
) -> WriteOffView:
    """Confirm the proposal (another admin than its maker) and write the loan off, once."""
    require_document_id(loan_id, "loan")
    plan_id = plan_id_of(loan_id)
    now = origin.clock.now

    def make(tx: DocumentTransaction) -> MoneyPlanRecord:
        loan = _loan(tx, loan_id)
        plans = MoneyPlans(tx)
        existing = plans.get(plan_id)
        proposal = loan.write_off
        if proposal is None or (proposal.outcome is not None and existing is None):
            raise Conflict(f"loan {loan_id} has no write-off proposal to confirm")
        at = now()
        decided = checked(
            admin_id, proposal.proposed, at, action="confirm the write-off",
            subject=loan.borrower_id,
        )  # fmt: skip
        if existing is not None:
            return existing  # confirmed already: resume or answer it
        transition(loan.state, LoanTransition.WRITE_OFF, loan.id)  # 409 unless active
        if loan.money_plan is not None:
            raise Busy(f"loan {loan.id} is busy with {loan.money_plan}", retry_after_s=5)
        _late_enough(tx, loan, jakarta_date(at))  # a payment since the proposal may cure it
        stakes = Participations(tx).find(
            Where("loan_id", "==", loan.id),
            Where("state", "==", "active"),
            order_by=(OrderBy("lender_id"),),
            limit=max(loan.lender_count, 1) + 1,
        )
        if not stakes:
            raise Conflict(f"loan {loan.id} has no active participation to write off")
        losses = tuple(s.principal_funded - s.principal_received for s in stakes)
        principal = AccountId(AccountType.LOAN_PRINCIPAL, loan.id)
        receivable = read_balances(tx, [principal])[principal]
        if receivable != sum(losses):
            # A payment allocated to the loan is not split to its lenders yet: their
            # principal received is not final, and so neither are their losses.
            raise Busy(
                f"loan {loan.id} has a payment still being split to its lenders",
                retry_after_s=5,
            )
        plan = MoneyPlanRecord(
            id=plan_id,
            kind="write_off",
            loan_id=loan.id,
            lenders=tuple(s.lender_id for s in stakes),
            chunk_size=CHUNK_LENDERS,
            created_at=at,
            updated_at=at,
            losses=losses,
        )
        plans.add(plan)
        confirmed = proposal.model_copy(
            update={"decided": decided, "outcome": "confirmed", "plan_id": plan_id}
        )
        Loans(tx).put(
            loan.model_copy(
                update={"write_off": confirmed, "money_plan": plan_id, "updated_at": at}
            )
        )
        return plan

    uow.run(make)
    plan = run_plan(
        uow,
        plan_id,
        entry=_no_entry,
        change=None,  # `_losses` records each lender's loss on their stake
        finish=lambda tx, plan: _finish(tx, plan, now(), origin),
        now=now,
        record=_losses,
    )
    loan = uow.run(lambda tx: _loan(tx, loan_id), read_only=True)
    return _view(loan, plan)


def _no_entry(
    plan: MoneyPlanRecord, entry_id: str, stakes: Mapping[str, ParticipationRecord], at: datetime
) -> JournalEntry | None:
    """A chunk moves no money: the lenders' claim is the loan's, cleared by the last step."""
    return None


def _losses(
    tx: DocumentTransaction,
    plan: MoneyPlanRecord,
    stakes: Mapping[str, ParticipationRecord],
    at: datetime,
) -> None:
    """Each lender's loss on their stake, and a loss line among their receipts."""
    loss_of = dict(zip(plan.lenders, plan.losses, strict=True))
    on = jakarta_date(at)
    participations = Participations(tx)
    receipts = LenderReceipts(tx)
    for lender_id, stake in stakes.items():
        loss = loss_of[lender_id]
        participations.put(
            stake.model_copy(update={"principal_written_off": loss, "updated_at": at})
        )
        if loss:
            receipts.add(
                LenderReceiptRecord(
                    id=receipt_id(plan.id, lender_id),
                    payment_id=plan.id,
                    loan_id=plan.loan_id,
                    lender_id=lender_id,
                    on=on,
                    month=on.strftime("%Y-%m"),
                    principal=0,
                    interest=0,
                    late_fee=0,
                    platform_fee=0,
                    vat=0,
                    withholding=0,
                    withholding_article="none",
                    net=0,
                    principal_written_off=loss,
                )
            )


def _finish(
    tx: DocumentTransaction, plan: MoneyPlanRecord, at: datetime, origin: EventOrigin
) -> None:
    """Every loss is recorded: clear the receivables, move the loan, tell the world."""
    loans = Loans(tx)
    loan = loans.require(plan.loan_id)
    receivables = read_balances(tx, loan_receivables(loan.id))
    entry = loan_written_off(plan.id, loan.id, receivables, at)
    if entry is not None:
        with LedgerBook(tx) as book:
            book.post(entry, {}, source=f"{MONEY_PLANS}/{plan.id}")
    loans.put(loan.moved(LoanTransition.WRITE_OFF, at=at, by=_confirmer(loan), money_plan=None))
    tx.emit(
        origin.event(
            EventType.LOAN_WRITTEN_OFF,
            LoanWrittenOff(
                loan_id=loan.id,
                written_off_on=jakarta_date(at),
                principal_written_off=sum(plan.losses),
                lender_count=len(plan.lenders),
            ),
        )
    )


def _confirmer(loan: LoanRecord) -> str | None:
    decided = loan.write_off.decided if loan.write_off is not None else None
    return decided.by if decided is not None else None


def write_off_of(uow: UnitOfWork, loan_id: str) -> WriteOffView:
    """The loan's write-off proposal, its outcome and the losses it fixed."""
    require_document_id(loan_id, "loan")

    def read(tx: DocumentTransaction) -> WriteOffView:
        loan = _loan(tx, loan_id)
        plan = MoneyPlans(tx).get(plan_id_of(loan_id))
        return _view(loan, plan)

    return uow.run(read, read_only=True)
