"""Every local HTTP endpoint answers a malformed request with a 400 JSON error, never a dropped
connection, and obeys no state-changing request a web page could send: the Firestore and
Pub/Sub admin endpoints and the sandboxes share one handler (emulators/json_http.py),
and a request that breaks it must not break the endpoint."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = pytest.mark.emulator

# For each endpoint: its base URL, and a request that takes a JSON body and changes
# nothing when refused (so the session-wide emulator is left as it was).
ENDPOINTS = {
    "firestore": (lambda r: r.getfixturevalue("firestore_emulator").admin_url, "DELETE", "/stats"),
    "pubsub": (lambda r: r.getfixturevalue("pubsub_emulator").admin_url, "PUT", "/faults"),
    "providers": (
        lambda r: r.getfixturevalue("providers_sandbox"),
        "PUT",
        "/admin/faults/credit_bureau",
    ),
    "payment_gateway": (
        lambda r: r.getfixturevalue("payment_gateway_sandbox"),
        "PUT",
        "/admin/faults",
    ),
}


@pytest.fixture(params=sorted(ENDPOINTS))
def endpoint(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    base_url, method, path = ENDPOINTS[request.param]
    return base_url(request), method, path


JSON = {"Content-Type": "application/json"}


def raw_exchange(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as is and read until the server closes: (status, headers, body)."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "1e11", "+5", "0x10"])
def test_a_malformed_content_length_is_a_400_json_answer(endpoint, length):
    base_url, method, path = endpoint
    request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"

    status, headers, body = raw_exchange(base_url, request.encode())

    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "bad Content-Length"}


def test_a_huge_content_length_is_refused_without_reading_the_body(endpoint):
    base_url, method, path = endpoint
    request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n{{}}"

    status, _, body = raw_exchange(base_url, request.encode())

    assert status == 400
    assert json.loads(body) == {"error": "body too large: 100000000000 bytes, at most 1048576"}


def test_a_header_too_long_and_an_unknown_method_are_json_answers(endpoint):
    base_url, _, _ = endpoint
    too_long = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"

    long_status, long_headers, long_body = raw_exchange(base_url, too_long)
    unknown, _, unknown_body = raw_exchange(base_url, b"PATCH / HTTP/1.1\r\nHost: x\r\n\r\n")

    assert (long_status, long_headers["Content-Type"]) == (431, "application/json")
    assert json.loads(long_body) == {"error": "Line too long"}
    assert (unknown, json.loads(unknown_body)) == (501, {"error": "Unsupported method ('PATCH')"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing(endpoint, body, error):
    base_url, method, path = endpoint
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
        before = client.get(path).json()
        refused = client.request(method, path, content=body, headers=JSON)
        after = client.get(path).json()  # the same keep-alive connection still works

    assert refused.status_code == 400
    assert refused.json()["error"].startswith(error)
    assert after == before


def test_an_unknown_path_is_a_404_json_answer(endpoint):
    base_url, _, _ = endpoint

    response = httpx.get(f"{base_url}/no/such/route", trust_env=False, timeout=10)

    assert response.status_code == 404
    assert response.json() == {"error": "no route GET /no/such/route"}


DEEP = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"deliver_times": 1e309}', "number 1e309 is out of range (it overflows a double)"),
        (b'{"fail_rate": NaN}', "NaN is not a JSON number"),
        (b'{"seed": -Infinity}', "-Infinity is not a JSON number"),
        (
            b'{"seed": ' + b"7" * 5000 + b"}",
            "integer 77777777777777777777... (5000 characters) is out of range (int64)",
        ),
        (b'{"seed": 9223372036854775808}', "integer 9223372036854775808 is out of range (int64)"),
        (DEEP, "body is nested too deeply (at most 32 levels)"),
        (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "body is nested too deeply (at most 32 levels)"),
        (b'{"seed": 1, "seed": 2}', "duplicate key 'seed'"),
    ],
    ids=["1e309", "nan", "infinity", "5000-digits", "past-int64", "deep", "40-deep", "duplicate"],
)
def test_numbers_json_cannot_hold_and_hostile_shapes_are_a_400(endpoint, body, error):
    base_url, method, path = endpoint
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
        before = client.get(path).json()
        refused = client.request(method, path, content=body, headers=JSON)
        after = client.get(path).json()

    assert (refused.status_code, refused.json()) == (400, {"error": error})
    assert after == before


def test_a_subscription_that_is_not_a_string_is_a_400(pubsub_emulator):
    with httpx.Client(base_url=pubsub_emulator.admin_url, trust_env=False, timeout=10) as client:
        before = client.get("/faults").json()
        plan = client.put("/faults", json={"subscription": 5, "deliver_times": 2})
        reset = client.post("/reset", json={"project": ["p"]})
        wrong_type = client.put("/faults", json={"deliver_times": 2.5})
        after = client.get("/faults").json()

    assert (plan.status_code, plan.json()) == (400, {"error": "subscription must be a string"})
    assert (reset.status_code, reset.json()) == (400, {"error": "project must be a string"})
    assert wrong_type.json() == {"error": "deliver_times must be an integer"}
    assert after == before


# --- A web page cannot change the local cloud ----------------------------------------------------

# Each endpoint's most destructive call, and a read that shows whether it was obeyed.
DESTRUCTIVE = {
    "firestore": ("POST", "/shutdown", "/"),
    "pubsub": ("POST", "/reset", "/faults"),
    "providers": ("DELETE", "/admin/faults", "/admin/faults"),
}


@pytest.fixture(params=sorted(DESTRUCTIVE))
def destructive(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str, str]]:
    base_url = ENDPOINTS[request.param][0](request)
    if request.param == "providers":  # something the DELETE would clear
        request.getfixturevalue("providers_faults").set("credit_bureau", delay_ms=1)
    if request.param != "pubsub":
        yield (base_url, *DESTRUCTIVE[request.param])
        return
    pubsub = request.getfixturevalue("pubsub_emulator")
    topic = pubsub.topic_path(pubsub.unique_id("kept"))
    pubsub.fail_publishes(topic, count=5)  # something the reset would wipe
    try:
        yield (base_url, *DESTRUCTIVE[request.param])
    finally:
        pubsub.clear_publish_faults(topic=topic)


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        (
            {"Content-Type": "text/plain", "Origin": "https://evil.example"},
            b'{"project": "x"}',
            403,
            "cross-origin request from 'https://evil.example' refused: "
            "only pages on this machine may change a local emulator",
        ),
        (
            {"Content-Type": "text/plain"},
            b"{}",
            415,
            "Content-Type must be application/json, not 'text/plain'",
        ),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"",
            415,
            "Content-Type must be application/json, not 'application/x-www-form-urlencoded'",
        ),
        (
            {"Content-Type": "application/json", "Origin": "null"},
            b"{}",
            403,
            "cross-origin request from 'null' refused: "
            "only pages on this machine may change a local emulator",
        ),
        (
            {"Content-Type": "application/json", "Origin": "http://127.0.0.1.evil.example"},
            b"{}",
            403,
            "cross-origin request from 'http://127.0.0.1.evil.example' refused: "
            "only pages on this machine may change a local emulator",
        ),
    ],
    ids=["simple-cross-origin-post", "text-plain", "form", "null-origin", "rebinding-origin"],
)
def test_what_a_web_page_can_send_is_refused_and_changes_nothing(
    destructive, headers, body, status, error
):
    base_url, method, path, probe = destructive
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
        before = client.get(probe)
        refused = client.request(method, path, content=body, headers=headers)
        after = client.get(probe)

    assert (refused.status_code, refused.json()) == (status, {"error": error})
    assert after.status_code == 200
    assert after.content == before.content


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]"]
)
def test_pages_on_this_machine_and_tools_without_an_origin_may_change_it(pubsub_emulator, origin):
    topic = pubsub_emulator.topic_path(pubsub_emulator.unique_id("local"))
    fault = {"publish": {"topic": topic, "count": 1}}
    with httpx.Client(base_url=pubsub_emulator.admin_url, trust_env=False, timeout=10) as client:
        from_page = client.put("/faults", json=fault, headers={"Origin": origin})
        from_tool = client.delete("/faults", params={"topic": topic})

    assert from_page.status_code == 200
    assert topic in [f["topic"] for f in from_page.json()["publish"]]
    assert from_tool.status_code == 200
    assert topic not in [f["topic"] for f in from_tool.json()["publish"]]
