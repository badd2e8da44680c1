"""The Pub/Sub publisher on the emulator: the envelope as data, its identity as attributes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.adapters.pubsub import PubSubPublisher, pubsub_publisher
from shared.domain.events import EventType, new_event
from shared.platform.errors import PublishFailed
from shared.platform.outbox import OutboundMessage
from shared.settings import ConfigurationError, PlatformSettings, load_settings

pytestmark = pytest.mark.emulator


def pull_all(subscriber, subscription: str, expected: int) -> list:
    received: list = []
    for _ in range(20):
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 10}, timeout=10
        )
        received.extend(response.received_messages)
        if len(received) >= expected:
            break
    return received


def test_events_arrive_with_their_envelope_and_identity_attributes(
    pubsub_emulator, pubsub_subscriber
):
    project = pubsub_emulator.unique_id("proj")
    publisher = PubSubPublisher(project, timeout_s=10)
    topic = f"projects/{project}/topics/loan.submitted"
    subscription = f"projects/{project}/subscriptions/observer"
    publisher._publisher().create_topic(name=topic)
    pubsub_subscriber.create_subscription(name=subscription, topic=topic)
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
        occurred_at=datetime(2025, 3, 3, 2, tzinfo=UTC),
        event_id=uuid.uuid4(),
    )

    publisher.publish([OutboundMessage.from_event(event)])

    [received] = pull_all(pubsub_subscriber, subscription, 1)
    assert json.loads(received.message.data) == json.loads(event.to_json_bytes())
    assert dict(received.message.attributes) == {
        "event_id": str(event.event_id),
        "type": "loan.submitted",
        "entity": "p2p",
        "schema_version": "1",
    }


def test_publishing_to_a_topic_that_does_not_exist_fails_loudly(pubsub_emulator):
    publisher = PubSubPublisher(pubsub_emulator.unique_id("proj"), timeout_s=5)
    message = OutboundMessage("e-1", "loan.nowhere", b"{}", {"event_id": "e-1"})
    with pytest.raises(PublishFailed, match="1 of 1"):
        publisher.publish([message])


def test_the_factory_follows_the_settings_and_refuses_a_disagreeing_environment(pubsub_emulator):
    settings = load_settings(
        PlatformSettings, env="test", entity="p2p", gcp_project="patungan-test"
    )
    assert pubsub_publisher(settings).project == "patungan-test"
    with pytest.raises(ConfigurationError, match="PUBSUB_EMULATOR_HOST"):
        pubsub_publisher(settings.model_copy(update={"pubsub_emulator_host": None}))
