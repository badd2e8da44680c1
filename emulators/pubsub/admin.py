"""Admin HTTP endpoint of the Pub/Sub emulator (the gRPC port + 1 by default).

Not part of the Pub/Sub API: it lets tests and developers inspect and steer
the emulator. Every body is JSON.

    GET    /healthz                         {"status": "ok"}
    POST   /reset                           forget everything; body {"project": p} for one project
    GET    /stats                           {"subscriptions": {name: stats, ...}}
    GET    /stats/projects/P/subscriptions/S    stats of one subscription (404 if unknown)
    GET    /faults                          {"default": plan | null, "subscriptions": {name: plan}}
    PUT    /faults                          set a plan {"deliver_times": N,
                                            "redeliver_fraction": f, "delay_seconds": d,
                                            "seed": s, "subscription": name?}; without
                                            "subscription" it applies to every subscription,
                                            present and future
    DELETE /faults[?subscription=name]      remove the plan (all, or one subscription's)

Stats per subscription: `published` (messages that reached it), `filtered_out`,
`delivered` (deliveries, including redeliveries), `acknowledged`, `nacked`
(nacks and refused pushes), `expired` (ack deadlines missed), `dead_lettered`,
`duplicates_injected`, `backlog` (not yet acknowledged), `outstanding`
(leased now), `oldest_unacked_age_seconds` and `last_push_error`.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from emulators.pubsub.broker import Broker, BrokerError, Status
from emulators.pubsub.faults import FaultPlan, FaultPlanError


class AdminServer:
    """Serves the admin endpoint for `broker` on a background thread."""

    def __init__(self, broker: Broker, host: str, port: int) -> None:
        self._broker = broker
        handler = type("PubSubAdminHandler", (_AdminHandler,), {"broker": broker})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="pubsub-admin", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _AdminHandler(BaseHTTPRequestHandler):
    broker: Broker
    server_version = "PubSubEmulatorAdmin/1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep the emulator's output to its READY line and errors

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        path = url.path.rstrip("/") or "/"
        try:
            body = self._read_json()
            if method == "GET" and path == "/healthz":
                self._reply(HTTPStatus.OK, {"status": "ok"})
            elif method == "POST" and path == "/reset":
                self.broker.reset(body.get("project"))
                self._reply(HTTPStatus.OK, {"reset": body.get("project") or "all"})
            elif method == "GET" and path == "/stats":
                self._reply(HTTPStatus.OK, {"subscriptions": self.broker.stats()})
            elif method == "GET" and path.startswith("/stats/"):
                self._reply(HTTPStatus.OK, self.broker.stats(path.removeprefix("/stats/")))
            elif method == "GET" and path == "/faults":
                self._reply(HTTPStatus.OK, self.broker.faults())
            elif method in {"PUT", "POST"} and path == "/faults":
                subscription = body.pop("subscription", None)
                self.broker.set_faults(FaultPlan.from_json(body), subscription)
                self._reply(HTTPStatus.OK, self.broker.faults())
            elif method == "DELETE" and path == "/faults":
                subscription = parse_qs(url.query).get("subscription", [None])[0]
                self.broker.set_faults(None, subscription)
                self._reply(HTTPStatus.OK, self.broker.faults())
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no route {method} {path}"})
        except FaultPlanError as exc:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except BrokerError as exc:
            status = (
                HTTPStatus.NOT_FOUND if exc.status is Status.NOT_FOUND else HTTPStatus.BAD_REQUEST
            )
            self._reply(status, {"error": exc.message})
        except ValueError as exc:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": f"bad JSON body: {exc}"})

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        body = json.loads(self.rfile.read(length))
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return body

    def _reply(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
