"""Push subscriptions: the body Pub/Sub POSTs, and delivery into a functions-framework function."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path

import functions_framework
import jwt
import pytest
from google.protobuf import duration_pb2
from werkzeug.serving import make_server

pytestmark = pytest.mark.emulator

CONSUMER_SOURCE = Path(__file__).with_name("loan_event_consumer.py")


@pytest.fixture
def cloud_event_function():
    """The consumer function served by werkzeug on a free port: (base URL, received events)."""
    app = functions_framework.create_app("record_loan_event", str(CONSUMER_SOURCE))
    app.config["RECEIVED_EVENTS"] = []
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app.config["RECEIVED_EVENTS"]
    server.shutdown()


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_the_push_body_is_the_one_pubsub_sends(
    pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_publisher.create_topic(name=names.dead_letter_topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "push_config": {"push_endpoint": push_endpoint.url + "/" + names.topic},
            "dead_letter_policy": {"dead_letter_topic": names.dead_letter_topic},
        }
    )

    message_id = pubsub_publisher.publish(
        names.topic, b'{"loan_id": "L-9"}', ordering_key="L-9", event_type="loan.funded"
    ).result(10)
    [request] = push_endpoint.wait_for(1)

    assert request.path == "/" + names.topic
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers  # no oidc_token configured
    body = request.body
    assert set(body) == {"message", "subscription", "deliveryAttempt"}
    assert body["subscription"] == names.subscription
    assert body["deliveryAttempt"] == 1
    message = body["message"]
    assert base64.b64decode(message["data"]) == b'{"loan_id": "L-9"}'
    assert message["attributes"] == {"event_type": "loan.funded"}
    assert message["messageId"] == message["message_id"] == message_id
    assert message["publishTime"] == message["publish_time"]
    assert message["publishTime"].endswith("Z")
    assert message["orderingKey"] == "L-9"


def test_without_the_wrapper_the_body_is_the_data_and_metadata_rides_in_headers(
    pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_publisher.create_topic(name=names.dead_letter_topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "push_config": {
                "push_endpoint": push_endpoint.url,
                "no_wrapper": {"write_metadata": True},
            },
            "dead_letter_policy": {"dead_letter_topic": names.dead_letter_topic},
        }
    )

    message_id = pubsub_publisher.publish(
        names.topic,
        b'{"status": "Hello there"}',
        ordering_key="some-key",
        **{"Content-Type": "application/json", "event_type": "loan.funded"},
    ).result(10)
    [request] = push_endpoint.wait_for(1)

    headers = {key.lower(): value for key, value in request.headers.items()}
    assert request.raw == b'{"status": "Hello there"}'
    assert headers["content-type"] == "application/json"  # an attribute, written as a header
    assert headers["event_type"] == "loan.funded"
    assert headers["x-goog-pubsub-subscription-name"] == names.subscription
    assert headers["x-goog-pubsub-message-id"] == message_id
    assert headers["x-goog-pubsub-publish-time"].endswith("Z")
    assert headers["x-goog-pubsub-ordering-key"] == "some-key"
    assert headers["x-goog-pubsub-delivery-attempt"] == "1"


def test_without_the_wrapper_or_metadata_only_the_data_is_sent(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "push_config": {"push_endpoint": push_endpoint.url, "no_wrapper": {}},
        }
    )

    pubsub_publisher.publish(names.topic, b"\x00raw bytes", event_type="x").result(10)
    [request] = push_endpoint.wait_for(1)

    assert request.raw == b"\x00raw bytes"
    assert not [key for key in request.headers if key.lower().startswith("x-goog-pubsub")]
    assert "event_type" not in {key.lower() for key in request.headers}
    pubsub_emulator.wait_for_stats(names.subscription, lambda s: s["acknowledged"] == 1)


def test_without_a_dead_letter_policy_there_is_no_delivery_attempt(
    pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.subscription,
        topic=names.topic,
        push_config={"push_endpoint": push_endpoint.url},
    )

    pubsub_publisher.publish(names.topic, b"plain").result(10)
    [request] = push_endpoint.wait_for(1)

    assert set(request.body) == {"message", "subscription"}
    assert "attributes" not in request.body["message"]
    assert "orderingKey" not in request.body["message"]


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_success_statuses_acknowledge(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, push_endpoint, status
):
    push_endpoint.respond = lambda body: status
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.subscription, topic=names.topic, push_config={"push_endpoint": push_endpoint.url}
    )

    pubsub_publisher.publish(names.topic, b"ok").result(10)

    stats = pubsub_emulator.wait_for_stats(names.subscription, lambda s: s["acknowledged"] == 1)
    assert (stats["nacked"], stats["backlog"]) == (0, 0)


def test_push_tokens_carry_the_subscription_identity(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "push_config": {
                "push_endpoint": push_endpoint.url + "/scoring",
                "oidc_token": {
                    "service_account_email": "pubsub-invoker@patungan-test.iam.gserviceaccount.com",
                    "audience": "https://scoring.example",
                },
            },
        }
    )

    pubsub_publisher.publish(names.topic, b"signed").result(10)
    [request] = push_endpoint.wait_for(1)

    scheme, token = request.headers["Authorization"].split(" ")
    claims = jwt.decode(
        token,
        pubsub_emulator.push_token_public_key_pem,
        algorithms=["RS256"],
        audience="https://scoring.example",
        issuer=pubsub_emulator.push_token_issuer,
    )
    assert scheme == "Bearer"
    assert claims["email"] == "pubsub-invoker@patungan-test.iam.gserviceaccount.com"
    assert claims["email_verified"] is True
    # As Google's: the account's numeric unique id, never its email, is the subject.
    assert claims["sub"] == claims["azp"] and claims["sub"].isdigit() and len(claims["sub"]) == 21


def test_a_push_into_a_cloud_event_function_arrives_as_message_published(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, cloud_event_function
):
    url, received = cloud_event_function
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.subscription,
        topic=names.topic,
        # functions-framework takes the CloudEvent source from a /projects/P/topics/T path.
        push_config={"push_endpoint": f"{url}/{names.topic}"},
    )

    message_id = pubsub_publisher.publish(
        names.topic,
        b'{"loan_id": "L-1", "amount": 5000000}',
        ordering_key="L-1",
        event_id="7d1c7c1e-2b7a-4c43-9d0e-1f5a2b3c4d5e",
    ).result(10)
    wait_for(lambda: len(received) == 1)

    event = received[0]
    assert event["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert event["source"] == f"//pubsub.googleapis.com/{names.topic}"
    assert event["id"] == message_id
    message = event.data["message"]
    assert base64.b64decode(message["data"]) == b'{"loan_id": "L-1", "amount": 5000000}'
    assert message["attributes"] == {"event_id": "7d1c7c1e-2b7a-4c43-9d0e-1f5a2b3c4d5e"}
    assert message["messageId"] == message_id
    # functions-framework keeps only data, attributes, messageId and publishTime:
    # the ordering key does not reach the function, so consumers rely on attributes.
    assert "orderingKey" not in message
    pubsub_emulator.wait_for_stats(names.subscription, lambda s: s["acknowledged"] == 1)


def test_a_function_that_fails_is_retried_until_it_succeeds(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, cloud_event_function
):
    url, received = cloud_event_function
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": names.subscription,
            "topic": names.topic,
            "push_config": {"push_endpoint": f"{url}/{names.topic}"},
            "retry_policy": {
                "minimum_backoff": duration_pb2.Duration(nanos=100_000_000),
                "maximum_backoff": duration_pb2.Duration(seconds=1),
            },
        }
    )

    message_id = pubsub_publisher.publish(names.topic, b"x", fail_first="yes").result(10)

    stats = pubsub_emulator.wait_for_stats(names.subscription, lambda s: s["acknowledged"] == 1)
    assert [event["id"] for event in received] == [message_id, message_id]
    assert (stats["nacked"], stats["delivered"], stats["backlog"]) == (1, 2, 0)


def test_an_endpoint_slower_than_the_ack_deadline_gets_the_message_again(
    pubsub_emulator, pubsub_publisher, pubsub_subscriber, names, push_endpoint
):
    calls = []

    def respond(body):
        calls.append(body["message"]["messageId"])
        if len(calls) == 1:
            time.sleep(2.0)  # past the 1 s ack deadline: Pub/Sub treats it as a nack
        return 200

    push_endpoint.respond = respond
    pubsub_publisher.create_topic(name=names.topic)
    pubsub_subscriber.create_subscription(
        name=names.subscription,
        topic=names.topic,
        ack_deadline_seconds=1,
        push_config={"push_endpoint": push_endpoint.url},
    )

    message_id = pubsub_publisher.publish(names.topic, b"slow").result(10)

    stats = pubsub_emulator.wait_for_stats(names.subscription, lambda s: s["acknowledged"] == 1)
    assert calls[:2] == [message_id, message_id]
    assert stats["nacked"] + stats["expired"] == 1
