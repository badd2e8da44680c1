"""Write-offs on the Firestore emulator, through the real client
(shared/services/write_offs.py, docs/lending-rules.md#write-off):

- a loan of 1,000 lenders whose write-off a commit fault interrupts after its first chunk,
  and a second confirmation finishes exactly;
- the worked collection story, from the first missed installment to a recovery after the
  write-off, with the borrower's reminders sent through the notifications sandbox within
  their contact hours (shared/services/reminders.py,
  docs/lending-rules.md#overdue-and-collection); its hand-worked table is below.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from emulators.launcher import EmulatorProcess
from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from shared.adapters.notifications import HttpNotifier
from shared.domain.events import parse_event
from shared.domain.loan import LoanState
from shared.platform.errors import StoreUnavailable
from shared.records.users import USERS
from shared.services.overdue import sweep_overdue
from shared.services.reminders import dispatch_due_reminders, remind
from tests.unit.journey.funding_desk import seed_funders
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk

pytestmark = pytest.mark.emulator


@pytest.fixture
def desk(firestore_client) -> PaymentDesk:
    uow = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), max_attempts=10, snapshot_lag=timedelta(0)
    )
    desk = PaymentDesk(uow)
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


def test_a_write_off_of_1000_lenders_interrupted_after_a_chunk_resumes_and_ends_exact(
    desk: PaymentDesk, firestore_emulator, firestore_client, monkeypatch
) -> None:
    lenders = [f"l{n:04d}" for n in range(1000)]
    desk.rules = desk.rules.model_copy(update={"max_lenders_per_loan": 1000})
    loan = desk.loan(100_000_000)
    seed_funders(desk, lenders, 100_000, loan=loan)
    desk.commit("l0000", loan, 100_000)
    desk.disburse(loan)
    desk.confirm_payout(loan, "PAYOUT-1000")  # (the seeded money was never on a statement)
    first_due = desk.installments(loan)[0].due_date
    desk.clock.set(datetime.combine(first_due + timedelta(days=90), time(3), tzinfo=UTC))
    desk.propose_write_off(loan)

    run = desk.uow.run
    chunks: list[object] = []

    def crash_after_the_first_chunk(work, **kwargs):  # type: ignore[no-untyped-def]
        result = run(work, **kwargs)
        if getattr(work, "__name__", "") == "chunk":
            chunks.append(result)
            if len(chunks) == 1:
                firestore_emulator.fail_commits(
                    firestore_client.project, code="DEADLINE_EXCEEDED", count=None,
                    path_prefix="money_plans/",
                )  # fmt: skip
        return result

    monkeypatch.setattr(desk.uow, "run", crash_after_the_first_chunk)
    try:
        with pytest.raises(StoreUnavailable):
            desk.confirm_write_off(loan)
    finally:
        firestore_emulator.clear_commit_faults()
    monkeypatch.setattr(desk.uow, "run", run)
    recorded = [s for s in desk.stakes(loan).values() if s.principal_written_off]
    assert len(recorded) == 200  # exactly the first chunk
    assert desk.loan_record(loan).state is LoanState.ACTIVE  # the receivable is not cleared yet

    view = desk.confirm_write_off(loan)  # asked again: resumes
    assert view.principal_written_off == 100_000_000 and view.lender_count == 1000
    stakes = desk.stakes(loan)
    assert all(s.principal_written_off == 100_000 for s in stakes.values())
    assert len(desk.receipts("l0999")) == 1 and len(desk.receipts("l0000")) == 1
    assert desk.balance(f"loan_principal:{loan}") == 0
    assert desk.balance(f"loan_lenders_claim:{loan}") == 0
    assert desk.loan_record(loan).state is LoanState.WRITTEN_OFF
    assert_reconciles(desk)


# --- the worked collection story ----------------------------------------------------------------
#
# Rp 10,000,000 over six months (annuity, 1.5% a month), funded by ani 5,000,000, budi
# 3,000,000 and citra 2,000,000, disbursed 26 Nov 2026. Every installment is Rp 1,755,300:
# installment 1 (due Sat 26 Dec 2026) is principal 1,605,300 + interest 150,000, installment 2
# (due Tue 26 Jan 2027) 1,629,400 + 125,900, installment 3 (due Fri 26 Feb) 1,653,800 +
# 101,500. The borrower runs a shop in Makassar (South Sulawesi, WITA = UTC+8) and pays
# nothing until 5 Feb 2027. The product charges 0.05% a day on the unpaid principal and
# interest of installments more than 3 days late; the cap (productive, 2026 on) is 0.067% a
# day of the outstanding balance, Rp 6,700 on Rp 10,000,000: never reached here.
#
# Late fees (each day rounded down; a day's fee shared by what is unpaid on each installment,
# the rupiah left by largest remainder, a tie to the older one):
#   30 Dec – 29 Jan, 31 days, installment 1 alone: 1,755,300 × 0.05% = 877.65 → 877 a day:
#     27,187, all installment 1's;
#   30 Jan – 5 Feb, 7 days, installments 1 and 2: 3,510,600 × 0.05% = 1,755.3 → 1,755 a day,
#     878 + 877: installment 1 6,146, installment 2 6,139;
#   by the payment: installment 1 33,333, installment 2 6,139, in all 39,472.
#
# The payment of Rp 1,000,000 on Fri 5 Feb pays installment 1 oldest-first: late fee 33,333,
# interest 150,000, principal 816,667. Split 5:3:2 (principal by what each is owed, all of
# it so far), the leftover rupiah by largest remainder:
#   late fee 16,666.5 / 9,999.9 / 6,666.6 → 16,666 / 10,000 / 6,667;
#   interest 75,000 / 45,000 / 30,000; principal 408,333.5 / 245,000.1 / 163,333.4 →
#   408,334 / 245,000 / 163,333;
#   platform fee 10% of interest 7,500 / 4,500 / 3,000, its VAT (11/12 × 12%) 825 / 495 / 330,
#   PPh 23 15% of interest and late fee 13,750 (13,749.9) / 8,250 / 5,500 (5,500.05);
#   net 477,925 / 286,755 / 191,170 (955,850 + fees 15,000 + VAT 1,650 + PPh 27,500 = 1,000,000).
#
# Then installment 1 owes principal 788,633, the balance is 9,183,333 (cap 6,152 a day):
#   6 Feb – 1 Mar, 24 days, installments 1 and 2 (2,543,933 unpaid): 1,271 a day, 394 to
#     installment 1;
#   2 Mar – 26 Mar, 25 days, installments 1–3 (4,299,233 unpaid): 2,149 a day, 394 to
#     installment 1; installment 1's late fee since the payment: 49 × 394 = 19,306.
#
# Fri 26 Mar 2027, installment 1 is 90 days past due: admin.credit proposes the write-off,
# admin.finance confirms it. Each lender loses their outstanding principal: 4,591,666 /
# 2,755,000 / 1,836,667 (= 9,183,333, the principal receivable cleared).
#
# Mon 5 Apr 2027 a recovery of Rp 500,000 pays installment 1's late fee 19,306 and principal
# 480,694. Late fee 9,653 / 5,791.8 / 3,861.2 → 9,653 / 5,792 / 3,861; principal by what each
# is still owed (their losses) 240,346.97 / 144,208.21 / 96,138.82 → 240,347 / 144,208 /
# 96,139; no interest, so no platform fee; PPh 23 1,448 / 869 / 579; net 248,552 / 149,131 /
# 99,421 (497,104 + 2,896 = 500,000).
STORY_SHARES = {"ani": 5_000_000, "budi": 3_000_000, "citra": 2_000_000}
PAID_NET = {"ani": 477_925, "budi": 286_755, "citra": 191_170}
LOSS = {"ani": 4_591_666, "budi": 2_755_000, "citra": 1_836_667}
RECOVERED_PRINCIPAL = {"ani": 240_347, "budi": 144_208, "citra": 96_139}
RECOVERED_NET = {"ani": 248_552, "budi": 149_131, "citra": 99_421}
BALANCE = {"ani": 726_477, "budi": 435_886, "citra": 290_591}  # paid + recovered nets
LATE_FEES_BY_THE_PAYMENT = 39_472
LATE_FEES_BY_THE_WRITE_OFF = 39_472 + 24 * 1_271 + 25 * 2_149  # 123,701
REMINDER_EVENTS = ("installment.due_soon", "installment.overdue", "loan.maturing")
SWEEP_AT = time(17, 30)  # UTC: 00:30 in Jakarta the next day, the sweep's schedule
WITA_08 = time(0, 0)  # UTC: 08:00 in Makassar


@pytest.fixture(scope="module")
def notifications_sandbox() -> Iterator[str]:
    process = EmulatorProcess.python_module(
        "ops-notifications", "emulators.sandboxes.ops_notifications", "--port", "0"
    )
    with process:
        yield process.ready_line.split()[2]  # "READY ops-notifications http://127.0.0.1:PORT"


class Collections:
    """The collections functions' work on the story's clock: every reminder event the sweep
    published is delivered to `remind`, and the dispatcher runs when asked."""

    def __init__(self, desk: PaymentDesk, publisher: RecordingPublisher, url: str) -> None:
        self.desk, self.publisher = desk, publisher
        self.notifier = HttpNotifier(f"{url}/v1/notifications")
        self.delivered = 0
        self.url = url

    def deliver_published(self) -> int:
        fresh = self.publisher.messages[self.delivered :]
        self.delivered = len(self.publisher.messages)
        events = [parse_event(m.data) for m in fresh if m.topic in REMINDER_EVENTS]
        for event in events:
            remind(self.desk.uow, self.desk.uow, event, self.notifier, clock=self.desk.clock)
        return len(events)

    def dispatch(self, at: datetime) -> int:
        self.desk.clock.set(at)
        return dispatch_due_reminders(self.desk.uow, self.notifier, clock=self.desk.clock).sent

    def sweep(self, day: date, *, by_hand_at: datetime | None = None) -> None:
        """The sweep of Jakarta `day` at 00:30 there, its notices delivered and sent at 08:00
        WITA; or run by hand at `by_hand_at`, its notices delivered and left to wait."""
        self.desk.clock.set(by_hand_at or datetime.combine(day - timedelta(days=1), SWEEP_AT,
                                                           tzinfo=UTC))  # fmt: skip
        sweep_overdue(self.desk.uow, origin=self.desk.origin)
        if self.deliver_published() and by_hand_at is None:
            self.dispatch(datetime.combine(day, WITA_08, tzinfo=UTC))

    def sent_to(self, recipient: str) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.url}/v1/notifications", params={"recipient_id": recipient}, trust_env=False
        ).raise_for_status()
        found: list[dict[str, Any]] = answer.json()["notifications"]
        return found


def test_the_collection_story_from_missed_installments_to_a_recovery(
    firestore_client, notifications_sandbox: str
) -> None:
    publisher = RecordingPublisher()
    uow = FirestoreUnitOfWork(firestore_client, publisher, max_attempts=10,
                              snapshot_lag=timedelta(0))  # fmt: skip
    desk = PaymentDesk(uow)
    uow.clock = desk.clock  # type: ignore[attr-defined]
    httpx.delete(f"{notifications_sandbox}/v1/notifications", trust_env=False).raise_for_status()
    collections = Collections(desk, publisher, notifications_sandbox)
    desk.borrower("bora")
    profile = desk.user("bora").borrower_profile
    assert profile is not None
    makassar = profile.model_copy(update={"province_code": "73"})  # South Sulawesi, WITA
    moved = {"borrower_profile": makassar.model_dump(mode="json")}
    uow.run(lambda tx: tx.update(USERS, "bora", moved))
    loan = desk.active_loan(STORY_SHARES)
    assert [i.due_date for i in desk.installments(loan)][:3] == [
        date(2026, 12, 26), date(2027, 1, 26), date(2027, 2, 26)
    ]  # fmt: skip
    collections.delivered = len(publisher.messages)  # what funding published is not ours

    # Daily sweeps up to the first due date: the due-soon notice on 23 Dec, sent at 08:00 WITA.
    for day in _days(date(2026, 11, 27), date(2026, 12, 26)):
        collections.sweep(day)
    # Sun 27 Dec's 00:30 run is missed; ops catch it up by hand at 20:00 WIB, 21:00 WITA.
    collections.sweep(date(2026, 12, 27), by_hand_at=datetime(2026, 12, 27, 13, 0, tzinfo=UTC))
    assert_reconciles(desk)
    collections.sweep(date(2026, 12, 28))  # Monday's run, on time: nothing new to tell
    # The overdue notice came at 21:00 WITA on a Sunday: it waits for Monday 08:00 WITA.
    assert collections.dispatch(datetime(2026, 12, 27, 23, 45, tzinfo=UTC)) == 0  # 07:45
    assert collections.dispatch(datetime(2026, 12, 28, 0, 0, tzinfo=UTC)) == 1
    for day in _days(date(2026, 12, 29), date(2027, 2, 5)):
        collections.sweep(day)
    assert desk.loan_record(loan).overdue.late_fees == LATE_FEES_BY_THE_PAYMENT  # type: ignore[union-attr]
    assert_reconciles(desk)

    desk.clock.set(datetime(2027, 2, 5, 3, 0, tzinfo=UTC))  # Fri 10:00 WIB
    desk.pay(loan, 1_000_000)
    assert {lender: desk.wallet(lender).available for lender in STORY_SHARES} == PAID_NET
    assert_reconciles(desk)

    for day in _days(date(2027, 2, 6), date(2027, 3, 26)):
        collections.sweep(day)
    assert desk.loan_record(loan).overdue.late_fees == LATE_FEES_BY_THE_WRITE_OFF  # type: ignore[union-attr]
    desk.clock.set(datetime(2027, 3, 26, 3, 0, tzinfo=UTC))  # 90 days past due
    desk.propose_write_off(loan)  # admin.credit
    view = desk.confirm_write_off(loan)  # admin.finance, another person
    assert view.principal_written_off == sum(LOSS.values())
    stakes = desk.stakes(loan)
    assert {lender: stakes[lender].principal_written_off for lender in STORY_SHARES} == LOSS
    assert desk.loan_record(loan).state is LoanState.WRITTEN_OFF
    assert_reconciles(desk)
    collections.sweep(date(2027, 3, 27))  # a written-off loan is no longer swept: no notice

    desk.clock.set(datetime(2027, 4, 5, 3, 0, tzinfo=UTC))  # Mon 10:00 WIB
    desk.pay(loan, 500_000)  # a recovery
    for lender in STORY_SHARES:
        [recovery] = [r for r in desk.receipts(lender) if r.recovery]
        assert (recovery.principal, recovery.net) == (
            RECOVERED_PRINCIPAL[lender], RECOVERED_NET[lender]
        )  # fmt: skip
    assert {lender: desk.wallet(lender).available for lender in STORY_SHARES} == BALANCE
    assert desk.loan_record(loan).state is LoanState.WRITTEN_OFF
    assert_reconciles(desk)

    # What the borrower was told, and when: each notice once, at 08:00 in Makassar.
    told = collections.sent_to("bora")
    assert [n["sent_at"] for n in told] == [
        "2026-12-23T00:00:00.000000Z",  # installment 1 due soon (Wed)
        "2026-12-28T00:00:00.000000Z",  # installment 1 overdue: came Sun 21:00 WITA
        "2027-01-23T00:00:00.000000Z",  # installment 2 due soon (Sat)
        "2027-01-27T00:00:00.000000Z",  # installment 2 overdue
        "2027-02-23T00:00:00.000000Z",  # installment 3 due soon
        "2027-02-27T00:00:00.000000Z",  # installment 3 overdue (Sat)
        "2027-03-23T00:00:00.000000Z",  # installment 4 due soon; written off before overdue
    ]
    assert told[1]["subject"] == "Angsuran ke-1 lewat jatuh tempo"
    assert "Rp 1.755.300" in told[1]["text"]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
