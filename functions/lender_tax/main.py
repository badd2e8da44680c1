"""`lender_tax`: the documents that lower a lender's withholding, and their verification.

Routes (rules in shared/services/lender_tax.py):
- `POST /` — a lender files a certificate of domicile (treaty rate, dates) or a PPh 23(4)
  exemption letter and gets the URL to upload it (`tax.file`); `GET /mine` — theirs.
- `GET /lenders/{user_id}`, `POST /{document_id}/verify`, `POST /{document_id}/reject` —
  `admin.finance` (`certificate.verify`); nobody decides their own.

Configuration: `shared.settings.LenderTaxSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.documents import DocumentStorage
from shared.platform.ids import require_document_id
from shared.records.tax_documents import TaxDocumentRecord
from shared.services.lender_tax import (
    FiledTaxDocument,
    TaxDocumentDecision,
    TaxDocumentFiling,
    TaxDocumentList,
    decide_tax_document,
    file_tax_document,
    tax_documents_of,
)

router: Router[TaxServices] = Router(
    "lender_tax", description="Lenders' tax documents (treaty rates, exemptions) and their checks."
)


@router.post(
    "/",
    body=TaxDocumentFiling,
    response=FiledTaxDocument,
    status=201,
    permission=Permission.TAX_FILE,
    idempotent=True,
)
def file_tax(call: Call[TaxDocumentFiling, TaxServices]) -> FiledTaxDocument:
    """File a certificate of domicile or an exemption letter, and upload it to the URL."""
    s = call.services
    return file_tax_document(
        call.uow, s.documents, call.caller, call.body, clock=s.clock, ids=s.ids
    )


@router.get("/mine", response=TaxDocumentList, permission=Permission.TAX_FILE)
def my_tax_documents(call: Call[None, TaxServices]) -> TaxDocumentList:
    """My tax documents and what admin.finance decided."""
    return tax_documents_of(call.uow, call.caller.user_id)


@router.get(
    "/lenders/{user_id}", response=TaxDocumentList, permission=Permission.CERTIFICATE_VERIFY
)
def tax_documents(call: Call[None, TaxServices]) -> TaxDocumentList:
    """A lender's tax documents."""
    return tax_documents_of(call.uow, require_document_id(call.path["user_id"], "user"))


def _decide_tax(call: Call[TaxDocumentDecision, TaxServices], *, verify: bool) -> TaxDocumentRecord:
    s = call.services
    return decide_tax_document(
        call.uow,
        s.documents,
        call.path["document_id"],
        call.body,
        verify=verify,
        admin_id=call.caller.user_id,
        clock=s.clock,
    )


@router.post(
    "/{document_id}/verify",
    body=TaxDocumentDecision,
    response=TaxDocumentRecord,
    permission=Permission.CERTIFICATE_VERIFY,
    idempotent=True,
)
def verify_tax(call: Call[TaxDocumentDecision, TaxServices]) -> TaxDocumentRecord:
    """Verify an uploaded tax document: its treaty rate or exemption applies on its dates."""
    return _decide_tax(call, verify=True)


@router.post(
    "/{document_id}/reject",
    body=TaxDocumentDecision,
    response=TaxDocumentRecord,
    permission=Permission.CERTIFICATE_VERIFY,
    idempotent=True,
)
def reject_tax(call: Call[TaxDocumentDecision, TaxServices]) -> TaxDocumentRecord:
    """Reject a tax document, saying why."""
    return _decide_tax(call, verify=False)


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TaxServices(HttpServices):
    documents: DocumentStorage


def _services() -> TaxServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.adapters.storage import document_storage
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import LenderTaxSettings, load_settings

    settings = load_settings(LenderTaxSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        TaxServices,
        uow=uow,
        callers=UserDirectory(uow),
        documents=document_storage(settings),
    )


services: Lazy[TaxServices] = Lazy(_services)


@functions_framework.http
def lender_tax(request: Any) -> Any:
    return router.handle(request, services.get())
