"""The `admin.credit` review queue: applications the scorecard could not decide alone.

- `review_queue` lists loans `in_review`, oldest submission first (the order
  they should be worked), with the scorecard's summary on each.
- `review_case` shows one loan with the full five-C decision
  (`credit_decisions/<loan id>`): each C's points, every characteristic, the
  reasons and the providers that were unavailable.
- `approve_application` approves with a narrative (required): the offer is
  priced exactly as an automated approval is (`loan_decisions.approve_loan`, at
  the decision's grade unless the reviewer sets a rate within the product's
  bounds and the caps) and `loan.approved` is published. The loan opens for
  funding once the borrower accepts the offer.
- `reject_application` rejects with a narrative and optional reasons for the
  borrower (the narrative stays internal) and publishes `loan.rejected`.

Both decisions are checked against the loan's current state in their
transaction: deciding a loan twice, or one that is not in review, is a 409
naming the current state. Nobody decides their own application, whatever their role
(`shared.domain.maker_checker.refuse_own_case`: 403).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

from pydantic import ConfigDict, Field, StringConstraints

from shared.domain.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from shared.domain.loan import LoanState, LoanTransition, transition
from shared.domain.maker_checker import refuse_own_case
from shared.fields import DocumentId, PlainStr, ProseStr, RateText
from shared.model import Model
from shared.platform.clock import Clock, jakarta_date
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.credit_decisions import CreditDecisionRecord, CreditDecisions
from shared.records.loans import LoanRecord, Loans, ReviewNote
from shared.services.loan_applications import ApplicationList, ApplicationView

if TYPE_CHECKING:
    from shared.domain.scoring.features import DeclaredFigure
    from shared.domain.scoring.providers import ProviderName
    from shared.platform.event_origin import EventOrigin

# Deciding and re-scoring import what they need (pricing, the event models, the scorecards)
# when they run: reading the queue does not (docs/architecture.md#cold-start).

Narrative = Annotated[
    ProseStr, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000)
]
BorrowerReason = Annotated[
    PlainStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]


class ReviewQueueQuery(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ReviewCase(Model):
    """One application under review and the scorecard's full decision on it."""

    model_config = ConfigDict(frozen=True)

    application: ApplicationView
    decision: CreditDecisionRecord | None


class ApproveApplication(Model):
    """Approve with a narrative (why, in the reviewer's words); `rate` overrides the grade's
    price (per month, or per year for bullet products) within the product's bounds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    narrative: Narrative
    rate: RateText | None = None


class RejectApplication(Model):
    """Reject with a narrative (internal) and the reasons the borrower will read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    narrative: Narrative
    reasons: Annotated[tuple[BorrowerReason, ...], Field(max_length=10)] = ()


def _application(loans: Loans, loan_id: str) -> LoanRecord:
    loan = loans.get(loan_id)
    if loan is None:
        raise NotFound(f"there is no loan application {loan_id!r}")
    return loan


def review_queue(uow: UnitOfWork, query: ReviewQueueQuery) -> ApplicationList:
    """Loans waiting for a reviewer, oldest submission first."""
    loans = uow.run(
        lambda tx: Loans(tx).find(
            Where("state", "==", LoanState.IN_REVIEW.value),
            order_by=(OrderBy("submitted_at"), OrderBy("id")),
            limit=query.limit,
        ),
        read_only=True,
    )
    return ApplicationList(
        applications=tuple(ApplicationView.of(loan, for_admin=True) for loan in loans)
    )


def review_case(uow: UnitOfWork, loan_id: str) -> ReviewCase:
    require_document_id(loan_id, "loan application")

    def read(tx: DocumentTransaction) -> ReviewCase:
        loan = _application(Loans(tx), loan_id)
        return ReviewCase(
            application=ApplicationView.of(loan, for_admin=True),
            decision=CreditDecisions(tx).get(loan_id),
        )

    return uow.run(read, read_only=True)


