"""`scoring`: the five-C credit decision for every `loan.submitted` event (Pub/Sub push).

The consumer (shared/http/events.py) parses the envelope once, acknowledges
duplicates and malformed events, and records the event id in the same
transaction as the decision; the use case (shared/services/credit_scoring.py)
asks the providers, scores, and approves, queues for review or rejects. A
provider outage sends the loan to review; a store outage raises, so Pub/Sub
redelivers and finally dead-letters.

Each application is scored by the champion scorecard, or by the challenger for the share
of borrowers the routing in force sends it (docs/lending-rules.md#champion-and-challenger);
the decision records which. The routing is read with the loan; each scorecard file is
parsed once per process, on first use.

Configuration: `shared.settings.ScoringSettings`, read on the first delivery. It is fed
by the push subscription `push.scoring.loan.submitted`, and accepts that subscription's
OIDC token alone (a push without it is refused, not acknowledged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.events import Envelope, parse_event
from shared.domain.scoring.routing import ScorecardRouting
from shared.http.events import Delivery, EventConsumer, EventServices
from shared.http.lazy import Lazy
from shared.platform.event_origin import EventProducer
from shared.platform.personal_data import PersonalDataVault
from shared.platform.providers import ProviderDataSource
from shared.services.credit_scoring import score_submitted_loan
from shared.services.scorecards import ScorecardShelf


def score(delivery: Delivery[Envelope, ScoringServices]) -> None:
    s = delivery.services
    score_submitted_loan(
        delivery.uow,
        delivery.event,
        providers=s.providers,
        vault=s.vault,
        scorecards=s.scorecards,
        default_routing=s.default_routing,
        origin=s.origin,
    )


consumer: EventConsumer[Envelope, ScoringServices] = EventConsumer(
    "scoring", score, parse=parse_event, accepts={"loan.submitted"}
)


# --- dependencies, built on the first delivery --------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ScoringServices(EventProducer, EventServices):
    providers: ProviderDataSource
    vault: PersonalDataVault
    scorecards: ScorecardShelf
    default_routing: ScorecardRouting


def _services() -> ScoringServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.adapters.crypto import pii_vault
    from shared.adapters.providers import providers_client
    from shared.http.wiring import event_services
    from shared.settings import ScoringSettings, load_settings

    settings = load_settings(ScoringSettings)
    default_routing = settings.default_scorecard_routing()
    scorecards = ScorecardShelf()
    for version in default_routing.versions:  # a version that does not ship fails here
        scorecards.card(version)
    return event_services(
        settings,
        ScoringServices,
        providers=providers_client(settings),
        vault=pii_vault(settings),
        scorecards=scorecards,
        default_routing=default_routing,
    )


services: Lazy[ScoringServices] = Lazy(_services)


@functions_framework.cloud_event
def scoring(cloud_event: Any) -> None:
    consumer.deliver(cloud_event, services.get())
