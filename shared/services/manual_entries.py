"""Manual adjusting entries: proposed by one `admin.finance` with a reason and the evidence,
approved by another, only then posted (docs/lending-rules.md#ledger).

An adjustment is an ordinary journal entry (balanced, on the chart of accounts, never taking
a lender's money below zero) whose id is `manual-<id>`. One that moves escrow cash states
the bank's value date, and may name the open statement line it accounts for (a bank charge,
a stray transfer refunded): the line is then explained by it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.events import EventType, LedgerAdjusted
from shared.domain.ledger import ESCROW_CASH, AccountId, JournalEntry, Posting, Side
from shared.domain.maker_checker import Checked, Made, checked
from shared.domain.money import rupiah
from shared.fields import FileName, PlainStr, PositiveRupiah, ProseStr
from shared.model import Model
from shared.platform.documents import DocumentStorage
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, UnitOfWork, Where
from shared.records.ledger import LedgerBook, PostingRecord, post_entry
from shared.records.manual_entries import (
    MANUAL_ENTRIES,
    Attachment,
    ManualEntries,
    ManualEntryRecord,
)
from shared.records.statements import STATEMENT_LINES, StatementLineRecord, StatementLines

MAX_LISTED = 100
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "text/csv": ".csv",
}


class PostingInput(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: Annotated[str, Field(pattern=r"^[a-z_]+(:[A-Za-z0-9][A-Za-z0-9_.-]{0,127})?$")]
    side: Literal["debit", "credit"]
    amount: PositiveRupiah


class AttachmentInput(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    file_name: FileName
    content_type: Literal["application/pdf", "image/jpeg", "image/png", "text/csv"]


class ManualEntryProposal(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    postings: Annotated[tuple[PostingInput, ...], Field(min_length=2, max_length=20)]
    memo: Annotated[PlainStr, Field(min_length=3, max_length=200)]
    reason: Annotated[ProseStr, Field(min_length=10, max_length=2000)]
    value_date: date | None = None
    line_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")] | None = None
    attachments: Annotated[tuple[AttachmentInput, ...], Field(min_length=1, max_length=5)]


class ManualEntryDecision(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    note: Annotated[ProseStr, Field(min_length=5, max_length=1000)]


class AttachmentUpload(Model):
    model_config = ConfigDict(frozen=True)

    file_name: str
    upload_url: str
    upload_headers: dict[str, str]


class ProposedManualEntry(Model):
    model_config = ConfigDict(frozen=True)

    entry: ManualEntryRecord
    uploads: tuple[AttachmentUpload, ...]


class ManualEntryQuery(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["proposed", "posted", "rejected"] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LISTED)] = 50


class ManualEntryList(Model):
    model_config = ConfigDict(frozen=True)

    entries: tuple[ManualEntryRecord, ...]


def _journal_entry(record: ManualEntryRecord, at: datetime) -> JournalEntry:
    """The entry a proposal posts (`ValidationFailed` naming what is wrong with it)."""
    postings = tuple(
        Posting(AccountId.parse(p.account), Side(p.side), rupiah(p.amount)) for p in record.postings
    )
    return JournalEntry(f"manual-{record.id}", at, postings, record.memo)


def propose_manual_entry(
    uow: UnitOfWork,
    storage: DocumentStorage,
    proposal: ManualEntryProposal,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> ProposedManualEntry:
    """Record a proposed adjustment and where to upload its evidence."""
    now = origin.clock.now()
    entry_id = origin.ids.new_id("adj")
    attachments = tuple(
        Attachment(
            file_name=a.file_name,
            content_type=a.content_type,
            object_name=f"ledger/{entry_id}/{n}{_EXTENSIONS[a.content_type]}",
        )
        for n, a in enumerate(proposal.attachments, start=1)
    )
    record = ManualEntryRecord(
        id=entry_id,
        postings=tuple(
            PostingRecord(account=p.account, side=p.side, amount=p.amount)
            for p in proposal.postings
        ),
        memo=proposal.memo,
        reason=proposal.reason,
        value_date=proposal.value_date,
        line_id=proposal.line_id,
        attachments=attachments,
        proposed=Made(by=admin_id, at=now),
        proposed_at=now,
        updated_at=now,
    )
    journal = _journal_entry(record, now)  # refuses an unbalanced or unknown-account entry
    moves_escrow = ESCROW_CASH in journal.accounts
    if moves_escrow != (proposal.value_date is not None):
        raise ValidationFailed(
            "an entry moving escrow cash states the bank's value date, and only such an entry",
            {"value_date": "required with escrow_cash, refused without it"},
        )
    if proposal.line_id is not None and not moves_escrow:
        raise ValidationFailed(
            "a statement line is accounted for by an entry moving escrow cash",
            {"line_id": "the entry does not move escrow cash"},
        )
    uploads = tuple(
        AttachmentUpload(
            file_name=a.file_name,
            upload_url=(signed := storage.upload_url(a.object_name, a.content_type)).url,
            upload_headers=dict(signed.headers),
        )
        for a in attachments
    )

    def propose(tx: DocumentTransaction) -> ProposedManualEntry:
        ManualEntries(tx).add(record)
        return ProposedManualEntry(entry=record, uploads=uploads)

    return uow.run(propose)


def approve_manual_entry(
    uow: UnitOfWork,
    storage: DocumentStorage,
    entry_id: str,
    decision: ManualEntryDecision,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> ManualEntryRecord:
    """Post a proposed adjustment: by another admin, once its evidence is uploaded."""
    require_document_id(entry_id, "manual entry")
    now = origin.clock.now()
    proposed = uow.run(lambda tx: ManualEntries(tx).get(entry_id), read_only=True)
    if proposed is None:
        raise NotFound(f"there is no manual entry {entry_id!r}")
    missing = [a.file_name for a in proposed.attachments if storage.describe(a.object_name) is None]
    if missing and proposed.state == "proposed":
        raise Conflict(f"upload the evidence first: {', '.join(missing)}")

    def approve(tx: DocumentTransaction) -> ManualEntryRecord:
        found = tx.get_documents(
            [
                (MANUAL_ENTRIES, entry_id),
                *([(STATEMENT_LINES, proposed.line_id)] if proposed.line_id else []),
            ]
        )
        record = ManualEntryRecord.model_validate(found[(MANUAL_ENTRIES, entry_id)])
        if record.state == "posted":
            return record
        if record.state != "proposed":
            raise Conflict(f"manual entry {entry_id} is {record.state}")
        approval = checked(admin_id, record.proposed, now, action="approve this adjustment")
        journal = _journal_entry(record, now)
        balances = tx.get_documents(LedgerBook.refs_to_read([journal]))
        line = None
        if record.line_id is not None:
            data = found[(STATEMENT_LINES, record.line_id)]
            if data is None:
                raise NotFound(f"there is no statement line {record.line_id!r}")
            line = StatementLineRecord.model_validate(data)
            if line.state not in ("in_suspense", "unexplained"):
                raise Conflict(f"statement line {line.id} is {line.state}: it is accounted for")
        post_entry(
            tx,
            journal,
            balances,
            source=f"manual/{record.id}",
            value_date=record.value_date,
            bank_reference=line.bank_reference if line else None,
        )
        if line is not None:
            StatementLines(tx).put(
                line.model_copy(
                    update={"state": "explained", "manual_entry_id": record.id, "updated_at": now}
                )
            )
        posted = record.model_copy(
            update={
                "state": "posted",
                "decided": approval,
                "decision_note": decision.note,
                "entry_id": journal.entry_id,
                "updated_at": now,
            }
        )
        ManualEntries(tx).put(posted)
        tx.emit(
            origin.event(
                EventType.LEDGER_ADJUSTED,
                LedgerAdjusted(
                    manual_entry_id=record.id,
                    entry_id=journal.entry_id,
                    proposed_by=record.proposed.by,
                    approved_by=admin_id,
                ),
            )
        )
        return posted

    return uow.run(approve)


def reject_manual_entry(
    uow: UnitOfWork,
    entry_id: str,
    decision: ManualEntryDecision,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> ManualEntryRecord:
    require_document_id(entry_id, "manual entry")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> ManualEntryRecord:
        entries = ManualEntries(tx)
        record = entries.require(entry_id)
        if record.state != "proposed":
            raise Conflict(f"manual entry {entry_id} is {record.state}")
        rejected = record.model_copy(
            update={
                "state": "rejected",
                "decided": Checked(by=admin_id, at=now),
                "decision_note": decision.note,
                "updated_at": now,
            }
        )
        entries.put(rejected)
        return rejected

    return uow.run(reject)


def list_manual_entries(uow: UnitOfWork, query: ManualEntryQuery) -> ManualEntryList:
    where = [Where("state", "==", query.state)] if query.state else []
    found = uow.run(
        lambda tx: ManualEntries(tx).newest(*where, by="proposed_at", limit=query.limit),
        read_only=True,
    )
    return ManualEntryList(entries=tuple(found))
