"""`auto_invest`: for every `loan.offer_accepted` (Pub/Sub push), commit for the lenders whose
auto-invest rules match the loan (rules in shared/services/auto_invest.py).

The pass is a stored plan (`auto-<loan id>`) that runs in chunks of lenders, each chunk one
transaction; a redelivered event finds the same plan and resumes or does nothing. The event
is then recorded as processed (shared/http/events.py).

Configuration: `shared.settings.AutoInvestSettings`, read on the first delivery. It is fed by
the push subscription `push.auto_invest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.events import Envelope, parse_event
from shared.http.events import Delivery, EventConsumer, EventServices
from shared.http.lazy import Lazy
from shared.platform.escrow import FundingRules
from shared.platform.event_origin import EventProducer
from shared.records.money_plans import MoneyPlans
from shared.services.auto_invest import invest


def auto_invest_loan(delivery: Delivery[Envelope, AutoInvestServices]) -> None:
    s = delivery.services
    loan_id: str = delivery.event.data.loan_id  # type: ignore[attr-defined]
    # The plan makes the pass idempotent across its many transactions; the delivery's own
    # one transaction records the event as processed.
    invest(s.uow, loan_id, funding=s.rules, origin=s.origin)
    delivery.uow.run(lambda tx: MoneyPlans(tx).get(f"auto-{loan_id}"))


consumer: EventConsumer[Envelope, AutoInvestServices] = EventConsumer(
    "auto_invest", auto_invest_loan, parse=parse_event, accepts={"loan.offer_accepted"}
)


# --- dependencies, built on the first delivery --------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AutoInvestServices(EventProducer, EventServices):
    rules: FundingRules


def _services() -> AutoInvestServices:
    from shared.http.wiring import event_services
    from shared.settings import AutoInvestSettings, load_settings

    settings = load_settings(AutoInvestSettings)
    return event_services(settings, AutoInvestServices, rules=settings.funding_rules)


services: Lazy[AutoInvestServices] = Lazy(_services)


@functions_framework.cloud_event
def auto_invest(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
