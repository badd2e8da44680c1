"""`scoring` through functions-framework: a Pub/Sub push in, a decision out, at most once."""

from __future__ import annotations

import base64

import pytest

from tests.functions.conftest import Platform


@pytest.fixture
def platform(platform: Platform) -> Platform:
    for persona in ("strong_msme", "thin_file", "risky"):
        platform.world.register(persona)
    return platform


@pytest.mark.parametrize(
    ("persona", "state", "follow_up"),
    [
        ("strong_msme", "approved", "loan.approved"),
        ("thin_file", "in_review", None),
        ("risky", "rejected", "loan.rejected"),
    ],
)
def test_a_pushed_submission_is_scored(platform, persona, state, follow_up):
    loan_id = platform.world.submit(persona)
    answer = platform.client("scoring").post(
        "/", json=platform.world.push_body(loan_id), headers=platform.pushed()
    )
    assert answer.status_code == 200
    assert platform.world.loan(loan_id).state == state
    assert len(platform.world.events("loan.scored")) == 1
    if follow_up:
        assert platform.world.events(follow_up)[0]["data"]["loan_id"] == loan_id


def test_the_same_submission_pushed_three_times_yields_one_decision(platform):
    loan_id = platform.world.submit("strong_msme")
    scoring = platform.client("scoring")
    push = platform.world.push_body(loan_id)
    assert [
        scoring.post("/", json=push, headers=platform.pushed()).status_code for _ in range(3)
    ] == [200, 200, 200]
    assert list(platform.world.uow.documents("credit_decisions")) == [loan_id]
    assert len(platform.world.events("loan.scored")) == 1
    assert len(platform.world.events("loan.approved")) == 1


def test_a_provider_outage_acknowledges_the_event_and_sends_the_loan_to_review(platform):
    platform.world.providers.down = {"civil_registry", "business_profile"}
    loan_id = platform.world.submit("strong_msme")
    answer = platform.client("scoring").post(
        "/", json=platform.world.push_body(loan_id), headers=platform.pushed()
    )
    assert answer.status_code == 200
    assert platform.world.loan(loan_id).state == "in_review"
    decision = platform.world.uow.documents("credit_decisions")[loan_id]
    assert set(decision["providers_unavailable"]) == {"civil_registry", "business_profile"}


def test_a_store_that_keeps_conflicting_answers_500_so_pubsub_redelivers(platform):
    loan_id = platform.world.submit("strong_msme")
    scoring = platform.client("scoring")
    push = platform.world.push_body(loan_id)
    platform.world.uow.contend(platform.world.uow.max_attempts)
    assert scoring.post("/", json=push, headers=platform.pushed()).status_code == 500
    assert platform.world.loan(loan_id).state == "submitted"
    assert scoring.post("/", json=push, headers=platform.pushed()).status_code == 200
    assert platform.world.loan(loan_id).state == "approved"


def test_a_malformed_message_is_acknowledged_and_changes_nothing(platform):
    scoring = platform.client("scoring")
    subscription = "projects/patungan-local/subscriptions/push.scoring"
    junk = base64.b64encode(b'{"type": "loan.submitted"}').decode()
    for data in (junk, "%%%"):
        push = {"message": {"data": data, "messageId": "m-1"}, "subscription": subscription}
        assert scoring.post("/", json=push, headers=platform.pushed()).status_code == 200
    assert platform.world.uow.documents("credit_decisions") == {}


def test_a_push_that_is_not_from_scorings_subscription_scores_nothing(platform):
    loan_id = platform.world.submit("strong_msme")
    stranger = {"Authorization": f"Bearer {platform.token('u-1', 'admin.super')}"}
    answer = platform.client("scoring").post(
        "/", json=platform.world.push_body(loan_id), headers=stranger
    )
    assert answer.status_code == 401  # not acknowledged: Pub/Sub retries, then dead-letters
    assert platform.world.loan(loan_id).state == "submitted"
    assert platform.world.events("loan.scored") == []
