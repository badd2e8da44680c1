"""The local dev issuer's public keys over HTTP, as a JWKS document: `LocalJwks`.

In the cloud a function finds the keys of the tokens it accepts at its issuer's
JWKS URL (`PATUNGAN_AUTH_JWKS_URL`: Identity Platform's, or Google's for
Scheduler tokens). Locally the platform runner serves the dev issuer's key
(`scripts.token.DevKeys`, key id `patungan-dev-1`) the same way, at
`http://HOST:PORT/jwks.json`, so a local function is configured with the same
variable and fetches and caches its keys through the same code path
(`shared.adapters.auth.JwksKeys`). Started and stopped with the platform.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import RSAAlgorithm

from emulators.supervisor import StartStop
from scripts.token import DEV_KEY_ID, DevKeys

JWKS_PATH = "/jwks.json"


def jwks_document(keys: DevKeys) -> dict[str, Any]:
    """The dev issuer's public key as a JSON Web Key Set (RFC 7517)."""
    public = load_pem_public_key(keys.issuer_public.read_bytes())
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public))  # type: ignore[arg-type]
    return {"keys": [{**jwk, "kid": DEV_KEY_ID, "alg": "RS256", "use": "sig"}]}


class LocalJwks(StartStop):
    """Serves `jwks_document(keys)` on `host` (port 0: any free one) until stopped."""

    def __init__(self, keys: DevKeys, host: str = "127.0.0.1", port: int = 0) -> None:
        self._body = json.dumps(jwks_document(keys)).encode()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://{self._host}:{self._server.server_address[1]}{JWKS_PATH}"

    def start(self) -> Self:
        body = self._body

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == JWKS_PATH
                payload = body if found else b'{"error": "not found"}'
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:  # quiet: one line per fetch is noise
                pass

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        threading.Thread(
            target=self._server.serve_forever, name="dev-issuer-jwks", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
