"""`loan_applications` through functions-framework: the status codes of every route."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.loan import LoanState
from shared.services.offers import AGREEMENT_VERSION
from tests.functions.conftest import Platform, idempotent, problem


@pytest.fixture
def platform(platform: Platform) -> Platform:
    platform.world.register("strong_msme")
    platform.world.register("thin_file")
    return platform


def application(platform: Platform, persona: str = "strong_msme", **overrides: Any) -> Any:
    body = platform.world.application(persona).model_dump(mode="json")
    body.update(overrides)
    return body


def submit(platform: Platform, persona: str = "strong_msme", key: str = "k-1", **overrides: Any):
    return platform.client("loan_applications").post(
        "/",
        json=application(platform, persona, **overrides),
        headers=idempotent(key, platform.bearer(persona)),
    )


def test_a_submission_is_accepted_with_202_and_published(platform):
    answer = submit(platform)
    assert answer.status_code == 202, answer.get_json()
    loan_id = answer.get_json()["loan_id"]
    assert answer.get_json()["state"] == "submitted"
    (event,) = platform.world.events("loan.submitted")
    assert event["data"]["loan_id"] == loan_id
    message = platform.world.publisher.messages[-1]
    assert message.attributes["event_id"] == event["event_id"]


def test_an_idempotent_resubmission_returns_the_same_loan(platform):
    first = submit(platform)
    again = submit(platform)
    assert again.status_code == 202
    assert again.get_json() == first.get_json()
    assert len(platform.world.uow.documents("loans")) == 1
    assert len(platform.world.events("loan.submitted")) == 1
    # A new key is a new intention: the one-open-application rule answers it.
    assert "open application" in problem(submit(platform, key="k-2"), 409)["detail"]


def test_the_same_key_with_another_application_is_a_422_and_submits_nothing(platform):
    submit(platform)
    reused = problem(submit(platform, principal=120_000_000), 422)
    assert reused["type"] == "urn:patungan:problem:idempotency-key-reused"
    assert len(platform.world.uow.documents("loans")) == 1


def test_a_submission_that_keeps_conflicting_is_a_503_to_retry_with_the_same_key(platform):
    platform.world.uow.contend(5, writing_to="loans")
    contended = submit(platform)
    assert "same Idempotency-Key" in problem(contended, 503)["detail"]
    assert int(contended.headers["Retry-After"]) > 0
    assert platform.world.uow.documents("loans") == {}

    retried = submit(platform)
    assert retried.status_code == 202
    assert len(platform.world.uow.documents("loans")) == 1


def test_who_may_submit(platform):
    applications = platform.client("loan_applications")
    body = application(platform)
    assert problem(applications.post("/", json=body, headers={"Idempotency-Key": "k"}), 401)
    lender = idempotent("k", platform.bearer("someone", "lender"))
    assert problem(applications.post("/", json=body, headers=lender), 403)
    unregistered = idempotent("k", platform.bearer("someone", None))
    assert problem(applications.post("/", json=body, headers=unregistered), 403)
    stranger = idempotent("k", platform.bearer("stranger", "borrower"))
    assert "register" in problem(applications.post("/", json=body, headers=stranger), 403)["detail"]


def test_malformed_and_out_of_range_submissions_are_4xx_problems(platform):
    applications = platform.client("loan_applications")
    headers = idempotent("k", platform.bearer("strong_msme"))
    assert problem(
        applications.post("/", json=application(platform), headers=platform.bearer("strong_msme")),
        400,
    )
    assert problem(
        applications.post("/", data="{{", content_type="application/json", headers=headers), 400
    )
    too_big = problem(submit(platform, principal=600_000_000), 422)
    assert "principal" in too_big["errors"]
    not_a_number = problem(submit(platform, principal="150000000"), 422)
    assert "principal" in not_a_number["errors"]
    unknown = problem(submit(platform, product_id="nope"), 422)
    assert "product_id" in unknown["errors"]
    extra = problem(submit(platform, interest_rate="0.001"), 422)
    assert "interest_rate" in extra["errors"]
    assert platform.world.uow.documents("loans") == {}


def test_over_the_borrower_limit_is_a_422_cap_problem(platform):
    world = platform.world
    earlier = world.loan(world.submit("strong_msme"))
    world.seed_loan(earlier.model_copy(update={"state": LoanState.CANCELLED}))
    world.seed_loan(
        earlier.model_copy(
            update={"id": "loan-active", "state": LoanState.ACTIVE, "principal": 1_900_000_000}
        )
    )
    body = problem(submit(platform), 422)  # Rp 1.9 bn outstanding + Rp 150 m
    assert body["type"] == "urn:patungan:problem:cap-exceeded"
    assert "per-borrower limit" in body["detail"]


def test_reading_own_applications_and_a_404_for_anyone_elses(platform):
    loan_id = submit(platform).get_json()["loan_id"]
    applications = platform.client("loan_applications")
    own = applications.get(f"/{loan_id}", headers=platform.bearer("strong_msme"))
    assert own.status_code == 200
    assert own.get_json()["state"] == "submitted"
    assert problem(applications.get(f"/{loan_id}", headers=platform.bearer("thin_file")), 404)
    admin = platform.bearer("reviewer-1")
    assert applications.get(f"/{loan_id}", headers=admin).status_code == 200
    listed = applications.get("/?state=submitted", headers=platform.bearer("strong_msme"))
    assert [a["id"] for a in listed.get_json()["applications"]] == [loan_id]
    assert applications.get("/", headers=platform.bearer("thin_file")).get_json() == {
        "applications": []
    }
    assert "query.limit" in problem(applications.get("/?limit=0", headers=admin), 422)["errors"]


def test_accepting_before_approval_is_a_409_with_the_current_state(platform):
    loan_id = submit(platform).get_json()["loan_id"]
    answer = platform.client("loan_applications").post(
        f"/{loan_id}/accept",
        json={"agreement_version": AGREEMENT_VERSION},
        headers=idempotent("a-1", platform.bearer("strong_msme")),
    )
    body = problem(answer, 409)
    assert body["current_state"] == "submitted"


def test_after_approval_the_offer_is_accepted_and_funding_opens(platform):
    loan_id = submit(platform).get_json()["loan_id"]
    platform.world.score(loan_id)
    applications = platform.client("loan_applications")
    offer = applications.get(f"/{loan_id}", headers=platform.bearer("strong_msme")).get_json()[
        "offer"
    ]
    assert offer["agreement_version"] == AGREEMENT_VERSION
    assert offer["terms"]["installments"]
    accepted = applications.post(
        f"/{loan_id}/accept",
        json={"agreement_version": offer["agreement_version"]},
        headers=idempotent("a-1", platform.bearer("strong_msme")),
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["state"] == "funding"
    assert len(platform.world.events("loan.offer_accepted")) == 1


def test_cancel_then_cancel_again_is_a_409(platform):
    loan_id = submit(platform).get_json()["loan_id"]
    applications = platform.client("loan_applications")
    cancelled = applications.post(
        f"/{loan_id}/cancel", json={}, headers=idempotent("c-1", platform.bearer("strong_msme"))
    )
    assert cancelled.get_json()["state"] == "cancelled"
    again = applications.post(
        f"/{loan_id}/cancel", json={}, headers=idempotent("c-2", platform.bearer("strong_msme"))
    )
    assert problem(again, 409)["current_state"] == "cancelled"
    assert len(platform.world.events("loan.cancelled")) == 1


def test_a_document_upload_url_is_201_and_refused_for_an_unknown_type(platform):
    loan_id = submit(platform).get_json()["loan_id"]
    applications = platform.client("loan_applications")
    headers = idempotent("d-1", platform.bearer("strong_msme"))
    upload = applications.post(
        f"/{loan_id}/documents",
        json={"kind": "invoice", "content_type": "application/pdf"},
        headers=headers,
    )
    assert upload.status_code == 201
    first = upload.get_json()
    assert first["upload"]["headers"] == {"Content-Type": "application/pdf"}
    platform.world.clock.advance(hours=1)  # the first URL (15 minutes) has expired
    again = applications.post(
        f"/{loan_id}/documents",
        json={"kind": "invoice", "content_type": "application/pdf"},
        headers=headers,
    )
    replayed = again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    # The same document and object, a freshly signed URL valid from now.
    assert replayed["document_id"] == first["document_id"]
    assert replayed["upload"]["url"].split("?")[0] == first["upload"]["url"].split("?")[0]
    assert replayed["upload"]["expires_at"] > first["upload"]["expires_at"]
    assert len(platform.world.uow.documents("loans")[loan_id]["documents"]) == 1
    exe = problem(
        applications.post(
            f"/{loan_id}/documents",
            json={"kind": "invoice", "content_type": "application/x-msdownload"},
            headers=idempotent("d-2", platform.bearer("strong_msme")),
        ),
        422,
    )
    assert "content_type" in exe["errors"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.fixed_dictionaries(
        {
            "product_id": st.sampled_from(
                ["working-capital-annuity", "invoice-financing-bullet", "x"]
            ),
            "principal": st.one_of(
                st.integers(min_value=-(10**12), max_value=10**30), st.floats(), st.text(max_size=5)
            ),
            "tenor": st.one_of(st.integers(min_value=-5, max_value=10**6), st.none()),
            "purpose": st.sampled_from(["working_capital", "inventory", "gambling", ""]),
        },
        optional={
            "collateral": st.fixed_dictionaries(
                {"description": st.text(max_size=3), "value": st.integers(-10, 10**15)}
            )
        },
    )
)
def test_no_submission_body_is_ever_answered_with_a_500(platform, body):
    answer = platform.client("loan_applications").post(
        "/", json=body, headers=idempotent(uuid.uuid4().hex, platform.bearer("strong_msme"))
    )
    assert answer.status_code == 202 or 400 <= answer.status_code < 500, answer.get_json()
