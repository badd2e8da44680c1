"""The money scenarios on the Firestore emulator, through the real client: the same checks
as on the in-memory store (tests/unit/journey/money_scenarios.py), with real transactions,
real contention and point-in-time reads; and production's limits refusing a commit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from shared.domain.bank_statements import statement_csv
from shared.platform.errors import StoreUnavailable
from shared.services.statement_imports import CHUNK_LINES
from tests.unit.journey.money_desk import MoneyDesk
from tests.unit.journey.money_scenarios import SCENARIOS, assert_reconciles

pytestmark = pytest.mark.emulator


@pytest.fixture
def desk(firestore_client) -> MoneyDesk:
    # Snapshots at the moment of reading: each step reconciles what the one before wrote.
    uow = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), max_attempts=5, snapshot_lag=timedelta(0)
    )
    desk = MoneyDesk(uow)
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_money_scenario_on_the_emulator(name: str, desk: MoneyDesk) -> None:
    SCENARIOS[name](desk)


@pytest.fixture
def faults(firestore_emulator, firestore_client):
    yield firestore_emulator
    firestore_emulator.clear_commit_faults()


def test_a_confirmation_whose_commit_fails_moves_nothing_and_the_retry_moves_it_once(
    desk: MoneyDesk, faults, firestore_client
) -> None:
    ani = desk.lender("ani", "1110001111")
    deposit = desk.declare(ani, 1_000_000, "TOPUP-1")
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    desk.match(deposit, desk.line("TOPUP-1"))

    with (
        faults.commits_refused(firestore_client.project, code="DEADLINE_EXCEEDED", count=None),
        pytest.raises(StoreUnavailable),
    ):
        desk.confirm(deposit)
    assert desk.wallet(ani).available == 0  # the crash moved nothing
    assert_reconciles(desk)

    desk.confirm(deposit)
    desk.confirm(deposit)  # the client retries once more: still one credit
    assert desk.wallet(ani).available == 1_000_000
    assert_reconciles(desk)


def test_aborted_commits_are_retried_and_a_withdrawal_reserves_once(
    desk: MoneyDesk, faults, firestore_client
) -> None:
    ani = desk.lender("ani", "1110001111")
    desk.deposit(ani, 1_000_000, "TOPUP-1")
    faults.fail_commits(firestore_client.project, code="ABORTED", count=2)
    desk.withdraw(ani, 400_000)
    assert (desk.wallet(ani).available, desk.wallet(ani).reserved) == (600_000, 400_000)
    assert_reconciles(desk)


def test_an_import_that_crashes_between_chunks_finishes_when_run_again(
    desk: MoneyDesk, faults, firestore_client, monkeypatch
) -> None:
    ani = desk.lender("ani", "1110001111")
    lines = [
        desk.transfer_in(None, 100_000 + n, f"STRAY-{n}", sender="9990009999")
        for n in range(CHUNK_LINES + 5)
    ]
    data = statement_csv(desk.statement_file(lines))
    upload = desk.upload(data)
    # The statement is registered and its first chunk lands; then every commit writing
    # statement lines is refused, as if the function died between chunks.
    run = desk.uow.run
    committed: list[object] = []

    def run_then_crash(work, **kwargs):  # type: ignore[no-untyped-def]
        result = run(work, **kwargs)
        committed.append(result)
        if len(committed) == 2:
            faults.fail_commits(
                firestore_client.project,
                code="DEADLINE_EXCEEDED",
                count=None,
                path_prefix="statement_lines/",
            )
        return result

    monkeypatch.setattr(desk.uow, "run", run_then_crash)
    with pytest.raises(StoreUnavailable):
        desk.import_file(upload)
    faults.clear_commit_faults()
    assert 0 < len(desk.lines()) < CHUNK_LINES + 5
    monkeypatch.setattr(desk.uow, "run", run)

    record = desk.import_file(upload)
    assert record.state == "imported"
    assert len(desk.lines()) == CHUNK_LINES + 5  # every line once
    desk.balance_carried = record.closing_balance
    desk.next_day()
    assert desk.wallet(ani).available == 0
    assert_reconciles(desk)
