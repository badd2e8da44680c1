"""Seek and snapshots, through the real client: rewinding to a time, to a snapshot, and into a
topic's retained past."""

from __future__ import annotations

import datetime
import time

import pytest
from google.api_core import exceptions
from google.protobuf import duration_pb2

pytestmark = pytest.mark.emulator


def drain(subscriber, subscription: str) -> list[bytes]:
    """Pull and acknowledge everything available now; the data, in publish order."""
    received = []
    while True:
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 100, "return_immediately": True}
        )
        if not response.received_messages:
            return sorted(received)
        subscriber.acknowledge(
            subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages]
        )
        received.extend(m.message.data for m in response.received_messages)


def publish(publisher, topic: str, *payloads: bytes) -> None:
    for payload in payloads:
        publisher.publish(topic, payload).result(10)


@pytest.fixture
def retaining(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={"name": names.subscription, "topic": names.topic, "retain_acked_messages": True}
    )
    return names


def test_seeking_to_a_past_time_redelivers_what_was_acknowledged_since(
    pubsub_publisher, pubsub_subscriber, retaining
):
    publish(pubsub_publisher, retaining.topic, b"m1")
    time.sleep(0.05)
    between = datetime.datetime.now(datetime.UTC)
    time.sleep(0.05)
    publish(pubsub_publisher, retaining.topic, b"m2", b"m3")
    first = drain(pubsub_subscriber, retaining.subscription)

    pubsub_subscriber.seek(request={"subscription": retaining.subscription, "time": between})
    replayed = drain(pubsub_subscriber, retaining.subscription)

    assert first == [b"m1", b"m2", b"m3"]
    assert replayed == [b"m2", b"m3"]


def test_seeking_to_now_acknowledges_the_backlog(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)
    publish(pubsub_publisher, names.topic, b"old1", b"old2")

    pubsub_subscriber.seek(
        request={"subscription": names.subscription, "time": datetime.datetime.now(datetime.UTC)}
    )
    publish(pubsub_publisher, names.topic, b"new")

    assert drain(pubsub_subscriber, names.subscription) == [b"new"]


def test_a_snapshot_restores_the_unacknowledged_and_everything_after_it(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)
    publish(pubsub_publisher, names.topic, b"acked-before")
    drain(pubsub_subscriber, names.subscription)
    publish(pubsub_publisher, names.topic, b"pending")
    snapshot_name = f"projects/{pubsub_emulator.project}/snapshots/{pubsub_emulator.unique_id('s')}"

    snapshot = pubsub_subscriber.create_snapshot(
        request={"name": snapshot_name, "subscription": names.subscription, "labels": {"k": "v"}}
    )
    publish(pubsub_publisher, names.topic, b"after")
    assert drain(pubsub_subscriber, names.subscription) == [b"after", b"pending"]
    pubsub_subscriber.seek(request={"subscription": names.subscription, "snapshot": snapshot_name})
    restored = drain(pubsub_subscriber, names.subscription)
    listed = [
        s.name
        for s in pubsub_subscriber.list_snapshots(project=f"projects/{pubsub_emulator.project}")
    ]
    topic_snapshots = list(pubsub_publisher.list_topic_snapshots(topic=names.topic))
    pubsub_subscriber.delete_snapshot(snapshot=snapshot_name)

    assert snapshot.topic == names.topic
    assert dict(snapshot.labels) == {"k": "v"}
    assert restored == [b"after", b"pending"]
    assert snapshot_name in listed
    assert topic_snapshots == [snapshot_name]
    with pytest.raises(exceptions.NotFound):
        pubsub_subscriber.get_snapshot(snapshot=snapshot_name)


def test_topic_retention_lets_a_new_subscription_seek_to_before_it_existed(
    pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(
        request={
            "name": names.topic,
            "message_retention_duration": duration_pb2.Duration(seconds=3600),
        }
    )
    start = datetime.datetime.now(datetime.UTC)
    publish(pubsub_publisher, names.topic, b"before-subscription")
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)
    publish(pubsub_publisher, names.topic, b"after-subscription")

    pubsub_subscriber.seek(request={"subscription": names.subscription, "time": start})

    assert drain(pubsub_subscriber, names.subscription) == [
        b"after-subscription",
        b"before-subscription",
    ]


def test_a_snapshot_of_another_topic_or_an_unknown_one_is_refused(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_publisher.create_topic(name=names.dead_letter_topic)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.dead_letter_subscription, topic=names.dead_letter_topic
    )
    other = f"projects/{pubsub_emulator.project}/snapshots/{pubsub_emulator.unique_id('o')}"
    pubsub_subscriber.create_snapshot(
        request={"name": other, "subscription": names.dead_letter_subscription}
    )

    with pytest.raises(exceptions.FailedPrecondition):
        pubsub_subscriber.seek(request={"subscription": names.subscription, "snapshot": other})
    with pytest.raises(exceptions.NotFound):
        pubsub_subscriber.seek(
            request={"subscription": names.subscription, "snapshot": other + "-missing"}
        )
    with pytest.raises(exceptions.AlreadyExists):
        pubsub_subscriber.create_snapshot(
            request={"name": other, "subscription": names.subscription}
        )
