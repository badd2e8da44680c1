"""The platform benchmark's own arithmetic: percentiles, the ramp's steps and verdicts, CPU
deltas of process trees, the report's tables, counting a request's Firestore documents, and
the seeded ledger reconciling (scripts/bench/)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scripts.bench.cpu import THIS_PROCESS, CpuSnapshot, cpu_use, tree_cpu_s
from scripts.bench.money import CountingUnitOfWork, ledger_documents
from scripts.bench.ramp import (
    RampResult,
    StepResult,
    percentile,
    ramp_rates,
    run_ramp,
    step_failure,
)
from scripts.bench.report import Report, table
from shared.adapters.memory import MemoryUnitOfWork, SequentialIds
from shared.platform.clock import SystemClock
from shared.platform.event_origin import EventOrigin
from shared.platform.store import DocumentTransaction
from shared.services.deposits import confirm_deposit
from shared.services.reconciliation import reconcile
from tests.unit.journey.money_desk import MoneyDesk

# --- percentiles and the ramp ----------------------------------------------------------------


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]  # 1 .. 100, shuffled order must not matter
    shuffled = values[::-1]
    assert percentile(shuffled, 0.5) == 50.0
    assert percentile(shuffled, 0.99) == 99.0
    assert percentile(shuffled, 1.0) == 100.0
    assert percentile(shuffled, 0.0) == 1.0
    assert percentile([0.3], 0.99) == 0.3


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200), st.floats(0, 1))
def test_a_percentile_is_one_of_the_values_and_grows_with_the_fraction(
    values: list[float], fraction: float
) -> None:
    found = percentile(values, fraction)
    assert found in values
    assert percentile(values, min(1.0, fraction + 0.1)) >= found


def test_percentile_refuses_no_values_or_a_fraction_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="within"):
        percentile([1.0], 99)


def test_ramp_rates_run_from_start_to_maximum_by_step() -> None:
    assert ramp_rates(5, 5, 40) == [5, 10, 15, 20, 25, 30, 35, 40]
    assert ramp_rates(0.5, 0.1, 0.8) == [0.5, 0.6, 0.7, 0.8]
    assert ramp_rates(5, 10, 20) == [5, 15]
    with pytest.raises(ValueError):
        ramp_rates(10, 5, 5)
    with pytest.raises(ValueError):
        ramp_rates(5, 0, 40)


def step(
    rate: float,
    latencies: list[float],
    *,
    offered: int | None = None,
    failed: int = 0,
    send_span_s: float | None = None,
) -> StepResult:
    offered = len(latencies) + failed if offered is None else offered
    return StepResult(
        offered_rate=rate,
        duration_s=10,
        offered=offered,
        send_span_s=(offered - 1) / rate if send_span_s is None else send_span_s,
        latencies_s=tuple(latencies),
        failed=failed,
    )


def test_a_step_passes_when_all_completed_in_time_at_the_offered_rate() -> None:
    assert step_failure(step(10, [0.2] * 100), 1.0) is None


def test_a_step_fails_on_a_failure_an_unscored_operation_a_slow_sender_or_its_p99() -> None:
    assert step_failure(step(10, [0.2] * 99, failed=1), 1.0) == "1 of 100 failed"
    assert step_failure(step(10, [0.2] * 98, offered=100), 1.0) == (
        "2 of 100 not completed in time: cannot keep up"
    )
    slow_sender = step(10, [0.2] * 100, send_span_s=20.0)  # 99 intervals in 20 s: 4.95/s
    assert step_failure(slow_sender, 1.0) == "sent only 5.0/s: cannot keep up"
    late = step(10, [0.2] * 98 + [1.5, 1.5])
    assert step_failure(late, 1.0) == "p99 1,500 ms is over 1,000 ms"
    assert step_failure(step(10, [0.2] * 99 + [1.5]), 1.0) is None  # the 100th is past p99


def test_the_ramp_stops_at_the_first_failing_step_and_keeps_it() -> None:
    p99s = {5.0: 0.3, 10.0: 0.6, 15.0: 1.4, 20.0: 0.5}
    ran: list[float] = []

    def run_step(rate: float) -> StepResult:
        ran.append(rate)
        return step(rate, [p99s[rate]] * 50)

    ramp = run_ramp([5, 10, 15, 20], run_step, 1.0)
    assert ran == [5, 10, 15]
    assert ramp.sustained_rate == 10
    assert ramp.stopped_by == "p99 1,400 ms is over 1,000 ms"


def test_a_ramp_whose_first_step_fails_sustains_nothing_and_one_that_ran_out_stops_by_nothing() -> (
    None
):
    failing = RampResult((step(5, [2.0] * 10),), 1.0)
    assert failing.sustained_rate is None
    passing = RampResult((step(5, [0.1] * 10), step(10, [0.1] * 10)), 1.0)
    assert passing.sustained_rate == 10
    assert passing.stopped_by is None


# --- CPU accounting ----------------------------------------------------------------------------


def test_cpu_use_is_the_difference_per_operation_and_leaves_the_client_out_of_the_platform() -> (
    None
):
    before = CpuSnapshot(100.0, {"scoring": 2.0, "firestore": 10.0, THIS_PROCESS: 1.0})
    after = CpuSnapshot(110.0, {"scoring": 4.5, "firestore": 11.5, THIS_PROCESS: 3.0})
    use = cpu_use(before, after, operations=50)
    assert use.cpu_s == {"scoring": 2.5, "firestore": 1.5, THIS_PROCESS: 2.0}
    assert use.ms_per_operation("scoring") == 50.0
    assert use.platform_cpu_s == 4.0
    assert use.platform_ms_per_operation == 80.0
    assert use.platform_cores == 0.4


def test_a_part_started_or_restarted_in_between_counts_what_its_new_tree_spent() -> None:
    before = CpuSnapshot(0.0, {"scoring": 30.0})
    after = CpuSnapshot(1.0, {"scoring": 0.4, "users": 0.2})  # scoring restarted, users new
    assert cpu_use(before, after, operations=1).cpu_s == {"scoring": 0.4, "users": 0.2}


def test_cpu_use_refuses_no_operations_or_snapshots_out_of_order() -> None:
    snapshot = CpuSnapshot(5.0, {})
    with pytest.raises(ValueError, match="positive"):
        cpu_use(CpuSnapshot(1.0, {}), snapshot, operations=0)
    with pytest.raises(ValueError, match="after"):
        cpu_use(snapshot, CpuSnapshot(5.0, {}), operations=1)


BURN_IN_A_CHILD = """
import subprocess, sys, time
subprocess.run([sys.executable, "-c",
    "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass"])
