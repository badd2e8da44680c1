"""The stored ledger: journal entries and account balances, written in the transaction of
the state change they belong to (docs/lending-rules.md#ledger).

- `ledger_entries/<entry id>`: one `EntryRecord`, created once and never changed. The id
  is the idempotency key of the movement (`deposit-<id>`, `withdrawal-<id>-reserve`): it
  is *created*, so a second commit of the same entry fails as a whole and can never post
  twice. `day` is the Jakarta date it was posted on (reconciliation reads a day at a
  time); an entry that moves escrow cash carries the bank's `value_date`, the day the
  money moved at the bank, and the bank's reference.
- `ledger_balances/<account>`: one document per account (`lender_available:L-7`) holding
  `balance` in the account's normal direction. A hot account (escrow cash, suspense, fee
  income, VAT and withholding payable) is spread over `shards` documents
  (`escrow_cash~07`); its balance is their sum. A lender's available balance document
  also holds their live position, `live` (`shared/records/positions.py`): a field beside
  `balance` that no balance reader reads, changed in the same write as the balance.

Every balance is changed with Firestore's increment transform (`DocumentTransaction.add_to`)
so that concurrent movements never conflict on a shared document. A posting that would
take an account below zero where the chart forbids it (a lender's available, reserved and
committed money, a borrower's credit) needs that account's balance *read in the same
transaction*: `LedgerBook.refs_to_read` names those documents, so a use case reads them in
the batch with its own documents, and `LedgerBook.post` refuses with `InsufficientFunds`
before anything is written. The read is what makes the check sound: a concurrent movement
of the same account changes the document the transaction read, so one of the two commits
is retried and sees the other's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Literal

from pydantic import ConfigDict

from shared.domain.errors import InsufficientFunds
from shared.domain.ledger import (
    ESCROW_CASH,
    AccountId,
    JournalEntry,
    Posting,
    Side,
    balance_changes,
)
from shared.fields import Instant
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.store import DocRef, DocumentTransaction, JsonDict

LEDGER_ENTRIES = "ledger_entries"
LEDGER_BALANCES = "ledger_balances"
HOT_SHARDS = 16  # ~16 writes/s sustained per hot account; the balance is the shards' sum


def balance_doc_id(account: AccountId, shard: int = 0) -> str:
    """The document holding `account`'s balance (one of its shards for a hot account)."""
    return f"{account}~{shard:02d}" if account.type.spec.hot else str(account)


def balance_ref(account: AccountId, shard: int = 0) -> DocRef:
    return (LEDGER_BALANCES, balance_doc_id(account, shard))


