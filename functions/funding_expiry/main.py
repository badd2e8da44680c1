"""`funding_expiry`: daily, loans still in funding after their window closed become `expired`
and `loan.expired` goes out (rules in shared/services/funding_release.py); `funding_release`
then returns their commitments.

- `POST /` — expire what is due; answers the loans expired.

Only its Cloud Scheduler job may call it (the verified `email` of the token is
`PATUNGAN_SCHEDULER_INVOKER`).

Configuration: `shared.settings.FundingExpirySettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.http.guard import require_scheduler
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.services.funding_release import ExpiryRun, expire_due_loans

router: Router[ExpiryServices] = Router(
    "funding_expiry", description="Cloud Scheduler only: expire loans whose funding window closed."
)


@router.post("/", response=ExpiryRun, signed_in=True)
def expire(call: Call[None, ExpiryServices]) -> ExpiryRun:
    """Expire every loan whose funding window closed before today (Jakarta)."""
    require_scheduler(call.caller, call.services.scheduler_invoker)
    return expire_due_loans(call.uow, origin=call.services.origin)


@dataclass(frozen=True, kw_only=True)
class ExpiryServices(EventProducer, HttpServices):
    entity: str
    scheduler_invoker: str


def _services() -> ExpiryServices:
    from shared.http.wiring import http_services
    from shared.settings import FundingExpirySettings, load_settings

    settings = load_settings(FundingExpirySettings)
    return http_services(
        settings,
        ExpiryServices,
        entity=settings.entity,
        scheduler_invoker=settings.scheduler_invoker,
    )


services: Lazy[ExpiryServices] = Lazy(_services)


@functions_framework.http
def funding_expiry(request: Any) -> Any:
    return router.handle(request, services.get())
