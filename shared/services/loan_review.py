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

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.domain.errors import Conflict, NotFound
from shared.domain.events import EventType
from shared.domain.loan import LoanState, LoanTransition, transition
from shared.domain.maker_checker import refuse_own_case
from shared.fields import PlainStr, ProseStr, RateText
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.credit_decisions import CreditDecisionRecord, CreditDecisions
from shared.records.loans import LoanRecord, Loans, ReviewNote
from shared.records.products import Products
from shared.services.loan_applications import ApplicationList, ApplicationView
from shared.services.offers import approve_loan, reject_loan

Narrative = Annotated[
    ProseStr, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000)
]
BorrowerReason = Annotated[
    PlainStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]


class ReviewQueueQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ReviewCase(BaseModel):
    """One application under review and the scorecard's full decision on it."""

    model_config = ConfigDict(frozen=True)

    application: ApplicationView
    decision: CreditDecisionRecord | None


class ApproveApplication(BaseModel):
    """Approve with a narrative (why, in the reviewer's words); `rate` overrides the grade's
    price (per month, or per year for bullet products) within the product's bounds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    narrative: Narrative
    rate: RateText | None = None


class RejectApplication(BaseModel):
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
            order_by=(OrderBy("submitted_at"),),
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
    require_document_id(loan_id, "loan application")
    now = origin.clock.now()

    def approve(tx: DocumentTransaction) -> ApplicationView:
        loans = Loans(tx)
        loan = _application(loans, loan_id)
        refuse_own_case(reviewer_id, loan.borrower_id, "decide a loan application")
        decision = CreditDecisions(tx).get(loan_id)
        entry = Products(tx).get(loan.product_id)
        transition(loan.state, LoanTransition.APPROVE, loan.id)  # 409 before anything else
        if decision is None or entry is None:
            raise Conflict(f"loan {loan_id} has no scorecard decision or product to price it")
        approved, event = approve_loan(
            loan,
            entry.product,
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
    require_document_id(loan_id, "loan application")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> ApplicationView:
        loans = Loans(tx)
        loan = _application(loans, loan_id)
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
        tx.emit(origin.event(EventType.LOAN_REJECTED, event))
        return ApplicationView.of(rejected, for_admin=True)

    return uow.run(reject)
