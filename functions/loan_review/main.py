"""`loan_review`: the `admin.credit` review queue (rules in shared/services/loan_review.py).

- `GET /` — applications in review, oldest first.
- `GET /{loan_id}` — one application with the scorecard's full five-C decision.
- `POST /{loan_id}/approve` — approve with a narrative; prices the offer, `loan.approved`.
- `POST /{loan_id}/reject` — reject with a narrative and reasons, `loan.rejected`.
- `POST /{loan_id}/figures/{figure}/verify` — verify a declared figure against an uploaded
  document; the application is re-scored with it (`figure.verify`).
Decisions take an `Idempotency-Key`; nobody decides or verifies their own application.

Champion/challenger scorecards (rules in shared/services/scorecards.py; permission
`scorecard.manage`; docs/lending-rules.md#champion-and-challenger):
- `GET /scorecards` — the routing in force, the shipped versions and open proposals.
- `POST /scorecards/proposals` — propose a version as champion, or as challenger with a
  share of 0 to 0.5.
- `POST /scorecards/proposals/{proposal_id}/promote` — a second admin puts it in force.
- `GET /scorecards/compare` — per version: decisions, approvals, disbursed loans, loans
  31+ days past due within `months` of disbursement, and the rates.

Configuration: `shared.settings.ReviewSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.domain.scoring.routing import ScorecardRouting
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventProducer
from shared.records.scorecards import ScorecardProposalRecord
from shared.records.user_directory import UserDirectory
from shared.services.loan_applications import ApplicationList, ApplicationView
from shared.services.loan_review import (
    ApproveApplication,
    FigureVerification,
    RejectApplication,
    ReviewCase,
    ReviewQueueQuery,
    approve_application,
    reject_application,
    review_case,
    review_queue,
    verify_declared_figure,
)
from shared.services.scorecards import (
    ComparisonQuery,
    ScorecardComparison,
    ScorecardProposal,
    ScorecardShelf,
    ScorecardsView,
    compare_scorecards,
    promote_scorecard,
    propose_scorecard,
    scorecards_view,
)

router: Router[ReviewServices] = Router(
    "loan_review", description="The admin.credit review queue: approve or reject with a narrative."
)
REVIEW = Permission.LOAN_REVIEW


@router.get("/", query=ReviewQueueQuery, response=ApplicationList, permission=REVIEW)
def queue(call: Call[None, ReviewServices]) -> ApplicationList:
    """The review queue, oldest submission first."""
    return review_queue(call.uow, call.query)


@router.get("/{loan_id}", response=ReviewCase, permission=REVIEW)
def case(call: Call[None, ReviewServices]) -> ReviewCase:
    """One application with the scorecard's full decision."""
    return review_case(call.uow, call.path["loan_id"])


@router.post(
    "/{loan_id}/approve",
    body=ApproveApplication,
    response=ApplicationView,
    permission=REVIEW,
    idempotent=True,
)
def approve(call: Call[ApproveApplication, ReviewServices]) -> ApplicationView:
    """Approve with a narrative; the offer is priced and `loan.approved` published."""
    loan_id, reviewer = call.path["loan_id"], call.caller.user_id
    return approve_application(call.uow, loan_id, call.body, reviewer, origin=call.services.origin)


@router.post(
    "/{loan_id}/reject",
    body=RejectApplication,
    response=ApplicationView,
    permission=REVIEW,
    idempotent=True,
)
def reject(call: Call[RejectApplication, ReviewServices]) -> ApplicationView:
    """Reject with a narrative and the reasons the borrower reads; `loan.rejected`."""
    loan_id, reviewer = call.path["loan_id"], call.caller.user_id
    return reject_application(call.uow, loan_id, call.body, reviewer, origin=call.services.origin)


@router.post(
    "/{loan_id}/figures/{figure}/verify",
    body=FigureVerification,
    response=ReviewCase,
    permission=Permission.FIGURE_VERIFY,
    idempotent=True,
)
def verify_figure(call: Call[FigureVerification, ReviewServices]) -> ReviewCase:
    """Verify a declared figure against a document the borrower uploaded; re-scores."""
    return verify_declared_figure(
        call.uow,
        call.path["loan_id"],
        call.path["figure"],
        call.body,
        call.caller.user_id,
        clock=call.services.clock,
    )


SCORECARDS = Permission.SCORECARD_MANAGE


@router.get("/scorecards", response=ScorecardsView, permission=SCORECARDS)
def scorecards(call: Call[None, ReviewServices]) -> ScorecardsView:
    """The champion/challenger routing in force, the shipped versions and open proposals."""
    s = call.services
    return scorecards_view(call.uow, s.default_routing, s.scorecards)


@router.post(
    "/scorecards/proposals",
    body=ScorecardProposal,
    response=ScorecardProposalRecord,
    status=201,
    permission=SCORECARDS,
    idempotent=True,
)
def propose_card(call: Call[ScorecardProposal, ReviewServices]) -> ScorecardProposalRecord:
    """Propose a shipped scorecard version as champion, or as challenger with its share."""
    s = call.services
    return propose_scorecard(
        call.uow,
        call.body,
        admin_id=call.caller.user_id,
        default=s.default_routing,
        shelf=s.scorecards,
        clock=s.clock,
        ids=s.origin.ids,
    )


@router.post(
    "/scorecards/proposals/{proposal_id}/promote",
    response=ScorecardProposalRecord,
    permission=SCORECARDS,
    idempotent=True,
)
def promote_card(call: Call[None, ReviewServices]) -> ScorecardProposalRecord:
    """Put another admin's proposal in force; scoring uses it from the next application."""
    s = call.services
    return promote_scorecard(
        call.uow,
        call.path["proposal_id"],
        admin_id=call.caller.user_id,
        default=s.default_routing,
        shelf=s.scorecards,
        clock=s.clock,
    )


@router.get(
    "/scorecards/compare",
    query=ComparisonQuery,
    response=ScorecardComparison,
    permission=SCORECARDS,
)
def compare_cards(call: Call[None, ReviewServices]) -> ScorecardComparison:
    """Approval and early-delinquency rates of the champion and challenger (or `versions`)."""
    today = jakarta_date(call.services.clock.now())
    return compare_scorecards(call.uow, call.query, call.services.default_routing, today=today)


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReviewServices(EventProducer, HttpServices):
    entity: str
    default_routing: ScorecardRouting
    scorecards: ScorecardShelf


def _services() -> ReviewServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.http.wiring import http_services, unit_of_work
    from shared.settings import ReviewSettings, load_settings

    settings = load_settings(ReviewSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        ReviewServices,
        uow=uow,
        callers=UserDirectory(uow),
        entity=settings.entity,
        default_routing=settings.default_scorecard_routing(),
        scorecards=ScorecardShelf(),
    )


services: Lazy[ReviewServices] = Lazy(_services)


@functions_framework.http
def loan_review(request: Any) -> Any:
    return router.handle(request, services.get())
