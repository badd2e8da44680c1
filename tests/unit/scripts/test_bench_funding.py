"""The funding benchmark's own arithmetic (scripts/bench/funding.py): latency percentiles, the
race's loan size, counting a disbursement's writes transaction by transaction, and the whole
harness on the in-memory store at small sizes."""

from __future__ import annotations

import dataclasses
import random

import pytest

from scripts.bench.funding import (
    RecordingUnitOfWork,
    Results,
    Spread,
    TransactionCost,
    by_operation,
    check,
    describe,
    measure_completions,
    measure_disbursement,
    measure_race,
    race_principal,
)
from scripts.bench.report import Report
from shared.adapters.memory import MemoryUnitOfWork, RecordingPublisher
from shared.domain.errors import Conflict
from shared.domain.loan import LoanState
from shared.platform.store import DocumentTransaction
from shared.services.funding import commitment_amount
from tests.unit.journey.funding_desk import FundingDesk

# --- percentiles and the race's loan -----------------------------------------------------------


def test_a_spread_takes_p50_and_p99_whatever_the_order() -> None:
    seconds = [n / 1000 for n in range(1, 102)]  # 1 ms .. 101 ms
    random.Random(7).shuffle(seconds)
    spread = Spread.of(seconds)
    assert (spread.count, spread.p50_s, spread.p99_s, spread.max_s) == (101, 0.051, 0.100, 0.101)
    assert spread.shown() == "51 ms / 100 ms (max 101 ms, n = 101)"
    assert Spread.of([0.0042]).shown() == "4 ms / 4 ms (max 4 ms, n = 1)"


def test_a_spread_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no latencies"):
        Spread.of([])


def test_the_race_loan_makes_every_ask_but_the_last_and_cuts_the_last_to_the_minimum() -> None:
    principal = race_principal(20, 600_000, 100_000)
    assert principal == 11_500_000
    remaining, taken = principal, []
    for _ in range(20):
        taken.append(commitment_amount(600_000, remaining, 100_000))
        remaining -= taken[-1]
    assert taken == [600_000] * 19 + [100_000]
    assert remaining == 0
    with pytest.raises(Conflict, match="fully funded"):
        commitment_amount(600_000, remaining, 100_000)  # a 21st lender would be refused


def test_an_ask_that_could_strand_less_than_the_minimum_makes_no_race_loan() -> None:
    with pytest.raises(ValueError, match="less than Rp 100,000"):
        race_principal(20, 150_000, 100_000)


# --- counting writes ---------------------------------------------------------------------------


def _write(count: int):  # type: ignore[no-untyped-def]
    def write(tx: DocumentTransaction) -> int:
        for n in range(count):
            tx.set("things", f"thing-{count}-{n}", {"n": n})
        return count

    return write


def test_every_committed_transaction_is_counted_once_and_reads_alone_are_not() -> None:
    inner = MemoryUnitOfWork()
    counting = RecordingUnitOfWork(inner)
    assert counting.run(_write(3)) == 3
    inner.contend(2)  # the next transaction commits at its third attempt
    assert counting.run(_write(2)) == 2
    assert counting.run(lambda tx: tx.get("things", "thing-3-0"), read_only=True) == {"n": 0}
    assert inner.attempts == 1 + 3
    assert [(t.operation, t.writes, t.attempts) for t in counting.transactions] == [
        ("_write.write", 3, 1),
        ("_write.write", 2, 3),
    ]
    assert counting.writes == 5


def test_transactions_add_up_per_operation_in_the_order_they_first_ran() -> None:
    runs = [
        TransactionCost("plan", 0.5, 10, 8, 0),
        TransactionCost("chunk", 1.0, 200, 400, 0),
        TransactionCost("chunk", 0.25, 100, 200, 0, attempts=2),
        TransactionCost("last", 0.125, 2, 10, 1),
    ]
    assert by_operation(runs) == [
        (1, TransactionCost("plan", 0.5, 10, 8, 0)),
        (2, TransactionCost("chunk", 1.25, 300, 600, 0, attempts=3)),
        (1, TransactionCost("last", 0.125, 2, 10, 1)),
    ]


# --- the harness on the in-memory store -------------------------------------------------------


def test_the_benchmark_runs_on_the_memory_store_and_reports_each_figure_beside_its_target() -> None:
    publisher = RecordingPublisher()
    uow = MemoryUnitOfWork(publisher, max_attempts=50)
    desk = FundingDesk(uow)
    uow.clock = desk.clock

    completions = measure_completions(desk, publisher, 3, print)
    race = measure_race(desk, publisher, [uow] * 4, 2, print, ask=3_500_000)
    disbursed = measure_disbursement(desk, 250, print)

    assert len(completions.completing_s) == len(completions.opening_s) == 3
    assert race.outcomes == {"made": 6, "cut": 2}
    assert race.failures == 0
    assert len(race.attempts) == 8 and min(race.attempts) >= 1
    assert [(r.principal, r.funded_amount, r.stakes_total) for r in race.rounds] == [
        (10_600_000,) * 3
    ] * 2
    assert all(r.exact for r in race.rounds)

    assert (disbursed.state, disbursed.principal_funded) == (LoanState.ACTIVE, 25_000_000)
    operations = [t.operation for t in disbursed.transactions]
    assert operations == [
        "verify_by_inquiry.verify",  # the borrower's payout account, named by the bank
        "request_disbursement.<lambda>",
        "run_plan.chunk",
        "run_plan.chunk",
        "run_plan.last",
    ]
    chunks = [t for t in disbursed.transactions if t.operation == "run_plan.chunk"]
    # each lender's stake and committed balance are written in their chunk
    assert [t.writes - 2 * lenders >= 0 for t, lenders in zip(chunks, (200, 50), strict=True)] == [
        True,
        True,
    ]
    total = sum(t.writes for t in disbursed.transactions)
    assert disbursed.writes_per_lender == total / 250
    assert disbursed.transactions[-1].events == 1  # loan.disbursed

    results = Results(completions, race, disbursed)
    assert check(results) == []
    report = Report(title="Funding", command="`bench`")
    describe(report, results)
    shown = report.render(load_at_end="n/a")
    assert "| a disbursement to 250 lenders |" in shown
    assert (
        f"| Firestore writes per lender per disbursement | **{total / 250:.2f}** | ≤ 4: met |"
        in shown
    )
    assert "| 4 lenders committing to one loan at once: requests failed | **0** of 8" in shown
    assert "`run_plan.chunk` × 2" in shown


def test_a_loan_not_funded_exactly_fails_the_benchmark() -> None:
    publisher = RecordingPublisher()
    uow = MemoryUnitOfWork(publisher, max_attempts=50)
    desk = FundingDesk(uow)
    race = measure_race(desk, publisher, [uow] * 3, 1, print, ask=5_000_000)
    broken = dataclasses.replace(race.rounds[0], stakes_total=1)
    race.rounds[0] = broken
    disbursed = measure_disbursement(desk, 100, print)
    completions = measure_completions(desk, publisher, 1, print)
    problems = check(Results(completions, race, disbursed))
    assert problems == [f"{broken.loan_id} not funded exactly: {broken}"]
