"""The whole plumbing on the emulators: an idempotent HTTP submit commits to Firestore and
publishes through the outbox; a real push subscription delivers the event — three times, by
fault injection — to an event function, which verifies each push's OIDC token (signed by
the emulator as Google signs it), applies the event once and publishes its consequence."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import functions_framework
import pytest
from werkzeug.serving import make_server

from shared.adapters.auth import JwtVerifier, StaticPublicKey
from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.pubsub import PubSubPublisher
from shared.domain.events import EventType, new_event
from shared.http.events import PushAuthenticator
from shared.http.router import HttpServices
from tests.unit.plumbing.support import (
    SAMPLE_CONSUMER,
    SAMPLE_FUNCTION,
    Issuer,
    new_private_key,
    registered_cast,
)

pytestmark = pytest.mark.emulator
PUSHER = "push-scoring@patungan-test.iam.gserviceaccount.com"


def wait_for(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def project(pubsub_emulator: Any) -> str:
    return pubsub_emulator.unique_id("journey")


@pytest.fixture
def publisher(project: str) -> PubSubPublisher:
    return PubSubPublisher(project, timeout_s=10)


@pytest.fixture
def uow(firestore_client: Any, publisher: PubSubPublisher) -> FirestoreUnitOfWork:
    return FirestoreUnitOfWork(firestore_client, publisher)


@pytest.fixture
def scoring_url(uow: FirestoreUnitOfWork, pubsub_emulator: Any) -> Iterator[str]:
    """The sample event function served over HTTP, on the same Firestore and Pub/Sub,
    accepting only pushes whose token the emulator signed for `PUSHER` and its own URL."""
    app = functions_framework.create_app("sample_scoring", str(SAMPLE_CONSUMER))
    module = sys.modules["consumer"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    url = f"http://127.0.0.1:{server.server_port}"
    verifier = JwtVerifier(
        issuer=pubsub_emulator.push_token_issuer,
        audience=url,
        keys=StaticPublicKey(pubsub_emulator.push_token_public_key_pem),
    )
    services = module.ScoringServices(
        uow=uow, push_auth=PushAuthenticator(verifier, PUSHER), entity="p2p"
    )
    with module.services.override(services):
        thread.start()
        try:
            yield url
        finally:
            server.shutdown()


def test_submit_is_scored_once_though_the_event_is_delivered_three_times(
    pubsub_emulator, pubsub_subscriber, project, publisher, uow, scoring_url
):
    admin = publisher._publisher()
    submitted_topic = f"projects/{project}/topics/loan.submitted"
    scored_topic = f"projects/{project}/topics/loan.scored"
    push = f"projects/{project}/subscriptions/push.scoring"
    observer = f"projects/{project}/subscriptions/observe.scored"
    admin.create_topic(name=submitted_topic)
    admin.create_topic(name=scored_topic)
    pubsub_subscriber.create_subscription(
        request={
            "name": push,
            "topic": submitted_topic,
            "push_config": {
                "push_endpoint": scoring_url,
                "oidc_token": {"service_account_email": PUSHER, "audience": scoring_url},
            },
        }
    )
    pubsub_subscriber.create_subscription(name=observer, topic=scored_topic)

    issuer = Issuer(new_private_key(), new_private_key())
    app = functions_framework.create_app("sample_loans", str(SAMPLE_FUNCTION))
    loans = sys.modules["main"]
    services = HttpServices(uow=uow, verifier=issuer.verifier(), callers=registered_cast())
    headers = {**issuer.bearer("u-ani"), "Idempotency-Key": "journey-1"}

    with pubsub_emulator.faults(push, deliver_times=3), loans.services.override(services):
        client = app.test_client()
        first = client.post("/loans", json={"principal": 5_000_000, "tenor": 6}, headers=headers)
        again = client.post("/loans", json={"principal": 5_000_000, "tenor": 6}, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.get_json() == first.get_json()
        loan_id = first.get_json()["loan_id"]

        wait_for(lambda: pubsub_emulator.stats(push)["acknowledged"] >= 3)

    loan = uow.run(lambda tx: tx.get("loans", loan_id), read_only=True)
    assert loan is not None and loan["state"] == "scored"
    processed = uow.run(lambda tx: tx.query("processed_events"), read_only=True)
    assert [doc.data["event_id"] for doc in processed] == [
        doc.data["event_id"] for doc in processed[:1]
    ]
    assert len(processed) == 1

    received = pubsub_subscriber.pull(
        request={"subscription": observer, "max_messages": 10}, timeout=10
    )
    scored = list(received.received_messages)
    assert len(scored) == 1
    assert scored[0].message.attributes["type"] == "loan.scored"
    assert pubsub_emulator.stats(push)["published"] == 1  # the replayed submit published nothing


@pytest.mark.parametrize(
    "push_config",
    [
        {},  # no token at all
        {
            "oidc_token": {
                "service_account_email": "push-other@patungan-test.iam.gserviceaccount.com"
            }
        },
        {"oidc_token": {"service_account_email": PUSHER, "audience": "https://elsewhere.example"}},
    ],
    ids=["unauthenticated", "another-account", "another-audience"],
)
def test_a_push_the_function_cannot_verify_is_kept_and_retried_not_applied(
    pubsub_emulator, project, publisher, uow, scoring_url, push_config
):
    admin = publisher._publisher()
    topic = f"projects/{project}/topics/loan.submitted"
    push = f"projects/{project}/subscriptions/push.scoring.{pubsub_emulator.unique_id('x')}"
    admin.create_topic(name=topic)
    loan_id = f"loan-{uuid.uuid4().hex[:12]}"
    uow.run(lambda tx: tx.create("loans", loan_id, {"state": "submitted"}))
    event = new_event(
        EventType.LOAN_SUBMITTED,
        {"loan_id": loan_id, "borrower_id": "u-1", "product_id": "p", "principal": 1, "tenor": 1},
        entity="p2p",
        occurred_at=datetime.now(UTC),
        event_id=uuid.uuid4(),
    )
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    subscriber.create_subscription(
        request={
            "name": push,
            "topic": topic,
            "push_config": {"push_endpoint": scoring_url, **push_config},
            "retry_policy": {"minimum_backoff": {"seconds": 1}},
        }
    )
    try:
        admin.publish(topic, event.to_json_bytes(), type="loan.submitted").result(timeout=10)
        stats = pubsub_emulator.wait_for_stats(push, lambda s: s["nacked"] >= 2)
        assert stats["acknowledged"] == 0 and stats["backlog"] == 1  # kept for redelivery
        assert stats["last_push_error"].startswith(("HTTP 401", "HTTP 403")), stats
    finally:
        subscriber.delete_subscription(subscription=push)
    loan = uow.run(lambda tx: tx.get("loans", loan_id), read_only=True)
    assert loan == {"state": "submitted"}
