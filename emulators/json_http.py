"""The small JSON-over-HTTP server every local HTTP endpoint is built on.

The admin endpoints of the Firestore and Pub/Sub emulators and the providers
sandbox are all stdlib `ThreadingHTTPServer`s answering JSON. `JsonHandler`
holds what they share, so each endpoint only writes its `route`, and no request,
however malformed, gets a dropped connection or an HTML page:

- the whole body is read before routing, even when the answer ignores it: on a
  keep-alive connection an unread body would be parsed as the next request. A
  missing Content-Length means no body; one that is not a plain decimal number
  (`abc`, `-5`, `1e11`) or exceeds `MAX_BODY_BYTES` is answered 400 and the
  connection is closed without reading (the body's end is unknown, or too far);
- a body, when there is one, must be a JSON object (400 otherwise), parsed
  strictly: no `NaN`/`Infinity`, no number that overflows a double (`1e309`),
  no integer outside int64, no duplicate keys, at most `MAX_DEPTH` levels of
  nesting. Routes read it as `self.body` (`{}` when there is none);
- a request that can change state (any method but GET and HEAD) is refused when
  it carries a body or a Content-Type that is not `application/json` (415), or an
  `Origin` that is not on this machine (403): a web page open in a developer's
  browser can send a cross-origin "simple" POST (text/plain, form data) but never
  an `application/json` one without a CORS preflight, which these servers do
  not answer, so no page can reset, reconfigure or stop a local emulator;
- `route(method, path, query)` gets the path as unquoted segments
  (`/stats/projects/p` is `["stats", "projects", "p"]`, trailing slashes ignored)
  and the query with the last value of each name; a route raises `BadRequest` for
  a 400 and calls `no_route()` for a 404; anything else it raises is a 500 JSON
  answer (and a log line), never a dropped connection;
- errors the stdlib server answers itself (a malformed request line, headers
  too long, an unsupported method) are JSON too;
- answers are JSON (`reply`) or plain text (`reply_text`), always with a
  Content-Length, written in one segment (HTTP/1.1 keep-alive);
- requests are logged only when the server is `verbose`.
"""

from __future__ import annotations

import abc
import ipaddress
import json
import logging
import math
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32
_INT64 = 2**63
_SAFE_METHODS = frozenset({"GET", "HEAD"})


class BadRequest(Exception):
    """Raised by a route: the request is answered 400 `{"error": <message>}`."""


class _Refused(Exception):
    """A request refused before routing, with its status."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (bad request line, long headers, 501) as JSON."""
        self.close_connection = True
        try:
            reason = message or HTTPStatus(code).phrase
        except ValueError:
            reason = message or "error"
        self.reply(code, {"error": reason})

    def _dispatch(self, method: str) -> None:
        try:
            length = self._content_length()
            raw = self.rfile.read(length) if length else b""
            self._check_origin_and_media_type(method, raw)
            self.body = _json_object(raw)
        except _Refused as refused:
            self.reply(refused.status, {"error": str(refused)})
            return
        except BadRequest as exc:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        try:
            self.route(method, segments, query)
        except BadRequest as exc:
            self.reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except Exception as exc:  # a bug in a route must still get an answer
            logger.exception("%s %s failed", method, self.path)
            self.close_connection = True
            self.reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {exc!r}"})

    def _content_length(self) -> int:
        declared = self.headers.get("Content-Length")
        if declared is None:
            return 0
        declared = declared.strip()
        if not (declared.isascii() and declared.isdigit()):
            self.close_connection = True
            raise _Refused(HTTPStatus.BAD_REQUEST, "bad Content-Length")
        length = int(declared)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise _Refused(
                HTTPStatus.BAD_REQUEST,
                f"body too large: {length} bytes, at most {MAX_BODY_BYTES}",
            )
        return length

    def _check_origin_and_media_type(self, method: str, raw: bytes) -> None:
        if method in _SAFE_METHODS:
            return
        origin = self.headers.get("Origin")
        if origin is not None and not _is_local_origin(origin):
            raise _Refused(
                HTTPStatus.FORBIDDEN,
                f"cross-origin request from {origin!r} refused: "
                "only pages on this machine may change a local emulator",
            )
        content_type = self.headers.get("Content-Type")
        if content_type is None and not raw:
            return
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise _Refused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type must be application/json, not {content_type!r}",
            )

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _is_local_origin(origin: str) -> bool:
    """Whether a browser's `Origin` is a page served from this machine (any port)."""
    host = urlsplit(origin).hostname
    if host is None:
        return False  # "null" (sandboxed frames, file://) or garbage
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadRequest(f"number {_clip(text)} is out of range (it overflows a double)")
    return number


def _int64(text: str) -> int:
    # Check the length before converting: int() of thousands of digits is slow and
    # raises past sys.get_int_max_str_digits().
    if len(text.lstrip("-")) > 19 or not -_INT64 <= (number := int(text)) < _INT64:
        raise BadRequest(f"integer {_clip(text)} is out of range (int64)")
    return number


def _no_constants(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in pairs:
        if key in body:
            raise BadRequest(f"duplicate key {key!r}")
        body[key] = value
    return body


def _clip(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, iteratively (no recursion on hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = json.loads(
            raw,
            parse_float=_finite_float,
            parse_int=_int64,
            parse_constant=_no_constants,
            object_pairs_hook=_unique_keys,
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(f"body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    if _depth(body) > MAX_DEPTH:
        raise BadRequest(f"body is nested too deeply (at most {MAX_DEPTH} levels)")
    return body
