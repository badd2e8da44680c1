"""Loans that will not be funded: the funding window closes, or the borrower cancels; every
commitment goes back to its lender (docs/lending-rules.md#funding).

- `expire_due_loans` (the daily `funding_expiry`): each loan still in funding after its
  `funding_closes_on` (a Jakarta date) becomes `expired`, one transaction per loan, and
  `loan.expired` goes out with what was committed.
- `release_commitments` (`funding_release`, on `loan.expired` and `loan.cancelled`): a stored
  plan (`release-<loan id>`) moves every stake of the loan from committed back to available,
  in chunks; a redelivered event or a crashed run finds the same plan and finishes it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict

from shared.domain.errors import Conflict
from shared.domain.events import EventType, LoanExpired
from shared.domain.loan import LoanState, LoanTransition
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.loans import LOANS, Loans
from shared.records.money_plans import MoneyPlanRecord, MoneyPlans
from shared.records.participations import ParticipationRecord, Participations
from shared.services.money_plans import CHUNK_LENDERS, Stakes, run_plan, stakes_moved

EXPIRED_PER_RUN = 500  # loans expired by one run; the next run takes the rest
RELEASABLE = (LoanState.EXPIRED, LoanState.CANCELLED)


class ExpiryRun(Model):
    model_config = ConfigDict(frozen=True)

    expired: tuple[str, ...]


def expire_due_loans(uow: UnitOfWork, *, origin: EventOrigin) -> ExpiryRun:
    """Expire every loan whose funding window closed before today (Jakarta)."""
    today = jakarta_date(origin.clock.now())

    def due(tx: DocumentTransaction) -> list[str]:
        docs = tx.query(
            LOANS,
            (
                Where("state", "==", LoanState.FUNDING.value),
                Where("funding_closes_on", "<", today.isoformat()),
            ),
            (OrderBy("funding_closes_on"),),
            limit=EXPIRED_PER_RUN,
        )
        return [doc.id for doc in docs]

    expired: list[str] = []
    for loan_id in uow.run(due, read_only=True):

        def expire(tx: DocumentTransaction, loan_id: str = loan_id) -> bool:
            return _expire(tx, loan_id, origin)

        if uow.run(expire):
            expired.append(loan_id)
    return ExpiryRun(expired=tuple(expired))


def _expire(tx: DocumentTransaction, loan_id: str, origin: EventOrigin) -> bool:
    loans = Loans(tx)
    loan = loans.get(loan_id)
    now = origin.clock.now()
    closes_on = None if loan is None else loan.funding_closes_on
    if loan is None or loan.state is not LoanState.FUNDING or closes_on is None:
        return False  # funded or cancelled since it was listed
    if closes_on >= jakarta_date(now):
        return False
    loans.put(loan.moved(LoanTransition.EXPIRE, at=now, by=None))
    tx.emit(
        origin.event(
            EventType.LOAN_EXPIRED,
            LoanExpired(
                loan_id=loan_id,
                committed_released=loan.funded_amount,
                lender_count=loan.lender_count,
            ),
        )
    )
    return True


def release_commitments(uow: UnitOfWork, loan_id: str, *, origin: EventOrigin) -> MoneyPlanRecord:
    """Every commitment to an expired or cancelled loan back to its lender's available
    balance, exactly once however often it is asked."""
    plan_id = f"release-{loan_id}"
    now = origin.clock.now

    def make(tx: DocumentTransaction) -> MoneyPlanRecord:
        plans = MoneyPlans(tx)
        existing = plans.get(plan_id)
        loan = Loans(tx).require(loan_id)
        if existing is not None:
            return existing
        if loan.state not in RELEASABLE:
            raise Conflict(f"loan {loan_id} is {loan.state.value}: its commitments stand")
        stakes = Participations(tx).find(
            Where("loan_id", "==", loan_id),
            Where("state", "==", "committed"),
            order_by=(OrderBy("lender_id"),),
            limit=max(loan.lender_count, 1) + 1,
        )
        at = now()
        plan = MoneyPlanRecord(
            id=plan_id,
            kind="release",
            loan_id=loan_id,
            lenders=tuple(s.lender_id for s in stakes),
            chunk_size=CHUNK_LENDERS,
            created_at=at,
            updated_at=at,
        )
        plans.add(plan)
        return plan

    uow.run(make)
    return run_plan(
        uow,
        plan_id,
        entry=lambda plan, entry_id, stakes, at: stakes_moved(
            plan, entry_id, stakes, at, to=None, memo=f"commitments to loan {loan_id} released"
        ),
        change=_released,
        finish=lambda tx, plan: None,
        now=now,
        positions=_returned,
    )


def _returned(plan: MoneyPlanRecord, stakes: Stakes) -> dict[str, int]:
    """Each stake comes out of its lender's live position."""
    return {lender_id: -stake.committed for lender_id, stake in stakes.items()}


def _released(stake: ParticipationRecord, at: datetime) -> ParticipationRecord:
    return stake.model_copy(update={"state": "released", "updated_at": at})