class PostingRecord(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    side: Literal["debit", "credit"]
    amount: int


class EntryRecord(Model):
    """`ledger_entries/<entry id>`: one journal entry as stored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    entry_id: str
    occurred_at: Instant
    day: date  # the Jakarta date it was posted on
    postings: tuple[PostingRecord, ...]
    accounts: tuple[str, ...]  # every account it touches
    owners: tuple[str, ...]  # the owners of per-owner accounts it touches: a lender's history
    memo: str = ""
    reverses: str | None = None
    source: str  # what it belongs to: "deposit/dep-1", "withdrawal/wd-3"
    value_date: date | None = None  # when the bank moved the money (escrow entries)
    bank_reference: str | None = None

    @classmethod
    def of(
        cls,
        entry: JournalEntry,
        *,
        source: str,
        value_date: date | None,
        bank_reference: str | None,
    ) -> EntryRecord:
        return cls(
            entry_id=entry.entry_id,
            occurred_at=entry.occurred_at,
            day=jakarta_date(entry.occurred_at),
            postings=tuple(
                PostingRecord(account=str(p.account), side=p.side.value, amount=p.amount)
                for p in entry.postings
            ),
            accounts=tuple(sorted({str(p.account) for p in entry.postings})),
            owners=tuple(sorted({p.account.owner for p in entry.postings if p.account.owner})),
            memo=entry.memo,
            reverses=entry.reverses,
            source=source,
            value_date=value_date,
            bank_reference=bank_reference,
        )

    def to_entry(self) -> JournalEntry:
        """The journal entry, rebuilt without its rules, so a corrupted record is reported
        by reconciliation instead of crashing it (`JournalEntry.restore`)."""
        return JournalEntry.restore(
            self.entry_id,
            self.occurred_at,
            tuple(_restored_posting(p.account, p.side, p.amount) for p in self.postings),
            self.memo,
            self.reverses,
        )

    @property
    def moves_escrow(self) -> bool:
        return str(ESCROW_CASH) in self.accounts


_SIDES = {side.value: side for side in Side}  # a dict lookup: an Enum call costs far more


def _restored_posting(account: str, side: str, amount: int) -> Posting:
    posting = object.__new__(Posting)
    object.__setattr__(posting, "account", AccountId.parse(account))
    object.__setattr__(posting, "side", _SIDES.get(side) or Side(side))
    object.__setattr__(posting, "amount", amount)
    return posting


class BalanceRecord(Model):
    """`ledger_balances/<account>[~shard]`: an account's balance, or one shard of it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account: str
    shard: int = 0
    balance: int = 0


def _never_negative_debits(entry: JournalEntry) -> set[AccountId]:
    return {
        p.account
        for p in entry.postings
        if p.account.type.spec.never_negative and p.balance_change < 0
    }


class LedgerBook:
    """The ledger inside one transaction: read what the checks need, then post.

    A use case reads `LedgerBook.refs_to_read(entries)` in its batch of reads (every read
    comes first, Firestore's rule), then posts inside a `with LedgerBook(tx) as book:`
    block. Each entry is written as it is posted; the balance changes of every entry posted
    through the book are added up per balance document and written once when the block ends
    without an error: one write per document, however many entries touch it. Changes to
    other fields of a balance document (`add_beside`: a lender's live position) go into
    that same write.
    """

    def __init__(self, tx: DocumentTransaction, *, shards: int = HOT_SHARDS) -> None:
        self.tx = tx
        self.shards = shards
        self._balances: dict[AccountId, int] = {}  # never-negative accounts, as posted so far
        self._changes: dict[tuple[AccountId, int], int] = {}
        self._beside: dict[AccountId, dict[str, int]] = {}  # other fields' increments

    def __enter__(self) -> LedgerBook:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self._flush()

    def _flush(self) -> None:
        documents = sorted(
            self._changes.keys() | {(account, 0) for account in self._beside},
            key=lambda key: (str(key[0]), key[1]),
        )
        for account, shard in documents:
            change = self._changes.get((account, shard), 0)
            increments = {"balance": change} if change else {}
            if shard == 0:
                increments |= {k: v for k, v in self._beside.get(account, {}).items() if v}
            if increments:
                self.tx.add_to(
                    LEDGER_BALANCES,
                    balance_doc_id(account, shard),
                    increments,
                    {"account": str(account), "shard": shard},
                )
        self._changes.clear()
        self._beside.clear()

    def add_beside(self, account: AccountId, increments: Mapping[str, int]) -> None:
        """Add `increments` to other fields of `account`'s balance document (a lender's live
        position), in the one write the book makes to that document when the block ends:
        nothing more to write when an entry posted through the book changes its balance.
        Only a single-document account has room beside its balance; `balance` is the
        ledger's alone."""
        if account.type.spec.hot:
            raise ValueError(f"{account} is sharded: nothing is kept beside its balance")
        if "balance" in increments:
            raise ValueError("a balance changes only by a posted entry")
        fields = self._beside.setdefault(account, {})
        for name, amount in increments.items():
            fields[name] = fields.get(name, 0) + amount

    @staticmethod
    def refs_to_read(entries: Iterable[JournalEntry]) -> list[DocRef]:
        """The balance documents `post` must have read: every never-negative account the
        entries debit."""
        accounts = {a for entry in entries for a in _never_negative_debits(entry)}
        return [balance_ref(a) for a in sorted(accounts, key=str)]

    def post(
        self,
        entry: JournalEntry,
        read: Mapping[DocRef, JsonDict | None],
        *,
        source: str,
        value_date: date | None = None,
        bank_reference: str | None = None,
    ) -> EntryRecord:
        """Write `entry` and its balance changes, or refuse before writing anything.

        `InsufficientFunds` (naming the account and what it holds) when a never-negative
        account would go below zero, counting the entries posted before it through this
        book. An entry that moves escrow cash states the bank's value date.
        """
        record = EntryRecord.of(
            entry, source=source, value_date=value_date, bank_reference=bank_reference
        )
        if record.moves_escrow and value_date is None:
            raise ValueError(f"{entry.entry_id}: an entry moving escrow cash states its value date")
        changes = balance_changes(entry, self.shards)
        for account in entry.accounts:
            if account not in self._balances and balance_ref(account) in read:
                self._balances[account] = self.balance(account, read)
        for account in sorted(_never_negative_debits(entry), key=str):
            self._check(account, changes[(account, 0)], read)
        self.tx.create(LEDGER_ENTRIES, entry.entry_id, record.model_dump(mode="json"))
        for key, change in changes.items():
            if key[0] in self._balances:
                self._balances[key[0]] += change
            self._changes[key] = self._changes.get(key, 0) + change
        return record

    def balance(self, account: AccountId, read: Mapping[DocRef, JsonDict | None]) -> int:
        """A single-document account's balance as read (and as posted through this book)."""
        if account in self._balances:
            return self._balances[account]
        ref = balance_ref(account)
        if ref not in read:
            raise RuntimeError(f"read {ref} in the transaction before using its balance")
        data = read[ref]
        return int(data.get("balance", 0)) if data else 0

    def _check(
        self, account: AccountId, change: int, read: Mapping[DocRef, JsonDict | None]
    ) -> None:
        current = self.balance(account, read)
        self._balances[account] = current
        if current + change < 0:
            raise InsufficientFunds(
                f"{account} holds {current:,} rupiah, {-change:,} needed",
                account=str(account),
                available=current,
            )


def post_entry(
    tx: DocumentTransaction,
    entry: JournalEntry,
    read: Mapping[DocRef, JsonDict | None],
    *,
    source: str,
    value_date: date | None = None,
    bank_reference: str | None = None,
) -> EntryRecord:
    """Post one entry with its balance changes (`LedgerBook.post`, for a single entry)."""
    with LedgerBook(tx) as book:
        return book.post(
            entry, read, source=source, value_date=value_date, bank_reference=bank_reference
        )


def shard_doc_ids(account: AccountId, shards: int = HOT_SHARDS) -> list[str]:
    """Every balance document of `account` (one, unless it is hot)."""
    if not account.type.spec.hot:
        return [balance_doc_id(account)]
    return [balance_doc_id(account, shard) for shard in range(shards)]


def read_balances(
    tx: DocumentTransaction, accounts: Iterable[AccountId], *, shards: int = HOT_SHARDS
) -> dict[AccountId, int]:
    """The balances of `accounts` (hot ones summed over their shards), in one read."""
    wanted = list(dict.fromkeys(accounts))
    refs = [(LEDGER_BALANCES, doc_id) for a in wanted for doc_id in shard_doc_ids(a, shards)]
    found = tx.get_documents(refs)
    balances = dict.fromkeys(wanted, 0)
    for account in wanted:
        for doc_id in shard_doc_ids(account, shards):
            data = found[(LEDGER_BALANCES, doc_id)]
            balances[account] += int(data.get("balance", 0)) if data else 0
    return balances


def entry_of(data: JsonDict) -> EntryRecord:
    return EntryRecord.model_validate(data)
