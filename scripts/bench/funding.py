"""Benchmark funding and disbursement on the Firestore emulator; writes benchmarks/funding.md.

    python -m scripts.bench.funding [--quick] [--loans N] [--rounds N] [--lenders N] [--output PATH]

(`nox -s bench_funding` runs it.) It starts the Firestore emulator on free ports and drives
the use cases through `FirestoreUnitOfWork` over gRPC, set up as the funding tests
set them up (`FundingDesk` and `seed_funders`, tests/unit/journey/funding_desk.py). Each
figure stands beside its target:

1. commit → `loan.funded`: per loan, one lender commits most of the principal (the baseline:
   a commitment that leaves the loan in funding) and another commits the rest, the
   transaction that moves the loan to `funded` and emits `loan.funded`; p50/p99 of each;
2. 20 lenders at once: per round a fresh loan and 20 threads, each with its own client and
   unit of work (its own request), released together; each asks for a share such that the
   last one is cut. Every request must be made or cut, none refused for contention
   (`TransactionContended`), and the loan funded exactly to its principal;
3. a disbursement to 1,000 lenders (`request_disbursement`), timed end to end;
4. its Firestore writes per lender: every document written by every transaction the
   disbursement commits (the committed attempt's count, `last_attempt.writes`), over the
   lenders.

Everything runs in this process (clients, threads, the use cases) except the emulator; the
report records the machine's load, since the machine is shared.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from emulators.launcher import ROOT, EmulatorProcess, free_port_pair
from scripts.bench.firestore_emulator import git_commit
from scripts.bench.ramp import percentile
from scripts.bench.report import Report, ms, table, verdict
from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import MemoryUnitOfWork, RecordingPublisher
from shared.domain.errors import DomainError
from shared.domain.events import EventType
from shared.domain.loan import LoanState
from shared.platform.callers import Caller
from shared.platform.errors import TransactionContended
from shared.platform.store import DocumentTransaction, UnitOfWork, operation_name
from shared.services.disbursements import request_disbursement
from shared.services.funding import CommitmentRequest, commit_to_loan
from tests.unit.journey.funding_desk import FundingDesk, seed_funders

if TYPE_CHECKING:
    from google.cloud import firestore

T = TypeVar("T")

DEFAULT_OUTPUT = ROOT / "benchmarks" / "funding.md"
PROJECT = "bench-funding"

COMMIT_P99_TARGET_S = 0.5
RACE_LENDERS = 20
DISBURSEMENT_TARGET_S = 60.0
WRITES_PER_LENDER_TARGET = 4.0

COMPLETION_PRINCIPAL = 10_000_000  # the product's smallest loan
COMPLETION_LAST_SHARE = 1_000_000  # what the completing commitment takes
COMPLETION_LENDERS = 10  # lenders taking turns at opening and completing the loans
RACE_ASK = 600_000  # each racing lender's ask; the loan is sized so that the last is cut
DISBURSEMENT_SHARE = 100_000  # each lender's stake in the disbursed loan

Progress = Callable[[str], None]


class BenchmarkFailed(RuntimeError):
    """The use cases did something the benchmark's figures would misreport (a loan not
    funded exactly, a disbursement that did not book)."""


# --- arithmetic -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Latencies in seconds summarised: count, p50, p99 (nearest rank) and the slowest."""

    count: int
    p50_s: float
    p99_s: float
    max_s: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Spread:
        if not seconds:
            raise ValueError("no latencies to summarise")
        values = list(seconds)
        return cls(len(values), percentile(values, 0.5), percentile(values, 0.99), max(values))

    def shown(self) -> str:
        return f"{ms(self.p50_s)} / {ms(self.p99_s)} (max {ms(self.max_s)}, n = {self.count})"


@dataclass(frozen=True)
class TransactionCost:
    """One committed transaction: its name, its wall time and attempts (retries included),
    and what its committed attempt read, wrote and emitted."""

    operation: str
    seconds: float
    reads: int
    writes: int
    events: int
    attempts: int = 1


