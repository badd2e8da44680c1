"""Publish and Pull: what a message carries, acknowledgement, nack and ack-deadline expiry."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

pytestmark = pytest.mark.emulator


@pytest.fixture
def subscription(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.subscription, topic=names.topic, ack_deadline_seconds=1
    )
    return names.subscription


def pull(subscriber, subscription, *, wait=True, max_messages=10):
    response = subscriber.pull(
        request={
            "subscription": subscription,
            "max_messages": max_messages,
            "return_immediately": not wait,
        },
        timeout=15,
    )
    return list(response.received_messages)


def test_published_message_arrives_with_id_time_data_and_attributes(
    pubsub_publisher, pubsub_subscriber, names, subscription
):
    message_id = pubsub_publisher.publish(
        names.topic, b'{"loan_id": "L-1"}', event_type="loan.submitted", entity="p2p"
    ).result(timeout=10)

    [received] = pull(pubsub_subscriber, subscription)

    assert received.message.message_id == message_id
    assert received.message.data == b'{"loan_id": "L-1"}'
    assert dict(received.message.attributes) == {"event_type": "loan.submitted", "entity": "p2p"}
    assert received.message.publish_time.timestamp() > 0
    assert received.delivery_attempt == 0  # no dead-letter policy: Pub/Sub leaves it unset


def test_every_subscription_gets_its_own_copy(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    first, second = names.subscription + "-a", names.subscription + "-b"
    for name in (first, second):
        pubsub_subscriber.create_subscription(name=name, topic=names.topic)

    pubsub_publisher.publish(names.topic, b"fan-out").result(timeout=10)

    assert [m.message.data for m in pull(pubsub_subscriber, first)] == [b"fan-out"]
    assert [m.message.data for m in pull(pubsub_subscriber, second)] == [b"fan-out"]


def test_a_message_published_before_the_subscription_existed_is_not_delivered(
    pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_publisher.publish(names.topic, b"too early").result(timeout=10)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)

    assert pull(pubsub_subscriber, names.subscription, wait=False) == []


def test_an_acknowledged_message_is_not_delivered_again(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    pubsub_publisher.publish(names.topic, b"once").result(timeout=10)
    [received] = pull(pubsub_subscriber, subscription)

    pubsub_subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])

    stats = pubsub_emulator.stats(subscription)
    assert (stats["acknowledged"], stats["backlog"]) == (1, 0)
    assert pull(pubsub_subscriber, subscription, wait=False) == []


def test_a_nack_makes_the_message_available_again_at_once(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    message_id = pubsub_publisher.publish(names.topic, b"retry me").result(timeout=10)
    [first] = pull(pubsub_subscriber, subscription)

    pubsub_subscriber.modify_ack_deadline(
        subscription=subscription, ack_ids=[first.ack_id], ack_deadline_seconds=0
    )

    [again] = pull(pubsub_subscriber, subscription)
    assert again.message.message_id == message_id
    assert again.ack_id != first.ack_id
    assert pubsub_emulator.stats(subscription)["nacked"] == 1


def test_an_expired_ack_deadline_redelivers_the_message(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    message_id = pubsub_publisher.publish(names.topic, b"slow consumer").result(timeout=10)
    [first] = pull(pubsub_subscriber, subscription)
    assert pull(pubsub_subscriber, subscription, wait=False) == []  # leased, so not offered

    # No ack: after the 1 s deadline the blocking pull receives it again.
    [again] = pull(pubsub_subscriber, subscription)

    assert again.message.message_id == message_id
    assert pubsub_emulator.stats(subscription)["expired"] == 1
    # The first delivery's ack id is stale now; acking with it changes nothing.
    pubsub_subscriber.acknowledge(subscription=subscription, ack_ids=[first.ack_id])
    assert pubsub_emulator.stats(subscription)["backlog"] == 1
    pubsub_subscriber.acknowledge(subscription=subscription, ack_ids=[again.ack_id])
    assert pubsub_emulator.stats(subscription)["backlog"] == 0


def test_extending_the_deadline_keeps_the_lease(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    pubsub_publisher.publish(names.topic, b"needs time").result(timeout=10)
    [received] = pull(pubsub_subscriber, subscription)

    pubsub_subscriber.modify_ack_deadline(
        subscription=subscription, ack_ids=[received.ack_id], ack_deadline_seconds=60
    )

    # A pull that waits longer than the original 1 s deadline gets nothing.
    response = pubsub_subscriber.pull(
        request={"subscription": subscription, "max_messages": 1}, timeout=2.5
    )
    assert list(response.received_messages) == []
    pubsub_subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
    assert pubsub_emulator.stats(subscription)["expired"] == 0


def test_ordering_key_is_kept_on_the_message(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)

    pubsub_publisher.publish(names.topic, b"x", ordering_key="loan-42").result(timeout=10)

    [received] = pull(pubsub_subscriber, names.subscription)
    assert received.message.ordering_key == "loan-42"


def test_a_message_needs_data_or_attributes(pubsub_publisher, names):
    pubsub_publisher.create_topic(name=names.topic)

    with pytest.raises(exceptions.InvalidArgument):
        pubsub_publisher.publish(names.topic, b"").result(timeout=10)


def test_pulling_a_missing_subscription_is_not_found(pubsub_subscriber, names):
    with pytest.raises(exceptions.NotFound):
        pull(pubsub_subscriber, names.subscription, wait=False)
