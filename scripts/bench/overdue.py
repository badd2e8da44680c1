"""Benchmark the daily overdue sweep on the Firestore emulator; writes benchmarks/overdue.md.

    python -m scripts.bench.overdue [--quick] [--loans N] [--output PATH]

(`nox -s bench_overdue` runs it.) It starts the Firestore emulator on free ports and runs
`sweep_overdue` (shared/services/overdue.py, docs/lending-rules.md#overdue-and-collection)
through `FirestoreUnitOfWork` over gRPC over 10,000 active loans, against its
target: the daily sweep over 10,000 loans in 120 s or less, with its Firestore reads and
writes per loan and per swept loan, by collection. The sweep reads only the loans with
something to do that day (`sweep_on`), so the target is measured on a typical day (`MIX`:
most loans have nothing to do), and the worst case, every loan with something to do
(`WORST_MIX`), is measured and reported beside it.

The loans. A few template loans are made by the use cases on a `PaymentDesk` (funded by
lenders seeded with `seed_funders`, disbursed, a payment made where the template needs one)
and swept by `sweep_overdue` up to yesterday, as the daily run would have left them. Each
template is one kind of the mix: current mid-month, an installment due in three days, one
due today, one that the borrower's credit pays today, one overdue since yesterday, one past
due beyond the grace days (late fees accrue). The templates' documents are then cloned under
new ids (the loan, its installments, stakes, payments, its borrower, and the ledger entries
of its receivable, payments and late fees, with the balances they add up to) and written
straight to the store with batched writes, as `seed_funders` writes lenders. The
disbursement's own cash movement (the lenders' committed money paid out of escrow) is not
cloned: the bank paid it once.

The runs, each through units of work that count the documents read and written per
collection (the committed attempt of each transaction) and time every transaction:

1. the day's sweep, a typical day: the loans with something to do swept once, timed;
2. the same sweep again the same day: it must sweep no loan;
3. two days later, the day between skipped: the catch-up sweeps the loans with something to
   do on either day, over two days;
4. the worst case, on a second store (another project on the same emulator) seeded with
   loans that all have something to do that day: every loan swept, timed.

Every run is checked (`check`): the loans swept (by kind, `SWEPT`), the late fees the run
reports equal the late fees the loans' records and the ledger's late-fee receivables gained,
every loan's receivables equal its lenders' claim, the borrowers' credit spent, and on the
quick size the whole ledger reconciles (`reconcile`). A sweep that is wrong fails the
benchmark.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TypeVar, cast

from emulators.launcher import ROOT, EmulatorProcess, free_port_pair
from scripts.bench.firestore_emulator import git_commit
from scripts.bench.funding import TransactionCost, by_operation
from scripts.bench.money import write_batched
from scripts.bench.payments import _Tallied, active_loan, collection_of
from scripts.bench.report import Report, table, verdict
from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import MemoryUnitOfWork, RecordingPublisher
from shared.domain.ledger import LOAN_RECEIVABLES, AccountId, AccountType, balance_changes
from shared.domain.loan import LoanState
from shared.platform.outbox import OUTBOX
from shared.platform.store import (
    DocRef,
    Document,
    DocumentTransaction,
    JsonDict,
    OrderBy,
    UnitOfWork,
    Where,
    operation_name,
)
from shared.records.installments import INSTALLMENTS
from shared.records.ledger import (
    HOT_SHARDS,
    LEDGER_BALANCES,
    LEDGER_ENTRIES,
    EntryRecord,
    balance_doc_id,
)
from shared.records.loans import LOANS, LoanRecord
from shared.records.participations import PARTICIPATIONS
from shared.records.payments import PAYMENTS
from shared.records.users import USERS
from shared.services.billing_split import split_payment
from shared.services.overdue import PAGE, WORKERS, SweepRun, sweep_overdue
from shared.services.repayments import allocate_payment
from shared.topology import function
from tests.unit.journey.payment_desk import PaymentDesk

T = TypeVar("T")

DEFAULT_OUTPUT = ROOT / "benchmarks" / "overdue.md"
PROJECT = "bench-overdue"

SWEEP_TARGET_S = 120.0
FUNCTION_TIMEOUT_S = function("overdue_sweep").timeout_s  # what a run may take in the cloud
TARGET_LOANS = 10_000

TODAY = date(2027, 3, 10)  # the benchmark's day: the sweep runs at 10:00 in Jakarta
SWEEP_HOUR = clock_time(3)  # UTC
LENDERS = 3  # lenders of each template loan
CREDIT = 300_000  # what the credit template's borrower overpaid

Progress = Callable[[str], None]
Writer = Callable[[Iterator[tuple[str, str, JsonDict]]], int]


class BenchmarkFailed(RuntimeError):
    """The use cases did something the benchmark's figures would misreport (a template that
    is not the kind it should be)."""


def at(day: date) -> datetime:
    return datetime.combine(day, SWEEP_HOUR, tzinfo=UTC)


# --- counting reads per collection -----------------------------------------------------------


class _Reads:
    """A transaction attempt that counts the documents it reads per collection (a query
    that finds nothing is one read, as Firestore bills it) and times the reads (the round
    trip and the decoding), and otherwise is `inner` (as scripts/bench/money.py's
    `_CountingReader` counts them in all)."""

    def __init__(
        self, inner: DocumentTransaction, tally: Counter[str], seconds: defaultdict[str, float]
    ) -> None:
        self._inner = inner
        self._tally = tally
        self._seconds = seconds

    def _timed(self, collection: str, read: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return read()
        finally:
            self._seconds[collection] += time.perf_counter() - started

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        self._tally[collection] += 1
        return self._timed(collection, lambda: self._inner.get(collection, doc_id))

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        self._tally[collection] += max(len(doc_ids), 1)
        return self._timed(collection, lambda: self._inner.get_all(collection, doc_ids))

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        self._tally.update(collection for collection, _ in refs)
        first = refs[0][0] if refs else "?"
        return self._timed(first, lambda: self._inner.get_documents(refs))

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        found = self._timed(
            collection, lambda: self._inner.query(collection, where, order_by, limit, fields)
        )
        self._tally[collection] += max(len(found), 1)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class ReadsByCollection(UnitOfWork):
    """Runs every transaction through `inner` and adds up, per collection, the documents
    read by the attempt that committed (each attempt starts its count afresh) and the
    seconds spent reading them, and the documents read by every read-only run (the sweep's
    pages of loan ids) under `pages`."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.reads: Counter[str] = Counter()
        self.read_s: defaultdict[str, float] = defaultdict(float)
        self.pages: Counter[str] = Counter()

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        tally: Counter[str] = Counter()
        seconds: defaultdict[str, float] = defaultdict(float)

        @functools.wraps(work)  # keeps the work's name, which names the transaction
        def attempt(tx: DocumentTransaction) -> T:
            tally.clear()
            seconds.clear()
            return work(cast(DocumentTransaction, _Reads(tx, tally, seconds)))

        result = self.inner.run(attempt, read_only=read_only)
        if read_only:
            self.pages.update(tally)
        else:
            self.reads.update(tally)
            for collection, spent in seconds.items():
                self.read_s[collection] += spent
        return result

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)