class RecordingUnitOfWork(UnitOfWork):
    """Runs every transaction through `inner` and keeps the cost of each, one record per
    transaction (scripts/bench/money.py's `CountingUnitOfWork` adds costs up instead): its
    attempts (each run of the work), and what the attempt that committed read and wrote
    (`inner.last_attempt`: a retried transaction counts its writes once). Read-only runs write
    nothing and pass straight through. Reads and writes are right when one thread at a time
    uses `inner`, whose `last_attempt` is its last commit, whoever made it."""

    def __init__(self, inner: FirestoreUnitOfWork | MemoryUnitOfWork) -> None:
        self.inner = inner
        self.transactions: list[TransactionCost] = []

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        if read_only:
            return self.inner.run(work, read_only=True)
        attempts = 0

        @functools.wraps(work)  # keeps the work's name, which names the transaction
        def attempt(tx: DocumentTransaction) -> T:
            nonlocal attempts
            attempts += 1
            return work(tx)

        started = time.perf_counter()
        result = self.inner.run(attempt)
        seconds = time.perf_counter() - started
        committed = self.inner.last_attempt
        assert committed is not None  # set by every commit
        self.transactions.append(
            TransactionCost(
                operation=operation_name(work),
                seconds=seconds,
                reads=committed.reads,
                writes=committed.writes,
                events=len(committed.events),
                attempts=attempts,
            )
        )
        return result

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)

    @property
    def writes(self) -> int:
        return sum(t.writes for t in self.transactions)


def by_operation(transactions: Sequence[TransactionCost]) -> list[tuple[int, TransactionCost]]:
    """The transactions added up per operation, in the order each operation first ran: how
    many ran, and their summed time, reads, writes and events."""
    runs: dict[str, list[TransactionCost]] = defaultdict(list)
    for transaction in transactions:
        runs[transaction.operation].append(transaction)
    return [
        (
            len(same),
            TransactionCost(
                operation,
                sum(t.seconds for t in same),
                sum(t.reads for t in same),
                sum(t.writes for t in same),
                sum(t.events for t in same),
                sum(t.attempts for t in same),
            ),
        )
        for operation, same in runs.items()
    ]


# --- the scenarios ----------------------------------------------------------------------------


def _funded_events(publisher: RecordingPublisher, loan_id: str) -> int:
    return sum(
        1
        for envelope in publisher.envelopes(EventType.LOAN_FUNDED.value)
        if envelope["data"]["loan_id"] == loan_id
    )


@dataclass
class Completions:
    opening_s: list[float] = field(default_factory=list)  # leaves the loan in funding
    completing_s: list[float] = field(default_factory=list)  # moves it to funded
    cpu_s: float = 0.0  # this process's CPU over the timed commitments


def measure_completions(
    desk: FundingDesk, publisher: RecordingPublisher, loans: int, progress: Progress
) -> Completions:
    """Per loan an opening commitment and the one that completes it, each timed."""
    lenders = [f"fund-{n:02d}" for n in range(COMPLETION_LENDERS)]
    seed_funders(desk, lenders, math.ceil(loans / len(lenders)) * COMPLETION_PRINCIPAL)
    result = Completions()
    for n in range(loans):
        loan = desk.loan(COMPLETION_PRINCIPAL)
        opener, completer = lenders[n % len(lenders)], lenders[(n + 1) % len(lenders)]
        cpu, started = time.process_time(), time.perf_counter()
        opened = desk.commit(opener, loan, COMPLETION_PRINCIPAL - COMPLETION_LAST_SHARE)
        opened_at = time.perf_counter()
        completed = desk.commit(completer, loan, COMPLETION_LAST_SHARE)
        result.completing_s.append(time.perf_counter() - opened_at)
        result.opening_s.append(opened_at - started)
        result.cpu_s += time.process_time() - cpu
        if opened.loan_state is not LoanState.FUNDING or completed.loan_state is not (
            LoanState.FUNDED
        ):
            raise BenchmarkFailed(f"{loan}: {opened.loan_state} then {completed.loan_state}")
        if _funded_events(publisher, loan) != 1:
            raise BenchmarkFailed(f"{loan} is funded but `loan.funded` went out ≠ once")
        if (n + 1) % 50 == 0:
            progress(f"  {n + 1}/{loans} loans funded")
    return result


