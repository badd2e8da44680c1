"""`billing_split`: for every `installment.paid` (Pub/Sub push), split what the payment
collected to the loan's lenders, exactly, with the platform's fee, its VAT and the tax
withheld (rules in shared/services/billing_split.py).

The split is a stored plan (`split-<payment id>`) in chunks of lenders; a redelivered event
finds the same plan and resumes or does nothing.

Configuration: `shared.settings.BillingSplitSettings`, read on the first delivery; fed by the
push subscription `push.billing_split.installment.paid`.
"""

from __future__ import annotations

from typing import Any

import functions_framework

from shared.domain.events import Envelope, parse_event
from shared.http.events import Delivery, EventConsumer, EventServices
from shared.http.lazy import Lazy
from shared.platform.event_origin import EventProducer
from shared.records.money_plans import MoneyPlans
from shared.services.billing_split import split_payment


def split(delivery: Delivery[Envelope, SplitServices]) -> None:
    s = delivery.services
    payment_id: str = delivery.event.data.payment_id  # type: ignore[attr-defined]
    split_payment(s.uow, payment_id, origin=s.origin)
    delivery.uow.run(lambda tx: MoneyPlans(tx).get(f"split-{payment_id}"))


consumer: EventConsumer[Envelope, SplitServices] = EventConsumer(
    "billing_split", split, parse=parse_event, accepts={"installment.paid"}
)


class SplitServices(EventProducer, EventServices):
    pass


def _services() -> SplitServices:
    from shared.http.wiring import event_services
    from shared.settings import BillingSplitSettings, load_settings

    return event_services(load_settings(BillingSplitSettings), SplitServices)


services: Lazy[SplitServices] = Lazy(_services)


@functions_framework.cloud_event
def billing_split(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
