"""The document's URLs, `/<function>/<route path>`, answered by each function's own local port.

Deployed, every function answers under one host, `https://<region>-<project>.cloudfunctions.net/
<function>/...`, and sees only `/<route path>`; the local platform serves each function on a
port of its own at `/<route path>`. `FunctionRoutes` is the requests transport adapter that
bridges the two: mounted for `GATEWAY_URL` on a `requests.Session`, it sends each request to its
function's port with the function's name taken off the path, and changes nothing else (method,
headers, body and query go through byte for byte), so schemathesis can call every operation
of docs/openapi.json by the document's own paths.

A request carrying `SIGN_AS_PARTNER` is signed on its way as the payment gateway signs its
callbacks (shared/http/gateway_signature.py: the method, the function's own path, the body's
hash and the time, with the key the local `payment_webhook` verifies), after everything else
about it is final; the marker itself is taken off. Without it, nothing is signed.

`GATEWAY_URL` is under `.test` (RFC 2606), which never resolves: a request that does not go
through the session fails at once instead of reaching some other host.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from shared.http.gateway_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shared.platform.clock import JAKARTA

GATEWAY_URL = "http://functions.patungan.test"
SIGN_AS_PARTNER = "X-Fuzz-Sign-As-Partner"


class UnknownFunction(LookupError):
    """A path whose first segment names no running function."""


class FunctionRoutes(HTTPAdapter):
    """Sends `GATEWAY_URL/<function>/<rest>` to `<the function's URL>/<rest>`."""

    def __init__(self, function_urls: Mapping[str, str], partner_key: str = "") -> None:
        super().__init__()
        self._urls = dict(function_urls)
        self._partner_key = partner_key

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        function, _, rest = parts.path.removeprefix("/").partition("/")
        if function not in self._urls:
            raise UnknownFunction(f"no running function named {function!r} ({request.url})")
        target = urlsplit(self._urls[function])
        request.url = urlunsplit((target.scheme, target.netloc, f"/{rest}", parts.query, ""))
        if request.headers.pop(SIGN_AS_PARTNER, None) is not None:
            self._sign(request, f"/{rest}?{parts.query}" if parts.query else f"/{rest}")
        return super().send(request, *args, **kwargs)

    def _sign(self, request: requests.PreparedRequest, path: str) -> None:
        body = request.body or b""
        if not isinstance(body, str | bytes):
            raise TypeError("only a body prepared in full can be signed")
        data = body.encode() if isinstance(body, str) else body
        stamp = datetime.now(JAKARTA).isoformat(timespec="seconds")
        request.headers[TIMESTAMP_HEADER] = stamp
        request.headers[SIGNATURE_HEADER] = sign(
            self._partner_key, request.method or "POST", path, data, stamp
        )


def gateway_session(function_urls: Mapping[str, str], partner_key: str = "") -> requests.Session:
    """A session whose requests to `GATEWAY_URL` reach the functions at `function_urls`
    (signing those marked `SIGN_AS_PARTNER` with `partner_key`)."""
    session = requests.Session()
    session.trust_env = False  # local calls: never through a proxy the environment names
    session.mount(f"{GATEWAY_URL}/", FunctionRoutes(function_urls, partner_key))
    return session
