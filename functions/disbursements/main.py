"""`disbursements`: `admin.finance` pays funded loans out (rules in
shared/services/disbursements.py; all `disbursement.make`).

- `POST /loans/{loan_id}` — book the disbursement: the borrower's bank account verified with
  the bank's account inquiry (409 when the bank does not know it or names another holder),
  caps checked again, the schedule fixed,
  the committed stakes become the loan, fee and VAT booked, the payout in transit. Asking
  again resumes or answers the booked disbursement.
- `GET /loans/{loan_id}` — the disbursement and its payout's state.
- `POST /loans/{loan_id}/confirm` — the bank transferred the payout (not the admin who asked
  for the disbursement), with the bank's reference and value date.
- `POST /loans/{loan_id}/returned` — the bank returned the payout (a line in suspense shows
  it); it is in transit again.

Configuration: `shared.settings.DisbursementSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.platform.personal_data import PersonalDataVault
from shared.platform.providers import BankAccountInquiry
from shared.services.disbursements import (
    DisbursementView,
    PayoutConfirmation,
    PayoutReturn,
    confirm_payout,
    disbursement,
    record_returned_payout,
    request_disbursement,
)

router: Router[DisbursementServices] = Router(
    "disbursements", description="admin.finance pays funded loans out (maker-checker)."
)
DISBURSE = Permission.DISBURSEMENT_MAKE


@router.post(
    "/loans/{loan_id}",
    response=DisbursementView,
    permission=DISBURSE,
    conflict=True,  # not funded, busy, or a bank account the bank does not confirm
)
def request(call: Call[None, DisbursementServices]) -> DisbursementView:
    """Book the disbursement of a funded loan; asking again resumes or answers it."""
    s = call.services
    return request_disbursement(
        call.uow,
        call.path["loan_id"],
        admin_id=call.caller.user_id,
        origin=s.origin,
        vault=s.vault,
        bank=s.bank,
    )


@router.get("/loans/{loan_id}", response=DisbursementView, permission=DISBURSE)
def read(call: Call[None, DisbursementServices]) -> DisbursementView:
    """The loan's disbursement."""
    return disbursement(call.uow, call.path["loan_id"])


@router.post(
    "/loans/{loan_id}/confirm",
    body=PayoutConfirmation,
    response=DisbursementView,
    permission=DISBURSE,
    idempotent=True,
)
def confirm(call: Call[PayoutConfirmation, DisbursementServices]) -> DisbursementView:
    """The bank paid the borrower (another admin than the one who asked to disburse)."""
    return confirm_payout(
        call.uow,
        call.path["loan_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


@router.post(
    "/loans/{loan_id}/returned",
    body=PayoutReturn,
    response=DisbursementView,
    permission=DISBURSE,
    idempotent=True,
)
def returned(call: Call[PayoutReturn, DisbursementServices]) -> DisbursementView:
    """The bank returned the payout; it waits to be sent again."""
    return record_returned_payout(
        call.uow,
        call.path["loan_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


@dataclass(frozen=True, kw_only=True)
class DisbursementServices(EventProducer, HttpServices):
    entity: str
    vault: PersonalDataVault
    bank: BankAccountInquiry  # the bank's account inquiry, before a payout


def _services() -> DisbursementServices:
    from shared.adapters.crypto import pii_vault
    from shared.adapters.providers import providers_client
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import DisbursementSettings, load_settings

    settings = load_settings(DisbursementSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        DisbursementServices,
        uow=uow,
        callers=UserDirectory(uow),
        entity=settings.entity,
        vault=pii_vault(settings),
        bank=providers_client(settings),
    )


services: Lazy[DisbursementServices] = Lazy(_services)


@functions_framework.http
def disbursements(request: Any) -> Any:
    return router.handle(request, services.get())
