"""Fault injection: duplicates, random redelivery and delay happen exactly as asked, and a
publish fault refuses Publish calls with the gRPC code asked, as often as asked."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from google.api_core import exceptions

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


# Publish faults ---------------------------------------------------------------------------------


def test_a_refused_publish_fails_with_the_code_asked_and_reaches_no_subscription(
    pubsub_emulator, pubsub_publisher, names, subscription
):
    with pubsub_emulator.publishes_refused(names.topic, code="PERMISSION_DENIED"):
        refused = pubsub_publisher.publish(names.topic, b"loan.submitted")

        # PERMISSION_DENIED is not one the client retries: the producer hears at once.
        with pytest.raises(exceptions.PermissionDenied, match="publish fault"):
            refused.result(10)

    assert pubsub_emulator.topic_stats(names.topic) == {
        "topic": names.topic,
        "published": 0,
        "refused_publishes": 1,
        "refused_messages": 1,
    }
    assert pubsub_emulator.stats(subscription)["published"] == 0


def test_a_counted_fault_refuses_that_many_publishes_then_is_spent(
    pubsub_emulator, pubsub_publisher, names, subscription
):
    pubsub_emulator.fail_publishes(names.topic, code="NOT_FOUND", count=2)

    outcomes = []
    for attempt in range(3):
        try:
            pubsub_publisher.publish(names.topic, f"attempt {attempt}".encode()).result(10)
            outcomes.append("published")
        except exceptions.NotFound:
            outcomes.append("refused")

    assert outcomes == ["refused", "refused", "published"]
    assert pubsub_emulator.stats(subscription)["published"] == 1
    in_force = httpx.get(pubsub_emulator.admin_url + "/faults", timeout=10).json()["publish"]
    assert [f for f in in_force if f["topic"] == names.topic] == []


def test_a_code_the_client_retries_is_hidden_by_its_retry_while_the_count_lasts(
    pubsub_emulator, pubsub_publisher, names, subscription
):
    pubsub_emulator.fail_publishes(names.topic, code="UNAVAILABLE", count=2)

    message_id = pubsub_publisher.publish(names.topic, b"third time lucky").result(30)

    assert message_id
    stats = pubsub_emulator.topic_stats(names.topic)
    assert (stats["refused_publishes"], stats["published"]) == (2, 1)


def test_clearing_the_fault_lets_publishes_through_again(
    pubsub_emulator, pubsub_publisher, names, subscription
):
    pubsub_emulator.fail_publishes(names.topic)  # PERMISSION_DENIED until cleared
    for _ in range(3):
        with pytest.raises(exceptions.PermissionDenied):
            pubsub_publisher.publish(names.topic, b"refused").result(10)

    pubsub_emulator.clear_publish_faults(names.topic)
    pubsub_publisher.publish(names.topic, b"through").result(10)

    stats = pubsub_emulator.topic_stats(names.topic)
    assert (stats["refused_publishes"], stats["published"]) == (3, 1)
    assert pubsub_emulator.stats(subscription)["published"] == 1


def test_a_fault_for_one_topic_or_prefix_leaves_other_topics_alone(
    pubsub_emulator, pubsub_publisher, names
):
    sibling = names.topic + "-retry"
    other = pubsub_emulator.topic_path(pubsub_emulator.unique_id("loan-funded"))
    for topic in (names.topic, sibling, other):
        pubsub_publisher.create_topic(name=topic)

    with pubsub_emulator.publishes_refused(names.topic, code="FAILED_PRECONDITION"):
        with pytest.raises(exceptions.FailedPrecondition):
            pubsub_publisher.publish(names.topic, b"refused").result(10)
        pubsub_publisher.publish(sibling, b"exact name only").result(10)
        pubsub_publisher.publish(other, b"untouched").result(10)
    with pubsub_emulator.publishes_refused(topic_prefix=names.topic, code="PERMISSION_DENIED"):
        for topic in (names.topic, sibling):
            with pytest.raises(exceptions.PermissionDenied):
                pubsub_publisher.publish(topic, b"refused by prefix").result(10)
        pubsub_publisher.publish(other, b"untouched").result(10)

    refused = {
        t: pubsub_emulator.topic_stats(t)["refused_publishes"]
        for t in (names.topic, sibling, other)
    }
    assert refused == {names.topic: 2, sibling: 1, other: 0}


def test_deleting_every_fault_clears_publish_faults_too(
    pubsub_emulator, pubsub_publisher, names, subscription
):
    pubsub_emulator.fail_publishes(names.topic)
    httpx.delete(pubsub_emulator.admin_url + "/faults", timeout=10).raise_for_status()

    pubsub_publisher.publish(names.topic, b"after DELETE /faults").result(10)

    assert pubsub_emulator.topic_stats(names.topic)["refused_publishes"] == 0


@pytest.mark.parametrize(
    "fault, complaint",
    [
        ({"code": "OK"}, "code"),
        ({"count": 0}, "count"),
        ({"topic": "projects/p/topics/a", "topic_prefix": "projects/p/"}, "not both"),
        ({"topics": "projects/p/topics/a"}, "unknown"),
    ],
)
def test_a_bad_publish_fault_is_refused(pubsub_emulator, fault, complaint):
    response = httpx.put(pubsub_emulator.admin_url + "/faults", json={"publish": fault}, timeout=10)

    assert response.status_code == 400
    assert complaint in response.json()["error"]
