"""What the store keeps about collection reminders (docs/lending-rules.md#overdue-and-collection).

`reminders/<event id>~<recipient id>`: one per event per person, so an event delivered again
finds its reminders and makes no new one. A reminder is made `pending` with the moment it
may be sent (`send_at`: the first moment inside the recipient's contact hours), and becomes
`sent` once the notification service took it, `refused` when the service refused it for
good, or `withdrawn` when, at its moment, what it was about no longer holds: the installment
was paid or replaced by an early settlement, the maturing loan was repaid or written off
(shared/services/reminders.py).

    pending ──sent──▶ sent
        ├───refused──▶ refused
        └──withdrawn─▶ withdrawn
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from shared.fields import Instant
from shared.model import Model
from shared.platform.notifications import RecipientRole
from shared.platform.store import Repository

REMINDERS = "reminders"

ReminderState = Literal["pending", "sent", "refused", "withdrawn"]


def reminder_id(event_id: str, recipient_id: str) -> str:
    return f"{event_id}~{recipient_id}"


class ReminderRecord(Model):
    """One message to one person about one event, and what became of it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    event_id: str
    event_type: str
    loan_id: str
    installment: int | None = None  # the installment it is about (none for `loan.maturing`)
    recipient_id: str
    recipient_role: RecipientRole
    subject: str
    text: str
    time_zone: str  # the recipient's (Asia/Jakarta, Asia/Makassar or Asia/Jayapura)
    created_at: Instant  # when the event asked for it
    send_at: Instant  # the first moment within the recipient's contact hours
    state: ReminderState = "pending"
    sent_at: Instant | None = None
    delivery_id: str | None = None  # the notification service's id of the delivery
    refused_reason: str | None = None
    withdrawn_reason: str | None = None  # why it was not sent after all


class Reminders(Repository[ReminderRecord]):
    collection = REMINDERS
    model = ReminderRecord