class CountedSweep(UnitOfWork):
    """Runs every transaction through `inner` and keeps, safely from several threads at once
    (the sweep runs a page's loans on a few), what `RecordingUnitOfWork`,
    `WritesByCollection` and `ReadsByCollection` keep one thread at a time: each
    transaction's cost (its attempts, and what the attempt that committed read, wrote and
    emitted), and the documents read and written per collection with the seconds spent
    reading. Each attempt counts afresh; read-only runs (the pages) count under `pages`."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.transactions: list[TransactionCost] = []
        self.reads: Counter[str] = Counter()
        self.read_s: defaultdict[str, float] = defaultdict(float)
        self.pages: Counter[str] = Counter()
        self.writes: Counter[str] = Counter()
        self.pages_s = 0.0  # wall time of the read-only runs (the pages)
        self._lock = threading.Lock()

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        read: Counter[str] = Counter()
        written: Counter[str] = Counter()
        seconds: defaultdict[str, float] = defaultdict(float)
        attempts = 0

        @functools.wraps(work)  # keeps the work's name, which names the transaction
        def attempt(tx: DocumentTransaction) -> T:
            nonlocal attempts
            attempts += 1
            read.clear()
            written.clear()
            seconds.clear()
            counted = _Tallied(
                cast(DocumentTransaction, _Reads(tx, read, seconds)), written, collection_of
            )
            return work(counted)

        started = time.perf_counter()
        result = self.inner.run(attempt, read_only=read_only)
        elapsed = time.perf_counter() - started
        with self._lock:
            if read_only:
                self.pages.update(read)
                self.pages_s += elapsed
                return result
            self.reads.update(read)
            self.writes.update(written)
            for collection, spent in seconds.items():
                self.read_s[collection] += spent
            self.transactions.append(
                TransactionCost(
                    operation=operation_name(work),
                    seconds=elapsed,
                    reads=sum(read.values()),
                    writes=sum(written.values()),
                    events=written[OUTBOX],
                    attempts=attempts,
                )
            )
        return result

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)


# --- the template loans ----------------------------------------------------------------------


KINDS = (
    "current",
    "due in 3 days",
    "due today",
    "credit pays today",
    "overdue since yesterday",
    "past due",
)
MIX = {
    "current": 85,
    "due in 3 days": 3,
    "due today": 2,
    "credit pays today": 1,
    "overdue since yesterday": 1,
    "past due": 8,
}
"""A typical day, of every 100 loans: monthly due dates spread over the month put about 3 in
a hundred at each of their days (3 days before, the due date, the day after, where most have
paid), and 8 in a hundred are in arrears beyond the grace days."""
WORST_MIX = {kind: 1 for kind in KINDS if kind != "current"}
"""The worst case: every loan has something to do that day (as when a month's loans were all
disbursed on one day), the kinds of work in equal shares."""
SWEPT = {
    "current": (False, False, False),
    "due in 3 days": (True, False, False),
    "due today": (True, False, True),
    "credit pays today": (True, False, True),
    "overdue since yesterday": (True, False, True),
    "past due": (True, False, True),
}
"""Whether the day's sweep, the same day again and the catch-up two days later sweep a loan
of each kind: a loan is swept on the days it has something to do (`sweep_on`), and an
installment still unpaid is swept every day from its due date on (the credit's payment is
not applied here: nothing consumes `payment.received`)."""


@dataclass(frozen=True)
class Template:
    """A loan made by the use cases, one of KINDS, that the clones copy."""

    kind: str
    loan_id: str
    borrower_id: str
    payments: tuple[str, ...]  # the loan's payments (ids), cloned with it


def _on(desk: PaymentDesk, day: date) -> None:
    desk.clock.set(at(day))


def _months_before(day: date, months: int) -> date:
    month = day.month - 1 - months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def templates(desk: PaymentDesk, kinds: Sequence[str], progress: Progress) -> list[Template]:
    """One loan of each of `kinds`, made by the use cases and swept up to the day before
    TODAY; each checked to be of its kind (which installment falls due when)."""
    disbursed = {
        "past due": _months_before(TODAY, 1) - timedelta(days=10),
        "credit pays today": _months_before(TODAY, 2),
        "overdue since yesterday": _months_before(TODAY, 1) - timedelta(days=1),
        "due today": _months_before(TODAY, 1),
        "due in 3 days": _months_before(TODAY, 1) + timedelta(days=3),
        "current": _months_before(TODAY, 1) + timedelta(days=13),
    }
    disbursed = {kind: day for kind, day in disbursed.items() if kind in kinds}
    made: list[Template] = []
    for kind, day in sorted(disbursed.items(), key=lambda item: item[1]):
        _on(desk, day)
        progress(f"  template {kind!r}: disbursed {day}")
        borrower = f"tmpl{len(made)}-borrower"
        loan = active_loan(desk, f"tmpl{len(made)}", LENDERS, borrower=borrower)
        payments: tuple[str, ...] = ()
        if kind == "credit pays today":
            _on(desk, day + timedelta(days=5))
            first = desk.installments(loan.id)[0]
            answer = desk.notify(loan.account, first.total + CREDIT)
            allocate_payment(desk.uow, answer.payment_id, origin=desk.origin)
            split_payment(desk.uow, answer.payment_id, origin=desk.origin)
            payments = (answer.payment_id,)
        made.append(Template(kind, loan.id, borrower, payments))
    _on(desk, TODAY - timedelta(days=1))
    sweep_overdue(desk.uow, origin=desk.origin)
    for template in made:
        _check_kind(desk, template)
    return made


def _check_kind(desk: PaymentDesk, template: Template) -> None:
    unpaid = [i for i in desk.installments(template.loan_id) if not i.settled]
    due = unpaid[0].due_date
    expected = {
        "current": due > TODAY + timedelta(days=3),
        "due in 3 days": due == TODAY + timedelta(days=3),
        "due today": due == TODAY,
        "past due": due < TODAY - timedelta(days=3),
        "credit pays today": due == TODAY and unpaid[0].number == 2,
        "overdue since yesterday": due == TODAY - timedelta(days=1),
    }[template.kind]
    if not expected:
        raise BenchmarkFailed(f"template {template.kind!r} has its first unpaid due {due}")


# --- cloning them -----------------------------------------------------------------------------

CLONED = re.compile(r"\bodb?\d{5}\b")
"""The ids of the clones' loans (`od00042`) and borrowers (`odb00042`)."""
NOT_CLONED = ("escrow_cash", "lender_committed:", "borrower_payout_in_transit:")
"""Entries touching these are the disbursement's cash movement, which the bank made once."""


