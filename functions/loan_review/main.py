"""`loan_review`: the `admin.credit` review queue (rules in shared/services/loan_review.py).

- `GET /` — applications in review, oldest first.
- `GET /{loan_id}` — one application with the scorecard's full five-C decision.
- `POST /{loan_id}/approve` — approve with a narrative; prices the offer, `loan.approved`.
- `POST /{loan_id}/reject` — reject with a narrative and reasons, `loan.rejected`.
- `POST /{loan_id}/figures/{figure}/verify` — verify a declared figure against an uploaded
  document; the application is re-scored with it (`figure.verify`).
Decisions take an `Idempotency-Key`; nobody decides or verifies their own application.

Configuration: `shared.settings.ReviewSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.records.users import UserDirectory
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


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReviewServices(EventProducer, HttpServices):
    entity: str


def _services() -> ReviewServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.http.wiring import http_services, unit_of_work
    from shared.settings import ReviewSettings, load_settings

    settings = load_settings(ReviewSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings, ReviewServices, uow=uow, callers=UserDirectory(uow), entity=settings.entity
    )


services: Lazy[ReviewServices] = Lazy(_services)


@functions_framework.http
def loan_review(request: Any) -> Any:
    return router.handle(request, services.get())
