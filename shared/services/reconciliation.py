"""Reconciliation: the stored ledger against itself and against the bank
(docs/lending-rules.md#reconciliation).

A run reads everything at one `read_time` (`UnitOfWork.read_snapshot`): the checkpoint of the
last day checked (every account's balance as the journal added up), the entries posted
since, every stored balance, and the latest imported bank statement. It checks that

1. every entry since the checkpoint is well formed and balanced, and every reversal mirrors
   what it reverses;
2. every stored balance equals the checkpoint plus the postings since (an entry and its
   balance changes commit together, so at one snapshot they agree exactly);
3. no never-negative account is below zero, and escrow cash equals everything the escrow
   account holds for others plus fees and taxes not yet swept or remitted;
4. escrow cash as of the latest statement's cut-off (the journal's escrow cash less the
   movements valued after it: in transit) equals the statement's closing balance; lines not
   yet accounted to anyone are listed.

`run_due` is what the scheduled function calls: each Jakarta day's run once the day has
settled (`SETTLE`: longer than a transaction can live, so every entry of the day has
committed), catching up missed days, then the runs `admin.finance` queued
(`request_reconciliation`). A daily run stores the day's checkpoint, so the next reads one
day of entries. Every run is stored and published (`ledger.reconciled`); any problem is
logged at ALERT, naming the accounts.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pydantic

from shared.domain.errors import DomainError
from shared.domain.events import EventType, LedgerReconciled
from shared.domain.ledger import (
    ESCROW_CASH,
    LOAN_RECEIVABLES,
    AccountId,
    AccountType,
    JournalEntry,
    LedgerCheck,
    LedgerError,
    balances_from,
    escrow_position,
    validate_entries,
    validate_escrow_identity,
    validate_non_negative,
)
from shared.domain.maker_checker import Made
from shared.log import ALERT
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.limits import MAX_TRANSACTION_SECONDS
from shared.platform.store import (
    Document,
    DocumentTransaction,
    JsonDict,
    OrderBy,
    UnitOfWork,
    Where,
)
from shared.records.ledger import LEDGER_BALANCES, LEDGER_ENTRIES, EntryRecord
from shared.records.participations import PARTICIPATIONS, ParticipationRecord
from shared.records.reconciliations import (
    CHECKPOINT_CHUNK_ACCOUNTS,
    CHECKPOINT_CHUNKS,
    LEDGER_CHECKPOINTS,
    MAX_LISTED_ITEMS,
    MAX_LISTED_PROBLEMS,
    CheckpointChunk,
    CheckpointRecord,
    EscrowFigures,
    InTransit,
    OpenLine,
    Problem,
    ReconciliationRecord,
    Reconciliations,
    RunKind,
    StatementCheck,
)
from shared.records.statements import (
    BANK_STATEMENTS,
    STATEMENT_LINES,
    StatementLineRecord,
    StatementRecord,
)

logger = logging.getLogger(__name__)

# A day is checked once every entry posted on it has committed: a transaction lives at most
# 270 s, so ten minutes after midnight in Jakarta the previous day is closed.
SETTLE = timedelta(minutes=10)
MAX_DAYS_PER_RUN = 7  # a long outage is caught up over several runs
MAX_QUEUED_PER_RUN = 5
OPEN_LINE_STATES = ["in_suspense", "matched", "unexplained"]
OUTSTANDING_STAKE_STATES = ["committed", "active"]

assert SETTLE.total_seconds() > MAX_TRANSACTION_SECONDS


@dataclass(frozen=True)
class _Snapshot:
    """Everything a run reads, at one read time."""

    checkpoint: CheckpointRecord | None
    base: dict[AccountId, int]
    entries: list[EntryRecord]
    malformed: list[Problem]
    originals: dict[str, EntryRecord]  # entries reversed by the new ones, from earlier days
    stored: dict[AccountId, int]
    statement: StatementRecord | None
    valued_after_cut_off: list[EntryRecord]
    open_lines: list[StatementLineRecord]
    non_professional_funding: int  # non-professional lenders' committed and lent principal


# --- queueing ----------------------------------------------------------------------------------


def request_reconciliation(
    uow: UnitOfWork, *, admin_id: str, origin: EventOrigin
) -> ReconciliationRecord:
    """Queue a run now (the scheduled function picks it up on its next run)."""
    now = origin.clock.now()
    run = ReconciliationRecord(
        id=origin.ids.new_id("recon"),
        kind="on_demand",
        day=jakarta_date(now),
        state="queued",
        requested=Made(by=admin_id, at=now),
        queued_at=now,
    )

    def queue(tx: DocumentTransaction) -> ReconciliationRecord:
        Reconciliations(tx).add(run)
        return run

    return uow.run(queue)


def list_reconciliations(uow: UnitOfWork, limit: int = 50) -> tuple[ReconciliationRecord, ...]:
    found = uow.run(
        lambda tx: Reconciliations(tx).find(
            order_by=(OrderBy("queued_at", descending=True),), limit=limit
        ),
        read_only=True,
    )
    return tuple(found)


def reconciliation(uow: UnitOfWork, run_id: str) -> ReconciliationRecord:
    return uow.run(lambda tx: Reconciliations(tx).require(run_id), read_only=True)


# --- the scheduled run -------------------------------------------------------------------------


def run_due(uow: UnitOfWork, *, origin: EventOrigin) -> list[ReconciliationRecord]:
    """The daily runs not yet done (oldest first), then the queued ones."""
    now = origin.clock.now()
    last_closed = jakarta_date(now - SETTLE) - timedelta(days=1)
    latest = _latest_checkpoint(uow, before=last_closed + timedelta(days=1))
    first = latest.day + timedelta(days=1) if latest else last_closed
    done: list[ReconciliationRecord] = []
    day = first
    while day <= last_closed and len(done) < MAX_DAYS_PER_RUN:
        done.append(reconcile(uow, kind="daily", day=day, run_id=f"daily-{day}", origin=origin))
        day += timedelta(days=1)
    queued = uow.run(
        lambda tx: Reconciliations(tx).find(
            Where("state", "==", "queued"),
            order_by=(OrderBy("queued_at"),),
            limit=MAX_QUEUED_PER_RUN,
        ),
        read_only=True,
    )
    for run in queued:
        done.append(reconcile(uow, kind="on_demand", day=run.day, run_id=run.id, origin=origin))
    return done


def _latest_checkpoint(uow: UnitOfWork, *, before: date) -> CheckpointRecord | None:
    docs = uow.run(
        lambda tx: tx.query(
            LEDGER_CHECKPOINTS,
            [Where("day", "<", before.isoformat())],
            [OrderBy("day", descending=True)],
            1,
        ),
        read_only=True,
    )
    return CheckpointRecord.model_validate(docs[0].data) if docs else None


def reconcile(
    uow: UnitOfWork, *, kind: RunKind, day: date, run_id: str, origin: EventOrigin
) -> ReconciliationRecord:
    """One run: check the ledger as of now, from the last checkpoint before `day`; a daily
    run also stores `day`'s checkpoint. Stored, published, and alerted on problems."""
    started = origin.clock.now()
    clock_start = time.monotonic()
    snapshot, read_time = uow.read_snapshot(lambda tx: _read(tx, before=day))
    problems, expected = _check(snapshot)
    escrow = escrow_position(expected)
    statement = _statement_check(snapshot, expected)
    if statement is not None and statement.difference != 0:
        problems.append(
            Problem(
                check="statement-mismatch",
                message=(
                    f"escrow cash as of {statement.cut_off} is {statement.ledger_at_cut_off:,} in "
                    f"the ledger but {statement.closing_balance:,} on statement "
                    f"{statement.statement_id} (difference {statement.difference:,})"
                ),
                account=str(ESCROW_CASH),
            )
        )
    if kind == "daily":
        closing = _closing_balances(snapshot, day)
        _store_checkpoint(uow, day, closing, run_id)
    finished = origin.clock.now()
    record = ReconciliationRecord(
        id=run_id,
        kind=kind,
        day=day,
        state="failed" if problems else "passed",
        queued_at=started,
        started_at=started,
        finished_at=finished,
        read_time=read_time,
        since_checkpoint=snapshot.checkpoint.day if snapshot.checkpoint else None,
        entries_checked=len(snapshot.entries),
        accounts_checked=len(set(expected) | set(snapshot.stored)),
        problems=tuple(problems[:MAX_LISTED_PROBLEMS]),
        problem_count=len(problems),
        escrow=EscrowFigures(
            escrow_cash=escrow.escrow_cash,
            held_for_others=escrow.held_for_others,
            platform_unswept=escrow.platform_unswept,
            difference=escrow.difference,
        ),
        statement=statement,
        outstanding_funding=outstanding_funding(expected),
        non_professional_funding=snapshot.non_professional_funding,
        duration_ms=int((time.monotonic() - clock_start) * 1000),
    )
    if problems:
        accounts = sorted({p.account for p in problems if p.account})
        logger.log(
            ALERT,
            "ledger reconciliation %s found %d problem(s); accounts: %s; first: %s",
            run_id,
            len(problems),
            ", ".join(accounts) or "none",
            problems[0].message,
        )
    _store(uow, record, origin=origin)
    return record