@dataclass(frozen=True)
class RaceRound:
    loan_id: str
    principal: int
    funded_amount: int
    stakes_total: int
    state: LoanState
    funded_events: int

    @property
    def exact(self) -> bool:
        return (
            self.state is LoanState.FUNDED
            and self.funded_amount == self.stakes_total == self.principal
            and self.funded_events == 1
        )


@dataclass
class Race:
    lenders: int
    ask: int  # what each lender asks for
    max_attempts: int  # of each request's transaction before `TransactionContended`
    latencies_s: list[float] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)  # per request
    outcomes: Counter[str] = field(default_factory=Counter)
    rounds: list[RaceRound] = field(default_factory=list)

    @property
    def contended(self) -> int:
        return self.outcomes["contended"]

    @property
    def failures(self) -> int:
        """Requests neither made nor cut: contention and any other refusal."""
        return sum(n for outcome, n in self.outcomes.items() if outcome not in ("made", "cut"))


def race_principal(lenders: int, ask: int, minimum: int) -> int:
    """A loan that `lenders` asks of `ask` oversubscribe by less than one ask, without ever
    leaving less than `minimum` behind: all but the last are made in full, the last is cut
    to `minimum`."""
    if ask < 2 * minimum:
        raise ValueError(f"an ask of Rp {ask:,} could leave less than Rp {minimum:,} behind")
    return ask * (lenders - 1) + minimum


def measure_race(
    desk: FundingDesk,
    publisher: RecordingPublisher,
    units: Sequence[FirestoreUnitOfWork | MemoryUnitOfWork],
    rounds: int,
    progress: Progress,
    *,
    ask: int = RACE_ASK,
) -> Race:
    """`rounds` loans, each raced for by one lender per unit of work, all at once."""
    lenders = [f"race-{n:02d}" for n in range(len(units))]
    seed_funders(desk, lenders, ask * rounds)
    principal = race_principal(len(lenders), ask, desk.rules.min_commitment)
    race = Race(lenders=len(lenders), ask=ask, max_attempts=units[0].max_attempts)
    for number in range(rounds):
        loan = desk.loan(principal)
        start = threading.Barrier(len(lenders))

        def request(
            index: int, loan: str = loan, start: threading.Barrier = start
        ) -> tuple[str, float, int]:
            counting = RecordingUnitOfWork(units[index])
            start.wait()
            started = time.perf_counter()
            try:
                made = commit_to_loan(
                    counting,
                    Caller(lenders[index], "lender"),
                    loan,
                    CommitmentRequest(amount=ask),
                    rules=desk.rules,
                    origin=desk.origin,
                )
                outcome = "cut" if made.cut else "made"
            except TransactionContended:
                outcome = "contended"
            except DomainError as refused:
                outcome = f"refused: {refused}"
            seconds = time.perf_counter() - started
            committed = counting.transactions
            return outcome, seconds, committed[-1].attempts if committed else race.max_attempts

        with ThreadPoolExecutor(len(lenders)) as pool:
            for outcome, seconds, attempts in pool.map(request, range(len(lenders))):
                race.outcomes[outcome] += 1
                race.latencies_s.append(seconds)
                race.attempts.append(attempts)
        record = desk.loan_record(loan)
        race.rounds.append(
            RaceRound(
                loan_id=loan,
                principal=principal,
                funded_amount=record.funded_amount,
                stakes_total=sum(s.committed for s in desk.stakes(loan).values()),
                state=record.state,
                funded_events=_funded_events(publisher, loan),
            )
        )
        progress(f"  round {number + 1}/{rounds}: {dict(race.outcomes)}")
    return race


@dataclass(frozen=True)
class Disbursed:
    lenders: int
    seconds: float
    transactions: tuple[TransactionCost, ...]
    state: LoanState
    principal: int
    principal_funded: int  # what the lenders' active stakes add up to

    @property
    def writes_per_lender(self) -> float:
        return sum(t.writes for t in self.transactions) / self.lenders


