"""`loan_funding`: the lenders' side of funding — the marketplace, the agreements, commitments
and the portfolio.

Routes (rules in shared/services/funding.py; all `loan.fund`):
- `GET /loans` — loans open for funding, soonest deadline first, filtered by grade, tenor,
  purpose, sector and province; `page_token` pages on.
- `GET /agreements` — the current lender agreement and risk disclosure, and what I accepted.
  `POST /agreements` — accept the current versions (before the first commitment).
- `POST /loans/{loan_id}/commitments` — commit money to a loan (with an `Idempotency-Key`);
  more than remains is cut to it.
- `GET /auto-invest`, `PUT /auto-invest` — my auto-invest rules (`auto_invest` commits by
  them when a loan opens for funding).
- `GET /portfolio` — my balances and stakes.

Configuration: `shared.settings.FundingSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.errors import NotFound
from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.clock import jakarta_date
from shared.platform.escrow import FundingRules
from shared.platform.event_origin import EventProducer
from shared.services.auto_invest import AutoInvestRecord, AutoInvestRules, rules_of, set_rules
from shared.services.funding import (
    AgreementAcceptance,
    AgreementsView,
    CommitmentRequest,
    CommitmentView,
    Marketplace,
    MarketplaceQuery,
    Portfolio,
    accept_lender_agreements,
    commit_to_loan,
    lender_agreements,
    marketplace,
    portfolio,
)

router: Router[FundingServices] = Router(
    "loan_funding", description="Lenders: the marketplace, agreements, commitments, portfolio."
)
FUND = Permission.LOAN_FUND


@router.get("/loans", query=MarketplaceQuery, response=Marketplace, permission=FUND)
def loans(call: Call[None, FundingServices]) -> Marketplace:
    """Loans open for funding, with what a lender may see of their borrowers."""
    return marketplace(call.uow, call.query, today=jakarta_date(call.services.clock.now()))


@router.get("/agreements", response=AgreementsView, permission=FUND)
def agreements(call: Call[None, FundingServices]) -> AgreementsView:
    """The current agreement versions, and the ones I accepted."""
    return lender_agreements(call.uow, call.caller.user_id)


@router.post(
    "/agreements",
    body=AgreementAcceptance,
    response=AgreementsView,
    permission=FUND,
    conflict=True,  # versions other than the current ones
)
def accept(call: Call[AgreementAcceptance, FundingServices]) -> AgreementsView:
    """Accept the current lender agreement and risk disclosure."""
    return accept_lender_agreements(call.uow, call.caller, call.body, origin=call.services.origin)


@router.post(
    "/loans/{loan_id}/commitments",
    body=CommitmentRequest,
    response=CommitmentView,
    status=201,
    permission=FUND,
    idempotent=True,
)
def commit(call: Call[CommitmentRequest, FundingServices]) -> CommitmentView:
    """Commit money from my available balance to a loan in funding."""
    s = call.services
    return commit_to_loan(
        call.uow, call.caller, call.path["loan_id"], call.body, rules=s.rules, origin=s.origin
    )


@router.get("/auto-invest", response=AutoInvestRecord, permission=FUND, not_found=True)
def my_rules(call: Call[None, FundingServices]) -> AutoInvestRecord:
    """My auto-invest rules."""
    rules = rules_of(call.uow, call.caller.user_id)
    if rules is None:
        raise NotFound("you have no auto-invest rules yet")
    return rules


@router.put("/auto-invest", body=AutoInvestRules, response=AutoInvestRecord, permission=FUND)
def change_rules(call: Call[AutoInvestRules, FundingServices]) -> AutoInvestRecord:
    """Set my auto-invest rules (grades, tenors, the most per loan and in total, on or off)."""
    s = call.services
    return set_rules(call.uow, call.caller, call.body, funding=s.rules, origin=s.origin)


@router.get("/portfolio", response=Portfolio, permission=FUND)
def my_portfolio(call: Call[None, FundingServices]) -> Portfolio:
    """My balances and my stakes in loans."""
    return portfolio(call.uow, call.caller.user_id)


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FundingServices(EventProducer, HttpServices):
    entity: str
    rules: FundingRules


def _services() -> FundingServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import FundingSettings, load_settings

    settings = load_settings(FundingSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        FundingServices,
        uow=uow,
        callers=UserDirectory(uow),
        entity=settings.entity,
        rules=settings.funding_rules,
    )


services: Lazy[FundingServices] = Lazy(_services)


@functions_framework.http
def loan_funding(request: Any) -> Any:
    return router.handle(request, services.get())
