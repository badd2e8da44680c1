"""The emulator's HTTP admin endpoint (gRPC port + 1 by default).

GET    /                       → "Ok" (liveness, like the official emulator)
DELETE /emulator/v1/projects/{project}/databases/{database}/documents
                               → clear that database (the official emulator's reset path)
GET    /stats[?project=P&database=D]
                               → per-document write counts and peak rates (JSON), hot
                                 documents (sustained > 1 write/s) listed first
DELETE /stats                  → forget all write statistics
POST   /shutdown               → stop the emulator cleanly (saving --data-dir if set)
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulators.firestore.engine import FirestoreEngine
from emulators.firestore.resources import DatabaseId

logger = logging.getLogger(__name__)

_RESET_PATH = re.compile(r"^/emulator/v1/projects/([^/]+)/databases/([^/]+)/documents/?$")


def admin_server(
    host: str, port: int, engine: FirestoreEngine, request_shutdown: Callable[[], None]
) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) bound to host:port."""

    class AdminHandler(BaseHTTPRequestHandler):
        server_version = "PatunganFirestoreEmulator/1"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("admin: " + format, *args)

        def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
            payload = (body if isinstance(body, str) else json.dumps(body, indent=2)).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _drain(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/":
                self._reply(200, "Ok\n", "text/plain")
            elif url.path == "/stats":
                query = parse_qs(url.query)
                database = None
                if "project" in query:
                    database = DatabaseId(
                        query["project"][0], query.get("database", ["(default)"])[0]
                    )
                self._reply(200, engine.write_stats(database))
            else:
                self._reply(404, {"error": f"no such admin endpoint: GET {url.path}"})

        def do_DELETE(self) -> None:
            self._drain()
            url = urlsplit(self.path)
            match = _RESET_PATH.match(url.path)
            if match:
                engine.reset(DatabaseId(match.group(1), match.group(2)))
                self._reply(200, {})
            elif url.path == "/stats":
                engine.clear_stats()
                self._reply(200, {})
            else:
                self._reply(404, {"error": f"no such admin endpoint: DELETE {url.path}"})

        def do_POST(self) -> None:
            self._drain()
            if urlsplit(self.path).path == "/shutdown":
                self._reply(200, {"shutting_down": True})
                request_shutdown()
            else:
                self._reply(404, {"error": f"no such admin endpoint: POST {self.path}"})

    server = ThreadingHTTPServer((host, port), AdminHandler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="firestore-admin", daemon=True)
    thread.start()
    return thread