def measure_disbursement(desk: FundingDesk, lenders: int, progress: Progress) -> Disbursed:
    """A loan funded by `lenders` lenders (all but one seeded), disbursed and timed; the cost
    of every transaction the disbursement commits."""
    if not isinstance(desk.uow, FirestoreUnitOfWork | MemoryUnitOfWork):
        raise TypeError(f"cannot count the writes of {type(desk.uow).__name__}")
    desk.rules = desk.rules.model_copy(
        update={"max_lenders_per_loan": max(lenders, desk.rules.max_lenders_per_loan)}
    )
    ids = [f"disb-{n:04d}" for n in range(lenders)]
    loan = desk.loan(DISBURSEMENT_SHARE * lenders)
    progress(f"  seeding {lenders} lenders committed to {loan}")
    seed_funders(desk, ids, DISBURSEMENT_SHARE, loan=loan)
    if desk.commit(ids[0], loan, DISBURSEMENT_SHARE).loan_state is not LoanState.FUNDED:
        raise BenchmarkFailed(f"{loan} is not funded by its {lenders} lenders")
    counting = RecordingUnitOfWork(desk.uow)
    started = time.perf_counter()
    view = request_disbursement(
        counting, loan, admin_id="fin-1", origin=desk.origin, vault=desk.vault, bank=desk.bank
    )
    seconds = time.perf_counter() - started
    stakes = desk.stakes(loan).values()
    return Disbursed(
        lenders=lenders,
        seconds=seconds,
        transactions=tuple(counting.transactions),
        state=view.loan_state,
        principal=desk.loan_record(loan).principal,
        principal_funded=sum(s.principal_funded for s in stakes if s.state == "active"),
    )


# --- the report -------------------------------------------------------------------------------


@dataclass
class Results:
    completions: Completions
    race: Race
    disbursed: Disbursed


def describe(report: Report, results: Results) -> None:
    """Each figure beside its target in the report's headline, and a section per scenario."""
    completing = Spread.of(results.completions.completing_s)
    opening = Spread.of(results.completions.opening_s)
    race, disbursed = results.race, results.disbursed
    exact = sum(r.exact for r in race.rounds)
    report.headline(
        "commit → `loan.funded`, p99",
        f"**{ms(completing.p99_s)}**",
        f"≤ {ms(COMMIT_P99_TARGET_S)}: {verdict(completing.p99_s <= COMMIT_P99_TARGET_S)}",
    )
    report.headline(
        f"{race.lenders} lenders committing to one loan at once: requests failed",
        f"**{race.failures}** of {len(race.latencies_s)} ({race.contended} on contention)",
        f"0: {verdict(race.failures == 0)}",
    )
    report.headline(
        f"{race.lenders} lenders committing to one loan at once: loans funded exactly",
        f"**{exact}** of {len(race.rounds)}",
        f"all: {verdict(exact == len(race.rounds))}",
    )
    report.headline(
        f"a disbursement to {disbursed.lenders:,} lenders",
        f"**{disbursed.seconds:,.1f} s**",
        f"≤ {DISBURSEMENT_TARGET_S:.0f} s: {verdict(disbursed.seconds <= DISBURSEMENT_TARGET_S)}",
    )
    report.headline(
        "Firestore writes per lender per disbursement",
        f"**{disbursed.writes_per_lender:.2f}**",
        f"≤ {WRITES_PER_LENDER_TARGET:.0f}: "
        f"{verdict(disbursed.writes_per_lender <= WRITES_PER_LENDER_TARGET)}",
    )
    report.section(
        "How it runs",
        [
            "The use cases run in the benchmark's process through `FirestoreUnitOfWork` "
            "(its gRPC calls, `shared/adapters/firestore_rpc.py`) against the Firestore "
            "emulator, which "
            "runs in its own process. Lenders, loans and stakes are set up as the funding "
            "tests set them up (`FundingDesk`, `seed_funders`). The racing lenders' clients "
            "are threads of that one process and share its interpreter lock, so part of a "
            "racing request's time is waiting for Python, not for Firestore; and the emulator "
            "and the benchmark share the machine's cores with whatever else runs."
        ],
    )
    _describe_completions(report, results.completions, completing, opening)
    _describe_race(report, race, completing)
    _describe_disbursement(report, disbursed)