# --- reading -----------------------------------------------------------------------------------


def _read(tx: DocumentTransaction, *, before: date) -> _Snapshot:
    docs = tx.query(
        LEDGER_CHECKPOINTS,
        [Where("day", "<", before.isoformat())],
        [OrderBy("day", descending=True)],
        1,
    )
    checkpoint = CheckpointRecord.model_validate(docs[0].data) if docs else None
    base: dict[AccountId, int] = {}
    if checkpoint is not None:
        ids = [f"{checkpoint.day}-{n}" for n in range(checkpoint.chunks)]
        for chunk_id, data in tx.get_all(CHECKPOINT_CHUNKS, ids).items():
            if data is None:
                raise RuntimeError(f"checkpoint chunk {chunk_id} is missing")
            chunk = CheckpointChunk.model_validate(data)
            for account, balance in zip(chunk.accounts, chunk.balances, strict=True):
                base[AccountId.parse(account)] = balance
    since = [Where("day", ">", checkpoint.day.isoformat())] if checkpoint else []
    entries, malformed = _entries(tx.query(LEDGER_ENTRIES, since))
    reversed_ids = {e.reverses for e in entries if e.reverses}
    missing = sorted(reversed_ids - {e.entry_id for e in entries})
    originals = {
        entry_id: EntryRecord.model_validate(data)
        for entry_id, data in (tx.get_all(LEDGER_ENTRIES, missing) if missing else {}).items()
        if data is not None
    }
    stored: dict[AccountId, int] = defaultdict(int)
    for doc in tx.query(LEDGER_BALANCES):
        try:
            stored[AccountId.parse(str(doc.data["account"]))] += int(doc.data.get("balance", 0))
        except (KeyError, ValueError, DomainError):
            malformed.append(
                Problem(
                    check="malformed-balance", message=f"balance document {doc.id} is unreadable"
                )
            )
    statements = [
        StatementRecord.model_validate(d.data)
        for d in tx.query(BANK_STATEMENTS, [], [OrderBy("period_end", descending=True)], 5)
    ]
    statement = next((s for s in statements if s.state == "imported"), None)
    valued_after = (
        _entries(
            tx.query(LEDGER_ENTRIES, [Where("value_date", ">", statement.period_end.isoformat())])
        )[0]
        if statement is not None
        else []
    )
    open_lines = [
        StatementLineRecord.model_validate(d.data)
        for d in tx.query(
            STATEMENT_LINES,
            [Where("state", "in", OPEN_LINE_STATES)],
            [OrderBy("imported_at"), OrderBy("id")],
            MAX_LISTED_ITEMS + 1,
        )
    ]
    return _Snapshot(
        non_professional_funding=sum(
            _stake_outstanding(ParticipationRecord.model_validate(doc.data))
            for doc in tx.query(
                PARTICIPATIONS,
                [
                    Where("professional", "==", False),
                    Where("state", "in", OUTSTANDING_STAKE_STATES),
                ],
            )
        ),
        checkpoint=checkpoint,
        base=base,
        entries=entries,
        malformed=malformed,
        originals=originals,
        stored=dict(stored),
        statement=statement,
        valued_after_cut_off=valued_after,
        open_lines=open_lines,
    )


