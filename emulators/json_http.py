"""The small JSON-over-HTTP server every local HTTP endpoint is built on.

The admin endpoints of the Firestore and Pub/Sub emulators and the providers
sandbox are all stdlib `ThreadingHTTPServer`s answering JSON. `JsonHandler`
holds what they share, so each endpoint only writes its `route`:

- the whole body is read before routing, even when the answer ignores it: on a
  keep-alive connection an unread body would be parsed as the next request. A
  missing Content-Length means no body; a malformed or negative one is answered
  400 `{"error": "bad Content-Length"}` and the connection is closed (the body's
  end is unknown);
- a body, when there is one, must be a JSON object (400 otherwise); routes read it
  as `self.body` (`{}` when there is none);
- `route(method, path, query)` gets the path as unquoted segments
  (`/stats/projects/p` is `["stats", "projects", "p"]`, trailing slashes ignored)
  and the query with the last value of each name; a route raises `BadRequest` for
  a 400 and calls `no_route()` for a 404;
- answers are JSON (`reply`) or plain text (`reply_text`), always with a
  Content-Length, written in one segment (HTTP/1.1 keep-alive);
- requests are logged only when the server is `verbose`.
"""

from __future__ import annotations

import abc
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class BadRequest(Exception):
    """Raised by a route: the request is answered 400 `{"error": <message>}`."""


class JsonServer(ThreadingHTTPServer):
    """A threading HTTP server whose request threads never keep the process alive."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[JsonHandler],
        *,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, handler)
        self.verbose = verbose

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def serve_in_background(self, name: str) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, args=(0.1,), name=name, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop serving (wait for `serve_forever` to return) and close the socket."""
        self.shutdown()
        self.server_close()


class JsonHandler(BaseHTTPRequestHandler, metaclass=abc.ABCMeta):
    """Reads the body, splits the path, routes, answers JSON (see the module docstring)."""

    server: JsonServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment (the handler flushes after each
    # request): split small writes meet Nagle and delayed ACKs, 40 ms each.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    body: dict[str, Any]

    @abc.abstractmethod
    def route(self, method: str, path: list[str], query: dict[str, str]) -> None:
        """Answer the request (`reply`, `reply_text`, `no_route`) or raise `BadRequest`."""

    def reply(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def reply_text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def no_route(self) -> None:
        self.reply(HTTPStatus.NOT_FOUND, {"error": f"no route {self.command} {self.path}"})

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self.reply(HTTPStatus.BAD_REQUEST, {"error": "bad Content-Length"})
            return
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        try:
            self.body = _json_object(raw)
            self.route(method, segments, query)
        except BadRequest as exc:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body
