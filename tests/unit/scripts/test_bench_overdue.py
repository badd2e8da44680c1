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
    MIX,
    WORST_MIX,
    ReadsByCollection,
    Results,
    check,
    describe,
    expected_swept,
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


def test_the_mix_spreads_every_kind_over_a_run_in_its_proportions() -> None:
    assert Counter(mix(100)) == MIX and set(MIX) == set(KINDS)
    assert Counter(mix(1000)) == {
        "current": 850,
        "due in 3 days": 30,
        "due today": 20,
        "credit pays today": 10,
        "overdue since yesterday": 10,
        "past due": 80,
    }
    # The worst case: every loan has something to do.
    assert Counter(mix(50, WORST_MIX)) == {kind: 10 for kind in KINDS if kind != "current"}


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


def _desk() -> tuple[PaymentDesk, MemoryUnitOfWork]:
    uow = MemoryUnitOfWork(RecordingPublisher(), max_attempts=50)
    desk = PaymentDesk(uow)
    uow.clock = desk.clock
    return desk, uow


@pytest.fixture(scope="module")
def results() -> Results:
    (desk, uow), (worst_desk, worst_uow) = _desk(), _desk()
    worst = (worst_desk, memory_writer(worst_uow))
    return run_all(desk, 40, memory_writer(uow), print, reconcile=True, worst=worst)


def test_the_benchmark_runs_on_the_memory_store_and_its_figures_add_up(results: Results) -> None:
    first, again, catch_up = results.first, results.again, results.catch_up
    assert sum(results.mix.values()) == first.loans == 40
    assert set(results.mix) == set(KINDS)
    # Only the loans with something to do are swept: not the current ones, and on the
    # catch-up only those with an installment due or past due (not those reminded today).
    waiting = results.mix["current"] + results.mix["due in 3 days"]
    assert first.run.loans_swept == 40 - results.mix["current"] == expected_swept(results.mix, 0)
    assert catch_up.run.loans_swept == 40 - waiting == expected_swept(results.mix, 2)
    assert again.run.loans_swept == 0
    # Every past-due loan is charged the same day's fee, two days' on the catch-up.
    per_loan = first.run.late_fees // results.mix["past due"]
    assert per_loan > 0 and first.run.late_fees == per_loan * results.mix["past due"]
    assert catch_up.run.late_fees == 2 * first.run.late_fees
    assert first.before.borrower_credit - first.after.borrower_credit == (
        CREDIT * results.mix["credit pays today"]
    )
    # Of every loan swept, the installment still owing and the next one (none of the
    # others' and not the whole schedule of 12).
    assert first.reads["installments"] == 2 * first.run.loans_swept
    # The same day again: one page that finds no loan due, and the backfill's record.
    assert again.all_writes == 0 and not again.reads
    assert again.page_reads == {"loans": 1, "overdue_sweep": 1}
    assert results.worst is not None
    worst = results.worst.sweep
    assert results.worst.mix == {kind: 8 for kind in KINDS if kind != "current"}
    assert worst.run.loans_swept == worst.loans == 40
    assert results.reconciled == "passed"
    assert check(results) == []

    report = Report(title="Overdue sweep", command="`bench`")
    describe(report, results)
    shown = report.render(load_at_end="n/a")
    swept = first.run.loans_swept
    assert (
        "| the daily overdue sweep over 40 active loans, a typical day "
        f"({100 * swept / 40:.0f}% of them with something to do) | **{first.seconds:,.1f} s** "
        f"({swept} loans swept) |"
    ) in shown
    assert (
        f"| Firestore documents, the day's sweep | **{first.all_reads / 40:.2f} reads, "
        f"{first.all_writes / 40:.2f} writes** per active loan; "
        f"{first.all_reads / swept:.2f} reads, {first.all_writes / swept:.2f} writes per "
        "swept loan |"
    ) in shown
    assert (
        "| the worst case: 40 active loans, every one with something to do | "
        f"**{worst.seconds:,.1f} s** (40 swept)"
    ) in shown
    assert "| the same day again | **0** loans swept," in shown
    assert "| late fees, receivables and credit add up | **yes** | all: met |" in shown
    assert "| `installments` | 2.00 | 0.00 | 0.20 | 2.00 | 0.20 |" in shown  # the worst case
    assert (
        f"| `sweep_overdue.sweep` × {swept} | {first.in_transactions_s:,.1f} s | {swept} |" in shown
    )
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
        f"the same day again: {first.run.loans_swept} loans swept, not 0",
        f"the same day again: late fees Rp {first.run.late_fees:,} reported, Rp 0 on the "
        "loans, Rp 0 in the ledger",
        f"the same day again charged Rp {first.run.late_fees:,} and wrote 0 documents",
    ]
