"""Benchmark a write-off on the Firestore emulator; writes benchmarks/write-off.md.

    python -m scripts.bench.write_off [--quick] [--lenders N] [--output PATH]

(`nox -s bench_write_off` runs it.) A loan funded by 1,000 lenders (seeded as the payment
benchmark seeds them: `scripts/bench/payments.active_loan`), disbursed, its first installment
paid and split, then left unpaid past the product's write-off threshold; `admin.credit`
proposes the write-off and `admin.finance` confirms it (shared/services/write_offs.py). The
confirmation is timed end to end (its plan over every lender, in chunks) and its Firestore
writes counted per collection. Target (docs/lending-rules.md#write-off): a write-off of a
1,000-lender loan in ≤ 60 s.

It is checked as it is measured: the loan is `written_off`, the lenders' losses add up to
the principal the receivable still held, and the ledger reconciles. A write-off that does
not add up fails the benchmark, whatever the target says.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from emulators.launcher import ROOT, EmulatorProcess, free_port_pair
from scripts.bench.firestore_emulator import git_commit
from scripts.bench.funding import RecordingUnitOfWork
from scripts.bench.payments import Progress, WritesByCollection, active_loan
from scripts.bench.report import Report, table, verdict
from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import MemoryUnitOfWork, RecordingPublisher
from shared.domain.loan import LoanState
from shared.services.reconciliation import reconcile
from shared.services.write_offs import WriteOffProposal, confirm_write_off, propose_write_off
from tests.unit.journey.payment_desk import PaymentDesk

DEFAULT_OUTPUT = ROOT / "benchmarks" / "write-off.md"
PROJECT = "bench-write-off"
TARGET_S = 60.0
PAST_THRESHOLD_DAYS = 95  # the product's write-off threshold is 90 days past due


@dataclass(frozen=True)
class WriteOffCost:
    lenders: int
    seconds: float
    writes: int
    by_collection: Counter[str]
    losses: int  # the lenders' losses, added up
    cleared: int  # the principal the receivable held when the write-off was confirmed
    reconciled: bool

    @property
    def adds_up(self) -> bool:
        return self.losses == self.cleared and self.reconciled


def measure(desk: PaymentDesk, lenders: int, progress: Progress) -> WriteOffCost:
    """A loan of `lenders` lenders written off; the confirmation timed and counted."""
    progress(f"a loan of {lenders:,} lenders, one installment paid")
    loan = active_loan(desk, "wo", lenders)
    schedule = desk.installments(loan.id)
    desk.pay(loan.id, schedule[0].total)
    late = schedule[1].due_date + timedelta(days=PAST_THRESHOLD_DAYS)
    desk.clock.set(datetime.combine(late, clock_time(3), tzinfo=UTC))
    propose_write_off(
        desk.uow,
        loan.id,
        WriteOffProposal(narrative="unreachable since the second installment"),
        admin_id="credit-1",
        origin=desk.origin,
    )
    cleared = desk.balance(f"loan_principal:{loan.id}")
    if not isinstance(desk.uow, FirestoreUnitOfWork | MemoryUnitOfWork):
        raise TypeError(f"cannot count the writes of {type(desk.uow).__name__}")
    recording = RecordingUnitOfWork(desk.uow)
    collections = WritesByCollection(recording)
    progress("confirming the write-off")
    started = time.perf_counter()
    done = confirm_write_off(collections, loan.id, admin_id="fin-1", origin=desk.origin)
    seconds = time.perf_counter() - started
    if done.loan_state != LoanState.WRITTEN_OFF.value:
        raise RuntimeError(f"{loan.id} is {done.loan_state} after the write-off")
    stakes = desk.stakes(loan.id)
    run = reconcile(
        desk.uow, kind="on_demand", day=desk.today(), run_id="bench-wo", origin=desk.origin
    )
    return WriteOffCost(
        lenders=lenders,
        seconds=seconds,
        writes=recording.writes,
        by_collection=collections.writes,
        losses=sum(s.principal_written_off for s in stakes.values()),
        cleared=cleared,
        reconciled=run.state == "passed",
    )


def describe(report: Report, cost: WriteOffCost) -> None:
    met = cost.seconds <= TARGET_S
    report.headline(
        f"a write-off of a {cost.lenders:,}-lender loan",
        f"**{cost.seconds:.1f} s**",
        f"≤ {TARGET_S:.0f} s: {verdict(met)}",
    )
    report.headline(
        "the lenders' losses / the principal cleared",
        f"Rp {cost.losses:,} / Rp {cost.cleared:,}",
        "equal: " + verdict(cost.losses == cost.cleared),
    )
    rows = [
        (f"`{name}`", f"{count:,}", f"{count / cost.lenders:.2f}")
        for name, count in cost.by_collection.most_common()
    ]
    report.section(
        f"A write-off of {cost.lenders:,} lenders",
        [
            "The loan's second installment was left unpaid for "
            f"{PAST_THRESHOLD_DAYS} days; `admin.credit` proposed the write-off and "
            "`admin.finance` confirmed it. The confirmation runs the plan `write-off-<loan>`: "
            "each chunk of lenders records their losses on their stakes and statements, the "
            "last step clears every receivable of the loan against the lenders' claim. Its "
            f"time is the whole `confirm_write_off` call; {cost.writes:,} documents written "
            f"by the transactions it committed ({cost.writes / cost.lenders:.2f} per lender), "
            f"and reconciliation {'passed' if cost.reconciled else 'FAILED'} afterwards.",
            "",
            *table(("collection", "writes", "per lender"), rows),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small loan, for a smoke run")
    parser.add_argument("--lenders", type=int, help="lenders of the loan written off")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    lenders = args.lenders or (30 if args.quick else 1000)

    def progress(message: str) -> None:
        print(f"[bench write-off] {message}", flush=True)

    quick = " --quick" if args.quick else ""
    report = Report(
        title="Write-off benchmark",
        command=f"`nox -s bench_write_off` (`python -m scripts.bench.write_off{quick}`) at "
        f"commit `{git_commit()}`",
    )
    port = free_port_pair()
    progress(f"starting the Firestore emulator on 127.0.0.1:{port}")
    with EmulatorProcess.python_module(
        "firestore", "emulators.firestore", "--host", "127.0.0.1", "--port", str(port)
    ):
        os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{port}"
        from google.cloud import firestore

        client = firestore.Client(project=PROJECT)
        try:
            uow = FirestoreUnitOfWork(client, RecordingPublisher())
            desk = PaymentDesk(uow)
            uow.clock = desk.clock
            cost = measure(desk, lenders, progress)
        finally:
            client.close()  # type: ignore[no-untyped-call]
    describe(report, cost)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report.write(args.output)
    progress(f"wrote {args.output}")
    if not cost.adds_up:
        progress(f"FAILED: the write-off does not add up: {cost}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