def _describe_completions(
    report: Report, completions: Completions, completing: Spread, opening: Spread
) -> None:
    loans = len(completions.completing_s)
    cpu_ms = completions.cpu_s / (2 * loans) * 1000
    opening_share = COMPLETION_PRINCIPAL - COMPLETION_LAST_SHARE
    report.section(
        "commit → `loan.funded`",
        [
            f"{loans} loans of Rp {COMPLETION_PRINCIPAL:,}, each opened by one lender's "
            f"commitment of Rp {opening_share:,} and completed by another's of "
            f"Rp {COMPLETION_LAST_SHARE:,} ({COMPLETION_LENDERS} lenders taking turns). The "
            "completing commitment is the transaction that moves the loan to `funded` and "
            "writes `loan.funded` to the outbox; its time is the whole `commit_to_loan` call, "
            "the publish after the commit included. Every loan was funded and `loan.funded` "
            "went out once for each.",
            "",
            *table(
                ("commitment", "p50 / p99"),
                (
                    ("completing (moves the loan to funded)", completing.shown()),
                    ("opening (baseline: the loan stays in funding)", opening.shown()),
                ),
            ),
            "",
            f"CPU of the benchmark's process (client, use case, gRPC) per commitment: "
            f"{cpu_ms:.1f} ms.",
        ],
    )


def _describe_race(report: Report, race: Race, completing: Spread) -> None:
    retried = sum(n > 1 for n in race.attempts)
    mean_attempts = sum(race.attempts) / len(race.attempts)
    report.section(
        f"{race.lenders} lenders committing to one loan at once",
        [
            f"{len(race.rounds)} rounds. Each round lists a loan of "
            f"Rp {race.rounds[0].principal:,} and releases {race.lenders} threads together, "
            "each a lender with its own Firestore channel and unit of work (as separate "
            f"requests to separate function instances would be) asking for Rp {race.ask:,}: "
            "all but the last commitment are made in full and the last is cut to what "
            f"remains. The unit of work retries a contended transaction up to "
            f"{race.max_attempts} times, as in production, before it answers "
            "`TransactionContended` (a 503).",
            "",
            f"- latency per request, p50 / p99: {Spread.of(race.latencies_s).shown()};",
            f"- attempts per request: {mean_attempts:.2f} on average, at most "
            f"{max(race.attempts)}; {retried} of {len(race.attempts)} requests ran again "
            "(a transaction that loses the loan document to an older one is aborted and "
            "retried);",
            f"- every commitment reads and writes the loan document, so the {race.lenders} "
            f"transactions take their turns on it: {race.lenders} commitments one after "
            f"another at the single commitment's p50 above would take "
            f"{ms(race.lenders * completing.p50_s)}.",
            "",
            *table(("outcome", "requests"), [(o, str(n)) for o, n in race.outcomes.items()]),
            "",
            *table(
                ("loan", "principal", "funded", "stakes add up to", "state", "`loan.funded`"),
                [
                    (
                        r.loan_id,
                        f"Rp {r.principal:,}",
                        f"Rp {r.funded_amount:,}",
                        f"Rp {r.stakes_total:,}",
                        r.state.value,
                        str(r.funded_events),
                    )
                    for r in race.rounds
                ],
            ),
        ],
    )


