"""`loan_applications`: borrowers submit, read, accept, cancel and document their applications.

Routes (rules in shared/services/loan_applications.py; creating and state-changing
requests take an `Idempotency-Key`):
- `POST /` — submit; 202 with the loan id, publishes `loan.submitted`.
- `GET /`, `GET /{loan_id}` — the borrower's own applications (admins: all).
- `POST /{loan_id}/accept` — accept the priced offer; funding opens (`loan.offer_accepted`).
- `POST /{loan_id}/cancel` — withdraw before funding (`loan.cancelled`).
- `POST /{loan_id}/documents` — a signed upload URL for a KTP, invoice or collateral photo.
- `GET /loans/{loan_id}/repayment` — a disbursed loan as its borrower repays it: each
  installment due, paid and outstanding, what remains, and the virtual account to pay into
  (rules in shared/services/repayment_views.py).

Configuration: `shared.settings.ApplicationsSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.clock import jakarta_date
from shared.platform.documents import DocumentStorage
from shared.platform.event_origin import EventProducer
from shared.records.user_directory import UserDirectory
from shared.services.loan_applications import (
    AcceptOffer,
    ApplicationAccepted,
    ApplicationList,
    ApplicationQuery,
    ApplicationView,
    CancelApplication,
    DocumentUpload,
    DocumentUploadRequest,
    SubmitApplication,
    accept_offer,
    cancel_application,
    list_applications,
    read_application,
    refresh_document_upload,
    request_document_upload,
    submit_application,
)
from shared.services.repayment_views import RepaymentView, repayment_of

router: Router[ApplicationServices] = Router(
    "loan_applications",
    description="Borrowers submit, read, accept, cancel applications and upload documents.",
)
APPLY = Permission.LOAN_APPLY


@router.post(
    "/",
    body=SubmitApplication,
    response=ApplicationAccepted,
    status=202,
    permission=APPLY,
    idempotent=True,
)
def submit(call: Call[SubmitApplication, ApplicationServices]) -> ApplicationAccepted:
    """Submit a loan application.

    Validated against the product, the caps, the Rp 2 bn borrower limit, the verified
    identity and the one-open-application rule; scoring follows (`loan.submitted`).
    """
    return submit_application(call.uow, call.body, call.caller.user_id, origin=call.services.origin)


@router.get("/", query=ApplicationQuery, response=ApplicationList, permission=Permission.LOAN_READ)
def list_own(call: Call[None, ApplicationServices]) -> ApplicationList:
    """List applications, newest first (a borrower sees their own)."""
    return list_applications(call.uow, call.caller, call.query)


@router.get("/{loan_id}", response=ApplicationView, permission=Permission.LOAN_READ)
def read(call: Call[None, ApplicationServices]) -> ApplicationView:
    """Read an application (another borrower's is a 404)."""
    return read_application(call.uow, call.caller, call.path["loan_id"])


@router.post(
    "/{loan_id}/accept",
    body=AcceptOffer,
    response=ApplicationView,
    permission=APPLY,
    idempotent=True,
)
def accept(call: Call[AcceptOffer, ApplicationServices]) -> ApplicationView:
    """Accept the priced offer under its agreement version; the loan opens for funding."""
    loan_id = call.path["loan_id"]
    return accept_offer(call.uow, call.caller, loan_id, call.body, origin=call.services.origin)


@router.post(
    "/{loan_id}/cancel",
    body=CancelApplication,
    response=ApplicationView,
    permission=APPLY,
    idempotent=True,
)
def cancel(call: Call[CancelApplication, ApplicationServices]) -> ApplicationView:
    """Withdraw the application before funding completes (send `{}` or a `reason`)."""
    loan_id = call.path["loan_id"]
    return cancel_application(
        call.uow, call.caller, loan_id, call.body, origin=call.services.origin
    )


@router.get("/loans/{loan_id}/repayment", response=RepaymentView, permission=Permission.LOAN_READ)
def repayment(call: Call[None, ApplicationServices]) -> RepaymentView:
    """My loan's installments as paid so far, what remains and where to pay (another
    borrower's loan is a 404)."""
    today = jakarta_date(call.services.clock.now())
    return repayment_of(call.uow, call.caller, call.path["loan_id"], today=today)


def fresh_upload_url(call: Call[DocumentUploadRequest, ApplicationServices], first: Any) -> Any:
    """A replay signs the same object's URL again (the first one may have expired)."""
    stored = DocumentUpload.model_validate(first)
    s = call.services
    return refresh_document_upload(call.uow, s.documents, call.caller, call.path["loan_id"], stored)


@router.post(
    "/{loan_id}/documents",
    body=DocumentUploadRequest,
    response=DocumentUpload,
    status=201,
    permission=APPLY,
    idempotent=True,
    on_replay=fresh_upload_url,
)
def upload_document(call: Call[DocumentUploadRequest, ApplicationServices]) -> DocumentUpload:
    """Get a signed URL to upload a document (KTP, invoice, collateral photo)."""
    s = call.services
    return request_document_upload(
        call.uow, s.documents, call.caller, call.path["loan_id"], call.body, origin=s.origin
    )


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ApplicationServices(EventProducer, HttpServices):
    entity: str
    documents: DocumentStorage


def _services() -> ApplicationServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.adapters.storage import document_storage
    from shared.http.wiring import http_services, unit_of_work
    from shared.settings import ApplicationsSettings, load_settings

    settings = load_settings(ApplicationsSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        ApplicationServices,
        uow=uow,
        callers=UserDirectory(uow),
        entity=settings.entity,
        documents=document_storage(settings),
    )


services: Lazy[ApplicationServices] = Lazy(_services)


@functions_framework.http
def loan_applications(request: Any) -> Any:
    return router.handle(request, services.get())
