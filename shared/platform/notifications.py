"""The notifications port: a message to one borrower or lender, delivered once per key.

Collection reminders (shared/services/reminders.py, docs/lending-rules.md#overdue-and-collection)
go out through it. Implemented by `shared.adapters.notifications.HttpNotifier` (locally the
notifications sandbox, `emulators/sandboxes/notifications`; the platform's notification
service, which reaches the recipient's app, SMS or WhatsApp, replaces it behind the same
port), faked by `shared.adapters.memory.RecordingNotifier`.

The contract that makes a reminder reach its recipient once: `send` with an
`idempotency_key` the service has already delivered delivers nothing new and answers the
first delivery again. A sender may therefore repeat a send it does not know the outcome
of (a crash, a timeout) without the recipient hearing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from shared.platform.errors import TransientFailure

RecipientRole = Literal["borrower", "lender"]


@dataclass(frozen=True)
class Notification:
    """One message to one person: who (`recipient_id`, a user id the service resolves to
    their contact details), what (`subject`, `text`), when the sender sent it, and the
    key the service deduplicates on."""

    idempotency_key: str
    recipient_id: str
    recipient_role: RecipientRole
    subject: str
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class Delivery:
    """The service's answer: its id for the delivery, and whether this send was a repeat
    of one it had already delivered (nothing new reached the recipient)."""

    delivery_id: str
    replayed: bool = False


class NotifierUnavailable(TransientFailure):
    """The notification service did not take the message now; sending again later may work."""


class NotificationRefused(Exception):
    """The notification service refused this message for good (an unknown recipient, a
    malformed message): sending it again will not help."""


class Notifier(Protocol):
    def send(self, notification: Notification) -> Delivery:
        """Deliver `notification` once per `idempotency_key`; raises `NotifierUnavailable`
        (not delivered, try again) or `NotificationRefused` (never deliverable)."""
        ...
