"""Submission to decision on the running platform: the real push subscription delivers
`loan.submitted` to the scoring function, which decides once however often it is delivered
and sends the loan to review when a provider is down (docs/architecture.md#events,
docs/lending-rules.md#credit-scoring)."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def wait_until(predicate, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def test_a_submitted_application_is_scored_through_the_push_subscription(
    journey_client, new_borrower, scored_events, platform_pubsub
):
    siti = new_borrower("clean", "grow")
    push = platform_pubsub.push_subscription("scoring")
    delivered_before = platform_pubsub.stats(push)["delivered"]

    accepted = journey_client.submit(siti.sub, siti.applicant)
    assert accepted["state"] == "submitted"
    loan = journey_client.wait_for_decision(siti.sub, accepted["loan_id"])

    assert loan["state"] == "approved"  # clean bureau record, growing store, collateral
    assert loan["decision"]["decision"] == "approve"
    assert loan["decision"]["model_version"] == "five-c-v1"
    assert loan["offer"] is not None  # approved by the scorecard = priced like a reviewer's
    [scored] = scored_events.for_loan(loan["id"])
    assert scored["data"]["decision"] == "approve"
    assert scored["causation_id"] is not None
    assert platform_pubsub.stats(push)["delivered"] > delivered_before


def test_the_same_submission_delivered_three_times_yields_one_decision(
    journey_client, new_borrower, scored_events, platform_pubsub
):
    rudi = new_borrower("late_payer", "grow")
    push = platform_pubsub.push_subscription("scoring")

    with platform_pubsub.faults(push, deliver_times=3):
        acknowledged_before = platform_pubsub.stats(push)["acknowledged"]
        loan_id = journey_client.submit(rudi.sub, rudi.applicant)["loan_id"]
        wait_until(lambda: platform_pubsub.stats(push)["acknowledged"] >= acknowledged_before + 3)

    loan = journey_client.wait_for_decision(rudi.sub, loan_id)
    scored = scored_events.for_loan(loan_id, settle_s=1.0)
    assert len(scored) == 1
    assert scored[0]["data"]["decision"] == loan["decision"]["decision"]
    transitions = [change["transition"] for change in loan["history"]]
    assert transitions.count("score") == 1


def test_a_provider_outage_sends_the_application_to_review_with_the_reason(
    journey_client, new_borrower, scored_events, platform_provider_faults
):
    # Would be approved (see the first test) if the credit bureau answered.
    siti = new_borrower("clean", "grow")
    platform_provider_faults.set("credit_bureau", fail_rate=1.0, fail_mode="5xx")

    loan_id = journey_client.submit(siti.sub, siti.applicant)["loan_id"]
    loan = journey_client.wait_for_decision(siti.sub, loan_id, timeout_s=30)

    assert loan["state"] == "in_review"
    assert loan["decision"]["decision"] == "review"
    assert any(r.startswith("credit bureau unavailable: ") for r in loan["decision"]["reasons"])
    [scored] = scored_events.for_loan(loan_id)
    assert scored["data"]["decision"] == "review"


def test_a_bureau_knock_out_rejects_with_the_reason(journey_client, new_borrower, scored_events):
    dedi = new_borrower("defaulted", "grow")

    loan_id = journey_client.submit(dedi.sub, dedi.applicant)["loan_id"]
    loan = journey_client.wait_for_decision(dedi.sub, loan_id)

    assert loan["state"] == "rejected"
    assert any("collectability 5" in reason for reason in loan["decision"]["reasons"])
    [scored] = scored_events.for_loan(loan_id)
    assert scored["data"]["decision"] == "reject"
