"""A miniature event function built on the shared plumbing, shaped like `scoring`.

It consumes `loan.submitted`, moves the loan from `submitted` to `scored` and
emits `loan.scored`, all in one transaction that also records the event id.
The plumbing tests deliver CloudEvents to it directly and, on the emulators,
through a real Pub/Sub push subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain import loan as lifecycle
from shared.domain.errors import NotFound
from shared.domain.events import EventType, new_event, parse_event
from shared.http.events import Delivery, EventConsumer, EventServices
from shared.http.lazy import Lazy
from shared.http.wiring import event_services
from shared.platform.store import DocumentTransaction
from shared.settings import PushSettings, load_settings


@dataclass(frozen=True, kw_only=True)
class ScoringServices(EventServices):
    """The sample needs nothing beyond the base (its ids come from there)."""


def score(delivery: Delivery[Any, ScoringServices]) -> None:
    """A miniature consumer: moves the loan to `scored` and emits loan.scored."""
    event = delivery.event
    loan_id = event.data.loan_id
    scored_event_id = delivery.services.ids.new_uuid()

    def work(tx: DocumentTransaction) -> None:
        loan = tx.get("loans", loan_id)
        if loan is None:
            raise NotFound(f"loan {loan_id} does not exist")
        state = lifecycle.score(lifecycle.LoanState(loan["state"]), loan_id)
        tx.update("loans", loan_id, {"state": state.value})
        tx.emit(
            new_event(
                EventType.LOAN_SCORED,
                {
                    "loan_id": loan_id,
                    "model_version": "v1",
                    "score": 700,
                    "grade": "B",
                    "decision": "approve",
                },
                entity="p2p",
                occurred_at=delivery.services.clock.now(),
                event_id=scored_event_id,
                causation_id=str(event.event_id),
            )
        )

    delivery.uow.run(work)


consumer: EventConsumer[Any, ScoringServices] = EventConsumer(
    "scoring", score, parse=parse_event, accepts={"loan.submitted"}
)


services: Lazy[ScoringServices] = Lazy(
    lambda: event_services(load_settings(PushSettings), ScoringServices)
)


@functions_framework.cloud_event
def sample_scoring(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
