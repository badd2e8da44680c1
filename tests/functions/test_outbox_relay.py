"""`outbox_relay` through functions-framework: only its Cloud Scheduler job may run it, and
a run answers what it relayed."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.loan import LoanState
from shared.platform.errors import PublishFailed
from tests.functions.conftest import Platform, problem

SCHEDULER = "cron-outbox-relay@patungan-p2p-prod.iam.gserviceaccount.com"


@pytest.fixture
def relay(platform: Platform) -> Any:
    """A test client of the relay over the platform's in-memory world."""
    app, module = platform.functions("outbox_relay")
    w = platform.world
    services = module.RelayServices(
        clock=w.clock,
        ids=w.ids,
        uow=w.uow,
        verifier=platform.verifier(),
        scheduler_invoker=SCHEDULER,
    )
    platform.stack.enter_context(module.services.override(services))
    return app.test_client()


def scheduler_token(platform: Platform, email: str = SCHEDULER, **claims: Any) -> dict[str, str]:
    """What Cloud Scheduler sends: an OIDC token naming its service account, email verified."""
    token = platform.token("1234567890", None, email=email, email_verified=True, **claims)
    return {"Authorization": f"Bearer {token}"}


def stranded_submission(platform: Platform) -> str:
    world = platform.world
    world.register("strong_msme")
    world.publisher.fail_next(1)
    with pytest.raises(PublishFailed):
        world.submit("strong_msme")
    (loan,) = world.uow.documents("loans").values()
    world.clock.advance(minutes=1)
    return str(loan["id"])


def test_the_scheduler_job_relays_what_a_failed_publish_left_behind(platform: Platform, relay):
    loan_id = stranded_submission(platform)

    response = relay.post("/", headers=scheduler_token(platform))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"relayed": 1, "more": False}
    (event,) = platform.world.events("loan.submitted")
    assert event["data"]["loan_id"] == loan_id
    assert platform.world.loan(loan_id).state == LoanState.SUBMITTED  # scoring picks it up now

    again = relay.post("/", headers=scheduler_token(platform))
    assert again.get_json() == {"relayed": 0, "more": False}
    assert len(platform.world.events("loan.submitted")) == 1


def test_a_call_without_a_token_is_refused(platform: Platform, relay):
    stranded_submission(platform)
    problem(relay.post("/"), 401)
    assert platform.world.events("loan.submitted") == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda p: p.bearer("strong_msme", "borrower"), id="a borrower"),
        pytest.param(lambda p: p.bearer("a-1", "admin.super"), id="an admin"),
        pytest.param(
            lambda p: scheduler_token(
                p, "fn-loan-review@patungan-p2p-prod.iam.gserviceaccount.com"
            ),
            id="another service account",
        ),
        pytest.param(
            lambda p: {"Authorization": f"Bearer {p.token('1234567890', None, email=SCHEDULER)}"},
            id="the scheduler's email, unverified",
        ),
    ],
)
def test_anyone_but_the_scheduler_job_is_forbidden(platform: Platform, relay, headers):
    stranded_submission(platform)
    body = problem(relay.post("/", headers=headers(platform)), 403)
    assert "Cloud Scheduler" in body["detail"]
    assert platform.world.events("loan.submitted") == []


def test_a_token_from_an_untrusted_issuer_is_unauthenticated(platform: Platform, relay):
    forged = platform.token(
        "1234567890", None, email=SCHEDULER, email_verified=True, iss="https://evil.test"
    )
    problem(relay.post("/", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_the_relay_only_answers_post(platform: Platform, relay):
    response = relay.get("/", headers=scheduler_token(platform))
    body = problem(response, 405)
    assert response.headers["Allow"] == "POST" and body["status"] == 405
