"""Auto-invest: lenders' standing rules commit for them when a loan opens for funding
(docs/lending-rules.md#funding).

- `set_rules` / `rules_of`: a lender's rules (`auto_invest_rules/<lender id>`): on or off,
  the grades and tenors they fund, the most per loan, and the most they want out in total
  (committed and lent, all loans together).
- `invest` (on `loan.offer_accepted`): the lenders whose rules match the loan, in an order
  that is fair and deterministic: sorted by a hash of the loan and the lender, so the order
  is the same however often the event arrives and a different lender goes first on each
  loan. The order is fixed in a stored plan (`auto-<loan id>`); chunks of lenders commit in
  one transaction each (`funding.commit_many_in`, the same checks as a manual commitment), so
  a popular loan is one loan write per chunk, not per lender, and a redelivered event or a
  crashed run resumes at the plan's cursor. A lender the rules refuse (short balance, a cap)
  is skipped; the pass stops when the loan is funded.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from shared.domain.errors import ValidationFailed
from shared.domain.loan import LoanState
from shared.fields import Instant, PositiveRupiah
from shared.model import Model
from shared.platform.callers import Caller
from shared.platform.escrow import FundingRules
from shared.platform.event_origin import EventOrigin
from shared.platform.store import DocumentTransaction, Repository, UnitOfWork, Where
from shared.records.loans import Loans
from shared.records.money_plans import MoneyPlanRecord, MoneyPlans
from shared.services.funding import Ask, commit_many_in

AUTO_INVEST_RULES = "auto_invest_rules"
CHUNK = 25  # lenders committed per transaction
MAX_MATCHING = 5_000  # enabled rules read per loan


class AutoInvestRules(Model):
    """What a lender wants funded automatically; empty grades or tenors mean any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool
    grades: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=8)], ...], Field(
        max_length=20
    )] = ()  # fmt: skip
    tenors: Annotated[tuple[Annotated[int, Field(gt=0, le=3650)], ...], Field(max_length=50)] = ()
    max_per_loan: PositiveRupiah
    max_total: PositiveRupiah

    @model_validator(mode="after")
    def _consistent(self) -> AutoInvestRules:
        if self.max_per_loan > self.max_total:
            raise ValueError("max_per_loan cannot exceed max_total")
        return self


class AutoInvestRecord(AutoInvestRules):
    model_config = ConfigDict(frozen=True, extra="ignore")

    lender_id: str
    updated_at: Instant


class AutoInvestRuleSets(Repository[AutoInvestRecord]):
    collection = AUTO_INVEST_RULES
    model = AutoInvestRecord
    key_field = "lender_id"


class AutoInvestPass(Model):
    model_config = ConfigDict(frozen=True)

    loan_id: str
    matching: int
    committed: dict[str, int]  # lender -> amount committed by this pass
    loan_state: LoanState


def rules_of(uow: UnitOfWork, lender_id: str) -> AutoInvestRecord | None:
    return uow.run(lambda tx: AutoInvestRuleSets(tx).get(lender_id), read_only=True)


def set_rules(
    uow: UnitOfWork,
    caller: Caller,
    rules: AutoInvestRules,
    *,
    funding: FundingRules,
    origin: EventOrigin,
) -> AutoInvestRecord:
    if rules.max_per_loan < funding.min_commitment:
        smallest = f"at least the smallest commitment, Rp {funding.min_commitment:,}"
        raise ValidationFailed(
            f"max_per_loan is below the smallest commitment, Rp {funding.min_commitment:,}",
            {"max_per_loan": smallest},
        )
    record = AutoInvestRecord(
        **rules.model_dump(), lender_id=caller.user_id, updated_at=origin.clock.now()
    )
    uow.run(lambda tx: AutoInvestRuleSets(tx).put(record))
    return record


def turn(loan_id: str, lender_id: str) -> str:
    """The lender's place in the loan's queue: the same for every delivery of the event, and
    a different order on every loan."""
    return hashlib.sha256(f"{loan_id}|{lender_id}".encode()).hexdigest()


def invest(
    uow: UnitOfWork, loan_id: str, *, funding: FundingRules, origin: EventOrigin
) -> AutoInvestPass:
    """One auto-invest pass over `loan_id` (see the module docstring)."""
    plan_id = f"auto-{loan_id}"
    now = origin.clock.now

    def make(tx: DocumentTransaction) -> tuple[MoneyPlanRecord, dict[str, AutoInvestRecord]]:
        plans = MoneyPlans(tx)
        loan = Loans(tx).require(loan_id)
        existing = plans.get(plan_id)
        enabled = AutoInvestRuleSets(tx).find(Where("enabled", "==", True), limit=MAX_MATCHING)
        matching = {
            r.lender_id: r
            for r in enabled
            if r.lender_id != loan.borrower_id
            and (not r.grades or (loan.offer is not None and loan.offer.grade in r.grades))
            and (not r.tenors or loan.tenor in r.tenors)
        }
        if existing is not None:
            return existing, matching
        at = now()
        plan = MoneyPlanRecord(
            id=plan_id,
            kind="auto_invest",
            loan_id=loan_id,
            lenders=tuple(sorted(matching, key=lambda lender: turn(loan_id, lender))),
            chunk_size=CHUNK,
            created_at=at,
            updated_at=at,
        )
        plans.add(plan)
        return plan, matching

    plan, matching = uow.run(make)
    committed: dict[str, int] = {}
    state = LoanState.FUNDING
    for index in range(plan.cursor, plan.chunk_count):

        def chunk(tx: DocumentTransaction, index: int = index) -> LoanState:
            current = MoneyPlans(tx).get(plan_id)
            if current is None or current.cursor != index:
                return LoanState.FUNDING  # another run did this chunk
            lenders = [lender for lender in current.chunk(index) if lender in matching]
            asks = [
                Ask(
                    lender,
                    matching[lender].max_per_loan,
                    f"auto-{loan_id}-{lender}",
                    max_total=matching[lender].max_total,
                )
                for lender in lenders
            ]
            loan, outcomes = commit_many_in(
                tx,
                loan_id,
                asks,
                via="auto_invest",
                rules=funding,
                now=now(),
                origin=origin,
                fit=lambda asked, remaining: _fit(asked, remaining, funding.min_commitment),
            )
            for lender, outcome in outcomes.items():
                amount = getattr(outcome, "amount", None)
                if amount is not None:
                    committed[lender] = amount
            MoneyPlans(tx).put(
                current.model_copy(update={"cursor": index + 1, "updated_at": now()})
            )
            return loan.state

        state = uow.run(chunk)
        if state is not LoanState.FUNDING:
            break
    uow.run(
        lambda tx: MoneyPlans(tx).put(
            MoneyPlans(tx)
            .require(plan_id)
            .model_copy(update={"state": "done", "updated_at": now()})
        )
    )
    return AutoInvestPass(
        loan_id=loan_id, matching=len(matching), committed=committed, loan_state=state
    )


def _fit(asked: int, remaining: int, minimum: int) -> int | None:
    """What auto-invest asks of a loan with `remaining` left: its own amount, cut to what
    remains, or less so as not to leave a remainder below the minimum (None: nothing fits)."""
    take = min(asked, remaining)
    left = remaining - take
    if 0 < left < minimum:
        take = remaining - minimum
    return take if take >= min(minimum, remaining) else None
