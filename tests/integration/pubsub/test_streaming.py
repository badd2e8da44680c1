"""StreamingPull as `SubscriberClient.subscribe()` uses it: nack, lease extension, flow control."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter

import pytest
from google.api_core import exceptions
from google.pubsub_v1 import types

pytestmark = pytest.mark.emulator


@pytest.fixture
def subscription(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.subscription, topic=names.topic, ack_deadline_seconds=1
    )
    return names.subscription


def test_a_nacked_message_comes_back_to_the_callback_and_is_then_acked(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def handle(message):
        with lock:
            seen[message.message_id] += 1
            first_time = seen[message.message_id] == 1
        if first_time:
            message.nack()  # a transient failure: Pub/Sub must redeliver
        else:
            message.ack()

    ids = [pubsub_publisher.publish(names.topic, f"m{i}".encode()).result(10) for i in range(3)]
    future = pubsub_subscriber.subscribe(subscription, handle)
    try:
        stats = pubsub_emulator.wait_for_stats(subscription, lambda s: s["acknowledged"] == 3)
    finally:
        future.cancel()
        future.result(timeout=10)

    assert seen == {message_id: 2 for message_id in ids}
    assert (stats["nacked"], stats["backlog"]) == (3, 0)


def test_a_slow_callback_keeps_its_lease_past_the_subscription_deadline(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, subscription
):
    # The subscription's deadline is 1 s; the client leases for the stream's
    # deadline and extends it with ModifyAckDeadline while the callback runs.
    done = threading.Event()

    def handle(message):
        time.sleep(2.5)
        message.ack()
        done.set()

    pubsub_publisher.publish(names.topic, b"takes a while").result(timeout=10)
    future = pubsub_subscriber.subscribe(subscription, handle)
    try:
        assert done.wait(15)
        stats = pubsub_emulator.wait_for_stats(subscription, lambda s: s["acknowledged"] == 1)
    finally:
        future.cancel()
        future.result(timeout=10)

    assert (stats["delivered"], stats["expired"]) == (1, 0)


def test_the_server_sends_no_more_than_max_outstanding_messages(
    pubsub_publisher, pubsub_subscriber, names, subscription
):
    for i in range(5):
        pubsub_publisher.publish(names.topic, f"m{i}".encode()).result(timeout=10)
    outgoing: queue.Queue[types.StreamingPullRequest | None] = queue.Queue()
    outgoing.put(
        types.StreamingPullRequest(
            subscription=subscription, stream_ack_deadline_seconds=60, max_outstanding_messages=2
        )
    )

    def requests():
        while (request := outgoing.get()) is not None:
            yield request

    received: queue.Queue[types.ReceivedMessage] = queue.Queue()
    stream = pubsub_subscriber.streaming_pull(requests=requests())

    def read():
        try:
            for response in stream:
                for message in response.received_messages:
                    received.put(message)
        except exceptions.GoogleAPICallError:
            pass  # cancelled at the end of the test

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first = [received.get(timeout=10) for _ in range(2)]
        with pytest.raises(queue.Empty):
            received.get(timeout=1.0)  # a third would break flow control

        outgoing.put(types.StreamingPullRequest(ack_ids=[m.ack_id for m in first]))
        second = [received.get(timeout=10) for _ in range(2)]
    finally:
        outgoing.put(None)
        stream.cancel()
        reader.join(timeout=10)

    data = sorted(m.message.data for m in first + second)
    assert len(set(data)) == 4


def test_deleting_the_subscription_ends_the_stream_with_not_found(pubsub_subscriber, subscription):
    future = pubsub_subscriber.subscribe(subscription, lambda message: message.ack())
    time.sleep(0.3)  # let the stream open

    pubsub_subscriber.delete_subscription(subscription=subscription)

    with pytest.raises(exceptions.NotFound):
        future.result(timeout=15)
