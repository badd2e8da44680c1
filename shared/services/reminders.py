"""Collection reminders: the borrower hears of an installment due soon or overdue, the lenders
of a loan about to mature, each once, and only within the contact hours
(docs/lending-rules.md#overdue-and-collection).

Two steps, each idempotent:

1. **Schedule** (`schedule_reminders`, on `installment.due_soon`, `installment.overdue` and
   `loan.maturing`, which the overdue sweep publishes): one reminder per event per person,
   `reminders/<event id>~<recipient id>`, made `pending` with `send_at`, the first moment at
   or after now within the recipient's contact hours (Monday to Saturday, never a national
   holiday, 08:00–20:00 in their time zone: shared/domain/contact_hours.py). The borrower is
   the recipient of an installment's reminders, every lender with an active stake in the
   loan of `loan.maturing`. A reminder already made is left alone, so an event delivered
   again makes nothing new. Lenders are scheduled in chunks of `CHUNK` per transaction
   (a loan may have a thousand), each chunk making only the reminders it does not find.
2. **Send** (`send_reminders`, for the reminders due now; `dispatch_due_reminders`, every
   15 minutes, for every pending reminder whose `send_at` has come): each reminder is sent
   through the notifications port with its id as the idempotency key, outside any
   transaction, and then marked `sent` in a transaction that checks it is still pending.
   Just before the send, the reminder is checked against the loan as it is then: one about
   an installment that was paid or replaced by an early settlement since, or about a loan
   that is repaid or written off, is `withdrawn` instead (the borrower who paid at 22:00 is
   not chased at 08:00). A notice the sweep publishes late for a missed day is still sent
   while what it says holds.

**The guarantee.** A reminder reaches its recipient exactly once, provided the notification
service keeps an idempotency key for longer than a reminder stays pending (the port's
contract, shared/platform/notifications.py): the reminder is marked sent only after the
service took it, so a crash before the mark leaves it pending and the next run sends it
again — under the same key, which the service answers with the first delivery instead of a
second message. No crash loses it (it stays pending until marked), and no crash or
concurrent run (the event function's immediate send racing the scheduled one) duplicates it.
Our side calls the port at least once per reminder; the recipient hears at most once.

A service outage (`NotifierUnavailable`) leaves the reminder pending for the next run; a
refusal for good (`NotificationRefused`: an unknown recipient, a malformed message) marks
it `refused` with the reason, so one bad reminder never blocks the ones behind it.

A recipient's time zone comes from their province: a borrower's business profile, else the
province of their NIK (the two digits its mask shows), else WIB, where most users live.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Literal

from pydantic import ConfigDict

from shared.domain.contact_hours import (
    NATIONAL_HOLIDAYS,
    holidays_known_through,
    next_contact_time,
    zone_of,
)
from shared.domain.events import (
    Envelope,
    EventType,
    InstallmentDueSoon,
    InstallmentOverdue,
    LoanMaturing,
)
from shared.domain.identity import PROVINCES
from shared.domain.loan import LoanState
from shared.fields import sortable_instant
from shared.model import Model
from shared.platform.clock import Clock
from shared.platform.notifications import (
    Notification,
    NotificationRefused,
    Notifier,
    NotifierUnavailable,
    RecipientRole,
)
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.installments import Installments, installment_id
from shared.records.loans import Loans
from shared.records.participations import Participations
from shared.records.reminders import ReminderRecord, Reminders, reminder_id
from shared.records.users import UserRecord, Users

logger = logging.getLogger(__name__)

REMINDER_EVENTS = frozenset(
    {EventType.INSTALLMENT_DUE_SOON, EventType.INSTALLMENT_OVERDUE, EventType.LOAN_MATURING}
)
CHUNK = 200  # recipients per scheduling transaction: 200 reminders and 200 user reads
PAGE = 100  # due reminders read per query while dispatching
MAX_PER_RUN = 2_000  # a run stops after this many sends; the next run, 15 minutes on, goes on


@dataclass(frozen=True)
class Recipient:
    """Who hears of an event, and what they are told."""

    user_id: str
    role: RecipientRole
    subject: str
    text: str


@dataclass(frozen=True)
class ScheduledReminders:
    """What an event asked for: every reminder of it (made now or before), and which of
    them may be sent right away."""

    reminder_ids: tuple[str, ...]
    due_now: tuple[str, ...]


class DispatchRun(Model):
    """What one send pass did: reminders sent (or found delivered already), refused for good,
    withdrawn (what they were about no longer holds), and how many due ones it left for the
    next run (counted up to a page)."""

    model_config = ConfigDict(frozen=True)

    sent: int = 0
    refused: int = 0
    withdrawn: int = 0
    waiting: int = 0


Outcome = Literal["sent", "refused", "withdrawn"]


def schedule_reminders(
    uow: UnitOfWork,
    event: Envelope,
    *,
    clock: Clock,
    holidays: Collection[date] = NATIONAL_HOLIDAYS,
) -> ScheduledReminders:
    """Make the event's reminders, one per recipient, each to be sent at the first allowed
    moment in the recipient's time zone; a reminder that exists already is kept as it is."""
    if event.type not in REMINDER_EVENTS:
        raise ValueError(f"{event.type} asks for no reminder")
    event_id = str(event.event_id)
    recipients = _recipients(uow, event)
    now = clock.now()
    ids: list[str] = []
    due: list[str] = []
    for start in range(0, len(recipients), CHUNK):
        chunk = recipients[start : start + CHUNK]
        made = uow.run(
            partial(_make, event=event, event_id=event_id, recipients=chunk, now=now,
                    holidays=holidays)
        )  # fmt: skip
        ids += [r.id for r in made]
        due += [r.id for r in made if r.state == "pending" and r.send_at <= now]
    return ScheduledReminders(tuple(ids), tuple(due))


