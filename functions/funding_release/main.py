"""`funding_release`: for every `loan.expired` and `loan.cancelled` (Pub/Sub push), return
every commitment to the loan to its lender (rules in shared/services/funding_release.py).

The release is a stored plan (`release-<loan id>`) in chunks of lenders; a redelivered event
finds the same plan and resumes or does nothing. A cancellation before funding opened finds
no commitment and releases nothing.

Configuration: `shared.settings.FundingReleaseSettings`, read on the first delivery. It is fed
by the push subscriptions `push.funding_release.loan.cancelled` and
`push.funding_release.loan.expired`.
"""

from __future__ import annotations

from typing import Any

import functions_framework

from shared.domain.events import Envelope, parse_event
from shared.http.events import Delivery, EventConsumer, EventServices
from shared.http.lazy import Lazy
from shared.platform.event_origin import EventProducer
from shared.records.money_plans import MoneyPlans
from shared.services.funding_release import release_commitments


def release(delivery: Delivery[Envelope, ReleaseServices]) -> None:
    s = delivery.services
    loan_id: str = delivery.event.data.loan_id  # type: ignore[attr-defined]
    release_commitments(s.uow, loan_id, origin=s.origin)
    delivery.uow.run(lambda tx: MoneyPlans(tx).get(f"release-{loan_id}"))


consumer: EventConsumer[Envelope, ReleaseServices] = EventConsumer(
    "funding_release", release, parse=parse_event, accepts={"loan.expired", "loan.cancelled"}
)


class ReleaseServices(EventProducer, EventServices):
    pass


def _services() -> ReleaseServices:
    from shared.http.wiring import event_services
    from shared.settings import FundingReleaseSettings, load_settings

    return event_services(load_settings(FundingReleaseSettings), ReleaseServices)


services: Lazy[ReleaseServices] = Lazy(_services)


@functions_framework.cloud_event
def funding_release(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
