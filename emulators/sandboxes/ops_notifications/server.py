"""The ops-notifications sandbox's HTTP server: webhook intake, the message log, faults, and
the notification service's intake for borrowers and lenders.

Stdlib only (`emulators.json_http`: body, routing and JSON answers). It binds to
localhost and is never deployed; the webhook URL is its only credential, as with a real
incoming webhook, so any `/webhooks/<name>` path is accepted.

`POST /v1/notifications` stands in for the notification service that reaches a borrower or
lender (their app, SMS, WhatsApp): it keeps each message once per `idempotency_key`, so a
sender that repeats a send it is unsure of never makes a second delivery, and lists what
was delivered to whom and when (`GET /v1/notifications`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from emulators.json_http import BadRequest, JsonHandler, JsonServer

MAX_MESSAGES = 1000  # the oldest are forgotten beyond this: a sandbox runs for days
NOTIFICATION_FIELDS = ("idempotency_key", "recipient_id", "recipient_role", "subject", "text")
RECIPIENT_ROLES = ("borrower", "lender")


class MessageLog:
    """Every message received, oldest first, and the failures still to inject."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._received = 0
        self._notifications: list[dict[str, Any]] = []
        self._delivered = 0
        self._fail_next = 0
        self._fail_status = int(HTTPStatus.SERVICE_UNAVAILABLE)

    def receive(self, webhook: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Record a message, or consume an injected failure; the status and answer to send."""
        with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status, {"error": "ops-notifications: injected failure"}
            self._received += 1
            text = body.get("text")
            message = {
                "id": self._received,
                "webhook": webhook,
                "received_at": datetime.now(UTC).isoformat(),
                "text": text if isinstance(text, str) else None,
                "body": body,
            }
            self._messages = [*self._messages, message][-MAX_MESSAGES:]
            return HTTPStatus.OK, {"name": f"messages/{message['id']}"}

    def deliver(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Deliver a notification once per idempotency key (a repeat answers the first
        delivery, 200 with `replayed`), or consume an injected failure."""
        problems = [
            f for f in NOTIFICATION_FIELDS if not isinstance(body.get(f), str) or not body[f]
        ]
        if problems:
            raise BadRequest(f"these fields must be non-empty strings: {', '.join(problems)}")
        if body["recipient_role"] not in RECIPIENT_ROLES:
            raise BadRequest(f"recipient_role must be one of {', '.join(RECIPIENT_ROLES)}")
        sent_at = body.get("sent_at")
        if sent_at is not None and not isinstance(sent_at, str):
            raise BadRequest("sent_at, when given, is RFC 3339 text")
        with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status, {"error": "notifications: injected failure"}
            key = body["idempotency_key"]
            first = next((n for n in self._notifications if n["idempotency_key"] == key), None)
            if first is not None:
                return HTTPStatus.OK, {"delivery_id": first["delivery_id"], "replayed": True}
            self._delivered += 1
            delivery = {
                "delivery_id": f"notifications/{self._delivered}",
                **{f: body[f] for f in NOTIFICATION_FIELDS},
                "sent_at": sent_at,  # the sender's clock
                "received_at": datetime.now(UTC).isoformat(),  # the sandbox's
            }
            self._notifications = [*self._notifications, delivery][-MAX_MESSAGES:]
            return HTTPStatus.CREATED, {"delivery_id": delivery["delivery_id"], "replayed": False}

    def notifications(self, recipient_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [n for n in self._notifications if recipient_id in (None, n["recipient_id"])]

    def clear_notifications(self) -> None:
        with self._lock:
            self._notifications = []

    def messages(self, webhook: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self._messages if webhook in (None, m["webhook"])]

    def clear(self) -> None:
        with self._lock:
            self._messages = []
            self._fail_next = 0

    def set_faults(self, values: dict[str, Any]) -> dict[str, int]:
        unknown = sorted(set(values) - {"fail_next", "status"})
        if unknown:
            raise ValueError(f"unknown fault fields {unknown}; known: ['fail_next', 'status']")
        fail_next = values.get("fail_next", 0)
        status = values.get("status", int(HTTPStatus.SERVICE_UNAVAILABLE))
        if isinstance(fail_next, bool) or not isinstance(fail_next, int) or fail_next < 0:
            raise ValueError(f"fail_next must be a non-negative integer, got {fail_next!r}")
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status!r}")
        with self._lock:
            self._fail_next, self._fail_status = fail_next, status
            return self.faults()

    def faults(self) -> dict[str, int]:
        return {"fail_next": self._fail_next, "status": self._fail_status}


class OpsNotificationsSandbox(JsonServer):
    def __init__(self, address: tuple[str, int], *, verbose: bool = False) -> None:
        super().__init__(address, OpsNotificationsHandler, verbose=verbose)
        self.host = address[0]
        self.log = MessageLog()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class OpsNotificationsHandler(JsonHandler):
    server: OpsNotificationsSandbox
    server_version = "PatunganOpsNotificationsSandbox/1"

    def route(self, method: str, path: list[str], query: dict[str, str]) -> None:
        log = self.server.log
        match method, path:
            case "GET", ["health"]:
                self.reply(HTTPStatus.OK, {"status": "ok"})
            case "POST", ["webhooks", webhook]:
                status, answer = log.receive(webhook, self.body)
                self.reply(status, answer)
            case "GET", ["messages"]:
                self.reply(HTTPStatus.OK, {"messages": log.messages(query.get("webhook"))})
            case "DELETE", ["messages"]:
                log.clear()
                self.reply(HTTPStatus.OK, {"messages": []})
            case "POST", ["v1", "notifications"]:
                status, answer = log.deliver(self.body)
                self.reply(status, answer)
            case "GET", ["v1", "notifications"]:
                found = log.notifications(query.get("recipient_id"))
                self.reply(HTTPStatus.OK, {"notifications": found})
            case "DELETE", ["v1", "notifications"]:
                log.clear_notifications()
                self.reply(HTTPStatus.OK, {"notifications": []})
            case "GET", ["admin", "faults"]:
                self.reply(HTTPStatus.OK, log.faults())
            case "PUT", ["admin", "faults"]:
                try:
                    self.reply(HTTPStatus.OK, log.set_faults(self.body))
                except ValueError as exc:
                    raise BadRequest(str(exc)) from None
            case _:
                self.no_route()
