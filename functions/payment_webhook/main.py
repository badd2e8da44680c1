"""`payment_webhook`: the payment gateway's notices of payments into virtual accounts
(rules in shared/services/payments.py).

- `POST /notifications` — no bearer token: the gateway signs each callback (HMAC-SHA512 over
  the method, the path, the body's SHA-256 and `X-TIMESTAMP`; shared/http/gateway_signature.py).
  A bad or stale signature is 401 and nothing is recorded. A notification is recorded once
  under the gateway's reference: delivered again, it is answered as before.

Configuration: `shared.settings.PaymentWebhookSettings`, read on the first request (the
current and previous `payment-webhook-hmac-key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.http.gateway_signature import EXTERNAL_ID_HEADER
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.services.payments import NotificationAnswer, PaymentNotification, receive_payment

router: Router[WebhookServices] = Router(
    "payment_webhook", description="The payment gateway's signed payment notices."
)


@router.post(
    "/notifications",
    body=PaymentNotification,
    response=NotificationAnswer,
    signed=True,
    conflict=True,  # the same gateway reference notified with another account or amount
)
def notify(call: Call[PaymentNotification, WebhookServices]) -> NotificationAnswer:
    """A payment into a virtual account (signed by the gateway; recorded once)."""
    external_id = call.headers.get(EXTERNAL_ID_HEADER, "")[:64]
    return receive_payment(call.uow, call.body, external_id, origin=call.services.origin)


@dataclass(frozen=True, kw_only=True)
class WebhookServices(EventProducer, HttpServices):
    entity: str


def _services() -> WebhookServices:
    from shared.http.gateway_signature import GatewaySignature
    from shared.http.wiring import unit_of_work
    from shared.log import configure_logging
    from shared.platform.clock import SystemClock
    from shared.settings import PaymentWebhookSettings, load_settings

    settings = load_settings(PaymentWebhookSettings)
    configure_logging(settings.log_level, project=settings.gcp_project)
    clock = SystemClock()
    return WebhookServices(
        clock=clock,
        uow=unit_of_work(settings, clock),
        request_signature=GatewaySignature(settings.signing_keys()),
        entity=settings.entity,
    )


services: Lazy[WebhookServices] = Lazy(_services)


@functions_framework.http
def payment_webhook(request: Any) -> Any:
    return router.handle(request, services.get())