def approve_application(
    uow: UnitOfWork,
    loan_id: str,
    command: ApproveApplication,
    reviewer_id: str,
    *,
    origin: EventOrigin,
) -> ApplicationView:
    """Approve a loan in review: price its offer and publish `loan.approved`."""
    from shared.domain.events import EventType
    from shared.services.catalogue import product_of
    from shared.services.offers import approve_loan

    require_document_id(loan_id, "loan application")
    now = origin.clock.now()

    def approve(tx: DocumentTransaction) -> ApplicationView:
        loans = Loans(tx)
        loan = _application(loans, loan_id)
        refuse_own_case(reviewer_id, loan.borrower_id, "decide a loan application")
        decision = CreditDecisions(tx).get(loan_id)
        product = product_of(tx, loan.product_id, loan.product_version)
        transition(loan.state, LoanTransition.APPROVE, loan.id)  # 409 before anything else
        if decision is None:
            raise Conflict(f"loan {loan_id} has no scorecard decision to price it from")
        approved, event = approve_loan(
            loan,
            product,
            grade=decision.grade,
            grade_rate_per_month=decision.offer.rate_per_month,
            at=now,
            by=reviewer_id,
            rate=command.rate,
            review=ReviewNote(
                outcome="approved",
                reviewer_id=reviewer_id,
                narrative=command.narrative,
                reviewed_at=now,
            ),
        )
        loans.put(approved)
        tx.emit(origin.event(EventType.LOAN_APPROVED, event))
        return ApplicationView.of(approved, for_admin=True)

    return uow.run(approve)


def reject_application(
    uow: UnitOfWork,
    loan_id: str,
    command: RejectApplication,
    reviewer_id: str,
    *,
    origin: EventOrigin,
) -> ApplicationView:
    """Reject a loan in review with the reasons the borrower reads; publish `loan.rejected`."""
    from shared.domain.events import EventType
    from shared.records.borrowers import BorrowerPositions
    from shared.services.offers import reject_loan

    require_document_id(loan_id, "loan application")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> ApplicationView:
        loans, positions = Loans(tx), BorrowerPositions(tx)
        loan = _application(loans, loan_id)
        position = positions.of(loan.borrower_id)
        refuse_own_case(reviewer_id, loan.borrower_id, "decide a loan application")
        reasons = command.reasons or ("the application did not pass credit review",)
        rejected, event = reject_loan(
            loan,
            reasons,
            at=now,
            by=reviewer_id,
            review=ReviewNote(
                outcome="rejected",
                reviewer_id=reviewer_id,
                narrative=command.narrative,
                reviewed_at=now,
            ),
        )
        loans.put(rejected)
        positions.put(position.rejected(jakarta_date(now)))  # the cooling-off period starts
        tx.emit(origin.event(EventType.LOAN_REJECTED, event))
        return ApplicationView.of(rejected, for_admin=True)

    return uow.run(reject)


# --- declared figures, verified against a document -----------------------------------------


class FigureVerification(Model):
    """`POST /{loan_id}/figures/{figure}/verify`: the uploaded document a declared figure
    was checked against, and what the reviewer saw."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document_id: DocumentId
    narrative: Narrative


class VerifiedFigure(Model):
    """A declared figure `admin.credit` verified (kept on the loan)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    by: str
    at: datetime
    document_id: str
    narrative: str


def _declared(loan: LoanRecord) -> set[DeclaredFigure]:
    capital = loan.capital
    figures: dict[DeclaredFigure, int | None] = {
        "inventory_value": capital.inventory_value,
        "account_balances": capital.account_balances,
        "owner_equity": capital.owner_equity,
        "collateral_value": loan.collateral.value if loan.collateral else None,
    }
    return {name for name, value in figures.items() if value}


