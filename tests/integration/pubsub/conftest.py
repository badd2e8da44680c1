"""Helpers for the Pub/Sub emulator tests: a recording push endpoint and per-test names.

`push_endpoint` (function scope) is a plain HTTP server on a free port that
records every push request (arrival time, path, headers, JSON body) and answers
with the status its `respond` callable returns (200 unless a test says
otherwise). `names` gives each test its own topic and subscription paths.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixtures.pubsub_emulator import PubSubEmulator


@dataclass(frozen=True)
class PushRequest:
    arrived_at: float  # time.monotonic()
    finished_at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None  # the JSON wrapper; None for a raw (no_wrapper) body
    raw: bytes


@dataclass
class PushEndpoint:
    url: str
    respond: Callable[[dict[str, Any]], int] = lambda body: 200
    handling_seconds: float = 0.0
    requests: list[PushRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[PushRequest]:
        with self.lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[PushRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.received()
            if len(received) >= count:
                return received
            time.sleep(0.02)
        raise AssertionError(f"expected {count} push requests, got {len(self.received())}")


@pytest.fixture
def push_endpoint() -> Iterator[PushEndpoint]:
    endpoint = PushEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            arrived = time.monotonic()
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if endpoint.handling_seconds:
                time.sleep(endpoint.handling_seconds)
            status = endpoint.respond(body)
            with endpoint.lock:
                endpoint.requests.append(
                    PushRequest(arrived, time.monotonic(), self.path, dict(self.headers), body, raw)
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Names:
    topic: str
    subscription: str
    dead_letter_topic: str
    dead_letter_subscription: str


@pytest.fixture
def names(pubsub_emulator: PubSubEmulator) -> Names:
    base = pubsub_emulator.unique_id("loan-events")
    return Names(
        topic=pubsub_emulator.topic_path(base),
        subscription=pubsub_emulator.subscription_path(base + "-sub"),
        dead_letter_topic=pubsub_emulator.topic_path(base + "-dlq"),
        dead_letter_subscription=pubsub_emulator.subscription_path(base + "-dlq-sub"),
    )
