"""Topics and subscriptions through the real client: what is created, defaulted and refused."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.protobuf import duration_pb2, field_mask_pb2
from google.pubsub_v1 import types

pytestmark = pytest.mark.emulator


def test_a_topic_is_created_found_listed_and_deleted(pubsub_emulator, pubsub_publisher, names):
    created = pubsub_publisher.create_topic(name=names.topic)

    assert created.name == names.topic
    assert pubsub_publisher.get_topic(topic=names.topic).name == names.topic
    listed = [
        t.name for t in pubsub_publisher.list_topics(project=f"projects/{pubsub_emulator.project}")
    ]
    assert names.topic in listed

    pubsub_publisher.delete_topic(topic=names.topic)
    with pytest.raises(exceptions.NotFound):
        pubsub_publisher.get_topic(topic=names.topic)


def test_creating_a_topic_twice_is_refused(pubsub_publisher, names):
    pubsub_publisher.create_topic(name=names.topic)

    with pytest.raises(exceptions.AlreadyExists):
        pubsub_publisher.create_topic(name=names.topic)


@pytest.mark.parametrize(
    "bad_name",
    [
        "projects/p/topics/ab",  # too short
        "projects/p/topics/1starts-with-digit",
        "projects/p/topics/goog-reserved",
        "topics/missing-project",
    ],
)
def test_invalid_topic_names_are_refused(pubsub_publisher, bad_name):
    with pytest.raises(exceptions.InvalidArgument):
        pubsub_publisher.create_topic(name=bad_name)


def test_publishing_to_a_missing_topic_is_not_found(pubsub_publisher, names):
    with pytest.raises(exceptions.NotFound):
        pubsub_publisher.publish(names.topic, b"x").result(timeout=10)


def test_a_subscription_gets_production_defaults(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)

    sub = pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)

    assert sub.ack_deadline_seconds == 10
    assert sub.message_retention_duration.total_seconds() == 7 * 24 * 3600
    assert sub.topic == names.topic
    listed = pubsub_publisher.list_topic_subscriptions(topic=names.topic)
    assert list(listed) == [names.subscription]


def test_a_subscription_to_a_missing_topic_is_not_found(pubsub_subscriber, names):
    with pytest.raises(exceptions.NotFound):
        pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)


def test_retry_policy_defaults_fill_in_and_bad_bounds_are_refused(
    pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    sub = pubsub_subscriber.create_subscription(
        request={"name": names.subscription, "topic": names.topic, "retry_policy": {}}
    )
    assert sub.retry_policy.minimum_backoff.total_seconds() == 10
    assert sub.retry_policy.maximum_backoff.total_seconds() == 600

    with pytest.raises(exceptions.InvalidArgument):
        pubsub_subscriber.create_subscription(
            request={
                "name": names.subscription + "-inverted",
                "topic": names.topic,
                "retry_policy": {
                    "minimum_backoff": duration_pb2.Duration(seconds=30),
                    "maximum_backoff": duration_pb2.Duration(seconds=5),
                },
            }
        )


@pytest.mark.parametrize("attempts", [4, 101])
def test_dead_letter_attempts_outside_5_to_100_are_refused(
    pubsub_publisher, pubsub_subscriber, names, attempts
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_publisher.create_topic(name=names.dead_letter_topic)

    with pytest.raises(exceptions.InvalidArgument):
        pubsub_subscriber.create_subscription(
            request={
                "name": names.subscription,
                "topic": names.topic,
                "dead_letter_policy": {
                    "dead_letter_topic": names.dead_letter_topic,
                    "max_delivery_attempts": attempts,
                },
            }
        )


def test_a_dead_letter_topic_must_exist(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)

    with pytest.raises(exceptions.NotFound):
        pubsub_subscriber.create_subscription(
            request={
                "name": names.subscription,
                "topic": names.topic,
                "dead_letter_policy": {"dead_letter_topic": names.dead_letter_topic},
            }
        )


def test_update_changes_masked_fields_only_and_never_the_filter(
    pubsub_publisher, pubsub_subscriber, names
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={"name": names.subscription, "topic": names.topic, "filter": "attributes:entity"}
    )

    updated = pubsub_subscriber.update_subscription(
        subscription=types.Subscription(name=names.subscription, ack_deadline_seconds=60),
        update_mask=field_mask_pb2.FieldMask(paths=["ack_deadline_seconds"]),
    )
    assert updated.ack_deadline_seconds == 60
    assert updated.filter == "attributes:entity"

    with pytest.raises(exceptions.InvalidArgument):
        pubsub_subscriber.update_subscription(
            subscription=types.Subscription(name=names.subscription, filter="attributes:x"),
            update_mask=field_mask_pb2.FieldMask(paths=["filter"]),
        )


def test_ack_deadlines_over_ten_minutes_are_refused(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    with pytest.raises(exceptions.InvalidArgument):
        pubsub_subscriber.create_subscription(
            name=names.subscription, topic=names.topic, ack_deadline_seconds=601
        )
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)

    with pytest.raises(exceptions.InvalidArgument):
        pubsub_subscriber.modify_ack_deadline(
            subscription=names.subscription, ack_ids=["any"], ack_deadline_seconds=601
        )


def test_deleting_a_topic_orphans_its_subscriptions(pubsub_publisher, pubsub_subscriber, names):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)

    pubsub_publisher.delete_topic(topic=names.topic)

    assert pubsub_subscriber.get_subscription(subscription=names.subscription).topic == (
        "_deleted-topic_"
    )


def test_reset_of_one_project_leaves_the_others(pubsub_emulator, pubsub_publisher, names):
    other = f"projects/reset-me-{pubsub_emulator.unique_id('p')}/topics/doomed"
    pubsub_publisher.create_topic(name=other)
    pubsub_publisher.create_topic(name=names.topic)

    pubsub_emulator.reset(project=other.split("/")[1])

    with pytest.raises(exceptions.NotFound):
        pubsub_publisher.get_topic(topic=other)
    assert pubsub_publisher.get_topic(topic=names.topic).name == names.topic


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("topic", "message_transforms", [{"javascript_udf": {"function_name": "f"}}]),
        ("topic", "ingestion_data_source_settings", {"aws_kinesis": {"stream_arn": "arn"}}),
        ("subscription", "message_transforms", [{"javascript_udf": {"function_name": "f"}}]),
        ("subscription", "bigquery_config", {"table": "p.d.t"}),
    ],
)
def test_features_the_emulator_would_ignore_are_refused(
    pubsub_publisher, pubsub_subscriber, names, kind, field, value
):
    if kind == "topic":
        with pytest.raises(exceptions.MethodNotImplemented, match=f"{field} is not emulated"):
            pubsub_publisher.create_topic(request={"name": names.topic, field: value})
        return
    pubsub_publisher.create_topic(name=names.topic)
    with pytest.raises(exceptions.MethodNotImplemented, match=f"{field} is not emulated"):
        pubsub_subscriber.create_subscription(
            request={"name": names.subscription, "topic": names.topic, field: value}
        )
