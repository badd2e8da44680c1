"""The notifications port over HTTP: the notification service's intake, locally the
notifications intake of the ops-notifications sandbox (`emulators/sandboxes/ops_notifications`).

`HttpNotifier(url).send(notification)` POSTs the notification as JSON to the intake URL:
`{"idempotency_key", "recipient_id", "recipient_role", "subject", "text", "sent_at"}`. The
service delivers once per `idempotency_key`: `201` is a new delivery, `200` with
`"replayed": true` the first delivery answered again; both carry its `delivery_id`. The URL
embeds the service's key, so it comes from the `notifications-url` secret and never reaches a
log or an error message.

A `400`, `404` or `422` is a refusal for good (`NotificationRefused`: a recipient the service
does not know, a malformed message). Anything else that is not a 2xx, a timeout or a
connection error is `NotifierUnavailable`: not delivered, sent again later — that includes a
`401`/`403` (a revoked or mistyped key), which ops fix while the reminders wait, pending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from shared.adapters.http_client import SecretUrlClient
from shared.fields import sortable_instant
from shared.platform.notifications import (
    Delivery,
    Notification,
    NotificationRefused,
    NotifierUnavailable,
)

if TYPE_CHECKING:
    from shared.settings import NotificationSettings

REFUSALS = frozenset({400, 404, 422})


class HttpNotifier(SecretUrlClient):
    def send(self, notification: Notification) -> Delivery:
        body = {
            "idempotency_key": notification.idempotency_key,
            "recipient_id": notification.recipient_id,
            "recipient_role": notification.recipient_role,
            "subject": notification.subject,
            "text": notification.text,
            "sent_at": sortable_instant(notification.sent_at),
        }
        try:
            answer = self._http.post(
                self._url, json=body, headers={"Idempotency-Key": notification.idempotency_key}
            )
        except httpx.HTTPError as exc:
            raise NotifierUnavailable(
                f"the notification service could not be reached ({type(exc).__name__})"
            ) from None
        if answer.status_code in REFUSALS:
            raise NotificationRefused(
                f"the notification service refused it (HTTP {answer.status_code}): "
                f"{_error_of(answer)}"
            )
        if not answer.is_success:
            raise NotifierUnavailable(
                f"the notification service answered HTTP {answer.status_code}"
            )
        try:
            payload = answer.json()
            return Delivery(str(payload["delivery_id"]), replayed=payload.get("replayed") is True)
        except (ValueError, KeyError, TypeError):
            raise NotifierUnavailable(
                "the notification service's answer names no delivery_id"
            ) from None


def _error_of(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("error", ""))[:200]
    except (ValueError, AttributeError):
        return ""


def notifier(settings: NotificationSettings) -> HttpNotifier:
    """The notifier configured by `PATUNGAN_NOTIFICATIONS_URL`."""
    return HttpNotifier(
        settings.notifications_url.get_secret_value(),
        timeout_s=settings.notifications_timeout_s,
    )
