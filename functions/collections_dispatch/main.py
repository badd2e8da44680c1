"""`collections_dispatch`: every 15 minutes, send the pending collection reminders whose
moment has come — those `collections` made outside the recipient's contact hours
(rules in shared/services/reminders.py, docs/lending-rules.md#overdue-and-collection).

- `POST /` — send what is due; answers the reminders sent, refused and still waiting.

A notification service that is unavailable ends the run with a 503, and the reminders stay
pending for the Scheduler's retry or the next run; each is delivered once, whatever runs it.

Only its Cloud Scheduler job may call it (the verified `email` of the token is
`PATUNGAN_SCHEDULER_INVOKER`).

Configuration: `shared.settings.CollectionsDispatchSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.http.guard import require_scheduler
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.notifications import Notifier
from shared.services.reminders import DispatchRun, dispatch_due_reminders

router: Router[DispatchServices] = Router(
    "collections_dispatch",
    description="Cloud Scheduler only: send the collection reminders whose time has come.",
)


@router.post("/", response=DispatchRun, signed_in=True)
def dispatch(call: Call[None, DispatchServices]) -> DispatchRun:
    """Send every pending reminder whose contact hours have come."""
    require_scheduler(call.caller, call.services.scheduler_invoker)
    return dispatch_due_reminders(call.uow, call.services.notifier, clock=call.services.clock)


@dataclass(frozen=True, kw_only=True)
class DispatchServices(HttpServices):
    scheduler_invoker: str
    notifier: Notifier


def _services() -> DispatchServices:
    from shared.adapters.notifications import notifier
    from shared.http.wiring import http_services
    from shared.settings import CollectionsDispatchSettings, load_settings

    settings = load_settings(CollectionsDispatchSettings)
    return http_services(
        settings,
        DispatchServices,
        scheduler_invoker=settings.scheduler_invoker,
        notifier=notifier(settings),
    )


services: Lazy[DispatchServices] = Lazy(_services)


@functions_framework.http
def collections_dispatch(request: Any) -> Any:
    return router.handle(request, services.get())
