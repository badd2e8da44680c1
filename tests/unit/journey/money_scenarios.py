"""Money scenarios as checks over a `MoneyDesk`, run on the in-memory store
(tests/unit/journey/test_money.py) and on the Firestore emulator
(tests/integration/journey/test_money_on_the_emulator.py), so the two cannot disagree.

Every scenario reconciles after each step: nothing it does may create or lose a rupiah.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shared.domain.bank_statements import statement_csv
from shared.domain.errors import Conflict, InsufficientFunds
from shared.platform.errors import TransactionContended
from shared.platform.store import UnitOfWork
from shared.records.ledger import LEDGER_ENTRIES
from tests.unit.journey.money_desk import MoneyDesk, lender_account

Scenario = Callable[[MoneyDesk], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def assert_reconciles(desk: MoneyDesk) -> None:
    run = desk.reconcile()
    assert run.state == "passed", [p.message for p in run.problems]


def wallets(desk: MoneyDesk, *lenders: str) -> dict[str, tuple[int, int]]:
    """(available, reserved) per lender."""
    return {
        lender: (desk.wallet(lender).available, desk.wallet(lender).reserved) for lender in lenders
    }


@scenario
def the_worked_example(desk: MoneyDesk) -> None:
    """Three deposits declared, two arrive with a stray line; one payout made, one returned.
    The balances after each step are the table worked by hand in the comments."""
    ani = desk.lender("ani", "1110001111")
    budi = desk.lender("budi", "2220002222")
    citra = desk.lender("citra", "3330003333")
    deposits = {
        ani: desk.declare(ani, 5_000_000, "TOPUP-ANI-1"),
        budi: desk.declare(budi, 3_000_000, "TOPUP-BUDI-1"),
        citra: desk.declare(citra, 2_000_000, "TOPUP-CITRA-1"),
    }
    assert_reconciles(desk)

    # Day 1's statement: Ani's and Budi's transfers, and 750,000 from a stranger.
    first = desk.statement(
        [
            desk.transfer_in(ani, 5_000_000, "TOPUP-ANI-1"),
            desk.transfer_in(budi, 3_000_000, "TOPUP-BUDI-1"),
            desk.transfer_in(None, 750_000, "HADIAH", sender="9990009999"),
        ]
    )
    assert (first.line_count, first.lines_to_suspense, first.closing_balance) == (3, 3, 8_750_000)
    # | escrow cash 8,750,000 | suspense 8,750,000 | nobody credited yet |
    assert desk.platform() == {"escrow_cash": 8_750_000, "suspense": 8_750_000}
    assert wallets(desk, ani, budi, citra) == {ani: (0, 0), budi: (0, 0), citra: (0, 0)}
    assert_reconciles(desk)

    for lender, reference in ((ani, "TOPUP-ANI-1"), (budi, "TOPUP-BUDI-1")):
        desk.match(deposits[lender], desk.line(reference))
        desk.confirm(deposits[lender])
    desk.reject(deposits[citra])  # her transfer never came
    # | escrow 8,750,000 | suspense 750,000 (the stranger's) | Ani 5,000,000 | Budi 3,000,000 |
    assert desk.platform() == {"escrow_cash": 8_750_000, "suspense": 750_000}
    assert wallets(desk, ani, budi, citra) == {
        ani: (5_000_000, 0),
        budi: (3_000_000, 0),
        citra: (0, 0),
    }
    assert desk.wallet(ani).bank_account_verified and not desk.wallet(citra).bank_account_verified
    assert_reconciles(desk)

    paid = desk.withdraw(ani, 1_000_000)
    assert wallets(desk, ani) == {ani: (4_000_000, 1_000_000)}
    desk.approve(paid)
    desk.transfer(paid, "OUT-0001")
    returned = desk.withdraw(budi, 500_000)
    desk.approve(returned)
    desk.transfer(returned, "OUT-0002")
    # | escrow 7,250,000 | suspense 750,000 | Ani 4,000,000 | Budi 2,500,000 | 1.5m in transit |
    assert desk.platform() == {"escrow_cash": 7_250_000, "suspense": 750_000}
    assert wallets(desk, ani, budi) == {ani: (4_000_000, 0), budi: (2_500_000, 0)}
    run = desk.reconcile()
    assert run.state == "passed", [p.message for p in run.problems]
    assert run.statement is not None
    assert run.statement.ledger_at_cut_off == run.statement.closing_balance == 8_750_000
    assert run.statement.in_transit_total == -1_500_000

    # Day 2's statement: both payouts leave, and Budi's bank sends his back.
    second = desk.statement(
        [
            desk.transfer_out(1_000_000, "OUT-0001"),
            desk.transfer_out(500_000, "OUT-0002"),
            desk.transfer_in(budi, 500_000, "RETUR-OUT-0002"),
        ]
    )
    assert (second.lines_to_suspense, second.lines_unexplained) == (1, 0)
    desk.returned(returned, desk.line("RETUR-OUT-0002"))
    # | escrow 7,750,000 | suspense 750,000 | Ani 4,000,000 | Budi 3,000,000 |
    assert desk.platform() == {"escrow_cash": 7_750_000, "suspense": 750_000}
    assert wallets(desk, ani, budi, citra) == {
        ani: (4_000_000, 0),
        budi: (3_000_000, 0),
        citra: (0, 0),
    }
    run = desk.reconcile()
    assert run.state == "passed", [p.message for p in run.problems]
    assert run.statement is not None and run.statement.in_transit == ()
    assert run.statement.ledger_at_cut_off == second.closing_balance == 7_750_000
    # The stranger's line is the only one nobody accounts for yet.
    assert [line.amount for line in run.statement.open_lines] == [750_000]


@scenario
def a_deposit_confirms_once_however_often_it_is_confirmed(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    deposit = desk.deposit(ani, 1_000_000, "TOPUP-1")
    again = desk.confirm(deposit)
    assert again.state == "confirmed"
    assert desk.wallet(ani).available == 1_000_000
    assert_reconciles(desk)


@scenario
def a_statement_imported_twice_posts_once(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    data = statement_csv(desk.statement_file([desk.transfer_in(ani, 2_000_000, "TOPUP-1")]))
    first = desk.import_file(desk.upload(data))
    second = desk.import_file(desk.upload(data))
    assert first.id == second.id and second.state == "imported"
    assert desk.platform() == {"escrow_cash": 2_000_000, "suspense": 2_000_000}
    assert len(desk.lines()) == 1
    assert_reconciles(desk)


@scenario
def one_line_confirms_one_deposit(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    first = desk.declare(ani, 1_000_000, "TOPUP-1")
    second = desk.declare(ani, 1_000_000, "TOPUP-1")
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    line = desk.line("TOPUP-1")
    desk.match(first, line)
    with pytest.raises(Conflict, match="a line matches one deposit"):
        desk.match(second, line)
    desk.confirm(first)
    assert desk.wallet(ani).available == 1_000_000
    assert_reconciles(desk)


@scenario
def twenty_withdrawals_against_a_balance_for_five(desk: MoneyDesk) -> None:
    """Exactly five are reserved; the rest are refused with what is available; the balance
    never goes below zero. A request the store found contended is retried, as a client
    retries a 503 with the same Idempotency-Key."""
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 500_000, "TOPUP-1")
    outcomes: list[str] = []
    lock = threading.Lock()

    def withdraw() -> None:
        for _ in range(50):
            try:
                desk.withdraw(ani, 100_000)
                result = "reserved"
            except InsufficientFunds as refused:
                assert refused.available is not None and refused.available < 100_000
                result = "refused"
            except TransactionContended:
                continue
            with lock:
                outcomes.append(result)
            return

    threads = [threading.Thread(target=withdraw) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * 15 + ["reserved"] * 5
    assert wallets(desk, ani) == {ani: (0, 500_000)}
    assert_reconciles(desk)


@scenario
def a_hundred_confirmations_at_once_never_contend(desk: MoneyDesk) -> None:
    """Suspense and escrow cash are sharded and only ever incremented: confirmations for
    different lenders share no document they read."""
    lenders = [desk.lender(f"l{n:03d}", f"50000{n:05d}") for n in range(100)]
    deposits = [desk.declare(lender, 150_000, f"TOPUP-{lender}") for lender in lenders]
    desk.statement([desk.transfer_in(lender, 150_000, f"TOPUP-{lender}") for lender in lenders])
    for deposit, lender in zip(deposits, lenders, strict=True):
        desk.match(deposit, desk.line(f"TOPUP-{lender}"))
    failures: list[BaseException] = []

    def confirm(deposit: str) -> None:
        try:
            desk.confirm(deposit)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=confirm, args=(d,)) for d in deposits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert desk.platform() == {"escrow_cash": 15_000_000, "suspense": 0}
    assert all(desk.wallet(lender).available == 150_000 for lender in lenders[:5])
    assert_reconciles(desk)


@scenario
def a_corrupted_balance_is_reported_with_its_account(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 1_000_000, "TOPUP-1")
    assert_reconciles(desk)
    corrupt(desk.uow, lender_account("available", ani), 1_500_000)
    run = desk.reconcile()
    assert run.state == "failed"
    assert {p.account for p in run.problems if p.check == "balance-mismatch"} == {
        lender_account("available", ani)
    }


@scenario
def a_corrupted_entry_is_reported(desk: MoneyDesk) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 1_000_000, "TOPUP-1")
    entry_id = next(e for e in entry_ids(desk.uow) if e.startswith("deposit-"))
    data = desk.uow.run(lambda tx: tx.get(LEDGER_ENTRIES, entry_id))
    assert data is not None
    data["postings"][0]["amount"] += 1  # debits no longer equal credits
    desk.uow.run(lambda tx: tx.set(LEDGER_ENTRIES, entry_id, data))
    run = desk.reconcile()
    assert run.state == "failed"
    assert any(p.check == "unbalanced-entry" and p.entry_id == entry_id for p in run.problems)


def corrupt(uow: UnitOfWork, account: str, balance: int) -> None:
    """Write a balance straight into the store, as a bug or a hand edit would."""
    uow.run(lambda tx: tx.set("ledger_balances", account, {"account": account, "balance": balance}))


def entry_ids(uow: UnitOfWork) -> list[str]:
    return [doc.id for doc in uow.run(lambda tx: tx.query(LEDGER_ENTRIES), read_only=True)]
