"""The emulator's HTTP admin endpoint (gRPC port + 1 by default).

GET    /                       → "Ok" (liveness, like the official emulator)
DELETE /emulator/v1/projects/{project}/databases/{database}/documents
                               → clear that database (the official emulator's reset path)
GET    /stats[?project=P&database=D]
                               → per-document write counts and peak rates (JSON), hot
                                 documents (sustained > 1 write/s) listed first
DELETE /stats                  → forget all write statistics (and refused-commit counts)
GET    /faults                 → {"commit": [commit fault, ...]}, the faults in force
PUT    /faults                 → body {"commit": {"code": "ABORTED", "count": 1,
                                 "project": P?, "database": D?, "path_prefix": "ledger/"?}}:
                                 refuse the next matching commits (faults.CommitFault)
DELETE /faults                 → remove every commit fault
POST   /listeners/drop         → end every Listen stream with UNAVAILABLE (body {"code": C}
                                 for another code), so clients resume; {"dropped": n}
POST   /shutdown               → stop the emulator cleanly (saving --data-dir if set)
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

import grpc

from emulators.firestore.engine import FirestoreEngine
from emulators.firestore.faults import CommitFault, FaultError
from emulators.firestore.resources import DatabaseId
from emulators.json_http import BadRequest, JsonHandler, JsonServer

_DROP_CODES = frozenset(code.name for code in grpc.StatusCode) - {"OK"}


def admin_server(
    host: str, port: int, engine: FirestoreEngine, request_shutdown: Callable[[], None]
) -> JsonServer:
    """An HTTP server (not yet serving) bound to host:port."""

    class AdminHandler(JsonHandler):
        server_version = "PatunganFirestoreEmulator/1"

        def route(self, method: str, path: list[str], query: dict[str, str]) -> None:
            match method, path:
                case "GET", []:
                    self.reply_text(HTTPStatus.OK, "Ok\n")
                case "GET", ["stats"]:
                    database = None
                    if "project" in query:
                        database = DatabaseId(query["project"], query.get("database", "(default)"))
                    self.reply(HTTPStatus.OK, engine.write_stats(database))
                case "DELETE", [
                    "emulator",
                    "v1",
                    "projects",
                    project,
                    "databases",
                    db,
                    "documents",
                ]:
                    engine.reset(DatabaseId(project, db))
                    self.reply(HTTPStatus.OK, {})
                case "DELETE", ["stats"]:
                    engine.clear_stats()
                    self.reply(HTTPStatus.OK, {})
                case "GET", ["faults"]:
                    self.reply(HTTPStatus.OK, engine.commit_faults())
                case "PUT" | "POST", ["faults"]:
                    if set(self.body) != {"commit"}:
                        raise BadRequest('a fault is set as {"commit": {...}}')
                    try:
                        engine.set_commit_fault(CommitFault.from_json(self.body["commit"]))
                    except FaultError as exc:
                        raise BadRequest(str(exc)) from None
                    self.reply(HTTPStatus.OK, engine.commit_faults())
                case "DELETE", ["faults"]:
                    engine.clear_commit_faults()
                    self.reply(HTTPStatus.OK, engine.commit_faults())
                case "POST", ["listeners", "drop"]:
                    code = self.body.get("code", "UNAVAILABLE")
                    if code not in _DROP_CODES:
                        raise BadRequest(f"code must be one of {sorted(_DROP_CODES)}")
                    dropped = engine.drop_listeners(grpc.StatusCode[code])
                    self.reply(HTTPStatus.OK, {"dropped": dropped})
                case "POST", ["shutdown"]:
                    self.reply(HTTPStatus.OK, {"shutting_down": True})
                    request_shutdown()
                case _:
                    self.no_route()

    return JsonServer((host, port), AdminHandler)