@dataclass(frozen=True)
class Documents:
    """A template's documents to clone, as stored."""

    template: Template
    documents: tuple[tuple[str, str, JsonDict], ...]  # (collection, id, data)
    entries: tuple[EntryRecord, ...]


def _query(desk: PaymentDesk, collection: str, *where: Where) -> list[Document]:
    return desk.uow.run(lambda tx: tx.query(collection, list(where)), read_only=True)


def template_documents(desk: PaymentDesk, template: Template) -> Documents:
    """The loan's own documents: the loan, its installments, stakes and payments, its
    borrower, and the entries of its receivable, payments and late fees."""
    loan = template.loan_id
    documents: list[tuple[str, str, JsonDict]] = []
    for collection, field_name in (
        (LOANS, "id"),
        (INSTALLMENTS, "loan_id"),
        (PARTICIPATIONS, "loan_id"),
        (PAYMENTS, "owner_id"),
    ):
        documents += [
            (collection, d.id, d.data)
            for d in _query(desk, collection, Where(field_name, "==", loan))
        ]
    borrower = desk.uow.run(lambda tx: tx.get(USERS, template.borrower_id), read_only=True)
    assert borrower is not None
    documents.append((USERS, template.borrower_id, borrower))
    entries = []
    for doc in _query(desk, LEDGER_ENTRIES, Where("owners", "array_contains", loan)):
        record = EntryRecord.model_validate(doc.data)
        if not any(a.startswith(NOT_CLONED) for a in record.accounts):
            documents.append((LEDGER_ENTRIES, doc.id, doc.data))
            entries.append(record)
    return Documents(template, tuple(documents), tuple(entries))


def mix(loans: int, proportions: Mapping[str, int] = MIX) -> list[str]:
    """The kind of each of `loans` loans, in `proportions`, the kinds spread evenly (so that
    a small run has every kind)."""
    spread = sorted(
        ((n + 0.5) / share, kind) for kind, share in proportions.items() for n in range(share)
    )
    return [spread[n % len(spread)][1] for n in range(loans)]


