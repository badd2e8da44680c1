"""The document's URLs, `/<function>/<route path>`, answered by each function's own local port.

Deployed, every function answers under one host, `https://<region>-<project>.cloudfunctions.net/
<function>/...`, and sees only `/<route path>`; the local platform serves each function on a
port of its own at `/<route path>`. `FunctionRoutes` is the requests transport adapter that
bridges the two: mounted for `GATEWAY_URL` on a `requests.Session`, it sends each request to its
function's port with the function's name taken off the path, and changes nothing else (method,
headers, body and query go through byte for byte), so schemathesis can call every operation
of docs/openapi.json by the document's own paths.

`GATEWAY_URL` is under `.test` (RFC 2606), which never resolves: a request that does not go
through the session fails at once instead of reaching some other host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

GATEWAY_URL = "http://functions.patungan.test"


class UnknownFunction(LookupError):
    """A path whose first segment names no running function."""


class FunctionRoutes(HTTPAdapter):
    """Sends `GATEWAY_URL/<function>/<rest>` to `<the function's URL>/<rest>`."""

    def __init__(self, function_urls: Mapping[str, str]) -> None:
        super().__init__()
        self._urls = dict(function_urls)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        function, _, rest = parts.path.removeprefix("/").partition("/")
        if function not in self._urls:
            raise UnknownFunction(f"no running function named {function!r} ({request.url})")
        target = urlsplit(self._urls[function])
        request.url = urlunsplit((target.scheme, target.netloc, f"/{rest}", parts.query, ""))
        return super().send(request, *args, **kwargs)


def gateway_session(function_urls: Mapping[str, str]) -> requests.Session:
    """A session whose requests to `GATEWAY_URL` reach the functions at `function_urls`."""
    session = requests.Session()
    session.trust_env = False  # local calls: never through a proxy the environment names
    session.mount(f"{GATEWAY_URL}/", FunctionRoutes(function_urls))
    return session
