"""Scoring a submitted application: providers, the five-C scorecard, and the decision's effects.

`score_submitted_loan` applies one `loan.submitted` event:
1. Read (outside any transaction) the loan, the borrower, the product and the
   champion/challenger routing in force (`shared/services/scorecards.py`), which
   picks the scorecard version by a stable hash of the borrower id
   (docs/lending-rules.md#champion-and-challenger). A loan that is no longer
   `submitted` (cancelled meanwhile, or decided) is skipped; a missing loan or
   borrower is a permanent error (`NotFound`: the event consumer logs and
   acknowledges it).
2. Ask the providers (civil registry, credit bureau, marketplace sales and
   business profiles) through the `ProviderDataSource` port — in parallel, with
   timeouts and retries in the adapter, *outside* the transaction because a
   transaction body may run several times. A provider that fails comes back
   as `ProviderUnavailable` and the scorecard sends the loan to review with
   the reason; nothing here raises for a provider.
3. Score (pure, milliseconds): `shared.domain.scoring.score` with the
   borrower's scorecard version (each parsed once per process by the shelf). The new loan's monthly
   installment for the debt-service ratio is priced at the product's maximum
   rate — the most it could cost, since the grade is not known yet.
4. One transaction (the consumer's: it records the event id in the same
   commit, so a redelivery is acknowledged and ignored): the loan moves
   `submitted → scored` and then
   - `approve` → priced exactly as a reviewer's approval (`approve_loan`) and
     `approved`, publishing `loan.scored` and `loan.approved`; if no price
     meets the caps (or the product no longer fits) it goes to review instead,
     with that reason;
   - `review` → `in_review` (the `admin.credit` queue), `loan.scored`;
   - `reject` → `rejected` with the decision's reasons, `loan.scored` and
     `loan.rejected`.
   The full decision (scorecard version and model version, each C's points,
   every characteristic, reasons, unavailable providers) is stored in
   `credit_decisions/<loan id>`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.domain.errors import DomainError, NotFound
from shared.domain.events import (
    Envelope,
    EventType,
    LoanApproved,
    LoanRejected,
    LoanScored,
    LoanSubmitted,
)
from shared.domain.identity import PROVINCES
from shared.domain.loan import LoanState, LoanTransition
from shared.domain.products import LoanProduct
from shared.domain.schedule import build_schedule
from shared.domain.scoring.decision import Reason, ScoreDecision
from shared.domain.scoring.engine import score
from shared.domain.scoring.features import ScoringApplication
from shared.domain.scoring.providers import PROVIDERS, ProviderData, ProviderUnavailable
from shared.domain.scoring.routing import ScorecardRouting, version_for
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.personal_data import PersonalDataVault
from shared.platform.providers import ProviderDataSource, ProviderQuery
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.borrowers import BorrowerPosition, BorrowerPositions
from shared.records.credit_decisions import CreditDecisionRecord, CreditDecisions
from shared.records.loans import DecisionSummary, LoanRecord, Loans
from shared.records.users import UserRecord, Users
from shared.services.catalogue import product_of
from shared.services.offers import approve_loan, reject_loan
from shared.services.scorecards import ScorecardShelf, routing_in_force

logger = logging.getLogger(__name__)

DAYS_PER_MONTH = 30  # a bullet loan's tenor in months, for the scorecard's tenor and DSR
MAX_REASON_LENGTH = 500


class ScoringOutcome(StrEnum):
    APPROVED = "approved"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # the loan was no longer waiting for a decision


_OUTCOMES = {
    LoanState.APPROVED: ScoringOutcome.APPROVED,
    LoanState.IN_REVIEW: ScoringOutcome.IN_REVIEW,
    LoanState.REJECTED: ScoringOutcome.REJECTED,
}


@dataclass(frozen=True)
class ScoringResult:
    loan_id: str
    outcome: ScoringOutcome
    decision: CreditDecisionRecord | None = None


@dataclass(frozen=True)
class _Snapshot:
    loan: LoanRecord
    borrower: UserRecord
    product: LoanProduct
    scorecard_version: str  # the version the routing in force gives this borrower


class ScorecardMissing(RuntimeError):
    """The routing in force names a scorecard this deployment does not ship. Not a rule
    refusal: the event is redelivered (and finally dead-lettered), never acknowledged
    unscored."""


def _read_snapshot(
    uow: UnitOfWork, loan_id: str, default_routing: ScorecardRouting
) -> _Snapshot | LoanRecord:
    """The loan with its borrower, product and scorecard version, or just the loan when it
    is not `submitted`."""

    def read(tx: DocumentTransaction) -> _Snapshot | LoanRecord:
        loan = Loans(tx).require(loan_id)
        if loan.state is not LoanState.SUBMITTED:
            return loan
        borrower = Users(tx).get(loan.borrower_id)
        if borrower is None:
            raise NotFound(f"borrower {loan.borrower_id!r} of loan {loan_id!r} does not exist")
        routing, _ = routing_in_force(tx, default_routing)
        return _Snapshot(
            loan,
            borrower,
            # The version the loan was priced with (a retired product still prices its loans).
            product_of(tx, loan.product_id, loan.product_version),
            version_for(loan.borrower_id, routing),
        )

    return uow.run(read, read_only=True)


def tenor_in_months(product: LoanProduct, tenor: int) -> int:
    """The tenor in months: as stated for monthly products, days ÷ 30 rounded up for bullet."""
    return tenor if product.interest_method.is_monthly else math.ceil(tenor / DAYS_PER_MONTH)


def largest_monthly_installment(product: LoanProduct, loan: LoanRecord, applied_on: date) -> int:
    """The new loan's heaviest monthly payment at the product's maximum rate (for the DSR).

    A bullet loan's single payment is spread over its months: it is repaid from
    the invoice it finances, not from one month's revenue.
    """
    schedule = build_schedule(
        loan.principal,
        loan.tenor,
        product.max_rate,
        product.interest_method,
        product.rounding_unit,
        applied_on,
        day_count=product.day_count,
        service_fee_per_installment=product.service_fee_per_installment,
    )
    if product.interest_method.is_monthly:
        return max(installment.total for installment in schedule.installments)
    return math.ceil(schedule.total_repayment / tenor_in_months(product, loan.tenor))


def scoring_application(snapshot: _Snapshot, applied_on: date) -> ScoringApplication:
    loan, borrower, product = snapshot.loan, snapshot.borrower, snapshot.product
    profile = borrower.borrower_profile
    if profile is None or profile.province_code not in PROVINCES:
        raise NotFound(f"borrower {borrower.id!r} has no usable business profile")
    if borrower.nik_encrypted is None or borrower.birth_date is None:
        raise NotFound(f"borrower {borrower.id!r} has no NIK the civil registry confirmed")
    return ScoringApplication(
        applied_on=applied_on,
        birth_date=borrower.birth_date,
        principal=loan.principal,
        tenor_months=tenor_in_months(product, loan.tenor),
        new_monthly_installment=largest_monthly_installment(product, loan, applied_on),
        purpose=loan.purpose.value,
        sector=profile.sector,
        province_code=profile.province_code,
        years_in_business=profile.years_in_business,
        inventory_value=loan.capital.inventory_value,
        account_balances=loan.capital.account_balances,
        owner_equity=loan.capital.owner_equity,
        collateral_value=loan.collateral.value if loan.collateral else 0,
        platform_outstanding=loan.borrower_outstanding,
    )


def _unavailable(data: ProviderData) -> dict[str, str]:
    """Each provider that gave no usable answer, and why."""
    missing: dict[str, str] = {}
    for name in PROVIDERS:
        answer = getattr(data, name)
        if isinstance(answer, ProviderUnavailable):
            missing[name] = answer.reason
        elif answer is None:
            missing[name] = "not asked"
    return missing


def _message(reason: Reason) -> str:
    text = reason.message
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"


def score_submitted_loan(
    uow: UnitOfWork,
    submitted: Envelope,
    *,
    providers: ProviderDataSource,
    vault: PersonalDataVault,
    scorecards: ScorecardShelf,
    default_routing: ScorecardRouting,
    origin: EventOrigin,
) -> ScoringResult:
    """Apply one `loan.submitted` event (see the module docstring)."""
    data = submitted.data
    if not isinstance(data, LoanSubmitted):
        raise NotFound(f"{submitted.type} is not a loan.submitted event")
    loan_id = data.loan_id
    snapshot = _read_snapshot(uow, loan_id, default_routing)
    if isinstance(snapshot, LoanRecord):
        logger.info(
            "loan is %s, not submitted: nothing to score",
            snapshot.state.value,
            extra={"loan_id": loan_id},
        )
        return ScoringResult(loan_id, ScoringOutcome.SKIPPED)

    try:
        scorecard = scorecards.card(snapshot.scorecard_version)
    except DomainError as missing:
        raise ScorecardMissing(f"cannot score loan {loan_id}: {missing.detail}") from None
    applied_on = jakarta_date(snapshot.loan.submitted_at)
    application = scoring_application(snapshot, applied_on)
    borrower = snapshot.borrower
    profile = borrower.borrower_profile
    # scoring_application checked all three
    assert profile is not None and borrower.nik_encrypted and borrower.birth_date
    provider_data = providers.gather(
        ProviderQuery(
            nik=vault.decrypt("nik", borrower.nik_encrypted),
            full_name=borrower.full_name,
            birth_date=borrower.birth_date,
            store_ids=profile.store_ids,
            applied_on=applied_on,
        )
    )
    started = time.perf_counter()
    decision = score(application, provider_data, scorecard)  # declarations yet unverified
    scoring_ms = (time.perf_counter() - started) * 1000
    unavailable = _unavailable(provider_data)
    answered = jakarta_date(origin.clock.now())  # the providers answered just now
    causation = str(submitted.event_id)

    def record(tx: DocumentTransaction) -> ScoringResult:
        loans, decisions = Loans(tx), CreditDecisions(tx)
        loan = loans.require(loan_id)
        if loan.state is not LoanState.SUBMITTED or decisions.get(loan_id) is not None:
            return ScoringResult(loan_id, ScoringOutcome.SKIPPED)
        position = BorrowerPositions(tx).of(loan.borrower_id)
        return _apply_decision(
            tx,
            loan,
            position,
            snapshot.product,
            snapshot.scorecard_version,
            decision,
            unavailable,
            answered_on={name: answered for name in PROVIDERS if name not in unavailable},
            origin=origin,
            causation=causation,
        )

    result = uow.run(record)
    logger.info(
        "loan scored: %s",
        result.outcome.value,
        extra={
            "loan_id": loan_id,
            "scorecard_version": snapshot.scorecard_version,
            "model_version": decision.model_version,
            "score": decision.total_score,
            "grade": decision.grade,
            "scorecard_decision": decision.decision,
            "providers_unavailable": sorted(unavailable),
            "scoring_ms": round(scoring_ms, 3),
        },
    )
    return result


def _apply_decision(
    tx: DocumentTransaction,
    loan: LoanRecord,
    position: BorrowerPosition,
    product: LoanProduct,
    scorecard_version: str,
    decision: ScoreDecision,
    unavailable: dict[str, str],
    *,
    answered_on: dict[str, date],
    origin: EventOrigin,
    causation: str,
) -> ScoringResult:
    now = origin.clock.now()
    scored = loan.moved(LoanTransition.SCORE, at=now, by=None)
    verdict = decision.decision
    reasons = decision.reasons
    final: LoanRecord | None = None
    follow_up: LoanApproved | LoanRejected | None = None
    if verdict == "approve":
        try:
            final, follow_up = approve_loan(
                scored,
                product,
                grade=decision.grade,
                grade_rate_per_month=decision.offer.rate_per_month,
                at=now,
                by=None,
            )
        except DomainError as refused:  # no compliant price, or the product changed
            verdict = "review"
            reasons = (
                Reason(code="offer_refused", message=f"no offer could be priced: {refused.detail}"),
                *reasons,
            )
    if final is None and verdict == "reject":
        final, follow_up = reject_loan(scored, [_message(r) for r in reasons], at=now, by=None)
    elif final is None:
        final = scored.moved(LoanTransition.SEND_TO_REVIEW, at=now, by=None)
    outcome = _OUTCOMES[final.state]

    record = CreditDecisionRecord(
        loan_id=loan.id,
        borrower_id=loan.borrower_id,
        scorecard_version=scorecard_version,
        model_version=decision.model_version,
        total_score=decision.total_score,
        max_score=decision.max_score,
        grade=decision.grade,
        decision=verdict,
        points=decision.points,
        characteristics=decision.characteristics,
        reasons=reasons,
        offer=decision.offer,
        providers_unavailable=unavailable,
        decided_at=now,
        event_id=causation,
        features=decision.features,
        features_as_of=answered_on,
    )
    summary = DecisionSummary(
        decision=verdict,
        grade=decision.grade,
        score=decision.total_score,
        model_version=decision.model_version,
        reasons=tuple(_message(r) for r in reasons),
        decided_at=now,
    )
    Loans(tx).put(final.model_copy(update={"decision": summary}))
    CreditDecisions(tx).add(record)
    if final.state is LoanState.REJECTED:  # the cooling-off period runs from today
        BorrowerPositions(tx).put(position.rejected(jakarta_date(now)))
    tx.emit(
        origin.event(
            EventType.LOAN_SCORED,
            LoanScored(
                loan_id=loan.id,
                model_version=decision.model_version,
                score=decision.total_score,
                grade=decision.grade,
                decision=verdict,
                reasons=summary.reasons,
            ),
            causation_id=causation,
        )
    )
    if isinstance(follow_up, LoanApproved):
        tx.emit(origin.event(EventType.LOAN_APPROVED, follow_up, causation_id=causation))
    elif isinstance(follow_up, LoanRejected):
        tx.emit(origin.event(EventType.LOAN_REJECTED, follow_up, causation_id=causation))
    return ScoringResult(loan.id, outcome, record)
