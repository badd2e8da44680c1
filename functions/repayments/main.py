"""`repayments`: for every `payment.received` (Pub/Sub push), apply the payment to the loan's
installments, oldest first, penalties → fees → interest → principal (rules in
shared/services/repayments.py), and publish `installment.paid` (and `loan.repaid`).

One transaction per payment; a redelivered event finds the payment allocated and changes
nothing.

Configuration: `shared.settings.RepaymentSettings`, read on the first delivery; fed by the
push subscription `push.repayments.payment.received`.
"""

from __future__ import annotations

from typing import Any

import functions_framework

from shared.domain.events import Envelope, parse_event
from shared.http.events import Delivery, EventConsumer, EventServices
from shared.http.lazy import Lazy
from shared.platform.event_origin import EventProducer
from shared.services.repayments import allocate_payment


def allocate(delivery: Delivery[Envelope, RepaymentServices]) -> None:
    payment_id: str = delivery.event.data.payment_id  # type: ignore[attr-defined]
    # One transaction: the allocation and the record that this event was processed.
    allocate_payment(delivery.uow, payment_id, origin=delivery.services.origin)


consumer: EventConsumer[Envelope, RepaymentServices] = EventConsumer(
    "repayments", allocate, parse=parse_event, accepts={"payment.received"}
)


class RepaymentServices(EventProducer, EventServices):
    pass


def _services() -> RepaymentServices:
    from shared.http.wiring import event_services
    from shared.settings import RepaymentSettings, load_settings

    return event_services(load_settings(RepaymentSettings), RepaymentServices)


services: Lazy[RepaymentServices] = Lazy(_services)


@functions_framework.cloud_event
def repayments(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
