"""Fault injection: duplicates, random redelivery and delay happen exactly as asked."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

pytestmark = pytest.mark.emulator


@pytest.fixture
def subscription(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)
    return names.subscription


def drain(subscriber, subscription, emulator):
    """Pull and ack until nothing is left to deliver; returns deliveries per message id."""
    deliveries: Counter[str] = Counter()
    while emulator.stats(subscription)["backlog"]:
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 50}, timeout=15
        )
        for received in response.received_messages:
            deliveries[received.message.message_id] += 1
        if response.received_messages:
            subscriber.acknowledge(
                subscription=subscription,
                ack_ids=[m.ack_id for m in response.received_messages],
            )
    return deliveries


def test_deliver_times_delivers_every_message_that_many_times(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    with pubsub_emulator.faults(subscription, deliver_times=3):
        ids = [pubsub_publisher.publish(names.topic, f"e{i}".encode()).result(10) for i in range(4)]
        deliveries = drain(pubsub_subscriber, subscription, pubsub_emulator)

    assert deliveries == {message_id: 3 for message_id in ids}
    stats = pubsub_emulator.stats(subscription)
    assert (stats["duplicates_injected"], stats["backlog"]) == (8, 0)


def test_redeliver_fraction_redelivers_some_messages_once_more(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    with pubsub_emulator.faults(subscription, redeliver_fraction=0.5, seed=20260101):
        futures = [pubsub_publisher.publish(names.topic, f"e{i}".encode()) for i in range(40)]
        ids = [future.result(10) for future in futures]
        deliveries = drain(pubsub_subscriber, subscription, pubsub_emulator)

    duplicates = pubsub_emulator.stats(subscription)["duplicates_injected"]
    assert set(deliveries) == set(ids)
    assert sorted(Counter(deliveries.values()).items()) == [(1, 40 - duplicates), (2, duplicates)]
    assert 0 < duplicates < 40  # a fraction, not none or all


def test_delay_holds_each_delivery_back(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    with pubsub_emulator.faults(subscription, delay_seconds=0.5):
        published_at = time.monotonic()
        pubsub_publisher.publish(names.topic, b"late").result(10)
        immediately = pubsub_subscriber.pull(
            request={"subscription": subscription, "max_messages": 1, "return_immediately": True}
        )
        eventually = pubsub_subscriber.pull(
            request={"subscription": subscription, "max_messages": 1}, timeout=15
        )
        received_at = time.monotonic()

    assert list(immediately.received_messages) == []
    assert [m.message.data for m in eventually.received_messages] == [b"late"]
    assert received_at - published_at >= 0.5


def test_a_plan_for_one_subscription_leaves_the_others_alone(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    other = names.subscription + "-other"
    pubsub_subscriber.create_subscription(name=other, topic=names.topic)

    with pubsub_emulator.faults(subscription, deliver_times=2):
        pubsub_publisher.publish(names.topic, b"once for other").result(10)
        deliveries = drain(pubsub_subscriber, other, pubsub_emulator)

    assert list(deliveries.values()) == [1]
    assert pubsub_emulator.stats(other)["duplicates_injected"] == 0


def test_a_bad_plan_is_refused(pubsub_emulator):
    response = httpx.put(
        pubsub_emulator.admin_url + "/faults", json={"deliver_times": 0}, timeout=10
    )

    assert response.status_code == 400
    assert "deliver_times" in response.json()["error"]


def test_push_consumers_get_the_duplicates_too(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.subscription, topic=names.topic, push_config={"push_endpoint": push_endpoint.url}
    )

    with pubsub_emulator.faults(names.subscription, deliver_times=2):
        message_id = pubsub_publisher.publish(names.topic, b"twice").result(10)
        requests = push_endpoint.wait_for(2)

    assert [r.body["message"]["messageId"] for r in requests] == [message_id, message_id]
