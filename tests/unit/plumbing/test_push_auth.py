"""Event functions accept pushes from their own push subscriptions alone: the OIDC token
is verified in code (issuer, audience, signature, expiry, the push account, email
verified), and a refused push is answered 401/403 — never acknowledged, so Pub/Sub keeps
the message, retries it and finally dead-letters it."""

from __future__ import annotations

import base64
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import functions_framework
import pytest

from shared.adapters.auth import KeysUnavailable
from shared.adapters.memory import FixedClock, MemoryUnitOfWork, RecordingPublisher, SequentialIds
from shared.domain.events import EventType, new_event
from shared.http.events import PushAuthenticator, PushRefused
from shared.platform.callers import Caller, TokenVerifier
from tests.unit.plumbing.sample_function.consumer import ScoringServices, consumer
from tests.unit.plumbing.support import SAMPLE_CONSUMER, new_private_key, push_issuer

LONG_AGO = datetime.now(UTC) - timedelta(hours=3)


def services(push_auth: PushAuthenticator | None = None) -> ScoringServices:
    clock = FixedClock()
    uow = MemoryUnitOfWork(RecordingPublisher(), clock)
    uow.seed("loans", "loan-1", {"state": "submitted"})
    return ScoringServices(
        uow=uow,
        push_auth=push_auth or push_issuer().authenticator(),
        clock=clock,
        entity="p2p",
        ids=SequentialIds(),
    )


def push_body() -> dict[str, Any]:
    event = new_event(
        EventType.LOAN_SUBMITTED,
        {
            "loan_id": "loan-1",
            "borrower_id": "u-1",
            "product_id": "p-1",
            "principal": 5_000_000,
            "tenor": 6,
        },
        entity="p2p",
        occurred_at=FixedClock().now(),
        event_id=uuid.UUID(int=7),
    )
    return {
        "message": {
            "data": base64.b64encode(event.to_json_bytes()).decode(),
            "attributes": {"type": "loan.submitted", "event_id": str(event.event_id)},
            "messageId": "m-1",
        },
        "subscription": "projects/p/subscriptions/push.scoring",
        "deliveryAttempt": 1,
    }


@pytest.fixture(scope="module")
def app() -> Any:
    return functions_framework.create_app("sample_scoring", str(SAMPLE_CONSUMER))


def post(app: Any, world: ScoringServices, headers: dict[str, str]) -> Any:
    module = sys.modules["consumer"]
    with module.services.override(world):
        return app.test_client().post("/", json=push_body(), headers=headers)


def untouched(world: ScoringServices) -> bool:
    """Nothing applied: the loan as it was, no event recorded, nothing published."""
    memory = world.uow
    assert isinstance(memory, MemoryUnitOfWork)
    return (
        memory.documents("loans")["loan-1"]["state"] == "submitted"
        and memory.documents("processed_events") == {}
        and memory.publisher.messages == []
    )


def test_a_push_from_the_functions_own_subscription_is_applied(app):
    world = services()
    answer = post(app, world, push_issuer().headers())
    assert answer.status_code == 200
    assert world.uow.documents("loans")["loan-1"]["state"] == "scored"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("headers", "status", "why"),
    [
        ({}, 401, "Authorization"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "Bearer"),
        ({"Authorization": "Bearer not-a-jwt"}, 401, "not a JWT"),
        (push_issuer().headers(key=new_private_key()), 401, "signature"),
        (push_issuer().headers(aud="https://another-function.run.app"), 401, "audience"),
        (push_issuer().headers(iss="https://patungan.local/dev-issuer"), 401, "issuer"),
        (
            push_issuer().headers(
                iat=int(LONG_AGO.timestamp()), exp=int((LONG_AGO + timedelta(hours=1)).timestamp())
            ),
            401,
            "expired",
        ),
        (
            push_issuer().headers(email="push-other@patungan-test.iam.gserviceaccount.com"),
            403,
            "push subscriptions",
        ),
        (push_issuer().headers(email_verified=False), 403, "push subscriptions"),
        (push_issuer().headers(email_verified="true"), 403, "push subscriptions"),
        (push_issuer().headers(email=None), 403, "push subscriptions"),
    ],
    ids=[
        "missing",
        "not-bearer",
        "not-a-jwt",
        "forged",
        "wrong-audience",
        "wrong-issuer",
        "expired",
        "wrong-service-account",
        "email-unverified",
        "email-verified-as-text",
        "no-email",
    ],
)
def test_a_push_without_the_subscriptions_token_is_refused_and_not_acknowledged(
    app, headers, status, why
):
    world = services()
    answer = post(app, world, headers)
    assert answer.status_code == status  # not 2xx: Pub/Sub retries, then dead-letters
    assert answer.mimetype == "application/problem+json"
    assert why in answer.get_json()["detail"]
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="patungan"')
    assert untouched(world)


def test_the_token_is_checked_before_the_message_is_read(app):
    """Junk from a stranger is refused for its token, not acknowledged as a malformed
    message: only the function's own subscriptions can have a message dropped."""
    module = sys.modules["consumer"]
    world = services()
    junk = {
        "message": {"data": "%%% not base64", "messageId": "m-1"},
        "subscription": "projects/p/subscriptions/push.scoring",
    }
    with module.services.override(world):
        client = app.test_client()
        assert client.post("/", json=junk).status_code == 401
        assert client.post("/", json=junk, headers=push_issuer().headers()).status_code == 200


def test_keys_that_cannot_be_fetched_answer_503_so_pubsub_retries(app):
    class Unreachable(TokenVerifier):
        def verify(self, token: str) -> Caller:
            raise KeysUnavailable("the token issuer's keys could not be fetched")

    world = services(PushAuthenticator(Unreachable(), push_issuer().account))
    answer = post(app, world, push_issuer().headers())
    assert answer.status_code == 503
    assert untouched(world)


def test_delivered_directly_a_refused_push_raises_with_its_answer():
    world = services()
    with pytest.raises(PushRefused) as refused:
        consumer.deliver(push_body(), world, headers=push_issuer().headers(aud="elsewhere"))
    assert refused.value.code == 401
    assert refused.value.get_response().status_code == 401
    assert untouched(world)


def test_outside_a_request_and_without_headers_there_is_no_token():
    world = services()
    with pytest.raises(PushRefused) as refused:
        consumer.deliver(push_body(), world)
    assert refused.value.code == 401
    assert untouched(world)
