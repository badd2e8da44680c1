"""The whole plumbing on the emulators: an idempotent HTTP submit commits to Firestore and
publishes through the outbox; a real push subscription delivers the event — three times, by
fault injection — to an event function, which applies it once and publishes its consequence."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import functions_framework
import pytest
from werkzeug.serving import make_server

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.pubsub import PubSubPublisher
from shared.http.router import HttpServices
from tests.unit.plumbing.support import (
    SAMPLE_CONSUMER,
    SAMPLE_FUNCTION,
    Issuer,
    new_private_key,
    registered_cast,
)

pytestmark = pytest.mark.emulator


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
def scoring_url(uow: FirestoreUnitOfWork) -> Iterator[str]:
    """The sample event function served over HTTP, on the same Firestore and Pub/Sub."""
    app = functions_framework.create_app("sample_scoring", str(SAMPLE_CONSUMER))
    module = sys.modules["consumer"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    with module.services.override(module.ScoringServices(uow=uow, entity="p2p")):
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
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
            "push_config": {"push_endpoint": scoring_url},
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
