"""The HTTP contract of the running functions (docs/architecture.md#http-contract): who may call
what, problem
documents for bad input (4xx, never 500), and idempotent retries of a submission."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import pytest

from scripts.platform_client import sandbox_applicant

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"] and problem["title"]
    return problem


# --- who may call what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "method", "path"),
    [
        ("users", "GET", "/me"),
        ("loan_applications", "GET", "/"),
        ("loan_applications", "POST", "/"),
        ("loan_review", "GET", "/"),
    ],
)
def test_a_request_without_a_token_is_401(journey_client, function, method, path):
    response = journey_client.call(function, method, path, json={} if method == "POST" else None)

    assert_problem(response, 401)


def test_a_token_from_another_issuer_is_401(journey_client):
    response = journey_client.call(
        "loan_applications", "GET", headers={"Authorization": "Bearer not.a.token"}
    )

    assert_problem(response, 401)


def test_a_lender_cannot_submit_an_application(journey_client, new_borrower):
    application = new_borrower().applicant.application

    response = journey_client.call(
        "loan_applications",
        "POST",
        sub=f"lender-{uuid.uuid4().hex[:8]}",
        role="lender",
        json=application,
        idempotency_key=str(uuid.uuid4()),
    )

    assert_problem(response, 403)


def test_a_borrower_cannot_open_the_review_queue(journey_client, new_borrower):
    borrower = new_borrower()

    response = journey_client.call("loan_review", "GET", sub=borrower.sub)

    assert_problem(response, 403)


def test_another_borrowers_loan_is_not_found(journey_client, new_borrower):
    owner, stranger = new_borrower(), new_borrower()
    loan_id = journey_client.submit(owner.sub, owner.applicant)["loan_id"]

    read = journey_client.call("loan_applications", "GET", f"/{loan_id}", sub=stranger.sub)
    cancel = journey_client.call(
        "loan_applications",
        "POST",
        f"/{loan_id}/cancel",
        sub=stranger.sub,
        json={},
        idempotency_key=str(uuid.uuid4()),
    )

    assert_problem(read, 404)
    assert_problem(cancel, 404)
    assert journey_client.application(owner.sub, loan_id)["id"] == loan_id  # the owner still can


# --- bad input ----------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_400(journey_client, new_borrower):
    borrower = new_borrower()

    response = journey_client.call(
        "loan_applications",
        "POST",
        sub=borrower.sub,
        content=b'{"product_id": "working-capital-annuity", "principal": ',
        headers={"Content-Type": "application/json"},
        idempotency_key=str(uuid.uuid4()),
    )

    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"principal": 1_000_000_000}, "principal"),  # above the product's Rp 500m
        ({"principal": 1_000_000}, "principal"),  # below its Rp 10m
        ({"principal": -5}, "principal"),
        ({"principal": "50000000"}, "principal"),  # amounts are integers, not strings
        ({"tenor": 7}, "tenor"),  # the product offers 3, 6, 9, 12 months
        ({"product_id": "no-such-product"}, "product_id"),
        ({"purpose": "holiday"}, "purpose"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_an_out_of_range_or_malformed_application_is_422_naming_the_field(
    journey_client, new_borrower, change, field
):
    borrower = new_borrower()
    body = {**borrower.applicant.application, **change}

    response = journey_client.call(
        "loan_applications", "POST", sub=borrower.sub, json=body, idempotency_key=str(uuid.uuid4())
    )

    problem = assert_problem(response, 422)
    assert field in str(problem)
    assert journey_client.applications(borrower.sub) == []  # nothing was created


def test_a_registration_whose_nik_contradicts_the_birth_date_is_422_naming_the_nik(
    journey_client,
):
    applicant = sandbox_applicant(random.Random(uuid.uuid4().int))
    born = date.fromisoformat(applicant.registration["birth_date"])
    registration = {**applicant.registration, "birth_date": str(born + timedelta(days=1))}
    sub = f"b-{uuid.uuid4().hex[:8]}"

    response = journey_client.call(
        "users", "POST", sub=sub, json=registration, idempotency_key=str(uuid.uuid4())
    )

    problem = assert_problem(response, 422)
    assert "nik" in str(problem)
    assert journey_client.me(sub) is None  # nobody was registered


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": "working-capital-annuity", "principal": 50_000_000, "tenor": 12},
        {
            "product_id": "working-capital-annuity",
            "principal": 10**30,
            "tenor": 12,
            "disbursement_date": "2027-01-04",
        },
        {
            "principal": 50_000_000,
            "tenor": 12,
            "disbursement_date": "2027-02-30",
            "terms": {"interest_method": "annuity", "rate_per_month": "0.01"},
        },
        {
            "principal": 50_000_000,
            "tenor": 12,
            "disbursement_date": "2027-01-04",
            "terms": {"interest_method": "annuity", "rate_per_month": "abc", "purpose": "consumer"},
        },
        [],
    ],
)
def test_a_malformed_quote_is_a_4xx_problem_never_a_500(journey_client, body):
    response = journey_client.call("loan_quote", "POST", json=body)

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)


# --- idempotent retries -------------------------------------------------------------------------


def test_resubmitting_with_the_same_idempotency_key_returns_the_same_loan(
    journey_client, new_borrower
):
    borrower = new_borrower()
    key = str(uuid.uuid4())

    first = journey_client.submit(borrower.sub, borrower.applicant, key=key)
    again = journey_client.call(
        "loan_applications",
        "POST",
        sub=borrower.sub,
        json=borrower.applicant.application,
        idempotency_key=key,
    )

    assert again.status_code == 202
    assert again.json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [loan["id"] for loan in journey_client.applications(borrower.sub)] == [first["loan_id"]]


def test_the_same_idempotency_key_with_another_body_is_422(journey_client, new_borrower):
    borrower = new_borrower()
    key = str(uuid.uuid4())
    first = journey_client.submit(borrower.sub, borrower.applicant, key=key)

    changed = {**borrower.applicant.application, "principal": 60_000_000}
    response = journey_client.call(
        "loan_applications", "POST", sub=borrower.sub, json=changed, idempotency_key=key
    )

    assert_problem(response, 422)
    assert [loan["id"] for loan in journey_client.applications(borrower.sub)] == [first["loan_id"]]


def test_a_second_open_application_is_409(journey_client, new_borrower):
    borrower = new_borrower()
    journey_client.submit(borrower.sub, borrower.applicant)

    response = journey_client.call(
        "loan_applications",
        "POST",
        sub=borrower.sub,
        json=borrower.applicant.application,
        idempotency_key=str(uuid.uuid4()),
    )

    assert_problem(response, 409)
