"""An idempotent handler runs exactly one transaction through `call.uow` and returns its
result; a handler that breaks this is caught at its first request, not in production data."""

from __future__ import annotations

import logging
from typing import Any

import flask
import pytest
from pydantic import BaseModel

from shared.domain.permissions import Permission
from shared.http.router import Call, HttpServices, Router
from tests.unit.plumbing.support import Platform


class Receipt(BaseModel):
    number: int


def post(router: Router[HttpServices], services: HttpServices, headers: dict[str, str]) -> Any:
    app = flask.Flask("contract")
    with app.test_request_context(
        "/receipts", method="POST", headers={**headers, "Idempotency-Key": "k-1"}
    ):
        return router.handle(flask.request, services)


def router_with(handler: Any) -> Router[HttpServices]:
    router: Router[HttpServices] = Router("contract")
    router.post("/receipts", response=Receipt, permission=Permission.LOAN_APPLY, idempotent=True)(
        handler
    )
    return router


@pytest.fixture
def lender(platform: Platform) -> dict[str, str]:
    return platform.issuer.bearer("u-borrower", "borrower")


def test_a_handler_that_writes_outside_call_uow_is_refused_and_frees_the_key(
    platform, lender, caplog
):
    def sneaky(call: Call[None, HttpServices]) -> Receipt:
        assert call.services.uow is not None
        call.services.uow.run(lambda tx: tx.set("receipts", "r", {"n": 1}))
        return Receipt(number=1)

    with caplog.at_level(logging.ERROR):
        response = post(router_with(sneaky), platform.services(), lender)

    assert response.status_code == 500
    assert "ran no transaction through call.uow" in caplog.text
    assert platform.uow.documents("idempotency_keys") == {}


def test_a_handler_that_runs_two_transactions_is_refused_at_the_second(platform, lender, caplog):
    def twice(call: Call[None, HttpServices]) -> Receipt:
        call.uow.run(lambda tx: tx.set("receipts", "a", {"n": 1}))
        return call.uow.run(lambda tx: Receipt(number=2))

    with caplog.at_level(logging.ERROR):
        response = post(router_with(twice), platform.services(), lender)

    assert response.status_code == 500
    assert "exactly one read-write transaction" in caplog.text


def test_a_handler_that_returns_something_else_than_what_it_stored_is_refused(platform, lender):
    def inconsistent(call: Call[None, HttpServices]) -> Receipt:
        call.uow.run(lambda tx: Receipt(number=1))
        return Receipt(number=2)

    response = post(router_with(inconsistent), platform.services(), lender)
    assert response.status_code == 500


def test_read_only_lookups_do_not_count_as_the_transaction(platform, lender):
    def lookup_then_write(call: Call[None, HttpServices]) -> Receipt:
        call.uow.run(lambda tx: tx.get("receipts", "r"), read_only=True)

        def write(tx: Any) -> Receipt:
            tx.set("receipts", "r", {"n": 7})
            return Receipt(number=7)

        return call.uow.run(write)

    response = post(router_with(lookup_then_write), platform.services(), lender)
    assert response.status_code == 200
    assert response.get_json() == {"number": 7}