def remind(
    uow: UnitOfWork,
    delivery_uow: UnitOfWork,
    event: Envelope,
    notifier: Notifier,
    *,
    clock: Clock,
    holidays: Collection[date] = NATIONAL_HOLIDAYS,
) -> DispatchRun:
    """The `collections` consumer's whole work: schedule the event's reminders (through the
    plain `uow`, in chunks), record the event as applied (its `delivery_uow`), then send the
    reminders whose moment is now. A service outage leaves them pending for the dispatcher
    (counted as `waiting`): the event is applied either way."""
    scheduled = schedule_reminders(uow, event, clock=clock, holidays=holidays)
    delivery_uow.run(lambda tx: None)  # records the event as processed, once
    return send_reminders(uow, scheduled.due_now, notifier, clock=clock)


def send_reminders(
    uow: UnitOfWork, reminder_ids: Sequence[str], notifier: Notifier, *, clock: Clock
) -> DispatchRun:
    """Send each of these reminders that is still pending and due. An outage stops it: the
    rest stay pending for the dispatcher and are counted as `waiting`."""
    outcomes: list[Outcome] = []
    for n, rid in enumerate(reminder_ids):
        reminder = uow.run(partial(_reminder, rid=rid), read_only=True)
        now = clock.now()
        if reminder is None or reminder.state != "pending" or reminder.send_at > now:
            continue
        try:
            outcomes.append(_send(uow, reminder, notifier, now))
        except NotifierUnavailable as exc:
            logger.warning(
                "reminders left pending for the dispatcher: %s",
                exc.detail,
                extra={"reason": exc.detail, "waiting": len(reminder_ids) - n},
            )
            return _run(outcomes, waiting=len(reminder_ids) - n)
    return _run(outcomes, waiting=0)


def dispatch_due_reminders(
    uow: UnitOfWork, notifier: Notifier, *, clock: Clock, max_sends: int = MAX_PER_RUN
) -> DispatchRun:
    """Send every pending reminder whose moment has come, oldest first, up to `max_sends`
    (the scheduled dispatcher). An outage ends the run (`NotifierUnavailable` propagates,
    so the Scheduler job retries): what is left stays pending."""
    outcomes: list[Outcome] = []
    while len(outcomes) < max_sends:
        limit = min(PAGE, max_sends - len(outcomes))
        page = uow.run(partial(_due, now=clock.now(), limit=limit), read_only=True)
        if not page:
            break
        outcomes += [_send(uow, reminder, notifier, clock.now()) for reminder in page]
    waiting = len(uow.run(partial(_due, now=clock.now(), limit=PAGE), read_only=True))
    return _run(outcomes, waiting=waiting)