print("done", flush=True)
time.sleep(30)
"""


def test_a_process_tree_counts_the_cpu_of_children_that_have_exited() -> None:
    parent = subprocess.Popen([sys.executable, "-c", BURN_IN_A_CHILD], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == b"done"
        assert tree_cpu_s(parent.pid) >= 0.3
    finally:
        parent.kill()
        parent.wait()
    assert tree_cpu_s(parent.pid) == 0.0  # gone


# --- the report ------------------------------------------------------------------------------


def test_the_report_renders_headlines_sections_and_the_load_at_both_ends() -> None:
    report = Report("Bench", "`nox -s bench`", load_at_start="1.00 / 0.50 / 0.25")
    report.headline("p99", "**0.4 s**", "< 1 s: met")
    report.section("Details", ["a line"])
    text = report.render(load_at_end="2.00 / 1.00 / 0.50", now=datetime(2026, 12, 3, tzinfo=UTC))
    assert text.startswith("# Bench\n\nWritten by `nox -s bench` on 2026-12-03 00:00 UTC.")
    assert "| p99 | **0.4 s** | < 1 s: met |" in text
    assert "## Details\n\na line" in text
    assert "at the start: 1.00 / 0.50 / 0.25; at the end: 2.00 / 1.00 / 0.50" in text


def test_a_table_row_must_fill_its_columns() -> None:
    assert table(("a", "b"), [("1", "2")]) == ["| a | b |", "|---|---|", "| 1 | 2 |"]
    with pytest.raises(ValueError, match="1 cells under 2 columns"):
        table(("a", "b"), [("1",)])


# --- the money scenarios' pure parts ---------------------------------------------------------


def test_counting_adds_up_reads_outside_and_inside_transactions_and_the_outbox_marks() -> None:
    inner = MemoryUnitOfWork(max_attempts=5)
    desk = MoneyDesk(inner)
    inner.clock = desk.clock
    ani = desk.lender("ani", "1110001111")
    deposit = desk.declare(ani, 1_000_000, "TOPUP-1")
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    desk.match(deposit, desk.line("TOPUP-1"))
    counting = CountingUnitOfWork(inner)

    assert counting.run(lambda tx: tx.get("users", ani), read_only=True) is not None
    assert counting.run(lambda tx: tx.query("withdrawals", limit=10), read_only=True) == []
    assert (counting.cost.reads, counting.cost.transactions) == (2, 0)  # nothing found: 1 read
    confirm_deposit(counting, deposit, admin_id="fin-2", origin=desk.origin)

    # The confirmation: the deposit, its line and the lender read; the deposit, the line,
    # the entry, two balances, the lender's verified account and the event's outbox record
    # written; the event marked published after the commit.
    cost = counting.cost
    assert (cost.transactions, cost.reads, cost.writes, cost.outbox_marks) == (1, 5, 7, 1)
    assert cost.all_writes == 8


def test_the_seeded_ledger_reconciles_with_every_entry_and_balance() -> None:
    uow = MemoryUnitOfWork()
    at = datetime(2026, 12, 1, 3, tzinfo=UTC)
    documents = list(ledger_documents(40, 3, at=at))

    def seed(tx: DocumentTransaction) -> None:
        for collection, doc_id, data in documents:
            tx.set(collection, doc_id, data)

    uow.run(seed)
    clock = SystemClock()
    run = reconcile(
        uow,
        kind="on_demand",
        day=date(2026, 12, 3),
        run_id="bench",
        origin=EventOrigin("p2p", clock, SequentialIds()),
    )
    assert (run.state, run.entries_checked, run.problem_count) == ("passed", 40, 0)
    # escrow cash, suspense (both sharded) and three lenders' available money
    assert run.accounts_checked == 5
    assert run.escrow is not None
    assert run.escrow.escrow_cash == run.escrow.held_for_others == 20 * 100_000


def test_a_seeded_ledger_needs_whole_deposits_and_a_lender() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="pairs"):
        next(ledger_documents(3, 1, at=at))
    with pytest.raises(ValueError, match="lender"):
        next(ledger_documents(2, 0, at=at))
