"""`outbox_relay`: every minute, publish the outbox events whose producers could not
(rules in shared/services/outbox_relay.py).

- `POST /` — relay the oldest unpublished entries past the grace period; answers
  `{"relayed": n, "more": bool}`.

Only its Cloud Scheduler job may call it. Cloud Run already admits no one else
(the job's `cron-outbox-relay` account alone holds run.invoker, over internal
ingress); the function checks again in code, through the same verifier as every
HTTP function: a bearer token from the configured issuer whose verified `email`
is `PATUNGAN_SCHEDULER_INVOKER` (`shared.http.guard.require_scheduler`). In the
cloud that is the Google-signed OIDC token the job sends (issuer
`https://accounts.google.com`); locally the dev issuer mints it
(`scripts.token`, claims `email` and `email_verified`).

Configuration: `shared.settings.OutboxRelaySettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.http.guard import require_scheduler
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.services.outbox_relay import RelayReport, relay_outbox

router: Router[RelayServices] = Router(
    "outbox_relay",
    description="Cloud Scheduler only: publish outbox events whose producer's publish failed.",
)


@router.post("/", response=RelayReport, signed_in=True)
def relay(call: Call[None, RelayServices]) -> RelayReport:
    """Publish the oldest outbox events still unpublished after the grace period."""
    require_scheduler(call.caller, call.services.scheduler_invoker)
    return relay_outbox(call.uow, call.services.clock)


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RelayServices(HttpServices):
    scheduler_invoker: str


def _services() -> RelayServices:
    from shared.http.wiring import http_services
    from shared.settings import OutboxRelaySettings, load_settings

    settings = load_settings(OutboxRelaySettings)
    return http_services(settings, RelayServices, scheduler_invoker=settings.scheduler_invoker)


services: Lazy[RelayServices] = Lazy(_services)


@functions_framework.http
def outbox_relay(request: Any) -> Any:
    return router.handle(request, services.get())
