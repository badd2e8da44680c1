"""`reconciliation`: the ledger checked against itself and the bank
(rules in shared/services/reconciliation.py).

- `POST /` — run what is due: each Jakarta day once it has settled (catching up missed
  days), then the runs `admin.finance` queued (`POST /finance/reconciliations`). Answers
  the runs made, each `passed` or `failed` with its problems.

Only its Cloud Scheduler job may call it (checked in code as for `outbox_relay`: the
verified `email` of the token is `PATUNGAN_SCHEDULER_INVOKER`).

Configuration: `shared.settings.ReconciliationSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework
from pydantic import ConfigDict

from shared.http.guard import require_scheduler
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.model import Model
from shared.platform.event_origin import EventProducer
from shared.records.reconciliations import ReconciliationRecord
from shared.services.reconciliation import run_due

router: Router[ReconciliationServices] = Router(
    "reconciliation",
    description="Cloud Scheduler only: reconcile the ledger daily and on admin.finance's demand.",
)


class Runs(Model):
    model_config = ConfigDict(frozen=True)

    runs: tuple[ReconciliationRecord, ...]


@router.post("/", response=Runs, signed_in=True)
def reconcile(call: Call[None, ReconciliationServices]) -> Runs:
    """Run the daily reconciliations due and the queued ones."""
    require_scheduler(call.caller, call.services.scheduler_invoker)
    return Runs(runs=tuple(run_due(call.uow, origin=call.services.origin)))


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReconciliationServices(EventProducer, HttpServices):
    entity: str
    scheduler_invoker: str


def _services() -> ReconciliationServices:
    from shared.http.wiring import http_services
    from shared.settings import ReconciliationSettings, load_settings

    settings = load_settings(ReconciliationSettings)
    return http_services(
        settings,
        ReconciliationServices,
        entity=settings.entity,
        scheduler_invoker=settings.scheduler_invoker,
    )


services: Lazy[ReconciliationServices] = Lazy(_services)


@functions_framework.http
def reconciliation(request: Any) -> Any:
    return router.handle(request, services.get())
