"""The payments benchmark's own arithmetic (scripts/bench/payments.py): the line fitted through
the writes, counting writes per collection transaction by transaction, and the whole harness
on the in-memory store at small sizes, its report's figures adding up."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from scripts.bench.funding import RecordingUnitOfWork
from scripts.bench.payments import (
    STAGES,
    Results,
    WritesByCollection,
    WritesFit,
    _sizes,
    check,
    describe,
    document_kind,
    fit_writes,
    measure_credited,
    measure_split,
    share_for,
)
from scripts.bench.report import Report
from shared.adapters.memory import MemoryUnitOfWork, RecordingPublisher
from shared.platform.store import DocumentTransaction
from tests.unit.journey.payment_desk import PaymentDesk

# --- the fit and the sizes ---------------------------------------------------------------------


def test_the_fit_gives_writes_per_lender_per_chunk_and_per_split() -> None:
    # 3 per lender, 6 per chunk, 5 per split: the sizes the benchmark runs, in 1, 1, 5 chunks.
    fit = fit_writes([(10, 1, 41), (100, 1, 311), (1000, 5, 3035)])
    assert fit == WritesFit(per_lender=3.0, per_chunk=6.0, constant=5.0)  # exactly: `≤ 3` met
    assert fit.at(1000, 5) == 3035
    # A line through the same counts would count each chunk's writes as the lenders'.
    assert fit_writes([(10, 1, 41), (1000, 5, 3035)]).per_lender > 3
    rough = fit_writes([(10, 1, 40), (100, 1, 310), (1000, 1, 3100)])  # not quite a line
    assert 3.0 < rough.per_lender < 3.2 and rough.constant != 0


def test_sizes_in_one_chunk_each_fold_the_chunk_into_the_constant() -> None:
    # Counts exactly on 3 per lender give exactly 3, not 3.0000000000000004.
    assert fit_writes([(10, 1, 41), (30, 1, 101), (60, 1, 191)]) == WritesFit(3.0, None, 11.0)


def test_one_size_makes_no_fit() -> None:
    with pytest.raises(ValueError, match="two different sizes"):
        fit_writes([(10, 1, 59), (10, 1, 60)])
    with pytest.raises(argparse.ArgumentTypeError):
        _sizes("100,100")
    assert _sizes("1000,10,100") == [10, 100, 1000]


def test_every_lender_takes_at_least_the_smallest_commitment_and_the_loan_is_big_enough() -> None:
    assert share_for(1000, 100_000) == 100_000
    assert share_for(10, 100_000) == 1_000_000
    assert share_for(3, 100_000) == 3_333_400  # whole hundreds, never below the smallest loan


# --- counting writes per collection, or per kind of document --------------------------------------


def _writes(tx: DocumentTransaction) -> None:
    tx.set("receipts", "r-1", {"n": 1})
    tx.set("receipts", "r-2", {"n": 2})
    tx.add_to("ledger_balances", "lender_available:L-1", {"balance": 5, "live": -5})
    tx.add_to("ledger_balances", "vat_payable~03", {"balance": 1})
    tx.add_to("lender_positions", "group~grup-a", {"live": -5})


def test_writes_per_collection_count_the_committed_attempt_once_and_add_up_to_the_total() -> None:
    inner = MemoryUnitOfWork()
    recording = RecordingUnitOfWork(inner)
    collections = WritesByCollection(recording)
    collections.run(_writes)
    inner.contend(2)  # the next transaction commits at its third attempt
    collections.run(_writes)
    assert collections.run(lambda tx: tx.get("receipts", "r-1"), read_only=True) == {"n": 1}
    assert collections.writes == {"receipts": 4, "ledger_balances": 4, "lender_positions": 2}
    assert sum(collections.writes.values()) == recording.writes == 10
    assert [t.operation for t in recording.transactions] == ["_writes", "_writes"]


def test_writes_per_kind_tell_a_lenders_balance_from_a_shard_and_a_groups_position() -> None:
    kinds = WritesByCollection(MemoryUnitOfWork(), kind=document_kind)
    kinds.run(_writes)
    assert kinds.writes == {
        "receipts": 2,
        "ledger_balances/lender_available": 1,
        "ledger_balances/vat_payable": 1,
        "lender_positions/group": 1,
    }


# --- the harness on the in-memory store -------------------------------------------------------


@pytest.fixture
def desk() -> PaymentDesk:
    uow = MemoryUnitOfWork(RecordingPublisher(), max_attempts=50)
    desk = PaymentDesk(uow)
    uow.clock = desk.clock
    return desk


def test_the_benchmark_runs_on_the_memory_store_and_its_figures_add_up(desk: PaymentDesk) -> None:
    credited = measure_credited(desk, 2, 5, print)
    splits = [measure_split(desk, lenders, print) for lenders in (3, 10, 30)]
    results = Results(credited, splits)

    # Every payment is split to every lender of its loan, to the rupiah, and credited.
    assert len(credited.paid) == len(credited.splits) == 5
    assert all(len(p.stages_s) == len(STAGES) for p in credited.paid)
    assert all(s.adds_up and s.lines == s.lenders == 10 for s in credited.splits)
    assert all(s.borrower_credit == 0 and s.allocated == s.amount for s in credited.splits)
    assert (credited.lenders, credited.lenders_credited) == (20, 20)

    for cost, lenders in zip(splits, (3, 10, 30), strict=True):
        assert cost.lenders == cost.lenders_credited == lenders
        assert cost.split.adds_up
        assert sum(cost.by_kind.values()) == cost.writes
        # Per lender: the available balance (with the live position), the stake, the receipt.
        assert cost.by_kind["ledger_balances/lender_available"] == lenders
        assert cost.by_kind["participations"] == cost.by_kind["lender_receipts"] == lenders
        assert "lender_positions/group" not in cost.by_kind  # no lender is in a group
        assert [t.operation for t in cost.before_split] == [
            "receive_payment.receive",
            "allocate_payment.allocate",
        ]
    assert check(results) == []

    assert results.fit == WritesFit(3.0, None, 11.0)  # one chunk each: 3 per lender
    report = Report(title="Payments", command="`bench`")
    describe(report, results)
    shown = report.render(load_at_end="n/a")
    credited_p99 = credited.spread().p99_s * 1000
    assert (
        f"| webhook → every lender credited (10 lenders), p99 | **{credited_p99:,.0f} ms** |"
        in shown
    )
    assert (
        "| payments split exactly / lenders credited exactly (10 lenders a loan) "
        "| **5** of 5 / **20** of 20 | all: met |"
    ) in shown
    assert (
        "| Firestore writes per split, fitted over 3, 10, 30 lenders | **3.00** per lender + 11 "
        "per split | ≤ 3 per lender + a constant per chunk and per split: met |"
    ) in shown
    assert "| a split to 30 lenders |" in shown
    assert f"| 30 | {splits[-1].seconds:,.2f} s | 3 |" in shown
    assert "`run_plan.chunk` × 1" in shown
    assert f"| **all** | **{splits[-1].writes:,}** |" in shown
    assert (
        "Per lender of the largest split: `ledger_balances/lender_available` 1.00 + "
        "`participations` 1.00 + `lender_receipts` 1.00 = **3.00**; everything else"
    ) in shown


def test_a_split_that_does_not_add_up_fails_the_benchmark(desk: PaymentDesk) -> None:
    credited = measure_credited(desk, 1, 1, print)
    splits = [measure_split(desk, lenders, print) for lenders in (3, 10)]
    short = dataclasses.replace(credited.splits[0], lender_side=credited.splits[0].lender_side - 1)
    credited.splits[0] = short
    credited.lenders_credited -= 1
    assert check(Results(credited, splits)) == [
        f"{short.payment_id} does not add up: {short}",
        "1 of 10 lenders were not credited exactly their nets",
    ]
