"""`ops_alerts`: Cloud Billing's budget notifications, told to the ops channel (Pub/Sub push).

Cloud Billing publishes notifications about the entity's budget to its budget topic
(`billing.budget-alerts`, published from outside the platform); the push subscription
`push.ops_alerts.billing.budget-alerts` brings them here, with its OIDC token, which is
verified before anything is read. The consumer (shared/http/events.py, `MessageConsumer`)
validates the push and the notification's documented shape, acknowledging a malformed
one; the use case (shared/services/budget_alerts.py) tells ops of each threshold crossed,
once per threshold per budget period. An ops channel that does not take the message
raises, so Pub/Sub redelivers and finally dead-letters: no alert is dropped.

Configuration: `shared.settings.OpsAlertsSettings`, read on the first delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.budget_alerts import BudgetNotification
from shared.http.events import EventServices, MessageConsumer, MessageDelivery, ReceivedMessage
from shared.http.lazy import Lazy
from shared.platform.ops_notifications import OpsChannel
from shared.services.budget_alerts import alert_ops_of_budget


def parse(received: ReceivedMessage) -> BudgetNotification:
    return BudgetNotification.from_message(received.data, received.attributes)


def alert_ops(delivery: MessageDelivery[BudgetNotification, OpsAlertsServices]) -> None:
    s = delivery.services
    alert_ops_of_budget(
        s.uow, delivery.message, channel=s.channel, clock=s.clock, entity=s.entity_name
    )


consumer: MessageConsumer[BudgetNotification, OpsAlertsServices] = MessageConsumer(
    "ops_alerts", alert_ops, parse=parse
)


# --- dependencies, built on the first delivery --------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpsAlertsServices(EventServices):
    channel: OpsChannel
    entity_name: str


def _services() -> OpsAlertsServices:
    from shared.adapters.ops_webhook import ops_channel
    from shared.http.wiring import event_services
    from shared.settings import OpsAlertsSettings, load_settings

    settings = load_settings(OpsAlertsSettings)
    return event_services(
        settings, OpsAlertsServices, channel=ops_channel(settings), entity_name=settings.entity
    )


services: Lazy[OpsAlertsServices] = Lazy(_services)


@functions_framework.cloud_event
def ops_alerts(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