def renamer(names: Mapping[str, str]) -> Callable[[str], str]:
    """Replaces each whole id in `names` (not as part of a longer id) by its new one."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    return lambda text: pattern.sub(lambda match: names[match.group(1)], text)


def clone_documents(
    sources: Mapping[str, Documents], kinds: Sequence[str], balances: dict[str, JsonDict]
) -> Iterator[tuple[str, str, JsonDict]]:
    """(collection, id, data) of loan `n` cloned from the template of `kinds[n]`, for every
    n; the balance changes of the cloned entries are added into `balances` (balance
    document id → document), to be written once every clone is."""
    for n, kind in enumerate(kinds):
        source = sources[kind]
        template = source.template
        names = {template.loan_id: f"od{n:05d}", template.borrower_id: f"odb{n:05d}"}
        names.update({p: f"{p}-{n:05d}" for p in template.payments})
        rename = renamer(names)
        for collection, doc_id, data in source.documents:
            yield collection, rename(doc_id), json.loads(rename(json.dumps(data)))
        for record in source.entries:
            entry = EntryRecord.model_validate_json(rename(record.model_dump_json())).to_entry()
            for (account, shard), change in balance_changes(entry, HOT_SHARDS).items():
                doc_id = balance_doc_id(account, shard)
                document = balances.setdefault(
                    doc_id, {"account": str(account), "shard": shard, "balance": 0}
                )
                document["balance"] += change


def seed_loans(
    desk: PaymentDesk,
    loans: int,
    write: Writer,
    progress: Progress,
    proportions: Mapping[str, int] = MIX,
) -> dict[str, int]:
    """`loans` active loans in all: the templates and their clones in `proportions`, written
    by `write`. How many loans of each kind."""
    made = templates(desk, list(proportions), progress)
    by_kind = {t.kind: t for t in made}
    sources = {kind: template_documents(desk, t) for kind, t in by_kind.items()}
    kinds = mix(loans - len(made), proportions)
    balances: dict[str, JsonDict] = {}
    started = time.perf_counter()
    written = write(clone_documents(sources, kinds, balances))
    # The balances the clones share with the templates (lenders', hot shards) hold
    # what is stored already, plus what the clones add.
    shared = [doc_id for doc_id in balances if not CLONED.search(doc_id)]
    stored = desk.uow.run(
        lambda tx: tx.get_all(LEDGER_BALANCES, shared) if shared else {}, read_only=True
    )
    for doc_id in shared:
        balances[doc_id]["balance"] += int((stored.get(doc_id) or {}).get("balance", 0))
    written += write((LEDGER_BALANCES, doc_id, data) for doc_id, data in balances.items())
    progress(f"  {written:,} documents written in {time.perf_counter() - started:.1f} s")
    counts = Counter(kinds)
    counts.update(t.kind for t in made)
    return dict(counts)


def memory_writer(uow: MemoryUnitOfWork) -> Writer:
    def write(documents: Iterator[tuple[str, str, JsonDict]]) -> int:
        written = 0
        for collection, doc_id, data in documents:
            uow.seed(collection, doc_id, data)
            written += 1
        return written

    return write


# --- the sweeps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """What the ledger's balances say about the loans, read in one go."""

    late_fee_receivable: int  # over every loan
    borrower_credit: int  # over every borrower
    loans_not_matching: tuple[str, ...]  # loans whose receivables ≠ their lenders' claim


def read_ledger(uow: UnitOfWork) -> Ledger:
    docs = uow.run(lambda tx: tx.query(LEDGER_BALANCES), read_only=True)
    totals: Counter[AccountId] = Counter()
    for doc in docs:
        totals[AccountId.parse(str(doc.data["account"]))] += int(doc.data.get("balance", 0))
    owed: Counter[str] = Counter()
    claimed: Counter[str] = Counter()
    for account, balance in totals.items():
        if account.type in LOAN_RECEIVABLES and account.owner is not None:
            owed[account.owner] += balance
        elif account.type is AccountType.LOAN_LENDERS_CLAIM and account.owner is not None:
            claimed[account.owner] += balance
    return Ledger(
        late_fee_receivable=sum(
            b for a, b in totals.items() if a.type is AccountType.LATE_FEE_RECEIVABLE
        ),
        borrower_credit=sum(b for a, b in totals.items() if a.type is AccountType.BORROWER_CREDIT),
        loans_not_matching=tuple(
            sorted(loan for loan in owed.keys() | claimed.keys() if owed[loan] != claimed[loan])
        ),
    )


def loans_late_fees(uow: UnitOfWork) -> tuple[int, int]:
    """(active loans, the late fees their records say the sweep has charged in all), read
    page by page."""
    loans = fees = 0
    after: str | None = None
    while True:

        def page(tx: DocumentTransaction, after: str | None = after) -> list[Document]:
            where = [Where("state", "==", LoanState.ACTIVE.value)]
            if after is not None:
                where.append(Where("id", ">", after))
            return tx.query(LOANS, where, [OrderBy("id")], 1000)

        docs = uow.run(page, read_only=True)
        for doc in docs:
            overdue = LoanRecord.model_validate(doc.data).overdue
            loans += 1
            fees += overdue.late_fees if overdue else 0
        if len(docs) < 1000:
            return loans, fees
        after = docs[-1].id


