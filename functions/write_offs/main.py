"""`write_offs`: writing off a loan that will not be repaid, maker-checker (rules in
shared/services/write_offs.py, docs/lending-rules.md#write-off).

- `POST /loans/{loan_id}/write-off` — `admin.credit` (`write_off.propose`) proposes, with a
  narrative, writing off an active loan past its product's write-off threshold.
- `POST /loans/{loan_id}/write-off/confirm` — `admin.finance` (`write_off.confirm`), not the
  proposer, confirms: the lenders' losses are recorded, the receivables cleared and the loan
  `written_off`. Asking again resumes an interrupted write-off or answers the finished one.
- `POST /loans/{loan_id}/write-off/reject` — another admin turns the proposal down.
- `GET /loans/{loan_id}/write-off` — the proposal, its outcome and the losses.

Proposals and rejections take an `Idempotency-Key`; a confirmation is idempotent by its plan.

Configuration: `shared.settings.WriteOffSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.services.write_offs import (
    WriteOffProposal,
    WriteOffRejection,
    WriteOffView,
    confirm_write_off,
    propose_write_off,
    reject_write_off,
    write_off_of,
)

router: Router[WriteOffServices] = Router(
    "write_offs", description="Writing off a loan that will not be repaid (maker-checker)."
)


@router.post(
    "/loans/{loan_id}/write-off",
    body=WriteOffProposal,
    response=WriteOffView,
    status=201,
    permission=Permission.WRITE_OFF_PROPOSE,
    idempotent=True,
    not_found=True,
    conflict=True,  # not active, not past the threshold, or a proposal already open
)
def propose(call: Call[WriteOffProposal, WriteOffServices]) -> WriteOffView:
    """Propose writing the loan off, with why."""
    return propose_write_off(
        call.uow, call.path["loan_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.post(
    "/loans/{loan_id}/write-off/confirm",
    response=WriteOffView,
    permission=Permission.WRITE_OFF_CONFIRM,
    not_found=True,
    conflict=True,  # no proposal, no longer past the threshold, or busy
)
def confirm(call: Call[None, WriteOffServices]) -> WriteOffView:
    """Confirm another admin's proposal and write the loan off; asking again resumes it."""
    return confirm_write_off(
        call.uow, call.path["loan_id"], admin_id=call.caller.user_id, origin=call.services.origin
    )


@router.post(
    "/loans/{loan_id}/write-off/reject",
    body=WriteOffRejection,
    response=WriteOffView,
    permission=Permission.WRITE_OFF_CONFIRM,
    idempotent=True,
    not_found=True,
    conflict=True,  # no open proposal
)
def reject(call: Call[WriteOffRejection, WriteOffServices]) -> WriteOffView:
    """Turn another admin's proposal down, with a reason."""
    return reject_write_off(
        call.uow, call.path["loan_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.get(
    "/loans/{loan_id}/write-off",
    response=WriteOffView,
    permission=Permission.LOAN_READ_ANY,
    not_found=True,
)
def read(call: Call[None, WriteOffServices]) -> WriteOffView:
    """The loan's write-off proposal, its outcome and the lenders' losses."""
    return write_off_of(call.uow, call.path["loan_id"])


@dataclass(frozen=True, kw_only=True)
class WriteOffServices(EventProducer, HttpServices):
    entity: str


def _services() -> WriteOffServices:
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import WriteOffSettings, load_settings

    settings = load_settings(WriteOffSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings, WriteOffServices, uow=uow, callers=UserDirectory(uow), entity=settings.entity
    )


services: Lazy[WriteOffServices] = Lazy(_services)


@functions_framework.http
def write_offs(request: Any) -> Any:
    return router.handle(request, services.get())
