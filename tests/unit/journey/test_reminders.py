"""Collection reminders on the in-memory store, with a fake clock (shared/services/reminders.py,
docs/lending-rules.md#overdue-and-collection): when each reminder goes out in its recipient's
time zone, and that each person hears once of each event."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.adapters.memory import MemoryUnitOfWork, RecordingNotifier
from shared.domain.events import (
    Envelope,
    EventType,
    InstallmentDueSoon,
    InstallmentOverdue,
    LoanMaturing,
)
from shared.platform.notifications import Delivery, Notification, NotifierUnavailable
from shared.records.reminders import ReminderRecord, Reminders
from shared.records.users import USERS
from shared.services.reminders import DispatchRun, dispatch_due_reminders, remind
from tests.unit.journey.payment_desk import PaymentDesk

SHARES = {"ani": 5_000_000, "budi": 3_000_000, "citra": 2_000_000}
SOUTH_SULAWESI = "73"  # WITA, UTC+8
JAKARTA = "31"  # WIB, UTC+7
PAPUA = "91"  # WIT, UTC+9


@pytest.fixture
def desk() -> PaymentDesk:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def borrower_in(desk: PaymentDesk, province: str, borrower: str = "bora") -> str:
    desk.borrower(borrower)
    data = desk.uow.run(lambda tx: tx.get(USERS, borrower), read_only=True)
    assert data is not None
    data["borrower_profile"]["province_code"] = province
    desk.uow.run(lambda tx: tx.set(USERS, borrower, data))
    return borrower


def due_soon(desk: PaymentDesk, borrower: str = "bora") -> Envelope:
    return desk.origin.event(
        EventType.INSTALLMENT_DUE_SOON,
        InstallmentDueSoon(
            loan_id="loan-9",
            borrower_id=borrower,
            installment=2,
            due_date=date(2026, 12, 5),
            amount_due=1_755_300,
        ),
    )


def deliver(desk: PaymentDesk, event: Envelope, notifier: RecordingNotifier) -> None:
    """What `collections` does with one delivery of the event (the consumer's own record of
    it aside: tests/functions/test_collections.py delivers through the function)."""
    remind(desk.uow, desk.uow, event, notifier, clock=desk.clock)


def dispatch(desk: PaymentDesk, notifier: RecordingNotifier, at: datetime) -> int:
    return dispatch_run(desk, notifier, at).sent


def dispatch_run(desk: PaymentDesk, notifier: RecordingNotifier, at: datetime) -> DispatchRun:
    desk.clock.set(at)
    return dispatch_due_reminders(desk.uow, notifier, clock=desk.clock)


def reminders(desk: PaymentDesk) -> list[ReminderRecord]:
    docs = desk.uow.documents("reminders")  # type: ignore[attr-defined]
    return [ReminderRecord.model_validate(d) for d in docs.values()]


def test_a_reminder_due_at_21_wita_waits_until_08_wita_the_next_morning(desk, notifier):
    borrower_in(desk, SOUTH_SULAWESI)
    desk.clock.set(datetime(2026, 12, 1, 13, 0, tzinfo=UTC))  # Tuesday 21:00 WITA, 20:00 WIB
    deliver(desk, due_soon(desk), notifier)
    assert notifier.delivered == []
    [reminder] = reminders(desk)
    assert reminder.send_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # Wednesday 08:00 WITA
    assert reminder.time_zone == "Asia/Makassar"

    assert dispatch(desk, notifier, datetime(2026, 12, 1, 23, 59, tzinfo=UTC)) == 0  # 07:59
    assert dispatch(desk, notifier, datetime(2026, 12, 2, 0, 0, tzinfo=UTC)) == 1  # 08:00 WITA
    [sent] = notifier.to("bora")
    assert sent.sent_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert "Rp 1.755.300" in sent.text and "05-12-2026" in sent.text
    assert dispatch(desk, notifier, datetime(2026, 12, 2, 0, 15, tzinfo=UTC)) == 0
    assert len(notifier.delivered) == 1
    [reminder] = reminders(desk)
    assert reminder.state == "sent" and reminder.sent_at == sent.sent_at


def test_the_same_instant_is_already_contact_hours_in_jakarta_and_after_them_in_papua(
    desk, notifier
):
    borrower_in(desk, JAKARTA, "bora")
    borrower_in(desk, PAPUA, "papa")
    desk.clock.set(datetime(2026, 12, 1, 11, 30, tzinfo=UTC))  # 18:30 WIB, 20:30 WIT
    deliver(desk, due_soon(desk, "bora"), notifier)
    deliver(desk, due_soon(desk, "papa"), notifier)
    assert [n.recipient_id for n in notifier.delivered] == ["bora"]  # sent right away
    waiting = {r.recipient_id: r.send_at for r in reminders(desk) if r.state == "pending"}
    assert waiting == {"papa": datetime(2026, 12, 1, 23, 0, tzinfo=UTC)}  # 08:00 WIT


def test_a_reminder_due_on_saturday_evening_waits_until_monday_morning(desk, notifier):
    borrower_in(desk, JAKARTA)
    desk.clock.set(datetime(2026, 12, 5, 13, 30, tzinfo=UTC))  # Saturday 20:30 WIB
    deliver(desk, due_soon(desk), notifier)
    [reminder] = reminders(desk)
    assert reminder.send_at == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 08:00 WIB
    assert dispatch(desk, notifier, datetime(2026, 12, 6, 3, 0, tzinfo=UTC)) == 0  # Sunday 10:00
    assert dispatch(desk, notifier, datetime(2026, 12, 7, 1, 0, tzinfo=UTC)) == 1


def test_a_reminder_due_on_christmas_waits_for_the_next_contact_day(desk, notifier):
    borrower_in(desk, JAKARTA)
    desk.clock.set(datetime(2026, 12, 25, 3, 0, tzinfo=UTC))  # Friday 10:00 WIB, Natal
    deliver(desk, due_soon(desk), notifier)
    assert notifier.delivered == []
    [reminder] = reminders(desk)
    assert reminder.send_at == datetime(2026, 12, 26, 1, 0, tzinfo=UTC)  # Saturday 08:00 WIB


def test_a_reminder_beyond_the_holiday_table_keeps_new_year_and_warns_ops(desk, notifier, caplog):
    borrower_in(desk, JAKARTA)
    desk.clock.set(datetime(2027, 1, 1, 3, 0, tzinfo=UTC))  # Friday 10:00 WIB, New Year
    deliver(desk, due_soon(desk), notifier)
    assert notifier.delivered == []
    [reminder] = reminders(desk)
    assert reminder.send_at == datetime(2027, 1, 2, 1, 0, tzinfo=UTC)  # Saturday 08:00 WIB
    assert "add the year's joint decree" in caplog.text


def test_an_event_delivered_three_times_reminds_the_borrower_once(desk, notifier):
    borrower_in(desk, JAKARTA)
    event = desk.origin.event(
        EventType.INSTALLMENT_OVERDUE,
        InstallmentOverdue(
            loan_id="loan-9",
            borrower_id="bora",
            installment=1,
            due_date=date(2026, 11, 22),
            amount_overdue=1_755_300,
        ),
    )
    for _ in range(3):  # e.g. the consumer stopped before recording the event, twice
        deliver(desk, event, notifier)
    assert len(notifier.to("bora")) == 1
    assert notifier.attempts == 1  # the later deliveries found it sent: nothing to send
    assert len(reminders(desk)) == 1


def test_each_lender_of_a_maturing_loan_hears_once_with_their_own_outstanding_principal(
    desk, notifier
):
    loan = desk.active_loan(SHARES)
    desk.pay(loan, desk.installments(loan)[0].total)  # principal 1,605,300, split 5:3:2
    event = desk.origin.event(
        EventType.LOAN_MATURING,
        LoanMaturing(loan_id=loan, maturity_date=date(2027, 5, 26), outstanding_principal=0),
    )
    desk.clock.set(datetime(2026, 12, 28, 3, 0, tzinfo=UTC))  # Monday 10:00 WIB
    for _ in range(3):
        deliver(desk, event, notifier)
    assert sorted(n.recipient_id for n in notifier.delivered) == ["ani", "budi", "citra"]
    assert all(n.recipient_role == "lender" for n in notifier.delivered)
    # Lenders without a stated province are contacted in WIB.
    assert {r.time_zone for r in reminders(desk)} == {"Asia/Jakarta"}
    assert "Rp 4.197.350" in notifier.to("ani")[0].text  # 5,000,000 − 802,650


class LosesTheAnswer(RecordingNotifier):
    """Delivers the first send but the answer never arrives (a timeout after delivery)."""

    def send(self, notification: Notification) -> Delivery:
        delivery = super().send(notification)
        if self.attempts == 1:
            raise NotifierUnavailable("timed out waiting for the answer")
        return delivery


def test_a_send_whose_answer_is_lost_is_repeated_and_the_service_delivers_it_once(desk):
    notifier = LosesTheAnswer()
    borrower_in(desk, JAKARTA)
    desk.clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # 22:00 WIB
    deliver(desk, due_soon(desk), notifier)
    with pytest.raises(NotifierUnavailable):
        dispatch(desk, notifier, datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    [reminder] = reminders(desk)
    assert reminder.state == "pending"  # not lost: the next run sends it again
    assert dispatch(desk, notifier, datetime(2026, 12, 2, 1, 15, tzinfo=UTC)) == 1
    assert notifier.attempts == 2 and len(notifier.to("bora")) == 1
    [reminder] = reminders(desk)
    assert reminder.state == "sent" and reminder.delivery_id == "n-1"


def test_a_refused_reminder_is_recorded_and_does_not_hold_up_the_others(desk, notifier):
    borrower_in(desk, JAKARTA, "bora")
    borrower_in(desk, JAKARTA, "gone")
    notifier.refuse("gone")
    desk.clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # 22:00 WIB: both wait
    deliver(desk, due_soon(desk, "gone"), notifier)
    deliver(desk, due_soon(desk, "bora"), notifier)
    desk.clock.set(datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    run = dispatch_due_reminders(desk.uow, notifier, clock=desk.clock)
    assert (run.sent, run.refused, run.waiting) == (1, 1, 0)
    states = {r.recipient_id: r.state for r in reminders(desk)}
    assert states == {"bora": "sent", "gone": "refused"}


def test_an_outage_at_the_event_leaves_the_reminder_for_the_dispatcher(desk, notifier):
    borrower_in(desk, JAKARTA)
    desk.clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 10:00 WIB: due now
    notifier.fail_next(1)
    deliver(desk, due_soon(desk), notifier)  # applied all the same
    assert notifier.delivered == []
    assert dispatch(desk, notifier, datetime(2026, 12, 1, 3, 15, tzinfo=UTC)) == 1
    assert len(notifier.to("bora")) == 1


def test_the_reminders_are_stored_one_per_event_and_person(desk, notifier):
    borrower_in(desk, JAKARTA)
    event = due_soon(desk)
    deliver(desk, event, notifier)
    stored = desk.uow.run(lambda tx: Reminders(tx).get(f"{event.event_id}~bora"), read_only=True)
    assert stored is not None and stored.event_type == "installment.due_soon"


def overdue_notice(desk: PaymentDesk, loan: str, number: int = 1) -> Envelope:
    installment = desk.installments(loan)[number - 1]
    return desk.origin.event(
        EventType.INSTALLMENT_OVERDUE,
        InstallmentOverdue(
            loan_id=loan,
            borrower_id="bora",
            installment=number,
            due_date=installment.due_date,
            amount_overdue=installment.total,
        ),
    )


def test_an_overdue_reminder_is_withdrawn_when_the_borrower_pays_before_contact_hours(
    desk, notifier
):
    loan = desk.active_loan(SHARES)  # installment 1 due Saturday 26 December 2026
    desk.clock.set(datetime(2026, 12, 27, 3, 0, tzinfo=UTC))  # Sunday: no contact
    deliver(desk, overdue_notice(desk, loan), notifier)
    [reminder] = reminders(desk)
    assert reminder.installment == 1 and reminder.state == "pending"
    desk.clock.set(datetime(2026, 12, 27, 15, 0, tzinfo=UTC))  # Sunday 22:00 WIB
    desk.pay(loan, desk.installments(loan)[0].total)

    run = dispatch_run(desk, notifier, datetime(2026, 12, 28, 1, 0, tzinfo=UTC))  # 08:00 WIB
    assert (run.sent, run.withdrawn, run.waiting) == (0, 1, 0)
    assert notifier.attempts == 0  # the borrower is not chased for what they paid
    [reminder] = reminders(desk)
    assert reminder.state == "withdrawn"
    assert reminder.withdrawn_reason == "the installment was paid"
    assert dispatch(desk, notifier, datetime(2026, 12, 28, 1, 15, tzinfo=UTC)) == 0


def test_an_overdue_reminder_still_goes_out_after_a_part_payment(desk, notifier):
    loan = desk.active_loan(SHARES)
    desk.clock.set(datetime(2026, 12, 27, 3, 0, tzinfo=UTC))  # Sunday
    deliver(desk, overdue_notice(desk, loan), notifier)
    desk.pay(loan, 1_000_000)  # of 1,755,300
    run = dispatch_run(desk, notifier, datetime(2026, 12, 28, 1, 0, tzinfo=UTC))
    assert (run.sent, run.withdrawn) == (1, 0)
    assert len(notifier.to("bora")) == 1


def test_a_maturing_notice_is_withdrawn_from_the_lenders_of_a_loan_settled_early(desk, notifier):
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    desk.clock.set(datetime(2026, 12, 26, 15, 0, tzinfo=UTC))  # Saturday 22:00 WIB
    deliver(
        desk,
        desk.origin.event(
            EventType.LOAN_MATURING,
            LoanMaturing(
                loan_id=loan,
                maturity_date=schedule[-1].due_date,
                outstanding_principal=sum(i.principal for i in schedule),
            ),
        ),
        notifier,
    )
    assert [r.state for r in reminders(desk)] == ["pending"] * 3  # Monday 08:00 WIB
    desk.pay(loan, desk.payoff(loan).total)  # settled early on Sunday
    run = dispatch_run(desk, notifier, datetime(2026, 12, 28, 1, 0, tzinfo=UTC))
    assert (run.sent, run.withdrawn) == (0, 3)
    assert {r.withdrawn_reason for r in reminders(desk)} == {"the loan is repaid"}
    assert notifier.attempts == 0