@dataclass(frozen=True)
class Sweep:
    """One run of the sweep, counted: its result, time, every transaction it committed, and
    the documents read and written per collection."""

    label: str
    day: date
    run: SweepRun
    seconds: float
    cpu_s: float  # this process's CPU
    pages_s: float  # reading the pages of loans due (and the backfill's record)
    transactions: tuple[TransactionCost, ...]
    reads: Counter[str]  # by the committed attempts of its transactions
    page_reads: Counter[str]  # by the read-only pages of loan ids
    read_s: Mapping[str, float]  # seconds the committed attempts spent reading, per collection
    writes: Counter[str]
    before: Ledger
    after: Ledger
    late_fees_on_loans: int  # what the loans' records gained
    loans: int  # active loans when it ran

    @property
    def all_reads(self) -> int:
        return sum(self.reads.values()) + sum(self.page_reads.values())

    @property
    def all_writes(self) -> int:
        return sum(self.writes.values())

    @property
    def in_transactions_s(self) -> float:
        return sum(t.seconds for t in self.transactions)

    @property
    def looked_at(self) -> int:
        """The loans the sweep read in a transaction of its own (swept, or found swept)."""
        return sum(1 for t in self.transactions if t.operation == "sweep_overdue.sweep")


def measure_sweep(desk: PaymentDesk, label: str, day: date, progress: Progress) -> Sweep:
    """The sweep on `day`, through units of work that count and time it."""
    if not isinstance(desk.uow, FirestoreUnitOfWork | MemoryUnitOfWork):
        raise TypeError(f"cannot count the reads of {type(desk.uow).__name__}")
    _on(desk, day)
    before, (loans, fees_before) = read_ledger(desk.uow), loans_late_fees(desk.uow)
    counted = CountedSweep(desk.uow)
    progress(f"{label}: sweeping {loans:,} active loans on {day}")
    cpu, started = time.process_time(), time.perf_counter()
    run = sweep_overdue(counted, origin=desk.origin)
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    progress(f"  {run.loans_swept:,} swept in {seconds:.1f} s, Rp {run.late_fees:,} late fees")
    fees_after = loans_late_fees(desk.uow)[1]
    return Sweep(
        label=label,
        day=day,
        run=run,
        seconds=seconds,
        cpu_s=cpu_s,
        pages_s=counted.pages_s,
        transactions=tuple(counted.transactions),
        reads=counted.reads,
        page_reads=counted.pages,
        read_s=counted.read_s,
        writes=counted.writes,
        before=before,
        after=read_ledger(desk.uow),
        late_fees_on_loans=fees_after - fees_before,
        loans=loans,
    )


@dataclass(frozen=True)
class Worst:
    """The worst case, on a store of its own: every loan has something to do."""

    mix: dict[str, int]
    seeding_s: float
    sweep: Sweep


@dataclass
class Results:
    mix: dict[str, int]
    seeding_s: float
    first: Sweep
    again: Sweep
    catch_up: Sweep
    worst: Worst | None = None
    reconciled: str | None = None  # the reconciliation's state (quick size), or None
    reconcile_problems: list[str] = field(default_factory=list)


def run_all(
    desk: PaymentDesk,
    loans: int,
    write: Writer,
    progress: Progress,
    *,
    reconcile: bool,
    worst: tuple[PaymentDesk, Writer] | None = None,
) -> Results:
    """The typical day's sweep, again, the catch-up; then, on `worst`'s store, the worst
    case."""
    progress(f"seeding {loans:,} active loans, a typical day")
    started = time.perf_counter()
    counts = seed_loans(desk, loans, write, progress)
    seeding_s = time.perf_counter() - started
    first = measure_sweep(desk, "the day's sweep", TODAY, progress)
    again = measure_sweep(desk, "the same day again", TODAY, progress)
    catch_up = measure_sweep(
        desk, "a catch-up after a skipped day", TODAY + timedelta(days=2), progress
    )
    results = Results(counts, seeding_s, first, again, catch_up)
    if reconcile:
        record = desk.reconcile()
        results.reconciled = record.state
        results.reconcile_problems = [p.message for p in record.problems]
    if worst is not None:
        worst_desk, worst_write = worst
        progress(f"seeding {loans:,} active loans, every one with something to do")
        started = time.perf_counter()
        worst_counts = seed_loans(worst_desk, loans, worst_write, progress, WORST_MIX)
        worst_seeding_s = time.perf_counter() - started
        sweep = measure_sweep(worst_desk, "the worst case", TODAY, progress)
        results.worst = Worst(worst_counts, worst_seeding_s, sweep)
    return results


def expected_swept(counts: Mapping[str, int], run: int) -> int:
    """The loans of `counts` that run `run` (0: the day's, 1: again, 2: the catch-up) sweeps."""
    return sum(n for kind, n in counts.items() if SWEPT[kind][run])


