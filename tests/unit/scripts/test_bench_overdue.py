"""The overdue sweep benchmark's own parts (scripts/bench/overdue.py): counting reads per
collection transaction by transaction, the mix of loans, renaming a template's ids, and the
whole harness on the in-memory store at a small size, its report's figures adding up and a
wrong sweep failing it."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from scripts.bench.funding import RecordingUnitOfWork
from scripts.bench.overdue import (
    CREDIT,
    KINDS,
    ReadsByCollection,
    Results,
    check,
    describe,
    memory_writer,
    mix,
    renamer,
    run_all,
)
from scripts.bench.report import Report
from shared.adapters.memory import MemoryUnitOfWork, RecordingPublisher
from shared.platform.store import DocumentTransaction, Where
from tests.unit.journey.payment_desk import PaymentDesk

# --- counting reads per collection -------------------------------------------------------------


def _reads(tx: DocumentTransaction) -> None:
    tx.get("loans", "l-1")
    tx.get_all("installments", ["l-1~001", "l-1~002", "l-1~003"])
    tx.query("payments", [Where("owner_id", "==", "l-1")])  # finds nothing: one read
    tx.set("loans", "l-1", {"n": 2})


def test_reads_per_collection_count_the_committed_attempt_once_and_pages_apart() -> None:
    inner = MemoryUnitOfWork()
    inner.seed("loans", "l-1", {"n": 1})
    recording = RecordingUnitOfWork(inner)
    reads = ReadsByCollection(recording)
    reads.run(_reads)
    inner.contend(2)  # the next transaction commits at its third attempt
    reads.run(_reads)
    assert reads.run(lambda tx: tx.query("loans"), read_only=True)[0].data == {"n": 2}
    assert reads.reads == {"loans": 2, "installments": 6, "payments": 2}
    assert reads.pages == {"loans": 1}
    assert sum(reads.reads.values()) == sum(t.reads for t in recording.transactions) == 10


# --- the loans ---------------------------------------------------------------------------------


def test_the_mix_spreads_every_kind_over_a_small_run_in_its_proportions() -> None:
    assert set(mix(30)) == set(KINDS)
    assert Counter(mix(1000)) == {
        "current": 700,
        "due in 3 days": 100,
        "due today": 100,
        "past due": 80,
        "credit pays today": 20,
    }


def test_a_template_id_is_renamed_only_where_it_stands_whole() -> None:
    rename = renamer({"loan-1": "od00007", "tmpl0-borrower": "odb00007"})
    assert rename('{"id": "loan-1~003", "loan_id": "loan-1"}') == (
        '{"id": "od00007~003", "loan_id": "od00007"}'
    )
    assert rename("late-fees-loan-1-2027-03-09 borrower_credit:tmpl0-borrower") == (
        "late-fees-od00007-2027-03-09 borrower_credit:odb00007"
    )
    assert rename("loan-12 and loan-1x stay") == "loan-12 and loan-1x stay"


# --- the harness on the in-memory store -------------------------------------------------------


@pytest.fixture(scope="module")
def results() -> Results:
    uow = MemoryUnitOfWork(RecordingPublisher(), max_attempts=50)
    desk = PaymentDesk(uow)
    uow.clock = desk.clock
    return run_all(desk, 40, memory_writer(uow), print, reconcile=True)


def test_the_benchmark_runs_on_the_memory_store_and_its_figures_add_up(results: Results) -> None:
    first, again, catch_up = results.first, results.again, results.catch_up
    assert sum(results.mix.values()) == first.loans == 40
    assert set(results.mix) == set(KINDS)
    assert (first.run.loans_swept, again.run.loans_swept, catch_up.run.loans_swept) == (40, 0, 40)
    # Every past-due loan is charged the same day's fee, two days' on the catch-up.
    per_loan = first.run.late_fees // results.mix["past due"]
    assert per_loan > 0 and first.run.late_fees == per_loan * results.mix["past due"]
    assert catch_up.run.late_fees == 2 * first.run.late_fees
    assert first.before.borrower_credit - first.after.borrower_credit == (
        CREDIT * results.mix["credit pays today"]
    )
    assert first.reads["installments"] == 12 * 40  # the whole schedule of every loan
    assert again.all_writes == 0 and again.reads == {"loans": 40}
    assert results.reconciled == "passed"
    assert check(results) == []

    report = Report(title="Overdue sweep", command="`bench`")
    describe(report, results)
    shown = report.render(load_at_end="n/a")
    assert f"| the overdue sweep over 40 active loans | **{first.seconds:,.1f} s** (" in shown
    assert (
        f"| Firestore documents per loan, the day's sweep | **{first.all_reads / 40:.2f} reads, "
        f"{first.all_writes / 40:.2f} writes** |"
    ) in shown
    assert "| the same day again | **0** loans swept," in shown
    assert "| late fees, receivables and credit add up | **yes** | all: met |" in shown
    assert "| `installments` | 12.00 | 0.00 |" in shown
    assert f"| `sweep_overdue.sweep` × 40 | {first.in_transactions_s:,.1f} s | 40 |" in shown
    assert "the whole ledger reconciled (`reconcile`): passed" in shown


def test_a_sweep_that_does_not_add_up_fails_the_benchmark(results: Results) -> None:
    first = results.first
    short = dataclasses.replace(first, late_fees_on_loans=first.late_fees_on_loans - 1)
    again = dataclasses.replace(results.again, run=results.first.run)
    wrong = dataclasses.replace(results, first=short, again=again)
    gained = first.after.late_fee_receivable - first.before.late_fee_receivable
    assert check(wrong) == [
        f"the day's sweep: late fees Rp {first.run.late_fees:,} reported, "
        f"Rp {first.late_fees_on_loans - 1:,} on the loans, Rp {gained:,} in the ledger",
        "the same day again: 40 loans swept, not 0",
        f"the same day again: late fees Rp {first.run.late_fees:,} reported, Rp 0 on the "
        "loans, Rp 0 in the ledger",
        f"the same day again charged Rp {first.run.late_fees:,} and wrote 0 documents",
    ]
