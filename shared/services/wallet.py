"""A lender's view of their own money: balances and the entries that moved it
(docs/lending-rules.md#ledger).

Balances are read from the stored ledger (`ledger_balances`), entries from the journal
(`ledger_entries`, by owner), so what a lender sees is what reconciliation checks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from shared.domain.ledger import AccountType
from shared.domain.movements import lender_account
from shared.model import Model
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.ledger import LEDGER_ENTRIES, EntryRecord, read_balances
from shared.records.users import Users
from shared.services.bank_accounts import withdrawals_held_until

WalletAccount = Literal["available", "reserved", "committed"]
LENDER_ACCOUNTS: dict[AccountType, WalletAccount] = {
    AccountType.LENDER_AVAILABLE: "available",
    AccountType.LENDER_RESERVED: "reserved",
    AccountType.LENDER_COMMITTED: "committed",
}
MAX_ENTRIES = 100


class WalletBalance(Model):
    model_config = ConfigDict(frozen=True)

    lender_id: str
    available: int  # free to commit to loans or withdraw
    reserved: int  # held for withdrawals in progress
    committed: int  # pledged to loans still in funding
    bank_account_verified: bool
    withdrawals_held_until: datetime | None


class EntryQuery(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: Annotated[int, Field(ge=1, le=MAX_ENTRIES)] = 50


class EntryLine(Model):
    """One posting of an entry to one of the lender's accounts."""

    model_config = ConfigDict(frozen=True)

    account: WalletAccount
    change: int  # + money in, − money out of that account


class EntryView(Model):
    model_config = ConfigDict(frozen=True)

    entry_id: str
    occurred_at: datetime
    day: date
    memo: str
    source: str
    reverses: str | None
    lines: tuple[EntryLine, ...]


class EntryList(Model):
    model_config = ConfigDict(frozen=True)

    entries: tuple[EntryView, ...]


def wallet_of(uow: UnitOfWork, lender_id: str) -> WalletBalance:
    def read(tx: DocumentTransaction) -> WalletBalance:
        user = Users(tx).get(lender_id)
        balances = read_balances(tx, [lender_account(kind, lender_id) for kind in LENDER_ACCOUNTS])
        account = user.bank_account if user else None
        available, reserved, committed = balances.values()
        return WalletBalance(
            lender_id=lender_id,
            available=available,
            reserved=reserved,
            committed=committed,
            bank_account_verified=account is not None and account.verified_at is not None,
            withdrawals_held_until=withdrawals_held_until(account) if account else None,
        )

    return uow.run(read, read_only=True)


def _view(record: EntryRecord, lender_id: str) -> EntryView:
    entry = record.to_entry()
    lines = []
    for posting in entry.postings:
        if posting.account.owner == lender_id and posting.account.type in LENDER_ACCOUNTS:
            lines.append(
                EntryLine(
                    account=LENDER_ACCOUNTS[posting.account.type], change=posting.balance_change
                )
            )
    return EntryView(
        entry_id=record.entry_id,
        occurred_at=record.occurred_at,
        day=record.day,
        memo=record.memo,
        source=record.source,
        reverses=record.reverses,
        lines=tuple(lines),
    )


def entries_of(uow: UnitOfWork, lender_id: str, query: EntryQuery) -> EntryList:
    """The entries that moved the lender's money, newest first."""
    docs = uow.run(
        lambda tx: tx.query(
            LEDGER_ENTRIES,
            [Where("owners", "array_contains", lender_id)],
            [OrderBy("occurred_at", descending=True), OrderBy("entry_id", descending=True)],
            query.limit,
        ),
        read_only=True,
    )
    return EntryList(
        entries=tuple(_view(EntryRecord.model_validate(doc.data), lender_id) for doc in docs)
    )
