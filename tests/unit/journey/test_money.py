"""Deposits, withdrawals, statements and reconciliation on the in-memory store: the shared
scenarios (money_scenarios.py), each operation's Firestore budget, and the refusals."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from shared.adapters.memory import MemoryUnitOfWork
from shared.domain.errors import Conflict, Forbidden, InsufficientFunds, ValidationFailed
from shared.platform.clock import JAKARTA
from shared.platform.store import UnitOfWork
from tests.unit.journey.money_desk import MoneyDesk
from tests.unit.journey.money_scenarios import SCENARIOS, assert_reconciles


@pytest.fixture
def desk() -> MoneyDesk:
    desk = MoneyDesk(MemoryUnitOfWork(max_attempts=5))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_money_scenario(name: str, desk: MoneyDesk) -> None:
    SCENARIOS[name](desk)


def cost(uow: UnitOfWork) -> tuple[int, int]:
    attempt = uow.last_attempt  # type: ignore[attr-defined]
    return attempt.reads, attempt.writes


def test_each_money_operation_keeps_its_firestore_budget(desk: MoneyDesk) -> None:
    """Reads and writes of each operation's transaction (the HTTP layer adds the
    Idempotency-Key's claim: one read and one write more, and the caller lookup: one read)."""
    ani = desk.lender("ani", "1110001111")
    deposit = desk.declare(ani, 1_000_000, "TOPUP-1")
    assert cost(desk.uow) == (1, 2)  # the lender; the deposit and its event
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    desk.match(deposit, desk.line("TOPUP-1"))
    assert cost(desk.uow) == (2, 2)
    desk.confirm(deposit)
    # The deposit, its line, the lender; the deposit, the line, the entry, suspense,
    # available, the lender's bank account (verified now) and the event.
    reads, writes = cost(desk.uow)
    assert reads + 2 <= 8 and writes + 1 <= 10, (reads, writes)
    assert (reads, writes) == (3, 7)
    withdrawal = desk.withdraw(ani, 400_000)
    assert cost(desk.uow) == (2, 5)  # the lender, available; entry, two balances, record, event
    desk.approve(withdrawal)
    desk.transfer(withdrawal, "OUT-1")
    assert cost(desk.uow)[1] <= 6