def check(results: Results) -> list[str]:
    """What went wrong with the sweep (not a missed target): the benchmark fails on it."""
    problems = []
    loans = sum(results.mix.values())
    first, again, catch_up = results.first, results.again, results.catch_up
    runs = [(first, results.mix, 0), (again, results.mix, 1), (catch_up, results.mix, 2)]
    if results.worst is not None:
        runs.append((results.worst.sweep, results.worst.mix, 0))
    for sweep, counts, run in runs:
        swept = expected_swept(counts, run)
        if sweep.loans != sum(counts.values()):
            problems.append(f"{sweep.label}: {sweep.loans:,} active loans, not {loans:,}")
        if sweep.run.loans_swept != swept:
            problems.append(f"{sweep.label}: {sweep.run.loans_swept:,} loans swept, not {swept:,}")
        gained = sweep.after.late_fee_receivable - sweep.before.late_fee_receivable
        if not sweep.run.late_fees == sweep.late_fees_on_loans == gained:
            problems.append(
                f"{sweep.label}: late fees Rp {sweep.run.late_fees:,} reported, "
                f"Rp {sweep.late_fees_on_loans:,} on the loans, Rp {gained:,} in the ledger"
            )
        if sweep.after.loans_not_matching:
            problems.append(
                f"{sweep.label}: {len(sweep.after.loans_not_matching)} loans' receivables differ "
                f"from their lenders' claim, e.g. {sweep.after.loans_not_matching[0]}"
            )
    if results.mix.get("past due") and not (first.run.late_fees and catch_up.run.late_fees):
        problems.append("loans past due beyond the grace days were charged no late fee")
    if again.run.late_fees or again.all_writes:
        problems.append(
            f"the same day again charged Rp {again.run.late_fees:,} and wrote "
            f"{again.all_writes:,} documents"
        )
    credit = results.mix.get("credit pays today", 0) * CREDIT
    spent = first.before.borrower_credit - first.after.borrower_credit
    if spent != credit:
        problems.append(f"borrowers' credit spent: Rp {spent:,}, not Rp {credit:,}")
    if results.reconciled not in (None, "passed"):
        problems.append(f"reconciliation {results.reconciled}: {results.reconcile_problems[:3]}")
    return problems


# --- the report -------------------------------------------------------------------------------

# What the sweep reads and writes in each collection, for the tables of where they go.
READ = {
    "loans": (
        "the loan, with its first installments in the same round trip (and, outside the "
        "transactions, the pages of loans due: of each, only its product and what says "
        "which installments its sweep reads first)"
    ),
    "installments": (
        "the loan's installments from the first still owing to the first owing due after "
        "today + 3 days, by id (the first two with the loan)"
    ),
    "products": "the products of a page's loans, once a page (outside the transactions)",
    "product_versions": "the product versions of a page's loans, once a page",
    "ledger_balances": "the borrower's credit, on a due date",
    "overdue_sweep": "the one-time backfill's record (done: one read a run)",
}
WRITTEN = {
    "loans": (
        "the loan's fields the sweep changes (an update): days past due, bucket, "
        "collectability, the day swept, `sweep_on`"
    ),
    "outbox": "the events: due soon, overdue, maturing, a payment from credit",
    "ledger_balances": "the late-fee receivable and the lenders' claim; the borrower's "
    "credit and the loan's unapplied receipts when credit pays",
    "ledger_entries": "the day's late fees as one entry; the credit's payment",
    "installments": "the late fee added to each past-due installment (that field alone)",
    "payments": "the payment the borrower's credit makes",
}


