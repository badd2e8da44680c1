"""Message retention: an unacknowledged message older than the retention is dropped.

Retention is at least 10 minutes, too long to wait for through the real client,
so this drives the emulator's broker directly with a clock the test moves.
"""

from __future__ import annotations

import pytest
from google.protobuf import duration_pb2
from google.pubsub_v1 import types

from emulators.pubsub.broker import Broker, BrokerError


class ManualClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def broker_and_clock():
    clock = ManualClock()
    broker = Broker(clock=clock)
    broker.create_topic(types.Topic.pb()(name="projects/p/topics/loan-events"))
    yield broker, clock
    broker.stop()


def subscribe(broker, retention_s):
    config = types.Subscription.pb()(
        name="projects/p/subscriptions/audit",
        topic="projects/p/topics/loan-events",
        message_retention_duration=duration_pb2.Duration(seconds=retention_s),
    )
    return broker.create_subscription(config).name


def publish(broker, data):
    broker.publish("projects/p/topics/loan-events", [types.PubsubMessage.pb()(data=data)])


def test_a_message_past_the_retention_is_dropped_unseen(broker_and_clock):
    broker, clock = broker_and_clock
    subscription = subscribe(broker, retention_s=600)
    publish(broker, b"old")
    clock.now += 601
    publish(broker, b"fresh")

    received = broker.pull(subscription, max_messages=10, wait_s=0)

    assert [m.message.data for m in received] == [b"fresh"]
    assert broker.stats(subscription)["backlog"] == 1


def test_a_message_within_the_retention_is_kept(broker_and_clock):
    broker, clock = broker_and_clock
    subscription = subscribe(broker, retention_s=600)
    publish(broker, b"recent")
    clock.now += 599

    received = broker.pull(subscription, max_messages=10, wait_s=0)

    assert [m.message.data for m in received] == [b"recent"]


@pytest.mark.parametrize("retention_s", [599, 7 * 24 * 3600 + 1])
def test_retention_outside_10_minutes_to_7_days_is_refused(broker_and_clock, retention_s):
    broker, _ = broker_and_clock

    with pytest.raises(BrokerError, match="between 10 minutes and 7 days"):
        subscribe(broker, retention_s)
