"""The shared JSON handler answers even when a route has a bug: a 500 JSON error, not silence."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

import httpx
import pytest

from emulators.json_http import JsonHandler, JsonServer


class BuggyHandler(JsonHandler):
    def route(self, method: str, path: list[str], query: dict[str, str]) -> None:
        if path == ["broken"]:
            raise KeyError("missing")
        self.reply(HTTPStatus.OK, {"body": self.body})


@pytest.fixture
def base_url() -> Iterator[str]:
    server = JsonServer(("127.0.0.1", 0), BuggyHandler)
    server.serve_in_background("json-http-test")
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_a_route_that_raises_gets_a_500_json_answer_and_the_server_keeps_serving(base_url):
    broken = httpx.get(f"{base_url}/broken", timeout=5)
    fine = httpx.post(f"{base_url}/ok", json={"n": 1}, timeout=5)

    assert (broken.status_code, broken.json()) == (
        500,
        {"error": "internal error: KeyError('missing')"},
    )
    assert (fine.status_code, fine.json()) == (200, {"body": {"n": 1}})