def _per(n: int, loans: int) -> str:
    return f"{n / loans:.2f}" if loans else "—"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def describe(report: Report, results: Results) -> None:
    """Each figure beside its target in the report's headline, and a section per run."""
    first, again, catch_up = results.first, results.again, results.catch_up
    loans = first.loans
    swept = first.run.loans_swept
    scaled = first.seconds * TARGET_LOANS / loans
    report.headline(
        f"the daily overdue sweep over {loans:,} active loans, a typical day "
        f"({_share(swept, loans)} of them with something to do)",
        f"**{first.seconds:,.1f} s** ({swept:,} loans swept)",
        f"≤ {SWEEP_TARGET_S:.0f} s for {TARGET_LOANS:,}: {verdict(scaled <= SWEEP_TARGET_S)}"
        + ("" if loans == TARGET_LOANS else f" (scaled: {scaled:,.1f} s)"),
    )
    report.headline(
        "Firestore documents, the day's sweep",
        f"**{first.all_reads / loans:.2f} reads, {first.all_writes / loans:.2f} writes** per "
        f"active loan; {_per(first.all_reads, swept)} reads, {_per(first.all_writes, swept)} "
        "writes per swept loan",
        "reported",
    )
    if results.worst is not None:
        worst = results.worst.sweep
        worst_scaled = worst.seconds * TARGET_LOANS / worst.loans
        report.headline(
            f"the worst case: {worst.loans:,} active loans, every one with something to do",
            f"**{worst.seconds:,.1f} s** ({worst.run.loans_swept:,} swept); "
            f"{_per(worst.all_reads, worst.run.loans_swept)} reads, "
            f"{_per(worst.all_writes, worst.run.loans_swept)} writes per swept loan",
            f"≤ {SWEEP_TARGET_S:.0f} s: {verdict(worst_scaled <= SWEEP_TARGET_S)}; within the "
            f"function's {FUNCTION_TIMEOUT_S} s timeout: "
            f"{verdict(worst_scaled <= FUNCTION_TIMEOUT_S)}"
            + ("" if worst.loans == TARGET_LOANS else f" (scaled: {worst_scaled:,.1f} s)"),
        )
    report.headline(
        "the same day again",
        f"**{again.run.loans_swept}** loans swept, {again.seconds:,.1f} s, "
        f"{again.all_reads:,} reads and {again.all_writes} writes in all",
        f"0 loans swept: {verdict(again.run.loans_swept == 0)}",
    )
    caught_up = expected_swept(results.mix, 2)
    report.headline(
        "a catch-up after a skipped day",
        f"**{catch_up.seconds:,.1f} s**, {catch_up.run.loans_swept:,} loans swept, "
        f"{_per(catch_up.all_reads, catch_up.run.loans_swept)} reads and "
        f"{_per(catch_up.all_writes, catch_up.run.loans_swept)} writes per swept loan",
        f"every loan with something to do ({caught_up:,}) swept: "
        f"{verdict(catch_up.run.loans_swept == caught_up)}",
    )
    problems = check(results)
    report.headline(
        "late fees, receivables and credit add up",
        "**yes**" if not problems else f"**no**: {problems[0]}",
        f"all: {verdict(not problems)}",
    )
    report.section(
        "How it runs",
        [
            "`sweep_overdue` runs in the benchmark's process through `FirestoreUnitOfWork` "
            "(its gRPC calls, `shared/adapters/firestore_rpc.py`) against the Firestore "
            "emulator, which "
            "runs in its own process, as the `overdue_sweep` function runs it: pages of "
            f"up to {PAGE} active loans whose `sweep_on` is today or earlier (of each loan "
            "only the fields the page needs, its product and which installments its sweep "
            "reads first; their products read once a page), one transaction per loan, "
            f"{WORKERS} loans at a time on a pool of threads, each page done before the next "
            "is asked for; a swept loan is read with its first installments in one round "
            "trip, and written only where the sweep changed it. A loan the sweep has nothing "
            "to do for that day is not read at all. The emulator and the benchmark share the "
            "machine's cores with whatever else runs.",
            "",
            "Template loans (12 monthly installments of the working-capital product, "
            f"{LENDERS} lenders each), one of each kind, are made by the use cases on a "
            "`PaymentDesk` and swept by `sweep_overdue` up to the day before, as the daily "
            "run leaves them (their `sweep_on` included; that first run also records the "
            "one-time backfill, which then finds nothing to do); their documents are cloned "
            "under new ids (the loan, installments, stakes, payments, borrower, and the "
            "ledger entries of the receivable, payments and late fees with the balances they "
            "add up to; not the disbursement's cash movement, which the bank made once) and "
            f"written with batched writes ({results.seeding_s:,.1f} s in all). The typical "
            f"day's mix of {loans:,} loans:",
            "",
            *table(
                ("kind", "loans", "what the day's sweep does"),
                [(kind, f"{results.mix.get(kind, 0):,}", _WHAT[kind]) for kind in KINDS],
            ),
            "",
            *(
                [
                    "The worst case is a second store, seeded the same way with "
                    f"{results.worst.sweep.loans:,} loans of the kinds with something to do, "
                    "in equal shares ("
                    + ", ".join(f"{kind} {n:,}" for kind, n in results.worst.mix.items())
                    + f"; {results.worst.seeding_s:,.1f} s to seed): the day a month's loans "
                    "all disbursed on one day fall due, or are reminded of it.",
                ]
                if results.worst is not None
                else []
            ),
        ],
    )
    sweeps = [first, again, catch_up]
    if results.worst is not None:
        sweeps.append(results.worst.sweep)
    for sweep in sweeps:
        _describe_sweep(report, sweep)
    worst_swept = (
        f", and {results.worst.sweep.run.loans_swept:,} in the worst case;"
        if results.worst is not None
        else ";"
    )
    checked = [
        f"- loans swept: {first.run.loans_swept:,}, then {again.run.loans_swept:,}, then "
        f"{catch_up.run.loans_swept:,}{worst_swept}",
        "- each run swept as many loans as had something to do that day, by kind (`SWEPT`);",
        f"- late fees: Rp {first.run.late_fees:,} the day's sweep, Rp {catch_up.run.late_fees:,} "
        "the catch-up, each equal to what the loans' records and the ledger's late-fee "
        "receivables gained;",
        f"- borrowers' credit spent on the day: Rp "
        f"{first.before.borrower_credit - first.after.borrower_credit:,};",
        "- every loan's receivables equal its lenders' claim after each run;",
    ]
    if results.reconciled is not None:
        checked.append(f"- the whole ledger reconciled (`reconcile`): {results.reconciled}.")
    else:
        checked.append("- (`reconcile` over the whole ledger runs on the quick size only.)")
    report.section(
        "Checked", checked + ([""] + [f"**FAILED**: {p}" for p in problems] if problems else [])
    )


_WHAT = {
    "current": "nothing: not read (its `sweep_on` is its next reminder)",
    "due in 3 days": "`installment.due_soon`",
    "due today": "the borrower's credit checked (none); overdue from tomorrow",
    "credit pays today": "the borrower's credit becomes a payment to the loan",
    "overdue since yesterday": "`installment.overdue`, days past due (within the grace days)",
    "past due": "a day's late fee (past the 3 grace days), days past due",
}