def _stake_outstanding(stake: ParticipationRecord) -> int:
    """What a stake adds to the platform's outstanding funding: its commitment while the loan
    is in funding, the principal it funded once disbursed (repayments are not booked yet)."""
    return stake.committed if stake.state == "committed" else stake.principal_funded


def _entries(docs: Iterable[Document]) -> tuple[list[EntryRecord], list[Problem]]:
    entries, problems = [], []
    for doc in docs:
        try:
            entries.append(EntryRecord.model_validate(doc.data))
        except pydantic.ValidationError:
            problems.append(
                Problem(
                    check=LedgerCheck.MALFORMED_ENTRY.value,
                    message=f"entry document {doc.id} is unreadable",
                    entry_id=doc.id,
                )
            )
    return entries, problems


# --- checking ----------------------------------------------------------------------------------


def _journal(records: Sequence[EntryRecord], problems: list[Problem]) -> list[JournalEntry]:
    journal = []
    for record in records:
        try:
            journal.append(record.to_entry())
        except DomainError as exc:
            problems.append(
                Problem(
                    check=LedgerCheck.MALFORMED_ENTRY.value,
                    message=f"{record.entry_id!r}: {exc}",
                    entry_id=record.entry_id,
                )
            )
    return journal


def _problem(error: LedgerError) -> Problem:
    return Problem(
        check=error.check.value,
        message=error.message,
        account=str(error.account) if error.account else None,
        entry_id=error.entry_id,
    )


