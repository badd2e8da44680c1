"""Every local HTTP endpoint answers a malformed request with a 400 JSON error, never a dropped
connection: the Firestore and Pub/Sub admin endpoints and the providers sandbox share one
handler (emulators/json_http.py), and a request that breaks it must not break the endpoint."""

from __future__ import annotations

import json
import socket
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
}


@pytest.fixture(params=sorted(ENDPOINTS))
def endpoint(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    base_url, method, path = ENDPOINTS[request.param]
    return base_url(request), method, path


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


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_malformed_content_length_is_a_400_json_answer(endpoint, length):
    base_url, method, path = endpoint
    request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"

    status, headers, body = raw_exchange(base_url, request.encode())

    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "bad Content-Length"}


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
        refused = client.request(method, path, content=body)
        after = client.get(path).json()  # the same keep-alive connection still works

    assert refused.status_code == 400
    assert refused.json()["error"].startswith(error)
    assert after == before


def test_an_unknown_path_is_a_404_json_answer(endpoint):
    base_url, _, _ = endpoint

    response = httpx.get(f"{base_url}/no/such/route", trust_env=False, timeout=10)

    assert response.status_code == 404
    assert response.json() == {"error": "no route GET /no/such/route"}
