"""Every error the domain can raise is a 4xx problem document, from one table; only bugs are 500."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

import flask
import pytest
from pydantic import BaseModel, Field, ValidationError

import shared.domain
from shared.domain.errors import (
    CapExceeded,
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    InsufficientFunds,
    NotFound,
    ValidationFailed,
)
from shared.http.errors import (
    MalformedRequest,
    MethodNotAllowed,
    MissingToken,
    RouteNotFound,
    Unauthenticated,
)
from shared.http.problems import INTERNAL_ERROR, PROBLEM_TYPE_PREFIX, problem_for, status_for
from shared.http.router import HttpServices, Router
from shared.platform.errors import PublishFailed, StoreUnavailable, TransactionContended
from shared.platform.idempotency import IdempotencyKeyReused, RequestInFlight


class Principal(BaseModel):
    principal: int = Field(gt=0)


def pydantic_error() -> ValidationError:
    try:
        Principal.model_validate({"principal": 0})
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a validation error")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ValidationFailed("bad", {"tenor": "must be 3, 6 or 12"}), 422, "validation-failed"),
        (pydantic_error(), 422, "validation-failed"),
        (MalformedRequest("not JSON"), 400, "malformed-request"),
        (IllegalTransition("loan L-1", "funded", "cancel"), 409, "illegal-transition"),
        (InsufficientFunds("available 100, asked 500"), 409, "insufficient-funds"),
        (CapExceeded("0.12% a day exceeds 0.1%"), 422, "cap-exceeded"),
        (NotFound("no loan L-9"), 404, "not-found"),
        (RouteNotFound("no route /x"), 404, "route-not-found"),
        (Conflict("one open application per borrower"), 409, "conflict"),
        (RequestInFlight("still processing"), 409, "request-in-flight"),
        (IdempotencyKeyReused("other body"), 422, "idempotency-key-reused"),
        (Unauthenticated("expired"), 401, "unauthenticated"),
        (MissingToken("no header"), 401, "unauthenticated"),
        (Forbidden("deactivated"), 403, "forbidden"),
        (MethodNotAllowed("no", ("GET",)), 405, "method-not-allowed"),
        (TransactionContended("busy", retry_after_s=3), 503, "temporarily-unavailable"),
        (StoreUnavailable("down"), 503, "temporarily-unavailable"),
        (PublishFailed("pub/sub down"), 503, "temporarily-unavailable"),
    ],
)
def test_each_error_has_its_status_and_type(error, status, code):
    problem = problem_for(error)
    body = problem.body()
    assert (problem.status, body["status"]) == (status, status)
    assert body["type"] == PROBLEM_TYPE_PREFIX + code
    assert body["title"] and body["detail"]


def test_validation_problems_carry_field_errors():
    assert problem_for(ValidationFailed("bad", {"nik": "16 digits"})).body()["errors"] == {
        "nik": "16 digits"
    }
    assert "principal" in problem_for(pydantic_error()).body()["errors"]


def test_an_illegal_transition_names_the_current_state():
    body = problem_for(IllegalTransition("loan L-1", "funded", "cancel")).body()
    assert (body["current_state"], body["entity"], body["attempted"]) == (
        "funded",
        "loan L-1",
        "cancel",
    )


def test_headers_go_with_their_statuses():
    assert problem_for(MissingToken("x")).headers == {"WWW-Authenticate": 'Bearer realm="patungan"'}
    challenge = problem_for(Unauthenticated('token "expired"')).headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="patungan", error="invalid_token"')
    assert '"expired"' not in challenge  # quotes cannot break out of the header value
    assert problem_for(MethodNotAllowed("x", ("GET", "POST"))).headers == {"Allow": "GET, POST"}
    assert problem_for(TransactionContended("x", retry_after_s=3)).headers == {"Retry-After": "3"}
    assert problem_for(RequestInFlight("x")).headers == {"Retry-After": "1"}


def _every_domain_error() -> list[type[DomainError]]:
    for module in pkgutil.iter_modules(shared.domain.__path__):
        importlib.import_module(f"shared.domain.{module.name}")
    found: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("error_class", _every_domain_error(), ids=lambda c: c.__name__)
def test_every_domain_error_anywhere_in_the_domain_is_a_4xx(error_class: type[DomainError]):
    """A new error class is a client error without touching the table."""
    status = status_for(error_class)
    assert status is not None and 400 <= status[0] < 500


def test_anything_else_is_a_500_that_says_nothing_about_the_cause():
    problem = problem_for(KeyError("secret internal detail"))
    assert problem == INTERNAL_ERROR
    assert "secret" not in problem.json()


def test_a_bug_in_a_handler_is_logged_with_context_and_answered_500(caplog):
    router: Router[HttpServices] = Router("buggy")

    @router.get("/boom", public=True, response=None)
    def boom(call: Any) -> None:
        raise KeyError("loan-0001")

    app = flask.Flask("buggy")
    with app.test_request_context("/boom", method="GET"), caplog.at_level(logging.ERROR):
        response = router.handle(flask.request, HttpServices())

    assert response.status_code == 500
    assert response.get_json()["type"] == PROBLEM_TYPE_PREFIX + "internal-error"
    assert "loan-0001" not in response.get_data(as_text=True)
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert record.exc_info is not None and record.route == "/boom"
