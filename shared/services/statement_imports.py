"""Importing the escrow account's bank statements (docs/lending-rules.md#deposits-and-withdrawals).

`admin.finance` asks for an upload URL (`statement_upload`), uploads the bank's file (the
project's CSV or MT940, `shared/domain/bank_statements.py`) and imports it
(`import_statement`). The file stays in the documents bucket as the evidence.

Importing accounts for every line, in chunks of `CHUNK_LINES`, each one transaction:
- money in is posted to suspense (escrow cash / suspense, at the bank's value date): the
  escrow account holds it, but nobody is credited until a deposit claims it;
- money out is explained by the confirmed withdrawal with the same bank reference and
  amount, or stays `unexplained` (reconciliation lists it) until one is confirmed.

One statement follows another: it opens after the previous one closed, with its closing
balance; an overlap or a gap is refused before anything is written. Importing the same file
again changes nothing; a crash part-way leaves the statement `importing`, and importing the
file again finishes it (lines already written are skipped: their ids are stable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from shared.domain.bank_statements import (
    MAX_FILE_BYTES,
    BankStatement,
    Direction,
    StatementLine,
    detect_statement_format,
    parse_statement,
)
from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.events import EventType, StatementImported
from shared.domain.identity import mask_account_number
from shared.domain.maker_checker import Made
from shared.domain.movements import line_in
from shared.model import Model
from shared.platform.documents import DocumentStorage
from shared.platform.escrow import EscrowAccount
from shared.platform.event_origin import EventOrigin
from shared.platform.personal_data import PersonalDataVault
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.ledger import LedgerBook
from shared.records.loans import LoanRecord, Loans
from shared.records.statements import (
    BANK_STATEMENTS,
    Counterparty,
    StatementLineRecord,
    StatementLines,
    StatementRecord,
    Statements,
)
from shared.records.withdrawals import WithdrawalRecord, Withdrawals

CHUNK_LINES = 200  # lines per transaction: far inside Firestore's 10 MiB and 270 s
IN_QUERY_VALUES = 30  # Firestore's limit on the values of one `in` filter
MAX_LISTED = 100

StatementFormat = Literal["csv", "mt940"]
UploadId = Annotated[str, Field(pattern=r"^stmtfile-[0-9A-Za-z]{1,64}$")]


class StatementUploadRequest(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: StatementFormat


class StatementUpload(Model):
    """Where to PUT the statement file (with exactly these headers), and its id to import."""

    model_config = ConfigDict(frozen=True)

    upload_id: str
    upload_url: str
    upload_headers: dict[str, str]


class StatementImport(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    upload_id: UploadId
    format: StatementFormat | None = None  # detected from the file when left out


class StatementList(Model):
    model_config = ConfigDict(frozen=True)

    statements: tuple[StatementRecord, ...]


class LineQuery(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["in_suspense", "matched", "claimed", "explained", "unexplained"] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LISTED)] = 50


class LineList(Model):
    model_config = ConfigDict(frozen=True)

    lines: tuple[StatementLineRecord, ...]


def _object_name(upload_id: str) -> str:
    return f"statements/{upload_id}"


def statement_upload(
    storage: DocumentStorage, request: StatementUploadRequest, *, origin: EventOrigin
) -> StatementUpload:
    upload_id = origin.ids.new_id("stmtfile")
    content_type = "text/csv" if request.format == "csv" else "text/plain"
    signed = storage.upload_url(_object_name(upload_id), content_type)
    return StatementUpload(
        upload_id=upload_id, upload_url=signed.url, upload_headers=dict(signed.headers)
    )


def _statement_id(statement: BankStatement) -> str:
    return f"stmt-{statement.statement_id[:32]}"


def _line_record(
    line: StatementLine,
    statement_id: str,
    position: int,
    vault: PersonalDataVault,
    now: datetime,
    state: Literal["in_suspense", "explained", "unexplained"],
    withdrawal_id: str | None,
    loan_id: str | None = None,
) -> StatementLineRecord:
    number = line.counterparty_account
    return StatementLineRecord(
        id=line.line_id,
        statement_id=statement_id,
        position=position,
        booking_date=line.booking_date,
        value_date=line.value_date,
        direction=line.direction.value,
        amount=line.amount,
        bank_reference=line.bank_reference,
        sender_reference=line.sender_reference,
        description=line.description,
        counterparty=Counterparty(
            bank_code=line.counterparty_bank_code,
            account_number_masked=mask_account_number(number) if number else None,
            account_number_hash=vault.lookup_hash("account_number", number) if number else None,
            name=line.counterparty_name,
        ),
        state=state,
        entry_id=f"line-{line.line_id}" if line.direction is Direction.CREDIT else None,
        withdrawal_id=withdrawal_id,
        loan_id=loan_id,
        imported_at=now,
        updated_at=now,
    )


def import_statement(
    uow: UnitOfWork,
    storage: DocumentStorage,
    vault: PersonalDataVault,
    request: StatementImport,
    *,
    escrow: EscrowAccount,
    admin_id: str,
    origin: EventOrigin,
) -> StatementRecord:
    """Import an uploaded statement of the escrow account, every line accounted for."""
    try:
        data = storage.read(_object_name(request.upload_id), MAX_FILE_BYTES)
    except ValueError:
        raise ValidationFailed(
            "the statement file is too large", {"upload_id": f"over {MAX_FILE_BYTES} bytes"}
        ) from None
    if data is None:
        raise NotFound(f"nothing was uploaded for {request.upload_id}")
    statement = parse_statement(data, request.format or detect_statement_format(data))
    if statement.account_number != escrow.account_number:
        raise ValidationFailed(
            "this statement is not of the escrow account",
            {"account_number": f"is {mask_account_number(statement.account_number)}"},
        )
    statement_id = _statement_id(statement)
    content_hash = hashlib.sha256(data).hexdigest()
    now = origin.clock.now()
    record = _register(
        uow, statement, statement_id, content_hash, request, admin_id=admin_id, at=now
    )
    if record.state == "importing":
        lines = statement.lines
        for start in range(0, len(lines), CHUNK_LINES):
            _import_chunk(uow, vault, statement_id, lines, start, origin=origin)
        record = _finish(uow, statement_id, origin=origin)
    return record


def _register(
    uow: UnitOfWork,
    statement: BankStatement,
    statement_id: str,
    content_hash: str,
    request: StatementImport,
    *,
    admin_id: str,
    at: datetime,
) -> StatementRecord:
    """The statement's record: created once it follows the previous statement, or the one
    already there (the same file imported again, or an import to finish)."""

    def register(tx: DocumentTransaction) -> StatementRecord:
        statements = Statements(tx)
        existing = statements.get(statement_id)
        if existing is not None:
            if existing.content_hash != content_hash:
                raise Conflict(
                    f"statement {statement_id} for this period was imported from another file"
                )
            return existing
        latest = statements.find(order_by=(OrderBy("period_end", descending=True),), limit=1)
        if latest:
            previous = latest[0]
            if previous.state != "imported":
                raise Conflict(f"statement {previous.id} is still importing: import it first")
            # The opening balance may be dated the previous statement's cut-off (MT940 dates
            # :60F: with the previous closing date), but no line may be booked on or before it.
            first_booked = min((line.booking_date for line in statement.lines), default=None)
            if statement.opening_date < previous.period_end or (
                first_booked is not None and first_booked <= previous.period_end
            ):
                starts = min(statement.opening_date, first_booked or statement.opening_date)
                raise Conflict(
                    f"this statement starts {starts}, within statement {previous.id}, which "
                    f"ends {previous.period_end}: statements may not overlap"
                )
            if statement.opening_balance != previous.closing_balance:
                raise Conflict(
                    f"this statement opens with Rp {statement.opening_balance:,} but the "
                    f"previous one closed with Rp {previous.closing_balance:,}: a statement "
                    "is missing in between"
                )
        record = StatementRecord(
            id=statement_id,
            format=request.format or "detected",
            account_number_masked=mask_account_number(statement.account_number),
            bank_reference=statement.statement_reference,
            period_start=statement.opening_date,
            period_end=statement.closing_date,
            opening_balance=statement.opening_balance,
            closing_balance=statement.closing_balance,
            line_count=len(statement.lines),
            credits=statement.total_credits,
            debits=statement.total_debits,
            content_hash=content_hash,
            imported=Made(by=admin_id, at=at),
            updated_at=at,
        )
        statements.add(record)
        return record

    return uow.run(register)


def _outgoing_references(lines: Sequence[StatementLine]) -> list[str]:
    return sorted(
        {
            line.bank_reference
            for line in lines
            if line.direction is Direction.DEBIT and line.bank_reference is not None
        }
    )


def _paid_loans(tx: DocumentTransaction, lines: Sequence[StatementLine]) -> dict[str, LoanRecord]:
    """Loans whose confirmed payout carries the bank reference of an outgoing line."""
    references = _outgoing_references(lines)
    found: dict[str, LoanRecord] = {}
    for start in range(0, len(references), IN_QUERY_VALUES):
        batch = references[start : start + IN_QUERY_VALUES]
        for loan in Loans(tx).find(
            Where("disbursement.bank_reference", "in", batch), limit=len(batch) * 2
        ):
            paid = loan.disbursement
            if paid is not None and paid.state == "paid" and paid.bank_reference:
                found[paid.bank_reference] = loan
    return found


def _confirmed_withdrawals(
    tx: DocumentTransaction, lines: Sequence[StatementLine]
) -> dict[str, WithdrawalRecord]:
    """Confirmed withdrawals by bank reference, for the outgoing lines among `lines`."""
    references = _outgoing_references(lines)
    found: dict[str, WithdrawalRecord] = {}
    for start in range(0, len(references), IN_QUERY_VALUES):
        batch = references[start : start + IN_QUERY_VALUES]
        for withdrawal in Withdrawals(tx).find(
            Where("bank_reference", "in", batch), limit=len(batch) * 2
        ):
            if withdrawal.state == "confirmed" and withdrawal.bank_reference:
                found[withdrawal.bank_reference] = withdrawal
    return found


def _payout_shown(loan: LoanRecord | None, line: StatementLine) -> LoanRecord | None:
    """`loan`, when its confirmed payout is what the outgoing `line` shows and no line
    showed it yet."""
    paid = None if loan is None else loan.disbursement
    if paid is None or paid.line_id is not None or paid.net_disbursement != line.amount:
        return None
    return loan


def _import_chunk(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    statement_id: str,
    lines: Sequence[StatementLine],
    start: int,
    *,
    origin: EventOrigin,
) -> None:
    chunk = lines[start : start + CHUNK_LINES]
    now = origin.clock.now()

    def write(tx: DocumentTransaction) -> None:
        existing = StatementLines(tx).get_many([line.line_id for line in chunk])
        statement = Statements(tx).require(statement_id)
        new = [line for line in chunk if existing[line.line_id] is None]
        if not new:
            return
        withdrawals = _confirmed_withdrawals(tx, new)
        payouts = _paid_loans(tx, new)
        explained: set[str] = set()
        to_suspense = unexplained = 0
        with LedgerBook(tx) as book:
            for offset, line in enumerate(chunk, start=start + 1):
                if existing[line.line_id] is not None:
                    continue
                withdrawal = None
                payout: LoanRecord | None = None
                if line.direction is Direction.CREDIT:
                    state: Literal["in_suspense", "explained", "unexplained"] = "in_suspense"
                    book.post(
                        line_in(line.line_id, line.amount, now),
                        {},
                        source=f"statement/{statement_id}",
                        value_date=line.value_date,
                        bank_reference=line.bank_reference,
                    )
                else:
                    withdrawal = withdrawals.get(line.bank_reference or "")
                    fits = (
                        withdrawal is not None
                        and withdrawal.amount == line.amount
                        and withdrawal.line_id is None
                        and withdrawal.id not in explained
                    )
                    if not fits:
                        withdrawal = None
                        payout = _payout_shown(payouts.get(line.bank_reference or ""), line)
                        if payout is not None and payout.id in explained:
                            payout = None
                    state = "explained" if withdrawal or payout else "unexplained"
                to_suspense += state == "in_suspense"
                unexplained += state == "unexplained"
                if withdrawal is not None:
                    explained.add(withdrawal.id)
                    Withdrawals(tx).put(
                        withdrawal.model_copy(update={"line_id": line.line_id, "updated_at": now})
                    )
                if payout is not None and payout.disbursement is not None:
                    explained.add(payout.id)
                    shown = payout.disbursement.model_copy(update={"line_id": line.line_id})
                    Loans(tx).put(payout.model_copy(update={"disbursement": shown}))
                StatementLines(tx).add(
                    _line_record(
                        line,
                        statement_id,
                        offset,
                        vault,
                        now,
                        state,
                        withdrawal.id if withdrawal else None,
                        payout.id if payout else None,
                    )
                )
        Statements(tx).put(
            statement.model_copy(
                update={
                    "lines_imported": statement.lines_imported + len(new),
                    "lines_to_suspense": statement.lines_to_suspense + to_suspense,
                    "lines_unexplained": statement.lines_unexplained + unexplained,
                    "updated_at": now,
                }
            )
        )

    uow.run(write)


def _finish(uow: UnitOfWork, statement_id: str, *, origin: EventOrigin) -> StatementRecord:
    now = origin.clock.now()

    def finish(tx: DocumentTransaction) -> StatementRecord:
        statements = Statements(tx)
        statement = statements.require(statement_id)
        if statement.state == "imported":
            return statement
        if statement.lines_imported != statement.line_count:
            raise Conflict(
                f"statement {statement_id} has {statement.lines_imported} of "
                f"{statement.line_count} lines: import the file again to finish it"
            )
        done = statement.model_copy(update={"state": "imported", "updated_at": now})
        statements.put(done)
        tx.emit(
            origin.event(
                EventType.STATEMENT_IMPORTED,
                StatementImported(
                    statement_id=statement_id,
                    period_end=statement.period_end,
                    lines=statement.line_count,
                    credits=statement.credits,
                    debits=statement.debits,
                    closing_balance=statement.closing_balance,
                ),
            )
        )
        return done

    return uow.run(finish)


def list_statements(uow: UnitOfWork) -> StatementList:
    found = uow.run(
        lambda tx: Statements(tx).find(
            order_by=(OrderBy("period_end", descending=True),), limit=MAX_LISTED
        ),
        read_only=True,
    )
    return StatementList(statements=tuple(found))


def statement_lines(uow: UnitOfWork, statement_id: str, query: LineQuery) -> LineList:
    where = [Where("statement_id", "==", statement_id)]
    if query.state is not None:
        where.append(Where("state", "==", query.state))
    found = uow.run(
        lambda tx: StatementLines(tx).find(
            *where, order_by=(OrderBy("position"),), limit=query.limit
        ),
        read_only=True,
    )
    if (
        not found
        and uow.run(lambda tx: tx.get(BANK_STATEMENTS, statement_id), read_only=True) is None
    ):
        raise NotFound(f"there is no statement {statement_id!r}")
    return LineList(lines=tuple(found))


def open_lines(uow: UnitOfWork, query: LineQuery) -> LineList:
    """Lines of every statement in one state (money in suspense, money out unexplained)."""
    where = [Where("state", "==", query.state)] if query.state else []
    found = uow.run(
        lambda tx: StatementLines(tx).find(
            *where, order_by=(OrderBy("imported_at"), OrderBy("id")), limit=query.limit
        ),
        read_only=True,
    )
    return LineList(lines=tuple(found))
