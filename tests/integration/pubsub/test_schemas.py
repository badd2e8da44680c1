"""Schemas, through the real SchemaServiceClient and publisher: Avro validation in both encodings,
revisions, and Protocol Buffer schemas refused clearly."""

from __future__ import annotations

import contextlib
import io
import json

import fastavro
import pytest
from google.api_core import exceptions
from google.pubsub_v1 import SchemaServiceClient
from google.pubsub_v1.types import Encoding, Schema, SchemaView

pytestmark = pytest.mark.emulator

REPAYMENT = {
    "type": "record",
    "name": "Repayment",
    "fields": [
        {"name": "loan_id", "type": "string"},
        {"name": "amount", "type": "long"},
        {"name": "memo", "type": ["null", "string"], "default": None},
    ],
}
REPAYMENT_V2 = {**REPAYMENT, "fields": [*REPAYMENT["fields"], {"name": "fee", "type": "long"}]}


@pytest.fixture
def schema_client(pubsub_emulator):
    return SchemaServiceClient()


@pytest.fixture
def schema_name(pubsub_emulator, schema_client):
    schema_id = pubsub_emulator.unique_id("repayment")
    created = schema_client.create_schema(
        parent=f"projects/{pubsub_emulator.project}",
        schema=Schema(type_=Schema.Type.AVRO, definition=json.dumps(REPAYMENT)),
        schema_id=schema_id,
    )
    yield created.name
    with contextlib.suppress(exceptions.NotFound):  # some tests delete it themselves
        schema_client.delete_schema(name=created.name)


def avro_binary(schema: dict, record: dict) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def test_a_json_topic_accepts_fitting_messages_tags_them_and_refuses_others(
    pubsub_publisher, pubsub_subscriber, schema_name, names
):
    pubsub_publisher.create_topic(
        request={
            "name": names.topic,
            "schema_settings": {"schema": schema_name, "encoding": Encoding.JSON},
        }
    )
    pubsub_subscriber.create_subscription(name=names.subscription, topic=names.topic)

    good = json.dumps({"loan_id": "L-1", "amount": 150000, "memo": {"string": "x"}}).encode()
    pubsub_publisher.publish(names.topic, good).result(10)
    with pytest.raises(exceptions.InvalidArgument) as refused:
        pubsub_publisher.publish(names.topic, json.dumps({"loan_id": "L-1"}).encode()).result(10)
    [received] = pubsub_subscriber.pull(
        subscription=names.subscription, max_messages=10
    ).received_messages

    assert refused.value.message == "Invalid data in message: Message failed schema validation."
    assert received.message.data == good
    attributes = dict(received.message.attributes)
    assert attributes["googclient_schemaname"] == schema_name
    assert attributes["googclient_schemaencoding"] == "JSON"
    assert attributes["googclient_schemarevisionid"]


def test_a_binary_topic_validates_avro_binary_against_its_revisions(
    pubsub_publisher, schema_client, schema_name, names
):
    first = schema_client.get_schema(name=schema_name)
    second = schema_client.commit_schema(
        name=schema_name,
        schema=Schema(type_=Schema.Type.AVRO, definition=json.dumps(REPAYMENT_V2)),
    )
    pubsub_publisher.create_topic(
        request={
            "name": names.topic,
            "schema_settings": {
                "schema": schema_name,
                "encoding": Encoding.BINARY,
                "first_revision_id": first.revision_id,
                "last_revision_id": first.revision_id,
            },
        }
    )

    v1 = avro_binary(REPAYMENT, {"loan_id": "L-2", "amount": 1, "memo": None})
    v2 = avro_binary(REPAYMENT_V2, {"loan_id": "L-2", "amount": 1, "memo": None, "fee": 9})
    pubsub_publisher.publish(names.topic, v1).result(10)
    with pytest.raises(exceptions.InvalidArgument):
        pubsub_publisher.publish(names.topic, v2).result(10)  # only the first revision is allowed
    revisions = [
        s.revision_id
        for s in schema_client.list_schema_revisions(
            request={"name": schema_name, "view": SchemaView.FULL}
        )
    ]

    assert revisions == [second.revision_id, first.revision_id]


def test_validate_schema_and_validate_message(pubsub_emulator, schema_client, schema_name):
    parent = f"projects/{pubsub_emulator.project}"
    good = json.dumps({"loan_id": "L-3", "amount": 5, "memo": None}).encode()

    schema_client.validate_schema(
        parent=parent, schema=Schema(type_=Schema.Type.AVRO, definition=json.dumps(REPAYMENT))
    )
    schema_client.validate_message(
        request={"parent": parent, "name": schema_name, "message": good, "encoding": Encoding.JSON}
    )
    with pytest.raises(exceptions.InvalidArgument):
        schema_client.validate_schema(
            parent=parent, schema=Schema(type_=Schema.Type.AVRO, definition='{"type": "nope"}')
        )
    with pytest.raises(exceptions.InvalidArgument):
        schema_client.validate_message(
            request={
                "parent": parent,
                "name": schema_name,
                "message": b"\x00\x01",
                "encoding": Encoding.JSON,
            }
        )


def test_protocol_buffer_schemas_are_refused_clearly(pubsub_emulator, schema_client):
    with pytest.raises(exceptions.MethodNotImplemented) as refused:
        schema_client.create_schema(
            parent=f"projects/{pubsub_emulator.project}",
            schema=Schema(
                type_=Schema.Type.PROTOCOL_BUFFER,
                definition='syntax = "proto3"; message Repayment { string loan_id = 1; }',
            ),
            schema_id=pubsub_emulator.unique_id("proto"),
        )

    assert "Protocol Buffer schemas are not emulated" in refused.value.message


def test_deleting_a_schema_leaves_its_topics_refusing_every_message(
    pubsub_publisher, schema_client, schema_name, names
):
    pubsub_publisher.create_topic(
        request={
            "name": names.topic,
            "schema_settings": {"schema": schema_name, "encoding": Encoding.JSON},
        }
    )

    schema_client.delete_schema(name=schema_name)

    assert pubsub_publisher.get_topic(topic=names.topic).schema_settings.schema == (
        "_deleted-schema_"
    )
    with pytest.raises(exceptions.InvalidArgument):
        pubsub_publisher.publish(
            names.topic, json.dumps({"loan_id": "L", "amount": 1, "memo": None}).encode()
        ).result(10)


def test_a_topic_naming_an_unknown_schema_is_refused(pubsub_emulator, pubsub_publisher, names):
    with pytest.raises(exceptions.NotFound):
        pubsub_publisher.create_topic(
            request={
                "name": names.topic,
                "schema_settings": {
                    "schema": f"projects/{pubsub_emulator.project}/schemas/missing",
                    "encoding": Encoding.JSON,
                },
            }
        )
