"""Exactly-once delivery, through the real client: ack results reported, expired ack ids refused,
nothing redelivered after a successful ack."""

from __future__ import annotations

import threading
import time

import pytest
from google.api_core import exceptions
from google.cloud.pubsub_v1.subscriber.exceptions import AcknowledgeStatus
from google.rpc import error_details_pb2
from grpc_status import rpc_status

pytestmark = pytest.mark.emulator


@pytest.fixture
def exactly_once(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "ack_deadline_seconds": 1,
            "enable_exactly_once_delivery": True,
        }
    )
    return names


def ack_errors(error: exceptions.GoogleAPICallError) -> dict[str, str]:
    """The per-ack-id failures the client library reads from the status details."""
    status = rpc_status.from_call(error.response)
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    return dict(info.metadata)


def test_a_subscription_with_exactly_once_reports_it(pubsub_subscriber, exactly_once):
    subscription = pubsub_subscriber.get_subscription(subscription=exactly_once.subscription)

    assert subscription.enable_exactly_once_delivery


def test_an_ack_of_an_expired_lease_fails_and_the_redelivery_is_final(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, exactly_once
):
    pubsub_publisher.publish(exactly_once.topic, b"repayment").result(10)
    [first] = pubsub_subscriber.pull(
        subscription=exactly_once.subscription, max_messages=1
    ).received_messages
    time.sleep(1.3)  # the 1 s lease expires

    with pytest.raises(exceptions.InvalidArgument) as expired:
        pubsub_subscriber.acknowledge(
            subscription=exactly_once.subscription, ack_ids=[first.ack_id]
        )
    [second] = pubsub_subscriber.pull(
        subscription=exactly_once.subscription, max_messages=1
    ).received_messages
    pubsub_subscriber.acknowledge(subscription=exactly_once.subscription, ack_ids=[second.ack_id])
    pubsub_subscriber.acknowledge(subscription=exactly_once.subscription, ack_ids=[second.ack_id])
    time.sleep(1.3)
    again = pubsub_subscriber.pull(
        subscription=exactly_once.subscription, max_messages=1, return_immediately=True
    )

    assert ack_errors(expired.value) == {first.ack_id: "PERMANENT_FAILURE_INVALID_ACK_ID"}
    assert second.message.message_id == first.message.message_id
    assert list(again.received_messages) == []  # acked: never delivered again
    stats = pubsub_emulator.stats(exactly_once.subscription)
    assert (stats["delivered"], stats["acknowledged"], stats["backlog"]) == (2, 1, 0)


def test_a_modack_of_an_unknown_ack_id_fails(pubsub_subscriber, exactly_once):
    with pytest.raises(exceptions.InvalidArgument) as unknown:
        pubsub_subscriber.modify_ack_deadline(
            subscription=exactly_once.subscription, ack_ids=["1-2-3"], ack_deadline_seconds=30
        )

    assert ack_errors(unknown.value) == {"1-2-3": "PERMANENT_FAILURE_INVALID_ACK_ID"}


def test_the_streaming_client_gets_ack_results(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, exactly_once
):
    results: list[AcknowledgeStatus] = []
    done = threading.Event()

    def callback(message):
        results.append(message.ack_with_response().result(timeout=10))
        done.set()

    pubsub_publisher.publish(exactly_once.topic, b"loan.funded").result(10)
    future = pubsub_subscriber.subscribe(exactly_once.subscription, callback)
    try:
        assert done.wait(15)
    finally:
        future.cancel()
        future.result(timeout=10)

    assert results == [AcknowledgeStatus.SUCCESS]
    stats = pubsub_emulator.stats(exactly_once.subscription)
    assert (stats["delivered"], stats["acknowledged"]) == (1, 1)


def test_injected_duplicates_never_reach_an_exactly_once_subscription(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, exactly_once
):
    pubsub_emulator.inject_faults(subscription=exactly_once.subscription, deliver_times=3)
    try:
        pubsub_publisher.publish(exactly_once.topic, b"once").result(10)
        [received] = pubsub_subscriber.pull(
            subscription=exactly_once.subscription, max_messages=1
        ).received_messages
        pubsub_subscriber.acknowledge(
            subscription=exactly_once.subscription, ack_ids=[received.ack_id]
        )
        time.sleep(0.3)
        again = pubsub_subscriber.pull(
            subscription=exactly_once.subscription, max_messages=1, return_immediately=True
        )
    finally:
        pubsub_emulator.clear_faults()

    assert list(again.received_messages) == []
