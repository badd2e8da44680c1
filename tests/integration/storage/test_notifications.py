"""Object-finalize notifications from the storage emulator into a Pub/Sub emulator topic."""

from __future__ import annotations

import json

import pytest
from google.cloud import storage

from emulators.launcher import EmulatorProcess, free_port

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def notifying_storage(pubsub_emulator, pubsub_publisher, pubsub_subscriber):
    """A second storage emulator that publishes finalize events under `uploads/`."""
    topic = pubsub_emulator.topic_path(pubsub_emulator.unique_id("document-uploaded"))
    subscription = pubsub_emulator.subscription_path(pubsub_emulator.unique_id("documents"))
    pubsub_publisher.create_topic(name=topic)
    pubsub_subscriber.create_subscription(name=subscription, topic=topic)
    port = free_port()
    process = EmulatorProcess.python_module(
        "storage-notify",
        "emulators.storage",
        "--port", str(port),
        "--notify-topic", topic,
        "--pubsub-host", pubsub_emulator.host,
        "--notify-prefix", "uploads/",
    )  # fmt: skip
    with process:
        client = storage.Client(
            project=pubsub_emulator.project,
            client_options={"api_endpoint": f"http://127.0.0.1:{port}"},
        )
        yield client, subscription


def test_a_finished_upload_is_announced_on_the_topic(
    storage_emulator, pubsub_subscriber, notifying_storage
):
    client, subscription = notifying_storage
    bucket = client.create_bucket(storage_emulator.unique_bucket("uploads"))

    bucket.blob("uploads/B-1/ktp.jpg").upload_from_string(b"jpeg", content_type="image/jpeg")
    response = pubsub_subscriber.pull(
        request={"subscription": subscription, "max_messages": 10}, timeout=15
    )

    [received] = response.received_messages
    attributes = dict(received.message.attributes)
    assert attributes["eventType"] == "OBJECT_FINALIZE"
    assert attributes["bucketId"] == bucket.name
    assert attributes["objectId"] == "uploads/B-1/ktp.jpg"
    assert attributes["payloadFormat"] == "JSON_API_V1"
    resource = json.loads(received.message.data)
    assert (resource["name"], resource["contentType"], resource["size"]) == (
        "uploads/B-1/ktp.jpg",
        "image/jpeg",
        "4",
    )