def _check(snapshot: _Snapshot) -> tuple[list[Problem], dict[AccountId, int]]:
    """Every problem, and the balances the journal adds up to at the snapshot."""
    problems = list(snapshot.malformed)
    journal = _journal(snapshot.entries, problems)
    originals = _journal(list(snapshot.originals.values()), [])
    new_ids = {entry.entry_id for entry in journal}
    problems += [
        _problem(error)
        for error in validate_entries([*originals, *journal])
        if error.entry_id is None or error.entry_id in new_ids
    ]
    expected = _added(snapshot.base, balances_from(journal))
    for account in sorted(set(expected) | set(snapshot.stored), key=str):
        want, have = expected.get(account, 0), snapshot.stored.get(account, 0)
        if want != have:
            problems.append(
                Problem(
                    check=LedgerCheck.BALANCE_MISMATCH.value,
                    message=f"{account}: stored balance {have:,} != postings {want:,} "
                    f"(difference {have - want:,})",
                    account=str(account),
                )
            )
    problems += [_problem(e) for e in validate_non_negative(expected)]
    problems += [_problem(e) for e in validate_escrow_identity(expected)]
    problems += _receivable_problems(expected)
    return problems, expected


def _receivable_problems(balances: Mapping[AccountId, int]) -> list[Problem]:
    """Each loan's receivables (principal, interest, late fees) equal what its lenders are owed:
    receivables are assets outside the escrow identity, checked against the lenders' claim."""
    loans: dict[str, list[int]] = {}
    for account, balance in balances.items():
        if account.type in _RECEIVABLES and account.owner is not None:
            loans.setdefault(account.owner, [0, 0])[0] += balance
        elif account.type is AccountType.LOAN_LENDERS_CLAIM and account.owner is not None:
            loans.setdefault(account.owner, [0, 0])[1] += balance
    return [
        Problem(
            check="receivables-mismatch",
            message=f"loan {loan}: receivables {owed:,} != its lenders' claim {claim:,}",
            account=str(AccountId(AccountType.LOAN_LENDERS_CLAIM, loan)),
        )
        for loan, (owed, claim) in sorted(loans.items())
        if owed != claim
    ]


_RECEIVABLES = LOAN_RECEIVABLES


def outstanding_funding(balances: Mapping[AccountId, int]) -> int:
    """The platform's outstanding funding: principal lent out and still owed, and money
    lenders committed to loans still in funding (docs/lending-rules.md#funding)."""
    return sum(
        balance
        for account, balance in balances.items()
        if account.type in (AccountType.LOAN_PRINCIPAL, AccountType.LENDER_COMMITTED)
    )


