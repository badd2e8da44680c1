"""Subscription filters: only matching messages are delivered; the rest are acknowledged unseen."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

pytestmark = pytest.mark.emulator

# Attributes of the messages every filter below is tried against.
MESSAGES = {
    "p2p-loan": {"entity": "p2p", "type": "loan.submitted"},
    "p2p-repayment": {"entity": "p2p", "type": "repayment.received"},
    "p2p-test": {"entity": "p2p", "type": "loan.submitted", "test": "yes"},
    "neobank-loan": {"entity": "neobank", "type": "loan.funded"},
    "no-entity": {"type": "loan.submitted"},
}


def delivered_under(filter_text, publisher, subscriber, pubsub_emulator):
    topic_id = pubsub_emulator.unique_id("filtered")
    topic = pubsub_emulator.topic_path(topic_id)
    subscription = pubsub_emulator.subscription_path(topic_id)
    publisher.create_topic(name=topic)
    subscriber.create_subscription(
        request={"name": subscription, "topic": topic, "filter": filter_text}
    )
    for label, attributes in MESSAGES.items():
        publisher.publish(topic, label.encode(), **attributes).result(timeout=10)
    response = subscriber.pull(
        request={"subscription": subscription, "max_messages": 10, "return_immediately": True}
    )
    labels = {m.message.data.decode() for m in response.received_messages}
    return labels, pubsub_emulator.stats(subscription)


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('attributes.entity = "p2p"', {"p2p-loan", "p2p-repayment", "p2p-test"}),
        ('attributes.entity != "p2p"', {"neobank-loan", "no-entity"}),
        ("attributes:test", {"p2p-test"}),
        ("NOT attributes:entity", {"no-entity"}),
        (
            'hasPrefix(attributes.type, "loan.")',
            {"p2p-loan", "p2p-test", "neobank-loan", "no-entity"},
        ),
        (
            'attributes.entity = "p2p" AND NOT attributes:test',
            {"p2p-loan", "p2p-repayment"},
        ),
        (
            'attributes.type = "loan.funded" OR attributes.type = "repayment.received"',
            {"neobank-loan", "p2p-repayment"},
        ),
        (
            '(attributes.entity = "p2p" OR attributes.entity = "neobank") '
            'AND hasPrefix(attributes.type, "loan.")',
            {"p2p-loan", "p2p-test", "neobank-loan"},
        ),
    ],
)
def test_only_matching_messages_are_delivered(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, filter_text, expected
):
    delivered, stats = delivered_under(
        filter_text, pubsub_publisher, pubsub_subscriber, pubsub_emulator
    )

    assert delivered == expected
    assert stats["filtered_out"] == len(MESSAGES) - len(expected)
    assert stats["backlog"] == len(expected)  # filtered messages are acknowledged unseen


@pytest.mark.parametrize(
    "filter_text",
    [
        "attributes:entity AND attributes:type OR attributes:test",  # AND/OR mixed without ()
        "attributes.entity = p2p",  # value must be a string literal
        'hasSuffix(attributes.type, "ed")',  # no such function
        "attributes.entity",  # no operator
        "attributes:entity and attributes:type",  # operators are upper case
        "(attributes:entity",
        "attributes:" + "k" * 300,  # over 256 bytes
    ],
)
def test_invalid_filters_are_refused(pubsub_publisher, pubsub_subscriber, names, filter_text):
    pubsub_publisher.create_topic(name=names.topic)

    with pytest.raises(exceptions.InvalidArgument):
        pubsub_subscriber.create_subscription(
            request={"name": names.subscription, "topic": names.topic, "filter": filter_text}
        )
