"""`collections`: for every `installment.due_soon`, `installment.overdue` and `loan.maturing`
(Pub/Sub push), remind the borrower of the installment, or each lender of the maturing loan,
within the contact hours (rules in shared/services/reminders.py,
docs/lending-rules.md#overdue-and-collection).

Each event makes one pending reminder per person (`reminders/<event id>~<recipient id>`) with
the first moment the recipient may be contacted; a redelivered event makes nothing new. The
reminders whose moment is now are sent right away through the notifications port; those
that must wait (the sweep publishes at half past midnight) are sent by `collections_dispatch`.
A send that fails leaves its reminder pending for the dispatcher: the event is still applied.

Configuration: `shared.settings.CollectionsSettings`, read on the first delivery; fed by the
push subscriptions `push.collections.installment.due_soon`, `push.collections.installment.overdue`
and `push.collections.loan.maturing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.events import Envelope, parse_event
from shared.http.events import Delivery, EventConsumer, EventServices
from shared.http.lazy import Lazy
from shared.platform.notifications import Notifier
from shared.services.reminders import REMINDER_EVENTS, remind


def remind_of(delivery: Delivery[Envelope, CollectionsServices]) -> None:
    s = delivery.services
    remind(s.uow, delivery.uow, delivery.event, s.notifier, clock=s.clock)


consumer: EventConsumer[Envelope, CollectionsServices] = EventConsumer(
    "collections", remind_of, parse=parse_event, accepts={str(t) for t in REMINDER_EVENTS}
)


@dataclass(frozen=True, kw_only=True)
class CollectionsServices(EventServices):
    notifier: Notifier


def _services() -> CollectionsServices:
    from shared.adapters.notifications import notifier
    from shared.http.wiring import event_services
    from shared.settings import CollectionsSettings, load_settings

    settings = load_settings(CollectionsSettings)
    return event_services(settings, CollectionsServices, notifier=notifier(settings))


services: Lazy[CollectionsServices] = Lazy(_services)


@functions_framework.cloud_event
def collections(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