def _run(outcomes: Sequence[Outcome], *, waiting: int) -> DispatchRun:
    return DispatchRun(
        sent=outcomes.count("sent"),
        refused=outcomes.count("refused"),
        withdrawn=outcomes.count("withdrawn"),
        waiting=waiting,
    )


# --- scheduling -------------------------------------------------------------------------------


def _recipients(uow: UnitOfWork, event: Envelope) -> list[Recipient]:
    data = event.data
    if isinstance(data, InstallmentDueSoon):
        return [
            Recipient(
                data.borrower_id,
                "borrower",
                f"Angsuran ke-{data.installment} jatuh tempo {_day(data.due_date)}",
                f"Angsuran ke-{data.installment} pinjaman {data.loan_id} sebesar "
                f"{_rupiah(data.amount_due)} jatuh tempo pada {_day(data.due_date)}. "
                "Bayar ke virtual account pinjaman Anda sebelum tanggal itu.",
            )
        ]
    if isinstance(data, InstallmentOverdue):
        return [
            Recipient(
                data.borrower_id,
                "borrower",
                f"Angsuran ke-{data.installment} lewat jatuh tempo",
                f"Angsuran ke-{data.installment} pinjaman {data.loan_id} sebesar "
                f"{_rupiah(data.amount_overdue)} lewat jatuh tempo sejak {_day(data.due_date)}. "
                "Segera bayar ke virtual account pinjaman Anda; denda keterlambatan berlaku "
                "sesuai ketentuan produk.",
            )
        ]
    assert isinstance(data, LoanMaturing)
    maturing = data

    def stakes(tx: DocumentTransaction) -> list[Recipient]:
        loan = Loans(tx).require(maturing.loan_id)
        found = Participations(tx).find(
            Where("loan_id", "==", loan.id),
            Where("state", "==", "active"),
            order_by=(OrderBy("lender_id"),),
            limit=max(loan.lender_count, 1) + 1,
        )
        return [
            Recipient(
                stake.lender_id,
                "lender",
                f"Pinjaman {maturing.loan_id} jatuh tempo akhir {_day(maturing.maturity_date)}",
                f"Angsuran terakhir pinjaman {maturing.loan_id} jatuh tempo pada "
                f"{_day(maturing.maturity_date)}. Sisa pokok Anda di pinjaman ini "
                f"{_rupiah(stake.outstanding_principal)}.",
            )
            for stake in found
        ]

    return uow.run(stakes, read_only=True)


def _make(
    tx: DocumentTransaction,
    event: Envelope,
    event_id: str,
    recipients: Sequence[Recipient],
    now: datetime,
    holidays: Collection[date],
) -> list[ReminderRecord]:
    reminders = Reminders(tx)
    ids = [reminder_id(event_id, r.user_id) for r in recipients]
    existing = reminders.get_many(ids)
    users = Users(tx).get_many([r.user_id for r in recipients])
    made: list[ReminderRecord] = []
    for rid, recipient in zip(ids, recipients, strict=True):
        found = existing[rid]
        if found is not None:
            made.append(found)  # the event was delivered before: nothing new
            continue
        zone = zone_of(_province_of(users[recipient.user_id]))
        reminder = ReminderRecord(
            id=rid,
            event_id=event_id,
            event_type=str(event.type),
            loan_id=str(getattr(event.data, "loan_id")),  # noqa: B009 — every reminder event has one
            installment=getattr(event.data, "installment", None),
            recipient_id=recipient.user_id,
            recipient_role=recipient.role,
            subject=recipient.subject,
            text=recipient.text,
            time_zone=zone.key,
            created_at=now,
            send_at=next_contact_time(now, zone, holidays),
        )
        reminders.add(reminder)
        made.append(reminder)
    if made and now.date() > holidays_known_through(holidays):
        logger.warning(
            "the national holiday table ends %s: only the fixed-date holidays are kept after "
            "it; add the year's joint decree to shared/domain/contact_hours.py",
            holidays_known_through(holidays),
        )
    return made


