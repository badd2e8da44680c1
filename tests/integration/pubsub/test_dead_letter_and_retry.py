"""Dead-letter policy and retry backoff: how a message that keeps failing ends up somewhere."""

from __future__ import annotations

import itertools

import pytest
from google.protobuf import duration_pb2

pytestmark = pytest.mark.emulator


def pull_one(subscriber, subscription):
    response = subscriber.pull(
        request={"subscription": subscription, "max_messages": 1}, timeout=15
    )
    [received] = response.received_messages
    return received


@pytest.fixture
def dead_letter_setup(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_publisher.create_topic(name=names.dead_letter_topic)
    pubsub_subscriber.create_subscription(
        name=names.dead_letter_subscription, topic=names.dead_letter_topic
    )
    return names


def test_after_five_failed_attempts_the_message_goes_to_the_dead_letter_topic(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, dead_letter_setup
):
    names = dead_letter_setup
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "ack_deadline_seconds": 1,
            "dead_letter_policy": {
                "dead_letter_topic": names.dead_letter_topic,
                "max_delivery_attempts": 5,
            },
        }
    )
    message_id = pubsub_publisher.publish(names.topic, b"poison", loan_id="L-7").result(10)

    attempts = []
    for _ in range(5):
        received = pull_one(pubsub_subscriber, names.subscription)
        attempts.append(received.delivery_attempt)
        pubsub_subscriber.modify_ack_deadline(
            subscription=names.subscription, ack_ids=[received.ack_id], ack_deadline_seconds=0
        )

    assert attempts == [1, 2, 3, 4, 5]
    dead = pull_one(pubsub_subscriber, names.dead_letter_subscription)
    assert dead.message.data == b"poison"
    attributes = dict(dead.message.attributes)
    assert attributes["loan_id"] == "L-7"
    assert attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert (
        attributes["CloudPubSubDeadLetterSourceSubscription"] == names.subscription.split("/")[-1]
    )
    assert attributes["CloudPubSubDeadLetterSourceSubscriptionProject"] == pubsub_emulator.project
    assert dead.message.message_id != message_id  # a new message on the dead-letter topic
    stats = pubsub_emulator.stats(names.subscription)
    assert (stats["dead_lettered"], stats["backlog"]) == (1, 0)


def test_expired_deadlines_count_as_failed_attempts(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, dead_letter_setup
):
    names = dead_letter_setup
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "ack_deadline_seconds": 1,
            "dead_letter_policy": {"dead_letter_topic": names.dead_letter_topic},
        }
    )
    pubsub_publisher.publish(names.topic, b"ignored").result(10)

    first = pull_one(pubsub_subscriber, names.subscription)
    second = pull_one(pubsub_subscriber, names.subscription)  # after the 1 s deadline ran out

    assert (first.delivery_attempt, second.delivery_attempt) == (1, 2)
    assert pubsub_emulator.stats(names.subscription)["expired"] == 1


def test_push_retries_back_off_exponentially_then_dead_letter(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, dead_letter_setup, push_endpoint
):
    names = dead_letter_setup
    push_endpoint.respond = lambda body: 503  # the consumer is down
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "push_config": {"push_endpoint": push_endpoint.url + "/push"},
            "retry_policy": {
                "minimum_backoff": duration_pb2.Duration(nanos=250_000_000),
                "maximum_backoff": duration_pb2.Duration(seconds=10),
            },
            "dead_letter_policy": {
                "dead_letter_topic": names.dead_letter_topic,
                "max_delivery_attempts": 5,
            },
        }
    )

    pubsub_publisher.publish(names.topic, b"cannot be handled").result(10)
    requests = push_endpoint.wait_for(5)

    assert [r.body["deliveryAttempt"] for r in requests] == [1, 2, 3, 4, 5]
    arrivals = [r.arrived_at for r in requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    # Backoff doubles (0.25, 0.5, 1, 2 s): each wait is longer than the one before.
    assert gaps == sorted(gaps)
    dead = pull_one(pubsub_subscriber, names.dead_letter_subscription)
    assert dead.message.data == b"cannot be handled"
    assert dead.message.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert "503" in dead.message.attributes["CloudPubSubDeadLetterSourceDeliveryErrorMessage"]
    assert pubsub_emulator.stats(names.subscription)["nacked"] == 5


def test_nacks_wait_out_the_backoff_before_redelivery(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "retry_policy": {"minimum_backoff": duration_pb2.Duration(seconds=30)},
        }
    )
    pubsub_publisher.publish(names.topic, b"later").result(10)
    received = pull_one(pubsub_subscriber, names.subscription)

    pubsub_subscriber.modify_ack_deadline(
        subscription=names.subscription, ack_ids=[received.ack_id], ack_deadline_seconds=0
    )

    response = pubsub_subscriber.pull(
        request={"subscription": names.subscription, "max_messages": 1, "return_immediately": True}
    )
    assert list(response.received_messages) == []  # still backing off for 30 s
    assert pubsub_emulator.stats(names.subscription)["backlog"] == 1


def test_the_client_librarys_dead_letter_sample_end_to_end(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, dead_letter_setup
):
    """The flow of the library's samples: create with a dead-letter policy, update it, publish,
    receive with a timeout while nacking, count the attempts, find the message dead-lettered,
    then remove the policy."""
    names = dead_letter_setup
    subscription = pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "dead_letter_policy": {
                "dead_letter_topic": names.dead_letter_topic,
                "max_delivery_attempts": 10,
            },
        }
    )
    updated = pubsub_subscriber.update_subscription(
        request={
            "subscription": {
                "name": names.subscription,
                "dead_letter_policy": {
                    "dead_letter_topic": names.dead_letter_topic,
                    "max_delivery_attempts": 5,
                },
            },
            "update_mask": {"paths": ["dead_letter_policy"]},
        }
    )
    pubsub_publisher.publish(names.topic, b"poison", loan_id="L-8").result(10)

    attempts: list[int] = []

    def nack_everything(message):
        attempts.append(message.delivery_attempt)
        message.nack()

    future = pubsub_subscriber.subscribe(names.subscription, nack_everything)
    with pytest.raises(TimeoutError):
        future.result(timeout=2)
    future.cancel()
    future.result(timeout=10)
    dead: list[bytes] = []
    dead_future = pubsub_subscriber.subscribe(
        names.dead_letter_subscription, lambda message: (dead.append(message.data), message.ack())
    )
    pubsub_emulator.wait_for_stats(names.dead_letter_subscription, lambda s: s["acknowledged"] == 1)
    dead_future.cancel()
    dead_future.result(timeout=10)
    removed = pubsub_subscriber.update_subscription(
        request={
            "subscription": {"name": names.subscription, "dead_letter_policy": None},
            "update_mask": {"paths": ["dead_letter_policy"]},
        }
    )

    assert subscription.dead_letter_policy.max_delivery_attempts == 10
    assert updated.dead_letter_policy.max_delivery_attempts == 5
    assert attempts == [1, 2, 3, 4, 5]
    assert dead == [b"poison"]
    assert not removed.dead_letter_policy.dead_letter_topic
    stats = pubsub_emulator.stats(names.subscription)
    assert (stats["nacked"], stats["dead_lettered"], stats["backlog"]) == (5, 1, 0)
