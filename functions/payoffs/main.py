"""`payoffs`: a borrower's early settlement of their active loan (rules in
shared/services/early_settlement.py).

- `POST /loans/{loan_id}/quotes` — what ends the loan on a day (today unless `settle_on`
  says otherwise): overdue amounts, the principal not yet due, and interest for the running
  period by the product's rule. Paid into the loan's virtual account by that day, it settles
  the loan; a later payment, or a smaller one, is an ordinary repayment.
- `GET /loans/{loan_id}/quote` — the latest quote.

Configuration: `shared.settings.PayoffSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.services.early_settlement import (
    PayoffRequest,
    PayoffView,
    current_payoff,
    quote_payoff,
)

router: Router[PayoffServices] = Router("payoffs", description="Early settlement of a loan.")


@router.post(
    "/loans/{loan_id}/quotes",
    body=PayoffRequest,
    response=PayoffView,
    status=201,
    permission=Permission.LOAN_APPLY,
    conflict=True,  # the loan is not active
)
def quote(call: Call[PayoffRequest, PayoffServices]) -> PayoffView:
    """Quote what settles the loan on a day; it replaces any earlier quote."""
    return quote_payoff(
        call.uow,
        call.path["loan_id"],
        call.body,
        borrower_id=call.caller.user_id,
        origin=call.services.origin,
    )


@router.get("/loans/{loan_id}/quote", response=PayoffView, permission=Permission.LOAN_APPLY)
def latest(call: Call[None, PayoffServices]) -> PayoffView:
    """The loan's latest payoff quote."""
    return current_payoff(call.uow, call.path["loan_id"], borrower_id=call.caller.user_id)


@dataclass(frozen=True, kw_only=True)
class PayoffServices(EventProducer, HttpServices):
    entity: str


def _services() -> PayoffServices:
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import PayoffSettings, load_settings

    settings = load_settings(PayoffSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings, PayoffServices, uow=uow, callers=UserDirectory(uow), entity=settings.entity
    )


services: Lazy[PayoffServices] = Lazy(_services)


@functions_framework.http
def payoffs(request: Any) -> Any:
    return router.handle(request, services.get())