def _province_of(user: UserRecord | None) -> str | None:
    """The user's province: their business's, else their NIK's (the mask keeps its first
    digits); None when neither is known (the contact hours then take WIB)."""
    if user is None:
        return None
    if user.borrower_profile is not None:
        return user.borrower_profile.province_code
    code = (user.nik_masked or "")[:2]
    return code if code in PROVINCES else None


# --- sending ----------------------------------------------------------------------------------


def _send(uow: UnitOfWork, reminder: ReminderRecord, notifier: Notifier, now: datetime) -> Outcome:
    """Send one reminder and record it; withdraw it instead when what it is about no longer
    holds. `NotifierUnavailable` propagates with the reminder still pending."""
    stale = uow.run(partial(_no_longer_holds, reminder=reminder), read_only=True)
    if stale is not None:
        uow.run(lambda tx: _mark(tx, reminder.id, withdrawn_reason=stale))
        logger.info("reminder withdrawn", extra={"reminder": reminder.id, "reason": stale})
        return "withdrawn"
    notification = Notification(
        idempotency_key=reminder.id,
        recipient_id=reminder.recipient_id,
        recipient_role=reminder.recipient_role,
        subject=reminder.subject,
        text=reminder.text,
        sent_at=now,
    )
    try:
        delivery = notifier.send(notification)
    except NotificationRefused as refusal:
        reason = str(refusal)[:500]
        uow.run(lambda tx: _mark(tx, reminder.id, refused_reason=reason))
        logger.warning(
            "reminder refused by the notification service",
            extra={"reminder": reminder.id, "reason": reason},
        )
        return "refused"
    uow.run(lambda tx: _mark(tx, reminder.id, sent_at=now, delivery_id=delivery.delivery_id))
    logger.info(
        "reminder sent",
        extra={"reminder": reminder.id, "event_type": reminder.event_type,
               "replayed": delivery.replayed},
    )  # fmt: skip
    return "sent"


def _no_longer_holds(tx: DocumentTransaction, reminder: ReminderRecord) -> str | None:
    """Why the reminder should not be sent now, or None when what it says still holds. A
    reminder whose installment or loan is not found is sent: the check only ever withholds
    a message whose cause is known to be gone."""
    if reminder.installment is not None:
        installment = Installments(tx).get(installment_id(reminder.loan_id, reminder.installment))
        if installment is None:
            return None
        if installment.replaced_by_payoff is not None:
            return "the installment was replaced by an early settlement"
        return "the installment was paid" if installment.settled else None
    loan = Loans(tx).get(reminder.loan_id)
    if loan is not None and loan.state in (LoanState.REPAID, LoanState.WRITTEN_OFF):
        return f"the loan is {loan.state.value}"
    return None


def _mark(
    tx: DocumentTransaction,
    rid: str,
    *,
    sent_at: datetime | None = None,
    delivery_id: str | None = None,
    refused_reason: str | None = None,
    withdrawn_reason: str | None = None,
) -> None:
    reminders = Reminders(tx)
    current = reminders.require(rid)
    if current.state != "pending":
        return  # another run recorded it first (the service delivered it once)
    if withdrawn_reason is not None:
        withdrawn = {"state": "withdrawn", "withdrawn_reason": withdrawn_reason}
        reminders.put(current.model_copy(update=withdrawn))
        return
    if refused_reason is not None:
        reminders.put(current.model_copy(update={"state": "refused",
                                                 "refused_reason": refused_reason}))  # fmt: skip
        return
    reminders.put(
        current.model_copy(update={"state": "sent", "sent_at": sent_at, "delivery_id": delivery_id})
    )


def _reminder(tx: DocumentTransaction, rid: str) -> ReminderRecord | None:
    return Reminders(tx).get(rid)


def _due(tx: DocumentTransaction, now: datetime, limit: int) -> list[ReminderRecord]:
    """The pending reminders whose moment has come, oldest first."""
    return Reminders(tx).find(
        Where("state", "==", "pending"),
        Where("send_at", "<=", sortable_instant(now)),
        order_by=(OrderBy("send_at"),),
        limit=limit,
    )


def _rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def _day(day: date) -> str:
    return day.strftime("%d-%m-%Y")