def _describe_disbursement(report: Report, disbursed: Disbursed) -> None:
    transactions = disbursed.transactions
    in_transactions = sum(t.seconds for t in transactions)
    report.section(
        f"A disbursement to {disbursed.lenders:,} lenders",
        [
            f"One `request_disbursement` of a loan of Rp {disbursed.principal:,} funded by "
            f"{disbursed.lenders:,} lenders of Rp {DISBURSEMENT_SHARE:,} each: the plan "
            "(schedule, installments), a transaction per chunk of lenders (their stakes into "
            "the payout in transit, each participation active), and the last step (fees, the "
            f"receivable, the loan active, `loan.disbursed`). It ended "
            f"`{disbursed.state.value}`, the lenders' active stakes adding up to "
            f"Rp {disbursed.principal_funded:,}.",
            "",
            "Every transaction it committed, with the documents its committed attempt read "
            "and wrote (the outbox document of an event is one of the writes; marking the "
            "event published after the commit is one more write per event, outside the "
            "transactions):",
            "",
            *table(
                ("transaction", "time", "attempts", "reads", "writes", "events"),
                [
                    (
                        f"`{cost.operation}` × {count}",
                        ms(cost.seconds),
                        str(cost.attempts),
                        f"{cost.reads:,}",
                        f"{cost.writes:,}",
                        str(cost.events),
                    )
                    for count, cost in by_operation(transactions)
                ],
            ),
            "",
            f"In all {sum(t.reads for t in transactions):,} reads and "
            f"{sum(t.writes for t in transactions):,} writes: "
            f"{disbursed.writes_per_lender:.2f} writes per lender. {in_transactions:,.1f} s "
            f"of the {disbursed.seconds:,.1f} s were spent inside these transactions "
            f"({in_transactions / disbursed.lenders * 1000:.1f} ms per lender), the rest in "
            "the read-only lookups (the plan before its chunks, the disbursement after).",
        ],
    )


# --- running it -------------------------------------------------------------------------------


def _client(host: str) -> firestore.Client:
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    from google.cloud import firestore

    return firestore.Client(project=PROJECT)


@contextmanager
def _clients(host: str, count: int) -> Iterator[list[firestore.Client]]:
    clients = [_client(host) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()  # type: ignore[no-untyped-call]


def run(host: str, *, loans: int, rounds: int, lenders: int, progress: Progress) -> Results:
    """Every scenario against the emulator at `host`, on one project."""
    with _clients(host, 1 + RACE_LENDERS) as clients:
        desk_client, *racing = clients
        publisher = RecordingPublisher()
        uow = FirestoreUnitOfWork(desk_client, publisher)
        desk = FundingDesk(uow)
        uow.clock = desk.clock
        progress(f"commit → loan.funded over {loans} loans")
        completions = measure_completions(desk, publisher, loans, progress)
        progress(f"  completing p99 {ms(Spread.of(completions.completing_s).p99_s)}")
        progress(f"{RACE_LENDERS} lenders at once, {rounds} rounds")
        units = [FirestoreUnitOfWork(client, publisher, desk.clock) for client in racing]
        race = measure_race(desk, publisher, units, rounds, progress)
        progress(f"a disbursement to {lenders} lenders")
        disbursed = measure_disbursement(desk, lenders, progress)
        progress(
            f"  {disbursed.seconds:.1f} s, {disbursed.writes_per_lender:.2f} writes per lender"
        )
    return Results(completions, race, disbursed)


def check(results: Results) -> list[str]:
    """What went wrong with the use cases (not a missed target): the benchmark fails on it."""
    problems = [f"{r.loan_id} not funded exactly: {r}" for r in results.race.rounds if not r.exact]
    disbursed = results.disbursed
    if disbursed.state is not LoanState.ACTIVE or disbursed.principal_funded != (
        disbursed.principal
    ):
        problems.append(f"the disbursement ended {disbursed.state.value}, not exact")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--loans", type=int, help="loans funded for commit → loan.funded")
    parser.add_argument("--rounds", type=int, help="rounds of 20 lenders at once")
    parser.add_argument("--lenders", type=int, help="lenders of the disbursed loan")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    loans = args.loans or (20 if args.quick else 200)
    rounds = args.rounds or (2 if args.quick else 10)
    lenders = args.lenders or (250 if args.quick else 1000)

    def progress(message: str) -> None:
        print(f"[bench funding] {message}", flush=True)

    sizes = " --quick" if args.quick else ""
    report = Report(
        title="Funding and disbursement benchmark",
        command=f"`nox -s bench_funding` (`python -m scripts.bench.funding{sizes}`) at commit "
        f"`{git_commit()}`",
    )
    port = free_port_pair()
    progress(f"starting the Firestore emulator on 127.0.0.1:{port}")
    with EmulatorProcess.python_module(
        "firestore", "emulators.firestore", "--host", "127.0.0.1", "--port", str(port)
    ):
        results = run(
            f"127.0.0.1:{port}", loans=loans, rounds=rounds, lenders=lenders, progress=progress
        )
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