def test_a_deposit_below_the_minimum_or_from_someone_else_is_refused(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    with pytest.raises(ValidationFailed, match="the smallest deposit is Rp 100,000"):
        desk.declare(ani, 99_999, "TOPUP-1")
    desk.accounts[ani] = "9990009999"
    with pytest.raises(ValidationFailed, match="from your own bank account"):
        desk.declare(ani, 100_000, "TOPUP-1")


def test_a_line_that_does_not_show_the_deposit_cannot_be_matched(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    deposit = desk.declare(ani, 1_000_000, "TOPUP-1")
    desk.statement([desk.transfer_in(None, 900_000, "OTHER", sender="9990009999")])
    with pytest.raises(ValidationFailed) as refused:
        desk.match(deposit, desk.line("OTHER"))
    assert set(refused.value.field_errors) == {"amount", "sender", "transfer_reference"}


def test_who_matched_a_deposit_cannot_confirm_it(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    deposit = desk.declare(ani, 1_000_000, "TOPUP-1")
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    desk.match(deposit, desk.line("TOPUP-1"), admin="fin-1")
    with pytest.raises(Forbidden, match="maker-checker"):
        desk.confirm(deposit, admin="fin-1")
    assert desk.wallet(ani).available == 0


def test_an_admin_cannot_handle_their_own_money(desk: MoneyDesk) -> None:
    fin = desk.lender("fin-9", "1110001111")
    deposit = desk.declare(fin, 1_000_000, "TOPUP-1")
    desk.statement([desk.transfer_in(fin, 1_000_000, "TOPUP-1")])
    with pytest.raises(Forbidden, match="where you are the subject"):
        desk.match(deposit, desk.line("TOPUP-1"), admin="fin-9")


def test_who_approved_a_withdrawal_cannot_confirm_its_transfer(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 1_000_000, "TOPUP-1")
    withdrawal = desk.withdraw(ani, 300_000)
    desk.approve(withdrawal, admin="fin-1")
    with pytest.raises(Forbidden, match="maker-checker"):
        desk.transfer(withdrawal, "OUT-1", admin="fin-1")


def test_a_short_balance_is_refused_with_what_is_available(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 300_000, "TOPUP-1")
    with pytest.raises(InsufficientFunds) as refused:
        desk.withdraw(ani, 300_001)
    assert (refused.value.available, refused.value.account) == (300_000, "lender_available:ani")


def test_withdrawals_wait_for_a_verified_account_and_a_day_after_a_change(
    desk: MoneyDesk,
) -> None:
    from shared.services.bank_accounts import BankAccountInput, change_bank_account

    ani = desk.lender("ani", "1110001111")
    with pytest.raises(Conflict, match="not verified yet"):
        desk.withdraw(ani, 100_000)
    desk.deposit(ani, 1_000_000, "TOPUP-1")
    desk.withdraw(ani, 100_000)
    change_bank_account(
        desk.uow,
        desk.vault,
        ani,
        BankAccountInput(bank_code="014", account_number="1110001111", account_holder="Lender ani"),
        clock=desk.clock,
    )  # the same account again: nothing changes
    desk.withdraw(ani, 100_000)
    change_bank_account(
        desk.uow,
        desk.vault,
        ani,
        BankAccountInput(bank_code="008", account_number="4440004444", account_holder="Ani"),
        clock=desk.clock,
    )
    with pytest.raises(Conflict, match="not verified yet"):
        desk.withdraw(ani, 100_000)
    verified = desk.uow.run(lambda tx: tx.get("users", ani))
    assert verified is not None
    verified["bank_account"]["verified_at"] = verified["bank_account"]["changed_at"]
    desk.uow.run(lambda tx: tx.set("users", ani, verified))
    with pytest.raises(Conflict, match="withdrawals to it open at"):
        desk.withdraw(ani, 100_000)
    desk.clock.advance(hours=24)
    desk.withdraw(ani, 100_000)
    assert_reconciles(desk)


def test_a_rejected_withdrawal_returns_the_money(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 1_000_000, "TOPUP-1")
    withdrawal = desk.withdraw(ani, 600_000)
    desk.reject_withdrawal(withdrawal)
    assert (desk.wallet(ani).available, desk.wallet(ani).reserved) == (1_000_000, 0)
    with pytest.raises(Conflict):
        desk.approve(withdrawal)
    assert_reconciles(desk)


def test_statements_must_follow_one_another(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    desk.balance_carried = 0  # as if the bank's file missed the first statement's money
    with pytest.raises(Conflict, match="a statement is missing in between"):
        desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-2")])
    desk.balance_carried = 1_000_000
    desk.clock.advance(days=-1)
    with pytest.raises(Conflict, match="may not overlap"):
        desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-3")])


def test_a_statement_may_open_on_the_previous_cut_off_but_not_book_on_it(
    desk: MoneyDesk,
) -> None:
    """MT940 dates a daily statement's opening balance (:60F:) with the previous closing date."""
    ani = desk.lender("ani", "1110001111")
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    yesterday = desk.today() - timedelta(days=1)
    mt940_style = desk.statement([desk.transfer_in(ani, 500_000, "TOPUP-2")], opened_on=yesterday)
    assert (mt940_style.period_start, mt940_style.period_end) == (
        yesterday,
        yesterday + timedelta(days=1),
    )
    cut_off = desk.today() - timedelta(days=1)
    desk.clock.advance(days=-1)  # a line booked on the previous statement's cut-off
    with pytest.raises(Conflict, match="may not overlap"):
        desk.statement([desk.transfer_in(ani, 300_000, "TOPUP-3")], opened_on=cut_off)


def test_a_payout_imported_before_it_is_confirmed_is_explained_when_it_is(
    desk: MoneyDesk,
) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 1_000_000, "TOPUP-1")
    withdrawal = desk.withdraw(ani, 400_000)
    desk.approve(withdrawal)
    paid_on = desk.today()
    desk.statement([desk.transfer_out(400_000, "OUT-7")])
    assert [line.state for line in desk.lines() if line.direction == "debit"] == ["unexplained"]
    run = desk.reconcile()
    assert run.state == "failed"  # the bank paid out what the ledger does not know yet
    assert run.statement is not None and run.statement.difference == 400_000
    desk.transfer(withdrawal, "OUT-7", on=paid_on)
    assert [line.state for line in desk.lines() if line.direction == "debit"] == ["explained"]
    assert_reconciles(desk)


def test_the_daily_run_keeps_a_checkpoint_and_the_next_starts_from_it(desk: MoneyDesk) -> None:
    from shared.services.reconciliation import run_due

    ani = desk.lender("ani", "1110001111")
    deposit_day = desk.today()
    desk.deposit(ani, 1_000_000, "TOPUP-1")  # its statement moves the desk to the next day
    desk.clock.set(datetime.combine(desk.today(), time(0, 5), JAKARTA))
    [before] = run_due(desk.uow, origin=desk.origin)  # the deposit's day has not settled
    assert (before.day, before.since_checkpoint) == (deposit_day - timedelta(days=1), None)
    desk.clock.advance(minutes=10)
    [settled] = run_due(desk.uow, origin=desk.origin)
    assert (settled.day, settled.since_checkpoint, settled.state) == (
        deposit_day,
        before.day,
        "passed",
    )
    # A run checks every entry since its checkpoint that it can see: the statement line of
    # the deposit's day and the deposit, confirmed the next morning.
    assert settled.entries_checked == 2
    desk.deposit(ani, 500_000, "TOPUP-2")
    desk.clock.advance(days=2)  # missed days are caught up, each from the one before
    runs = run_due(desk.uow, origin=desk.origin)
    assert [r.day for r in runs] == [deposit_day + timedelta(days=n) for n in (1, 2, 3)]
    assert [r.since_checkpoint for r in runs] == [
        deposit_day + timedelta(days=n) for n in (0, 1, 2)
    ]
    assert [r.entries_checked for r in runs] == [3, 1, 0]
    assert all(r.state == "passed" for r in runs)
    assert run_due(desk.uow, origin=desk.origin) == []
