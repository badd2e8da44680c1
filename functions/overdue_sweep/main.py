"""`overdue_sweep`: daily, every active loan with something to do is swept up to today
(Jakarta): late fees within the caps, days past due, quality bucket and collectability, and
the due-soon, overdue and maturing notices (rules in shared/services/overdue.py; a loan is
read only on its `sweep_on` days). A missed day is caught up; a second run the same day
changes nothing.

- `POST /` — sweep; answers the loans swept, the late fees accrued and the notices sent.

Only its Cloud Scheduler job may call it (the verified `email` of the token is
`PATUNGAN_SCHEDULER_INVOKER`).

Configuration: `shared.settings.OverdueSweepSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.http.guard import require_scheduler
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.services.overdue import SweepRun, sweep_overdue

router: Router[SweepServices] = Router(
    "overdue_sweep", description="Cloud Scheduler only: the daily overdue sweep."
)


@router.post("/", response=SweepRun, signed_in=True)
def sweep(call: Call[None, SweepServices]) -> SweepRun:
    """Sweep every active loan with something to do, up to today (Jakarta)."""
    require_scheduler(call.caller, call.services.scheduler_invoker)
    return sweep_overdue(call.uow, origin=call.services.origin)


@dataclass(frozen=True, kw_only=True)
class SweepServices(EventProducer, HttpServices):
    entity: str
    scheduler_invoker: str


def _services() -> SweepServices:
    from shared.http.wiring import http_services
    from shared.settings import OverdueSweepSettings, load_settings

    settings = load_settings(OverdueSweepSettings)
    return http_services(
        settings,
        SweepServices,
        entity=settings.entity,
        scheduler_invoker=settings.scheduler_invoker,
    )


services: Lazy[SweepServices] = Lazy(_services)


@functions_framework.http
def overdue_sweep(request: Any) -> Any:
    return router.handle(request, services.get())
