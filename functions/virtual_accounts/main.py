"""`virtual_accounts`: where borrowers repay and lenders top up, at the payment gateway
(rules in shared/services/payments.py).

- `POST /loans/{loan_id}` — the loan's virtual account (its borrower, once it is active).
- `POST /me` — a lender's own virtual account for top-ups.

The gateway issues each account once per owner; asking again answers the same number. A
gateway that cannot be reached is a 503 with `Retry-After`.

Configuration: `shared.settings.VirtualAccountSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.services.payments import VirtualAccountIssuer, VirtualAccountView, issue_virtual_account

router: Router[AccountServices] = Router(
    "virtual_accounts", description="Borrowers' and lenders' virtual accounts."
)


@router.post("/loans/{loan_id}", response=VirtualAccountView, permission=Permission.LOAN_APPLY)
def for_loan(call: Call[None, AccountServices]) -> VirtualAccountView:
    """The virtual account the borrower repays their active loan into."""
    return issue_virtual_account(
        call.uow,
        call.services.issuer,
        caller_id=call.caller.user_id,
        loan_id=call.path["loan_id"],
        origin=call.services.origin,
    )


@router.post("/me", response=VirtualAccountView, permission=Permission.WALLET_USE)
def for_lender(call: Call[None, AccountServices]) -> VirtualAccountView:
    """The lender's own virtual account: a payment into it is a top-up."""
    return issue_virtual_account(
        call.uow,
        call.services.issuer,
        caller_id=call.caller.user_id,
        loan_id=None,
        origin=call.services.origin,
    )


@dataclass(frozen=True, kw_only=True)
class AccountServices(EventProducer, HttpServices):
    entity: str
    issuer: VirtualAccountIssuer


def _services() -> AccountServices:
    from shared.adapters.payment_gateway import GatewayIssuer
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import VirtualAccountSettings, load_settings

    settings = load_settings(VirtualAccountSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        AccountServices,
        uow=uow,
        callers=UserDirectory(uow),
        entity=settings.entity,
        issuer=GatewayIssuer.from_settings(settings),
    )


services: Lazy[AccountServices] = Lazy(_services)


@functions_framework.http
def virtual_accounts(request: Any) -> Any:
    return router.handle(request, services.get())
