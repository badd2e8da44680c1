"""Browsers: the origins in settings get CORS answers (an admin web console calls the
functions); any other origin gets none."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.plumbing.test_http_function import BORROWER

ADMIN_WEB = "https://admin.patungan.test"


@pytest.fixture
def browser_sample(sample_app: Any, platform: Any) -> Iterator[Any]:
    app, module = sample_app
    services = dataclasses.replace(platform.services(), cors_origins=frozenset({ADMIN_WEB}))
    with module.services.override(services):
        yield app.test_client()


def test_a_preflight_from_an_allowed_origin_names_the_paths_methods(browser_sample):
    answer = browser_sample.options(
        "/loans",
        headers={"Origin": ADMIN_WEB, "Access-Control-Request-Method": "POST"},
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == ADMIN_WEB
    assert answer.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert "Idempotency-Key" in answer.headers["Access-Control-Allow-Headers"]


def test_an_allowed_origins_request_is_answered_with_cors_headers(browser_sample, issuer):
    answer = browser_sample.get("/loans", headers={"Origin": ADMIN_WEB, **issuer.bearer(BORROWER)})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ADMIN_WEB
    assert answer.headers["Vary"] == "Origin"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", ADMIN_WEB + ".evil.example"])
def test_any_other_origin_gets_no_cors_header(browser_sample, issuer, origin):
    preflight = browser_sample.options("/loans", headers={"Origin": origin})
    assert preflight.status_code == 405
    assert "Access-Control-Allow-Origin" not in preflight.headers
    request = browser_sample.get("/loans", headers={"Origin": origin, **issuer.bearer(BORROWER)})
    assert "Access-Control-Allow-Origin" not in request.headers


def test_without_configured_origins_nothing_changes(sample):
    assert sample.options("/loans", headers={"Origin": ADMIN_WEB}).status_code == 405