def verify_declared_figure(
    uow: UnitOfWork,
    loan_id: str,
    figure: str,
    command: FigureVerification,
    reviewer_id: str,
    *,
    clock: Clock,
) -> ReviewCase:
    """`admin.credit` verifies one declared figure against a document the borrower uploaded;
    the application is re-scored from the features stored at decision time, the figure now
    counting in full (docs/lending-rules.md#credit-scoring). Nobody verifies their own."""
    from shared.domain.scoring.engine import score_features
    from shared.domain.scoring.features import DECLARED_FEATURES, feature_from_text
    from shared.domain.scoring.scorecard import load_scorecard_for_model

    require_document_id(loan_id, "loan application")
    if figure not in DECLARED_FEATURES:
        raise NotFound(f"there is no declared figure {figure!r}")
    declared_figure = cast("DeclaredFigure", figure)
    now = clock.now()
    stored = uow.run(lambda tx: CreditDecisions(tx).get(loan_id), read_only=True)
    if stored is None:
        raise Conflict(f"loan {loan_id} has no scorecard decision to re-score")
    card = load_scorecard_for_model(stored.model_version)

    def verify(tx: DocumentTransaction) -> ReviewCase:
        loans, decisions = Loans(tx), CreditDecisions(tx)
        loan = _application(loans, loan_id)
        decision = decisions.get(loan_id)
        refuse_own_case(reviewer_id, loan.borrower_id, "verify a declared figure")
        if loan.state is not LoanState.IN_REVIEW:
            raise IllegalTransition(f"loan {loan_id}", loan.state.value, "verify a declared figure")
        if decision is None or decision.model_version != stored.model_version:
            raise Conflict(f"loan {loan_id}'s decision changed meanwhile; verify again")
        declared = _declared(loan)
        if declared_figure not in declared:
            raise ValidationFailed(
                f"loan {loan_id} declares no {figure}", {"figure": "not declared"}
            )
        if not any(d.document_id == command.document_id for d in loan.documents):
            raise ValidationFailed(
                "verify against a document uploaded for this loan",
                {"document_id": f"loan {loan_id} has no document {command.document_id!r}"},
            )
        verified = {*decision.verified_figures, declared_figure}
        implausible = {
            r.code.removeprefix("declared.implausible.")
            for r in decision.reasons
            if r.code.startswith("declared.implausible.")
        }
        rescored = score_features(
            {name: feature_from_text(name, text) for name, text in decision.features.items()},
            card,
            principal=loan.principal,
            unavailable=cast("dict[ProviderName, str]", decision.providers_unavailable),
            knockouts=[r for r in decision.reasons if r.code.startswith("knockout.")],
            unverified=[f for f in declared if f not in verified or f in implausible],
            notes=[r for r in decision.reasons if r.code in _code_set(implausible)],
        )
        updated = decision.model_copy(
            update={
                "total_score": rescored.total_score,
                "grade": rescored.grade,
                "points": rescored.points,
                "characteristics": rescored.characteristics,
                "reasons": rescored.reasons,
                "offer": rescored.offer,
                "verified_figures": tuple(sorted(verified)),
                "rescored_at": now,
            }
        )
        summary = loan.decision
        changes: dict[str, object] = {
            "verified_figures": {
                **(loan.model_extra or {}).get("verified_figures", {}),
                figure: VerifiedFigure(
                    by=reviewer_id,
                    at=now,
                    document_id=command.document_id,
                    narrative=command.narrative,
                ).model_dump(mode="json"),
            },
            "updated_at": now,
        }
        if summary is not None:
            changes["decision"] = summary.model_copy(
                update={
                    "grade": rescored.grade,
                    "score": rescored.total_score,
                    "reasons": tuple(r.message for r in rescored.reasons),
                }
            )
        verified_loan = loan.model_copy(update=changes)
        decisions.put(updated)
        loans.put(verified_loan)
        return ReviewCase(
            application=ApplicationView.of(verified_loan, for_admin=True), decision=updated
        )

    return uow.run(verify)


def _code_set(figures: set[str]) -> set[str]:
    return {f"declared.implausible.{figure}" for figure in figures}
