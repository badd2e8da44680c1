"""An HTTP function on the plumbing, through functions-framework: the contract of
docs/architecture.md#http-contract.

Routing, authentication and roles, parsing and validation, problem documents,
idempotency and contention, seen from the client's side.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.http.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX

BORROWER = "u-borrower"
DRAFT = {"principal": 5_000_000, "tenor": 6}


def submit(
    client: Any, auth: dict[str, str], body: Any = None, key: str | None = "key-1", **kw: Any
) -> Any:
    headers = dict(auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/loans", json=DRAFT if body is None else body, headers=headers, **kw)


def problem(response: Any) -> dict[str, Any]:
    assert response.content_type == PROBLEM_CONTENT_TYPE, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == response.status_code
    assert body["type"].startswith(PROBLEM_TYPE_PREFIX)
    assert body["title"] and body["detail"]
    return body


# --- routing ----------------------------------------------------------------------------------


def test_a_borrower_submits_a_loan_and_gets_202_with_the_loan(sample, platform, issuer):
    response = submit(sample, issuer.bearer(BORROWER))

    assert response.status_code == 202
    assert response.get_json() == {
        "loan_id": "loan-0001",
        "borrower_id": BORROWER,
        "principal": 5_000_000,
        "tenor": 6,
        "state": "submitted",
    }
    assert list(platform.uow.documents("loans")) == ["loan-0001"]
    [event] = platform.publisher.envelopes("loan.submitted")
    assert event["data"]["loan_id"] == "loan-0001"


def test_an_unknown_path_is_404_and_a_wrong_method_is_405_with_allow(sample):
    missing = sample.get("/no-such-thing")
    assert missing.status_code == 404
    assert problem(missing)["type"] == PROBLEM_TYPE_PREFIX + "route-not-found"

    wrong = sample.delete("/loans")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, POST"
    problem(wrong)


def test_path_parameters_and_trailing_slashes_reach_the_handler(sample, issuer):
    created = submit(sample, issuer.bearer(BORROWER)).get_json()

    read = sample.get(f"/loans/{created['loan_id']}/", headers=issuer.bearer(BORROWER))

    assert read.status_code == 200
    assert read.get_json()["loan_id"] == created["loan_id"]


def test_a_public_route_needs_no_token(sample):
    response = sample.get("/quote")
    assert response.status_code == 200
    assert response.get_json() == {"principal": 1_000_000, "interest": 20_000}


def test_a_public_route_still_refuses_a_bad_token(sample, issuer):
    response = sample.get("/quote", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401


# --- authentication and roles -----------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(sample):
    response = sample.get("/loans")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="patungan"'
    problem(response)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": 1_600_000_000, "iat": 1_599_999_000}, "expired"),
        ({"iss": "https://evil.example"}, "untrusted issuer"),
        ({"aud": "someone-else"}, "another audience"),
        ({"sub": None}, "'sub' claim"),
    ],
)
def test_an_invalid_token_is_401_saying_why(sample, issuer, overrides, reason):
    response = sample.get("/loans", headers=issuer.bearer(BORROWER, **overrides))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert reason in problem(response)["detail"]


def test_a_token_signed_by_an_untrusted_key_is_401(sample, issuer):
    forged = issuer.token(BORROWER, "admin.super", key=issuer.other_key)
    response = sample.get("/loans", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "signature" in problem(response)["detail"]


def test_the_wrong_role_is_403(sample, issuer):
    response = submit(sample, issuer.bearer("u-lender", "lender"))
    assert response.status_code == 403
    assert "lender" in problem(response)["detail"]


def test_a_token_without_a_role_may_register_but_nothing_else(sample, issuer):
    roleless = issuer.bearer("u-new", None)

    assert (
        sample.post("/registrations", json={"role": "borrower"}, headers=roleless).status_code
        == 200
    )
    refused = sample.get("/loans", headers=roleless)
    assert refused.status_code == 403
    assert "register first" in problem(refused)["detail"]


def test_a_deactivated_user_is_refused_even_with_a_valid_token(sample, platform, issuer):
    platform.callers.register(BORROWER, "borrower")
    assert sample.get("/loans", headers=issuer.bearer(BORROWER)).status_code == 200

    platform.callers.deactivate(BORROWER)
    response = sample.get("/loans", headers=issuer.bearer(BORROWER))

    assert response.status_code == 403
    assert "deactivated" in problem(response)["detail"]


def test_a_role_removed_by_an_admin_stops_working_before_the_token_expires(
    sample, platform, issuer
):
    platform.callers.register(BORROWER, "lender")  # admin.super changed the role
    response = submit(sample, issuer.bearer(BORROWER, "borrower"))
    assert response.status_code == 403


def test_another_borrowers_loan_is_404_not_403(sample, issuer):
    created = submit(sample, issuer.bearer(BORROWER)).get_json()
    response = sample.get(f"/loans/{created['loan_id']}", headers=issuer.bearer("u-someone-else"))
    assert response.status_code == 404


def test_admins_see_every_loan_borrowers_only_theirs(sample, issuer):
    submit(sample, issuer.bearer("u-ani"), key="a")
    submit(sample, issuer.bearer("u-budi"), key="b")

    mine = sample.get("/loans", headers=issuer.bearer("u-ani")).get_json()["loans"]
    everyone = sample.get("/loans", headers=issuer.bearer("u-admin", "admin.credit")).get_json()

    assert [loan["borrower_id"] for loan in mine] == ["u-ani"]
    assert len(everyone["loans"]) == 2


# --- parsing and validation -------------------------------------------------------------------


def test_unparseable_json_is_400(sample, issuer):
    response = sample.post(
        "/loans",
        data=b'{"principal": 5000000,',
        content_type="application/json",
        headers={**issuer.bearer(BORROWER), "Idempotency-Key": "k"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in problem(response)["detail"]


def test_a_body_that_is_not_json_is_415(sample, issuer):
    response = sample.post(
        "/loans",
        data="principal=5",
        content_type="application/x-www-form-urlencoded",
        headers={**issuer.bearer(BORROWER), "Idempotency-Key": "k"},
    )
    assert response.status_code == 415
    problem(response)


def test_invalid_fields_are_422_with_one_message_per_field(sample, issuer):
    response = submit(sample, issuer.bearer(BORROWER), {"principal": -5, "tenor": "six", "x": 1})

    assert response.status_code == 422
    errors = problem(response)["errors"]
    assert set(errors) == {"principal", "tenor", "x"}
    assert "greater than 0" in errors["principal"]


def test_validation_messages_never_echo_the_input(sample, issuer):
    nik = "3174051204900001"
    response = submit(sample, issuer.bearer(BORROWER), {"principal": nik, "tenor": 6})
    assert response.status_code == 422
    assert nik not in response.get_data(as_text=True)


def test_a_bad_query_parameter_is_422_naming_it(sample, issuer):
    response = sample.get("/loans?limit=1000", headers=issuer.bearer(BORROWER))
    assert response.status_code == 422
    assert list(problem(response)["errors"]) == ["query.limit"]


def test_an_oversized_body_is_413(sample, issuer):
    response = submit(sample, issuer.bearer(BORROWER), {"pad": "x" * (1024 * 1024 + 1)})
    assert response.status_code == 413


def test_an_illegal_transition_is_409_with_the_current_state(sample, issuer):
    loan = submit(sample, issuer.bearer(BORROWER)).get_json()
    headers = {**issuer.bearer(BORROWER)}
    first = sample.post(
        f"/loans/{loan['loan_id']}/cancel", headers={**headers, "Idempotency-Key": "c1"}
    )
    second = sample.post(
        f"/loans/{loan['loan_id']}/cancel", headers={**headers, "Idempotency-Key": "c2"}
    )

    assert first.status_code == 200
    assert second.status_code == 409
    body = problem(second)
    assert body["current_state"] == "cancelled"
    assert body["attempted"] == "cancel"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values | st.fixed_dictionaries({"principal": json_values, "tenor": json_values}))
def test_no_request_body_ever_gets_a_500(sample, issuer, body):
    response = submit(sample, issuer.bearer(BORROWER), body, key=str(uuid.uuid4()))
    assert response.status_code < 500, response.get_data(as_text=True)


# --- idempotency ------------------------------------------------------------------------------


def test_a_request_without_an_idempotency_key_is_400(sample, issuer):
    response = submit(sample, issuer.bearer(BORROWER), key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in problem(response)["detail"]


def test_the_same_key_and_body_returns_the_first_response_and_changes_nothing(
    sample, platform, issuer
):
    first = submit(sample, issuer.bearer(BORROWER), key="retry-me")
    again = submit(sample, issuer.bearer(BORROWER), key="retry-me")

    assert again.status_code == first.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(platform.uow.documents("loans")) == 1
    assert len(platform.publisher.messages) == 1


def test_the_same_key_with_a_different_body_is_422(sample, platform, issuer):
    submit(sample, issuer.bearer(BORROWER), key="k")
    response = submit(
        sample, issuer.bearer(BORROWER), {"principal": 9_000_000, "tenor": 6}, key="k"
    )

    assert response.status_code == 422
    assert problem(response)["type"] == PROBLEM_TYPE_PREFIX + "idempotency-key-reused"
    assert len(platform.uow.documents("loans")) == 1


def test_keys_are_scoped_to_the_caller_and_the_endpoint(sample, platform, issuer):
    ani = submit(sample, issuer.bearer("u-ani"), key="same")
    budi = submit(sample, issuer.bearer("u-budi"), key="same")
    cancel = sample.post(
        f"/loans/{ani.get_json()['loan_id']}/cancel",
        headers={**issuer.bearer("u-ani"), "Idempotency-Key": "same"},
    )

    assert ani.get_json()["loan_id"] != budi.get_json()["loan_id"]
    assert cancel.status_code == 200
    assert len(platform.uow.documents("loans")) == 2


def test_a_repeat_while_the_first_is_still_in_flight_is_409(sample_app, platform, issuer):
    app, module = sample_app
    entered, release = threading.Event(), threading.Event()
    original = module.submit_loan

    def slow_submit(*args: Any) -> Any:
        entered.set()
        release.wait(5)
        return original(*args)

    module.submit_loan = slow_submit
    results: dict[str, Any] = {}
    try:
        with module.services.override(platform.services()):
            worker = threading.Thread(
                target=lambda: results.setdefault(
                    "first", submit(app.test_client(), issuer.bearer(BORROWER))
                )
            )
            worker.start()
            assert entered.wait(5)
            second = submit(app.test_client(), issuer.bearer(BORROWER))
            release.set()
            worker.join(5)
    finally:
        module.submit_loan = original

    assert second.status_code == 409
    assert second.headers["Retry-After"] == "1"
    assert problem(second)["type"] == PROBLEM_TYPE_PREFIX + "request-in-flight"
    assert results["first"].status_code == 202


def test_a_request_refused_before_committing_frees_its_key(sample, platform, issuer):
    loan = submit(sample, issuer.bearer(BORROWER), key="k").get_json()
    cancel_elsewhere = f"/loans/{loan['loan_id']}/cancel"
    sample.post(cancel_elsewhere, headers={**issuer.bearer(BORROWER), "Idempotency-Key": "c"})

    refused = sample.post(
        cancel_elsewhere, headers={**issuer.bearer(BORROWER), "Idempotency-Key": "again"}
    )
    assert refused.status_code == 409
    records = platform.uow.documents("idempotency_keys")
    assert all(record["state"] == "done" for record in records.values())
    assert len(records) == 2  # the submit and the first cancel; the refused one left nothing


def test_a_transaction_that_keeps_conflicting_is_503_with_retry_after_and_frees_the_key(
    sample, platform, issuer
):
    platform.uow.contend(3, writing_to="loans")  # every attempt of the submit loses

    contended = submit(sample, issuer.bearer(BORROWER), key="busy")

    assert contended.status_code == 503
    assert contended.headers["Retry-After"] == "2"
    assert "Retry after 2 s" in problem(contended)["detail"]
    assert platform.uow.documents("loans") == {}

    retried = submit(sample, issuer.bearer(BORROWER), key="busy")
    assert retried.status_code == 202
    assert len(platform.uow.documents("loans")) == 1


def test_events_that_could_not_be_published_go_out_when_the_client_retries(
    sample, platform, issuer
):
    platform.publisher.fail_next(1)
    first = submit(sample, issuer.bearer(BORROWER), key="k")

    assert first.status_code == 503  # committed, but the event is still pending
    assert len(platform.uow.documents("loans")) == 1
    assert platform.publisher.messages == []

    retry = submit(sample, issuer.bearer(BORROWER), key="k")
    assert retry.status_code == 202
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert [m.topic for m in platform.publisher.messages] == ["loan.submitted"]

    submit(sample, issuer.bearer(BORROWER), key="k")
    assert len(platform.publisher.messages) == 1  # published once, not on every replay


def test_an_in_flight_claim_whose_lease_ended_is_taken_over(sample, platform, issuer):
    from datetime import timedelta

    from shared.platform.idempotency import IdempotencyScope, claim_request, payload_hash

    scope = IdempotencyScope(BORROWER, "sample_loans POST /loans", "crashed")
    claim_request(
        platform.uow,
        scope,
        payload_hash({"body": DRAFT, "query": {}}),
        clock=platform.clock,
        token="dead-instance",
        lease=timedelta(seconds=120),
        retention=timedelta(hours=24),
    )
    assert submit(sample, issuer.bearer(BORROWER), key="crashed").status_code == 409

    platform.clock.advance(seconds=121)
    assert submit(sample, issuer.bearer(BORROWER), key="crashed").status_code == 202
