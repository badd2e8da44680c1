"""`loan_review` through functions-framework: the admin.credit queue and its decisions."""

from __future__ import annotations

import pytest

from tests.functions.conftest import Platform, idempotent, problem

NARRATIVE = "Visited the coffee cart; steady takings, permits in order. Approve small."


@pytest.fixture
def platform(platform: Platform) -> Platform:
    platform.world.register("thin_file")
    return platform


def in_review(platform: Platform) -> str:
    loan_id = platform.world.submit("thin_file")
    platform.world.score(loan_id)
    return loan_id


def test_the_queue_is_for_admin_credit(platform):
    loan_id = in_review(platform)
    review = platform.client("loan_review")
    queue = review.get("/", headers=platform.bearer("reviewer-1", "admin.credit"))
    assert [a["id"] for a in queue.get_json()["applications"]] == [loan_id]
    assert problem(review.get("/", headers=platform.bearer("thin_file")), 403)
    assert problem(review.get("/", headers=platform.bearer("fin-1", "admin.finance")), 403)
    assert problem(review.get("/"), 401)
    case = review.get(f"/{loan_id}", headers=platform.bearer("reviewer-1", "admin.credit"))
    assert case.get_json()["decision"]["model_version"]


def test_approving_prices_the_offer_and_a_second_decision_is_a_409(platform):
    loan_id = in_review(platform)
    review = platform.client("loan_review")
    reviewer = platform.bearer("reviewer-1", "admin.credit")
    approved = review.post(
        f"/{loan_id}/approve", json={"narrative": NARRATIVE}, headers=idempotent("r-1", reviewer)
    )
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["state"] == "approved"
    assert approved.get_json()["offer"]["priced_by"] == "reviewer-1"
    (event,) = platform.world.events("loan.approved")
    assert event["data"]["approved_by"] == "reviewer-1"

    again = review.post(
        f"/{loan_id}/reject", json={"narrative": NARRATIVE}, headers=idempotent("r-2", reviewer)
    )
    assert problem(again, 409)["current_state"] == "approved"


def test_a_decision_without_a_narrative_is_a_422(platform):
    loan_id = in_review(platform)
    reviewer = idempotent("r-1", platform.bearer("reviewer-1", "admin.credit"))
    review = platform.client("loan_review")
    assert (
        "narrative"
        in problem(review.post(f"/{loan_id}/reject", json={}, headers=reviewer), 422)["errors"]
    )
    assert platform.world.loan(loan_id).state == "in_review"


def test_an_unknown_loan_is_a_404(platform):
    review = platform.client("loan_review")
    reviewer = idempotent("r-1", platform.bearer("reviewer-1", "admin.credit"))
    assert problem(
        review.post("/loan-x/approve", json={"narrative": NARRATIVE}, headers=reviewer), 404
    )


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_nobody_decides_their_own_application_whatever_their_role(platform, decision):
    """A borrower who later became credit staff still cannot decide their own loan."""
    loan_id = in_review(platform)
    platform.world.staff("thin_file", "admin.credit")  # the borrower's account, now staff
    review = platform.client("loan_review")
    refused = review.post(
        f"/{loan_id}/{decision}",
        json={"narrative": NARRATIVE},
        headers=idempotent("own-1", platform.bearer("thin_file")),
    )
    assert "you are the subject" in problem(refused, 403)["detail"]
    assert platform.world.events("loan.approved") == []
    assert platform.world.events("loan.rejected") == []