def _added(base: Mapping[AccountId, int], changes: Mapping[AccountId, int]) -> dict[AccountId, int]:
    total = dict(base)
    for account, change in changes.items():
        total[account] = total.get(account, 0) + change
    return total


def _escrow_change(record: EntryRecord) -> int:
    return sum(
        p.amount if p.side == "debit" else -p.amount
        for p in record.postings
        if p.account == str(ESCROW_CASH)
    )


def _statement_check(
    snapshot: _Snapshot, expected: Mapping[AccountId, int]
) -> StatementCheck | None:
    statement = snapshot.statement
    if statement is None:
        return None
    in_transit = [
        InTransit(
            entry_id=record.entry_id,
            value_date=record.value_date,
            change=_escrow_change(record),
            bank_reference=record.bank_reference,
        )
        for record in snapshot.valued_after_cut_off
        if record.value_date is not None and record.moves_escrow
    ]
    in_transit.sort(key=lambda item: (item.value_date, item.entry_id))
    in_transit_total = sum(item.change for item in in_transit)
    at_cut_off = expected.get(ESCROW_CASH, 0) - in_transit_total
    lines = snapshot.open_lines
    return StatementCheck(
        statement_id=statement.id,
        cut_off=statement.period_end,
        closing_balance=statement.closing_balance,
        ledger_at_cut_off=at_cut_off,
        difference=at_cut_off - statement.closing_balance,
        in_transit=tuple(in_transit[:MAX_LISTED_ITEMS]),
        in_transit_total=in_transit_total,
        open_lines=tuple(
            OpenLine(
                line_id=line.id,
                statement_id=line.statement_id,
                state=line.state,
                direction=line.direction,
                amount=line.amount,
                value_date=line.value_date,
            )
            for line in lines[:MAX_LISTED_ITEMS]
        ),
        open_lines_count=len(lines),
    )


def _closing_balances(snapshot: _Snapshot, day: date) -> dict[AccountId, int]:
    """Every account at the end of `day`, as the journal adds up (the day's checkpoint)."""
    of_the_day = [r for r in snapshot.entries if r.day <= day]
    return _added(snapshot.base, balances_from(_journal(of_the_day, [])))


# --- writing -----------------------------------------------------------------------------------


def _store_checkpoint(
    uow: UnitOfWork, day: date, balances: Mapping[AccountId, int], run_id: str
) -> None:
    accounts = sorted(balances, key=str)
    chunks = [
        accounts[start : start + CHECKPOINT_CHUNK_ACCOUNTS]
        for start in range(0, len(accounts), CHECKPOINT_CHUNK_ACCOUNTS)
    ]
    for index, chunk in enumerate(chunks):
        document = CheckpointChunk(
            id=f"{day}-{index}",
            day=day,
            accounts=tuple(str(a) for a in chunk),
            balances=tuple(balances[a] for a in chunk),
        )
        _put(uow, CHECKPOINT_CHUNKS, document.id, document.model_dump(mode="json"))
    header = CheckpointRecord(day=day, chunks=len(chunks), accounts=len(accounts), run_id=run_id)
    _put(uow, LEDGER_CHECKPOINTS, day.isoformat(), header.model_dump(mode="json"))


def _put(uow: UnitOfWork, collection: str, doc_id: str, data: JsonDict) -> None:
    def put(tx: DocumentTransaction) -> None:
        tx.set(collection, doc_id, data)

    uow.run(put)


def _store(uow: UnitOfWork, record: ReconciliationRecord, *, origin: EventOrigin) -> None:
    def store(tx: DocumentTransaction) -> None:
        runs = Reconciliations(tx)
        queued = runs.get(record.id)
        final = record
        if queued is not None:
            final = record.model_copy(
                update={"requested": queued.requested, "queued_at": queued.queued_at}
            )
        runs.put(final)
        tx.emit(
            origin.event(
                EventType.LEDGER_RECONCILED,
                LedgerReconciled(
                    run_id=record.id,
                    kind=record.kind,
                    day=record.day,
                    passed=record.state == "passed",
                    problems=record.problem_count,
                ),
            )
        )

    uow.run(store)
