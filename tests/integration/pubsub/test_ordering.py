"""Message ordering: per key, in publish order, one at a time, and a retry before what follows."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict

import pytest

pytestmark = pytest.mark.emulator


def publish_interleaved(publisher, topic, keys, count):
    futures = [
        publisher.publish(topic, f"{key}:{i}".encode(), ordering_key=key, seq=str(i))
        for i in range(count)
        for key in keys
    ]
    for future in futures:
        future.result(timeout=10)


def test_streaming_subscriber_sees_each_key_in_order_and_a_nack_is_retried_first(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={"name": names.subscription, "topic": names.topic, "enable_message_ordering": True}
    )
    publish_interleaved(pubsub_publisher, names.topic, ["loan-1", "loan-2"], 10)
    seen: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()

    def handle(message):
        seq = int(message.attributes["seq"])
        with lock:
            seen[message.ordering_key].append(seq)
            nack = message.ordering_key == "loan-1" and seq == 4 and seen["loan-1"].count(4) == 1
        if nack:
            message.nack()
        else:
            message.ack()

    future = pubsub_subscriber.subscribe(names.subscription, handle)
    try:
        pubsub_emulator.wait_for_stats(names.subscription, lambda s: s["acknowledged"] == 20)
    finally:
        future.cancel()
        future.result(timeout=10)

    assert seen["loan-1"] == [0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9]
    assert seen["loan-2"] == list(range(10))


def test_push_delivers_one_message_per_key_at_a_time(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    push_endpoint.handling_seconds = 0.02  # long enough that overlaps would show
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "enable_message_ordering": True,
            "push_config": {"push_endpoint": push_endpoint.url},
        }
    )

    publish_interleaved(pubsub_publisher, names.topic, ["loan-1", "loan-2", "loan-3"], 8)
    requests = push_endpoint.wait_for(24)

    by_key = defaultdict(list)
    for request in sorted(requests, key=lambda r: r.arrived_at):
        by_key[request.body["message"]["orderingKey"]].append(request)
    for key, deliveries in by_key.items():
        seqs = [int(r.body["message"]["attributes"]["seq"]) for r in deliveries]
        assert seqs == list(range(8)), key
        for earlier, later in itertools.pairwise(deliveries):
            assert later.arrived_at >= earlier.finished_at, f"{key} overlapped"


def test_without_ordering_enabled_the_key_does_not_serialise_delivery(
    pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)
    publish_interleaved(pubsub_publisher, names.topic, ["loan-1"], 5)

    response = pubsub_subscriber.pull(
        request={"subscription": names.subscription, "max_messages": 10}, timeout=10
    )

    # All five are handed out together; with ordering on, only the first would be.
    assert len(response.received_messages) == 5


def test_with_ordering_enabled_pull_hands_out_the_next_message_only_after_an_ack(
    pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={"name": names.subscription, "topic": names.topic, "enable_message_ordering": True}
    )
    publish_interleaved(pubsub_publisher, names.topic, ["loan-1"], 3)
    request = {"subscription": names.subscription, "max_messages": 10}

    seqs = []
    for _ in range(3):
        [received] = pubsub_subscriber.pull(request=request, timeout=10).received_messages
        seqs.append(int(received.message.attributes["seq"]))
        pubsub_subscriber.acknowledge(subscription=names.subscription, ack_ids=[received.ack_id])

    assert seqs == [0, 1, 2]
