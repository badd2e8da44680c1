"""The outbox relay against real Firestore and Pub/Sub (the emulators): an event whose
publish failed after its commit reaches its subscribers once, when the relay runs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import FixedClock
from shared.adapters.pubsub import PubSubPublisher
from shared.domain.events import EventType, new_event
from shared.platform.errors import PublishFailed
from shared.platform.outbox import OUTBOX
from shared.platform.store import DocumentTransaction
from shared.services.outbox_relay import RelayReport, relay_outbox

pytestmark = pytest.mark.emulator


def test_an_event_stranded_by_a_failed_publish_arrives_once_after_the_relay_runs(
    firestore_client, pubsub_emulator, pubsub_subscriber
):
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    project = pubsub_emulator.unique_id("relay")
    publisher = PubSubPublisher(project, timeout_s=5)
    uow = FirestoreUnitOfWork(firestore_client, publisher, clock)
    event = new_event(
        EventType.LOAN_SUBMITTED,
        {
            "loan_id": "loan-1",
            "borrower_id": "u-1",
            "product_id": "p-1",
            "principal": 5_000_000,
            "tenor": 6,
        },
        entity="p2p",
        occurred_at=clock.now(),
        event_id=uuid.uuid4(),
    )

    def submit(tx: DocumentTransaction) -> None:
        tx.set("loans", "loan-1", {"state": "submitted"})
        tx.emit(event)

    # The topic does not exist yet: Pub/Sub refuses the publish, the commit stands.
    with pytest.raises(PublishFailed):
        uow.run(submit)
    stranded = firestore_client.collection(OUTBOX).document(str(event.event_id)).get().to_dict()
    assert stranded["published_at"] is None
    assert firestore_client.collection("loans").document("loan-1").get().exists

    topic = publisher.topic_path("loan.submitted")
    subscription = f"projects/{project}/subscriptions/scoring"
    publisher._publisher().create_topic(name=topic)
    pubsub_subscriber.create_subscription(name=subscription, topic=topic)

    clock.advance(seconds=10)  # within the grace period: the relay leaves it to the producer
    assert relay_outbox(uow, clock) == RelayReport(relayed=0, more=False)

    clock.advance(seconds=50)
    assert relay_outbox(uow, clock) == RelayReport(relayed=1, more=False)
    assert relay_outbox(uow, clock) == RelayReport(relayed=0, more=False)

    response = pubsub_subscriber.pull(
        request={"subscription": subscription, "max_messages": 10}, timeout=10
    )
    (received,) = response.received_messages
    assert json.loads(received.message.data) == json.loads(event.to_json_bytes())
    assert received.message.attributes["event_id"] == str(event.event_id)
    assert received.message.attributes["type"] == "loan.submitted"
    marked = firestore_client.collection(OUTBOX).document(str(event.event_id)).get().to_dict()
    assert marked["published_at"] == clock.now()
    stats = pubsub_emulator.stats(subscription)
    assert stats["published"] == 1
