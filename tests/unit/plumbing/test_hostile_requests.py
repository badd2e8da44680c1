"""Requests a hostile client sends get a clean 4xx problem document, never a 500.

Each case once reached the function's code unguarded: a token header PyJWT refuses, text
that cannot travel in a response header, a subject that cannot name a document, JSON
nested past the parser's stack, repeated keys, numbers and strings no store can hold.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shared.http.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX
from tests.unit.plumbing.test_http_function import BORROWER, DRAFT, problem, submit


def forged_header(issuer: Any, header: dict[str, Any]) -> dict[str, str]:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    _, payload, signature = issuer.token(BORROWER, "borrower").split(".")
    token = f"{b64(json.dumps(header).encode())}.{payload}.{signature}"
    return {"Authorization": f"Bearer {token}"}


def raw_post(client: Any, auth: dict[str, str], data: bytes) -> Any:
    headers = {**auth, "Idempotency-Key": "hostile-1", "Content-Type": "application/json"}
    return client.post("/loans", data=data, headers=headers)


@pytest.mark.parametrize(
    "header",
    [{"alg": "RS256", "kid": 12345}, {"alg": "\U0001f600"}, {"alg": "é"}, {"alg": None}],
    ids=["numeric-kid", "emoji-alg", "latin1-alg", "null-alg"],
)
def test_a_malformed_token_header_is_401_with_an_ascii_challenge(sample, issuer, header):
    response = sample.get("/loans", headers=forged_header(issuer, header))

    assert response.status_code == 401
    problem(response)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.isascii() and challenge.isprintable()


@pytest.mark.parametrize("subject", ["a/b", "__x__", "x" * 200])
def test_a_subject_that_cannot_name_an_account_is_401(sample, issuer, subject):
    response = sample.get("/loans", headers=issuer.bearer(subject, "borrower"))

    assert response.status_code == 401
    assert "subject" in problem(response)["detail"]


def test_an_oversized_authorization_header_is_431_as_a_problem(sample):
    response = sample.get("/loans", headers={"Authorization": "Bearer " + "a" * 6000})

    assert response.status_code == 431
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert problem(response)["type"] == PROBLEM_TYPE_PREFIX + "header-too-large"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"[" * 100_000, "nests deeper"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nests deeper"),
        (b'{"principal": 5000000, "principal": 1, "tenor": 6}', "repeats the key 'principal'"),
        (b'{"principal": 1e309, "tenor": 6}', "too large"),
        (b'{"principal": 5000000, "tenor": 6, "note": "\\ud800"}', "surrogate"),
        (b'{"principal": NaN, "tenor": 6}', "not a JSON number"),
        (b'{"principal": ' + b"9" * 5000 + b', "tenor": 6}', "too many digits"),
    ],
    ids=["deep-array", "deep-object", "duplicate", "infinity", "surrogate", "nan", "huge-int"],
)
def test_an_unreadable_body_is_400_saying_why(sample, issuer, data, said):
    response = raw_post(sample, issuer.bearer(BORROWER), data)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert said in problem(response)["detail"]


def test_a_valid_body_still_goes_through(sample, issuer):
    assert submit(sample, issuer.bearer(BORROWER), DRAFT).status_code == 202