def _describe_sweep(report: Report, sweep: Sweep) -> None:
    loans = sweep.loans
    swept = sweep.run.loans_swept
    collections = sorted(sweep.reads.keys() | sweep.page_reads.keys() | sweep.writes.keys())
    rows = [
        (
            f"`{name}`",
            _per(sweep.reads[name], loans),
            _per(sweep.page_reads[name], loans),
            _per(sweep.writes[name], loans),
            _per(sweep.reads[name] + sweep.page_reads[name], swept),
            _per(sweep.writes[name], swept),
            "; ".join(x for x in (READ.get(name, ""), WRITTEN.get(name, "")) if x),
        )
        for name in collections
    ]
    rows.append(
        (
            "**all**",
            f"**{_per(sum(sweep.reads.values()), loans)}**",
            f"**{_per(sum(sweep.page_reads.values()), loans)}**",
            f"**{_per(sweep.all_writes, loans)}**",
            f"**{_per(sweep.all_reads, swept)}**",
            f"**{_per(sweep.all_writes, swept)}**",
            f"{sweep.all_reads:,} reads, {sweep.all_writes:,} writes in all",
        )
    )
    in_tx = sweep.in_transactions_s
    read_s = sum(sweep.read_s.values())
    per = max(sweep.looked_at, 1)
    lines = [
        f"On {sweep.day}: {swept:,} of {loans:,} active loans swept "
        f"({_share(swept, loans)}) in {sweep.seconds:,.1f} s, Rp {sweep.run.late_fees:,} of "
        f"late fees, {sweep.run.events:,} events and payments. Documents per active loan and "
        "per swept loan, by collection (reads and writes of each transaction's committed "
        "attempt, and the reads of the pages of loans due; an event is its outbox document, "
        "and marking it published after the commit is one more write outside the "
        "transaction):",
        "",
        *table(
            (
                "collection",
                "reads / loan",
                "page reads / loan",
                "writes / loan",
                "reads / swept loan",
                "writes / swept loan",
                "what",
            ),
            rows,
        ),
        "",
        *table(
            ("transaction", "time", "attempts", "reads", "writes", "events"),
            [
                (
                    f"`{t.operation}` × {count:,}",
                    f"{t.seconds:,.1f} s",
                    f"{t.attempts:,}",
                    f"{t.reads:,}",
                    f"{t.writes:,}",
                    f"{t.events:,}",
                )
                for count, t in by_operation(sweep.transactions)
            ],
        ),
        "",
        f"Where the time goes: {sweep.pages_s:,.1f} s reading the pages of loans due, "
        f"{sweep.seconds - sweep.pages_s:,.1f} s sweeping their loans, {WORKERS} at a time: "
        f"{in_tx:,.1f} s of the loans' transactions added up ({in_tx / per * 1000:.1f} ms a "
        "loan swept, from its start to its commit, waiting for the process and the emulator "
        "while the others run). Of those, the reads (each a round trip to the emulator and "
        "the documents decoded; one of several collections is timed under the first: the "
        "loan with its first installments under `loans`) took "
        + (
            ", ".join(
                f"`{name}` {seconds / per * 1000:.1f} ms"
                for name, seconds in sorted(sweep.read_s.items(), key=lambda item: -item[1])
            )
            or "nothing"
        )
        + f" a loan swept, {read_s:,.1f} s in all; the rest, {in_tx - read_s:,.1f} s "
        f"({(in_tx - read_s) / per * 1000:.1f} ms a loan swept), is the sweep's own work, "
        "the commit and its round trip, and starting the transaction. The benchmark's "
        f"process (client, use case, gRPC) used {sweep.cpu_s:,.1f} s of CPU "
        f"({sweep.cpu_s / max(sweep.seconds, 1e-9):.0%} of the wall time, on "
        f"{os.cpu_count()} cores shared with the emulator); the rest of the wall time is the "
        "emulator's work and waiting for it.",
    ]
    report.section(sweep.label[0].upper() + sweep.label[1:], lines)


# --- running it -------------------------------------------------------------------------------


def run(host: str, *, loans: int, quick: bool, progress: Progress) -> Results:
    """Every run against the emulator at `host`, on one project."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    from google.cloud import firestore

    client = firestore.Client(project=PROJECT)
    worst_client = firestore.Client(project=f"{PROJECT}-worst")  # a store of its own
    try:
        desks = []
        for project_client in (client, worst_client):
            uow = FirestoreUnitOfWork(project_client, RecordingPublisher())
            desk = PaymentDesk(uow)
            uow.clock = desk.clock
            desks.append((desk, functools.partial(write_batched, project_client)))
        (desk, write), worst = desks
        return run_all(desk, loans, write, progress, reconcile=quick, worst=worst)
    finally:
        client.close()  # type: ignore[no-untyped-call]
        worst_client.close()  # type: ignore[no-untyped-call]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 loans, for a smoke run")
    parser.add_argument("--loans", type=int, help=f"active loans swept (default {TARGET_LOANS:,})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    loans = args.loans or (200 if args.quick else TARGET_LOANS)
    if loans < len(KINDS):
        parser.error(f"at least {len(KINDS)} loans, one of each kind")

    def progress(message: str) -> None:
        print(f"[bench overdue] {message}", flush=True)

    quick = " --quick" if args.quick else ""
    report = Report(
        title="Overdue sweep benchmark",
        command=f"`nox -s bench_overdue` (`python -m scripts.bench.overdue{quick}`) at commit "
        f"`{git_commit()}`",
    )
    port = free_port_pair()
    progress(f"starting the Firestore emulator on 127.0.0.1:{port}")
    with EmulatorProcess.python_module(
        "firestore", "emulators.firestore", "--host", "127.0.0.1", "--port", str(port)
    ):
        results = run(f"127.0.0.1:{port}", loans=loans, quick=args.quick, progress=progress)
    describe(report, results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report.write(args.output)
    progress(f"wrote {args.output}")
    problems = check(results)
    for problem in problems:
        progress(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
