"""The double-entry ledger of one business entity: accounts, journal entries, checks.

Every movement of money is one `JournalEntry`: two or more `Posting`s, each a
positive debit or a positive credit (never a signed amount), whose debits equal
their credits. Entries are immutable; a mistake is corrected by `reverse(...)`,
a new entry that mirrors the original and points at it. The entry id is the
idempotency key: the caller makes it once, stores it and sends the same entry
on every retry; posting an entry that is already there is a no-op, and the same
id with different content is a `Conflict` (TigerBeetle's "exists" rule).

Balances are kept in each account's normal direction: an asset's balance is
debits − credits, a liability's or income's credits − debits, so a positive
number is always "money there". Everything here is pure: `Ledger` is an
immutable fold (`post` returns a new ledger), and the reconciliation checks are
functions `validate_x(...) -> list[LedgerError]` in the style of beancount,
returning every problem found rather than stopping at the first.

Chart of accounts (per entity; per-owner accounts carry the owner's id,
`lender_available:<lender_id>`, `loan_principal:<loan_id>`):

| account | kind | owner | in the escrow identity |
|---|---|---|---|
| escrow_cash | asset | - | the left-hand side |
| lender_available / lender_reserved / lender_committed | liability | lender | yes |
| borrower_credit | liability | borrower | yes |
| borrower_payout_in_transit | liability | loan | yes |
| suspense | liability | - | yes |
| unapplied_receipts / pending_split | liability | loan | yes |
| gateway_clearing | asset | - | yes, beside escrow cash |
| platform_fee_income | income | - | yes (not yet swept) |
| vat_payable / withholding_tax_payable | liability | - | yes (not yet remitted) |
| payment_fees_expense | expense | - | yes, against the unswept side |
| loan_principal / interest_receivable / late_fee_receivable | asset | loan | no |
| loan_lenders_claim | liability | loan | no |

`loan_lenders_claim:<loan_id>` is what the loan's lenders are owed out of its
collections (principal funded plus interest accrued). It mirrors the two
receivables, so a loan's receivables never enter the escrow identity:
escrow cash + gateway clearing = lender available + reserved + committed + borrower
credit + suspense + unapplied receipts + pending splits + payouts in transit + fee income
+ VAT + withholding not yet swept − the gateway's fees.

The canonical entries (debit / credit):

- deposit confirmed: escrow_cash / lender_available
- withdrawal requested: lender_available / lender_reserved; confirmed:
  lender_reserved / escrow_cash; rejected: the reversal of the request
- commitment: lender_available / lender_committed (released: its reversal)
- disbursement: lender_committed (each lender) / borrower_payout_in_transit +
  platform_fee_income (origination fee) + vat_payable; and loan_principal /
  loan_lenders_claim; the bank confirms the payout: borrower_payout_in_transit /
  escrow_cash
- interest accrual: interest_receivable / loan_lenders_claim
- late fee accrual (the overdue sweep): late_fee_receivable / loan_lenders_claim
- payment into a virtual account (the gateway's notice): gateway_clearing /
  unapplied_receipts (a loan's), lender_available (a lender's top-up) or suspense
- repayment allocated (`allocation`): unapplied_receipts / pending_split (the
  lenders' part) + platform_fee_income + vat_payable (borrower fees) +
  borrower_credit (overpayment); and loan_lenders_claim / loan_principal (+
  late_fee_receivable, interest_receivable for what was accrued earlier) for the principal
  and late fees collected
- repayment split (`split`, per chunk of lenders): pending_split / lender_available
  (each lender's net) + platform_fee_income + vat_payable + withholding_tax_payable
- gateway settlement: suspense (the statement line of the money settled) +
  payment_fees_expense / gateway_clearing
- unmatched bank credit: escrow_cash / suspense
- fee sweep: platform_fee_income / payment_fees_expense (the gateway's fees,
  closed) + escrow_cash (the rest), and vat_payable / escrow_cash; tax payment:
  withholding_tax_payable / escrow_cash (so each of those accounts holds what is
  not yet swept or remitted; fees earned in a period are its credits)
- write-off: loan_lenders_claim / loan_principal (+ every other receivable of the loan
  with a balance: its asset accounts); a recovery afterwards is allocated without the
  loan_lenders_claim / loan_principal pair (docs/lending-rules.md#write-off)

Hot accounts. Escrow cash, fee income, VAT payable and withholding payable are
touched by nearly every entry, and Firestore sustains about one write per second per
document, so a store must not keep each as one balance document. `shard_for(account,
entry_id, shards)` picks one of N shard documents per hot account (a hash of the entry
id, so a retried entry lands on the same shard); `balance_changes(entry, shards)` gives
the exact increments per (account, shard), and `sum_shards` folds shard balances back
into account balances for `validate_ledger`. Accounts that must never go negative (a
lender's balances, a borrower's credit) are never hot: each is one document, so the
balance check and the debit are one read and one write inside the same transaction
(docs/lending-rules.md#ledger).
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Protocol

from shared.domain.errors import (
    Conflict,
    InsufficientFunds,
    NotFound,
    ValidationFailed,
)
from shared.domain.money import Rupiah, rupiah

# --- accounts ----------------------------------------------------------------------


class Side(Enum):
    """Which column of the journal a posting sits in."""

    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


class AccountKind(Enum):
    """The five kinds of account, each with the side that increases it."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_balance(self) -> Side:
        """Assets and expenses grow with debits; liabilities, equity and income with credits."""
        return Side.DEBIT if self in (AccountKind.ASSET, AccountKind.EXPENSE) else Side.CREDIT


class OwnerKind(Enum):
    """Whose account a per-owner account is."""

    LENDER = "lender"
    LOAN = "loan"
    BORROWER = "borrower"


class EscrowRole(Enum):
    """Why money in an account sits in the escrow bank account."""

    CLEARING = "clearing"  # received by the payment gateway, not yet settled into escrow
    HELD_FOR_OTHERS = "held_for_others"  # lenders', borrowers', unmatched or in transit
    PLATFORM_UNSWEPT = "platform_unswept"  # fees and taxes not yet swept or remitted


@dataclass(frozen=True)
class AccountSpec:
    """What the ledger knows about an account type."""

    kind: AccountKind
    owner: OwnerKind | None
    escrow_role: EscrowRole | None  # None: not part of the escrow identity's right-hand side
    hot: bool  # touched by (nearly) every entry: shard it or derive it
    never_negative: bool  # a posting that would take it below zero is refused
    description: str


class AccountType(Enum):
    """The chart of accounts of one business entity."""

    ESCROW_CASH = "escrow_cash"
    LENDER_AVAILABLE = "lender_available"
    LENDER_RESERVED = "lender_reserved"
    LENDER_COMMITTED = "lender_committed"
    LOAN_PRINCIPAL = "loan_principal"
    INTEREST_RECEIVABLE = "interest_receivable"
    LOAN_LENDERS_CLAIM = "loan_lenders_claim"
    PLATFORM_FEE_INCOME = "platform_fee_income"
    VAT_PAYABLE = "vat_payable"
    WITHHOLDING_TAX_PAYABLE = "withholding_tax_payable"
    BORROWER_PAYOUT_IN_TRANSIT = "borrower_payout_in_transit"
    BORROWER_CREDIT = "borrower_credit"
    SUSPENSE = "suspense"
    GATEWAY_CLEARING = "gateway_clearing"
    UNAPPLIED_RECEIPTS = "unapplied_receipts"
    PENDING_SPLIT = "pending_split"
    PAYMENT_FEES_EXPENSE = "payment_fees_expense"
    LATE_FEE_RECEIVABLE = "late_fee_receivable"

    @property
    def spec(self) -> AccountSpec:
        return CHART_OF_ACCOUNTS[self]

    @property
    def kind(self) -> AccountKind:
        return self.spec.kind

    @property
    def normal_balance(self) -> Side:
        return self.spec.kind.normal_balance

    @property
    def owner_kind(self) -> OwnerKind | None:
        return self.spec.owner


def _spec(
    kind: AccountKind,
    owner: OwnerKind | None,
    description: str,
    *,
    escrow: EscrowRole | None = None,
    hot: bool = False,
    never_negative: bool = False,
) -> AccountSpec:
    return AccountSpec(kind, owner, escrow, hot, never_negative, description)


_A, _L, _I, _E = AccountKind.ASSET, AccountKind.LIABILITY, AccountKind.INCOME, AccountKind.EXPENSE
_LENDER, _LOAN, _BORROWER = OwnerKind.LENDER, OwnerKind.LOAN, OwnerKind.BORROWER
_HELD, _UNSWEPT = EscrowRole.HELD_FOR_OTHERS, EscrowRole.PLATFORM_UNSWEPT

CHART_OF_ACCOUNTS: Mapping[AccountType, AccountSpec] = MappingProxyType(
    {
        AccountType.ESCROW_CASH: _spec(
            _A, None, "the platform's escrow account at the bank", hot=True
        ),
        AccountType.LENDER_AVAILABLE: _spec(
            _L, _LENDER, "a lender's money free to commit or withdraw",
            escrow=_HELD, never_negative=True,
        ),
        AccountType.LENDER_RESERVED: _spec(
            _L, _LENDER, "held for a lender's pending withdrawal",
            escrow=_HELD, never_negative=True,
        ),
        AccountType.LENDER_COMMITTED: _spec(
            _L, _LENDER, "pledged by a lender to loans still in funding",
            escrow=_HELD, never_negative=True,
        ),
        AccountType.LOAN_PRINCIPAL: _spec(_A, _LOAN, "principal the borrower still owes"),
        AccountType.INTEREST_RECEIVABLE: _spec(_A, _LOAN, "interest accrued and not yet paid"),
        AccountType.LATE_FEE_RECEIVABLE: _spec(
            _A, _LOAN, "late fees accrued by the overdue sweep and not yet paid"
        ),
        AccountType.LOAN_LENDERS_CLAIM: _spec(
            _L, _LOAN, "what the loan's lenders are owed out of its collections"
        ),
        AccountType.PLATFORM_FEE_INCOME: _spec(
            _I, None, "platform fees earned and not yet swept", escrow=_UNSWEPT, hot=True
        ),
        AccountType.VAT_PAYABLE: _spec(
            _L, None, "VAT on platform fees not yet remitted", escrow=_UNSWEPT, hot=True
        ),
        AccountType.WITHHOLDING_TAX_PAYABLE: _spec(
            _L, None, "PPh 23/26 withheld from lenders, not yet remitted",
            escrow=_UNSWEPT, hot=True,
        ),
        AccountType.BORROWER_PAYOUT_IN_TRANSIT: _spec(
            _L, _LOAN, "a disbursement sent to the borrower's bank, not yet confirmed",
            escrow=_HELD,
        ),
        AccountType.BORROWER_CREDIT: _spec(
            _L, _BORROWER, "a borrower's overpayments", escrow=_HELD, never_negative=True
        ),
        AccountType.SUSPENSE: _spec(
            _L, None, "payments received that match no virtual account yet", escrow=_HELD
        ),
        AccountType.GATEWAY_CLEARING: _spec(
            _A, None, "paid into virtual accounts, not yet settled by the payment gateway",
            escrow=EscrowRole.CLEARING, hot=True,
        ),
        AccountType.UNAPPLIED_RECEIPTS: _spec(
            _L, _LOAN, "a borrower's payment received, not yet allocated to the loan",
            escrow=_HELD, never_negative=True,
        ),
        AccountType.PENDING_SPLIT: _spec(
            _L, _LOAN, "the lenders' part of an allocated payment, not yet split to them",
            escrow=_HELD, never_negative=True,
        ),
        AccountType.PAYMENT_FEES_EXPENSE: _spec(
            _E, None, "the payment gateway's fees, paid out of what it settles",
            escrow=_UNSWEPT,
        ),
    }
)  # fmt: skip

LOAN_RECEIVABLES: tuple[AccountType, ...] = tuple(
    kind for kind, spec in CHART_OF_ACCOUNTS.items() if spec.kind is _A and spec.owner is _LOAN
)
"""What a loan's borrower owes its lenders (principal, interest, late fees): assets that
mirror the loan's `loan_lenders_claim`."""

_FORBIDDEN_IN_IDS = ("/", ":")
_MAX_ID_LENGTH = 256  # ids become Firestore document ids (1,500 bytes max); keep them short


def _id_problem(value: object, what: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{what} must be a non-empty string"
    if len(value) > _MAX_ID_LENGTH:
        return f"{what} is longer than {_MAX_ID_LENGTH} characters"
    if any(char in value for char in _FORBIDDEN_IN_IDS):
        return f"{what} must not contain '/' or ':'"
    return None


@dataclass(frozen=True)
class AccountId:
    """One account: a type, plus the owner's id for per-owner types (`lender_available:L-7`)."""

    type: AccountType
    owner: str | None = None

    def __post_init__(self) -> None:
        owner_kind = self.type.owner_kind
        if owner_kind is None and self.owner is not None:
            raise ValidationFailed(
                f"{self.type.value} is a single platform account and has no owner",
                {"owner": "must be empty"},
            )
        if owner_kind is not None:
            problem = _id_problem(self.owner, f"the {owner_kind.value} id")
            if problem:
                raise ValidationFailed(f"{self.type.value}: {problem}", {"owner": problem})

    def __str__(self) -> str:
        return self.type.value if self.owner is None else f"{self.type.value}:{self.owner}"

    @staticmethod
    def parse(text: str) -> AccountId:
        """The inverse of `str(account)`. Accounts repeat across a day's entries, so parsed
        ones are remembered (an `AccountId` is immutable)."""
        return _parse_account(text)


@functools.lru_cache(maxsize=100_000)
def _parse_account(text: str) -> AccountId:
    type_name, _, owner = text.partition(":")
    try:
        account_type = AccountType(type_name)
    except ValueError:
        raise ValidationFailed(
            f"unknown account {text!r}", {"account": "not in the chart of accounts"}
        ) from None
    return AccountId(account_type, owner or None)


ESCROW_CASH = AccountId(AccountType.ESCROW_CASH)
PLATFORM_FEE_INCOME = AccountId(AccountType.PLATFORM_FEE_INCOME)
VAT_PAYABLE = AccountId(AccountType.VAT_PAYABLE)
WITHHOLDING_TAX_PAYABLE = AccountId(AccountType.WITHHOLDING_TAX_PAYABLE)
SUSPENSE = AccountId(AccountType.SUSPENSE)
GATEWAY_CLEARING = AccountId(AccountType.GATEWAY_CLEARING)
PAYMENT_FEES_EXPENSE = AccountId(AccountType.PAYMENT_FEES_EXPENSE)


# --- postings and entries ----------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """One leg of an entry: a positive amount on the debit or the credit side of an account."""

    account: AccountId
    side: Side
    amount: Rupiah

    def __post_init__(self) -> None:
        rupiah(self.amount)
        if self.amount <= 0:
            raise ValidationFailed(
                f"a posting to {self.account} must be a positive amount, got {self.amount}",
                {"amount": "must be > 0 (use the other side instead of a negative amount)"},
            )

    @classmethod
    def debit(cls, account: AccountId, amount: int) -> Posting:
        return cls(account, Side.DEBIT, rupiah(amount))

    @classmethod
    def credit(cls, account: AccountId, amount: int) -> Posting:
        return cls(account, Side.CREDIT, rupiah(amount))

    @property
    def balance_change(self) -> int:
        """What this posting does to its account's balance (in the account's normal direction)."""
        return self.amount if self.side is self.account.type.normal_balance else -self.amount

    def mirrored(self) -> Posting:
        return Posting(self.account, self.side.opposite, self.amount)


class LedgerCheck(Enum):
    """What a reconciliation problem is about."""

    MALFORMED_ENTRY = "malformed-entry"
    TOO_FEW_POSTINGS = "too-few-postings"
    UNBALANCED_ENTRY = "unbalanced-entry"
    DUPLICATE_ENTRY_ID = "duplicate-entry-id"
    MISSING_REVERSED_ENTRY = "missing-reversed-entry"
    REVERSAL_MISMATCH = "reversal-mismatch"
    REVERSED_TWICE = "reversed-twice"
    BALANCE_MISMATCH = "balance-mismatch"
    NEGATIVE_BALANCE = "negative-balance"
    ESCROW_IDENTITY = "escrow-identity"


@dataclass(frozen=True)
class LedgerError:
    """One problem found by a check: what, where, and a sentence for the on-call engineer."""

    check: LedgerCheck
    message: str
    entry_id: str | None = None
    account: AccountId | None = None


def _entry_problems(entry: JournalEntry) -> list[tuple[LedgerCheck, str, str]]:
    """Every rule the entry breaks, as (check, field, message)."""
    problems: list[tuple[LedgerCheck, str, str]] = []
    id_problem = _id_problem(entry.entry_id, "the entry id")
    if id_problem:
        problems.append((LedgerCheck.MALFORMED_ENTRY, "entry_id", id_problem))
    if not isinstance(entry.occurred_at, datetime) or entry.occurred_at.utcoffset() is None:
        problems.append(
            (LedgerCheck.MALFORMED_ENTRY, "occurred_at", "must be a timezone-aware datetime")
        )
    if entry.reverses is not None:
        reverses_problem = _id_problem(entry.reverses, "the reversed entry id")
        if reverses_problem:
            problems.append((LedgerCheck.MALFORMED_ENTRY, "reverses", reverses_problem))
        elif entry.reverses == entry.entry_id:
            problems.append(
                (LedgerCheck.MALFORMED_ENTRY, "reverses", "an entry cannot reverse itself")
            )
    if len(entry.postings) < 2:
        problems.append(
            (LedgerCheck.TOO_FEW_POSTINGS, "postings", f"has {len(entry.postings)}, needs >= 2")
        )
    if entry.debits != entry.credits:
        problems.append(
            (
                LedgerCheck.UNBALANCED_ENTRY,
                "postings",
                f"debits {entry.debits} != credits {entry.credits}",
            )
        )
    return problems


@dataclass(frozen=True)
class JournalEntry:
    """One movement of money. Construction refuses an entry that breaks a rule.

    `entry_id` is the idempotency key; `occurred_at` is passed in (aware);
    `reverses` names the entry this one undoes.
    """

    entry_id: str
    occurred_at: datetime
    postings: tuple[Posting, ...]
    memo: str = ""
    reverses: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "postings", tuple(self.postings))
        problems = _entry_problems(self)
        if problems:
            field_errors: dict[str, str] = {}
            for _, name, message in problems:
                field_errors[name] = (
                    f"{field_errors[name]}; {message}" if name in field_errors else message
                )
            raise ValidationFailed(
                f"journal entry {self.entry_id!r} is invalid: "
                + "; ".join(message for _, _, message in problems),
                field_errors,
            )

    @classmethod
    def restore(
        cls,
        entry_id: str,
        occurred_at: datetime,
        postings: Sequence[Posting],
        memo: str = "",
        reverses: str | None = None,
    ) -> JournalEntry:
        """Rebuild a stored entry *without* the entry-level rules.

        Only for reading records back for reconciliation: a record corrupted in
        storage must be reported by `validate_ledger`, not crash the job that
        would report it. Never use it to create new entries.
        """
        entry = object.__new__(cls)
        for name, value in (
            ("entry_id", entry_id),
            ("occurred_at", occurred_at),
            ("postings", tuple(postings)),
            ("memo", memo),
            ("reverses", reverses),
        ):
            object.__setattr__(entry, name, value)
        return entry

    @property
    def debits(self) -> int:
        return sum(p.amount for p in self.postings if p.side is Side.DEBIT)

    @property
    def credits(self) -> int:
        return sum(p.amount for p in self.postings if p.side is Side.CREDIT)

    @property
    def accounts(self) -> frozenset[AccountId]:
        return frozenset(p.account for p in self.postings)


def reverse(
    entry: JournalEntry, new_id: str, at: datetime, memo: str | None = None
) -> JournalEntry:
    """The entry that undoes `entry`: the same postings on the opposite sides, pointing back."""
    return JournalEntry(
        entry_id=new_id,
        occurred_at=at,
        postings=tuple(p.mirrored() for p in entry.postings),
        memo=memo if memo is not None else f"reversal of {entry.entry_id}",
        reverses=entry.entry_id,
    )


def _posting_multiset(postings: Iterable[Posting]) -> Counter[tuple[str, Side, int]]:
    return Counter((str(p.account), p.side, p.amount) for p in postings)


def _mirrors(reversal: JournalEntry, original: JournalEntry) -> bool:
    return _posting_multiset(reversal.postings) == _posting_multiset(
        p.mirrored() for p in original.postings
    )


# --- balances ----------------------------------------------------------------------


def balances_from(entries: Iterable[JournalEntry]) -> dict[AccountId, int]:
    """Each account's balance (normal direction) as the sum of its postings in `entries`."""
    balances: dict[AccountId, int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            balances[posting.account] += posting.balance_change
    return dict(balances)


def shard_for(account: AccountId, entry_id: str, shards: int) -> int:
    """Which of `shards` balance documents of `account` an entry's posting is added to.

    Hot accounts spread over the shards by a stable hash of the entry id (so a
    retried entry lands on the same shard); every other account has one
    document, shard 0.
    """
    if shards < 1:
        raise ValidationFailed("an account has at least one shard", {"shards": "must be >= 1"})
    if not account.type.spec.hot or shards == 1:
        return 0
    digest = hashlib.sha256(f"{account}\x00{entry_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def balance_changes(entry: JournalEntry, shards: int) -> dict[tuple[AccountId, int], int]:
    """The increments a store applies for `entry`, per (account, shard) balance document."""
    changes: dict[tuple[AccountId, int], int] = defaultdict(int)
    for posting in entry.postings:
        key = (posting.account, shard_for(posting.account, entry.entry_id, shards))
        changes[key] += posting.balance_change
    return dict(changes)


def sum_shards(shard_balances: Mapping[tuple[AccountId, int], int]) -> dict[AccountId, int]:
    """Account balances from per-shard balances (what `validate_ledger` compares)."""
    balances: dict[AccountId, int] = defaultdict(int)
    for (account, _shard), amount in shard_balances.items():
        balances[account] += amount
    return dict(balances)


@dataclass(frozen=True)
class Ledger:
    """An in-memory ledger: the entries posted so far and the balances they add up to.

    Immutable: `post` returns a new ledger and leaves this one as it was, so a
    refused entry can never leave half its postings applied. Each post copies the
    maps, which suits tests, fakes and replaying one loan's or one lender's
    entries; the Firestore store applies `balance_changes` inside its transaction
    instead, with the same rules.
    """

    _entries: Mapping[str, JournalEntry] = field(default_factory=dict)
    _balances: Mapping[AccountId, int] = field(default_factory=dict)
    _reversed_by: Mapping[str, str] = field(default_factory=dict)

    @property
    def entries(self) -> tuple[JournalEntry, ...]:
        """Every entry, in the order it was posted."""
        return tuple(self._entries.values())

    @property
    def balances(self) -> Mapping[AccountId, int]:
        return MappingProxyType(dict(self._balances))

    def balance(self, account: AccountId) -> Rupiah:
        return Rupiah(self._balances.get(account, 0))

    def entry(self, entry_id: str) -> JournalEntry:
        try:
            return self._entries[entry_id]
        except KeyError:
            raise NotFound(f"no journal entry {entry_id!r}") from None

    def has_entry(self, entry_id: str) -> bool:
        return entry_id in self._entries

    def post(self, entry: JournalEntry) -> Ledger:
        """This ledger with `entry` applied, or this very ledger if it is already there.

        Refuses (and changes nothing) when: the id is taken by a different entry
        (`Conflict`); the entry reverses one that is missing (`NotFound`), already
        reversed (`Conflict`) or that it does not mirror (`ValidationFailed`); or an
        account that must never go negative would (`InsufficientFunds`).
        """
        existing = self._entries.get(entry.entry_id)
        if existing is not None:
            if existing == entry:
                return self
            raise Conflict(f"entry {entry.entry_id!r} was already posted with different content")
        if entry.reverses is not None:
            self._check_reversal(entry, entry.reverses)
        balances = dict(self._balances)
        for posting in entry.postings:
            balances[posting.account] = balances.get(posting.account, 0) + posting.balance_change
        overdrawn = sorted(
            (str(account), balances[account])
            for account in entry.accounts
            if account.type.spec.never_negative and balances[account] < 0
        )
        if overdrawn:
            raise InsufficientFunds(
                f"entry {entry.entry_id!r} would overdraw "
                + ", ".join(f"{name} (short by {-balance})" for name, balance in overdrawn)
            )
        reversed_by = dict(self._reversed_by)
        if entry.reverses is not None:
            reversed_by[entry.reverses] = entry.entry_id
        return Ledger({**self._entries, entry.entry_id: entry}, balances, reversed_by)

    def post_all(self, entries: Iterable[JournalEntry]) -> Ledger:
        ledger = self
        for entry in entries:
            ledger = ledger.post(entry)
        return ledger

    def _check_reversal(self, entry: JournalEntry, original_id: str) -> None:
        original = self._entries.get(original_id)
        if original is None:
            raise NotFound(
                f"entry {entry.entry_id!r} reverses {original_id!r}, which is not posted"
            )
        if original_id in self._reversed_by:
            raise Conflict(
                f"entry {original_id!r} was already reversed by {self._reversed_by[original_id]!r}"
            )
        if not _mirrors(entry, original):
            raise ValidationFailed(
                f"entry {entry.entry_id!r} does not mirror {original_id!r}, which it reverses",
                {"postings": "a reversal has the original's postings on the opposite sides"},
            )


# --- reconciliation checks ---------------------------------------------------------


def validate_entries(entries: Sequence[JournalEntry]) -> list[LedgerError]:
    """Entry-level checks: each entry well formed and balanced, ids unique, reversals sound."""
    errors: list[LedgerError] = []
    by_id: dict[str, JournalEntry] = {}
    for entry in entries:
        for check, _, message in _entry_problems(entry):
            errors.append(LedgerError(check, f"{entry.entry_id!r}: {message}", entry.entry_id))
        if entry.entry_id in by_id:
            errors.append(
                LedgerError(
                    LedgerCheck.DUPLICATE_ENTRY_ID,
                    f"entry id {entry.entry_id!r} appears more than once",
                    entry.entry_id,
                )
            )
        else:
            by_id[entry.entry_id] = entry
    reversal_of: dict[str, str] = {}
    for entry in entries:
        if entry.reverses is None or entry.reverses == entry.entry_id:
            continue
        original = by_id.get(entry.reverses)
        if original is None:
            errors.append(
                LedgerError(
                    LedgerCheck.MISSING_REVERSED_ENTRY,
                    f"{entry.entry_id!r} reverses {entry.reverses!r}, which is not in the journal",
                    entry.entry_id,
                )
            )
            continue
        if not _mirrors(entry, original):
            errors.append(
                LedgerError(
                    LedgerCheck.REVERSAL_MISMATCH,
                    f"{entry.entry_id!r} does not mirror {entry.reverses!r}",
                    entry.entry_id,
                )
            )
        earlier = reversal_of.setdefault(entry.reverses, entry.entry_id)
        if earlier != entry.entry_id:
            errors.append(
                LedgerError(
                    LedgerCheck.REVERSED_TWICE,
                    f"{entry.reverses!r} is reversed by both {earlier!r} and {entry.entry_id!r}",
                    entry.entry_id,
                )
            )
    return errors


def validate_balances(
    entries: Iterable[JournalEntry], stored_balances: Mapping[AccountId, int]
) -> list[LedgerError]:
    """Every stored balance equals the sum of its account's postings (the check never skipped)."""
    computed = balances_from(entries)
    errors: list[LedgerError] = []
    for account in sorted(set(computed) | set(stored_balances), key=str):
        expected = computed.get(account, 0)
        stored = stored_balances.get(account, 0)
        if stored != expected:
            errors.append(
                LedgerError(
                    LedgerCheck.BALANCE_MISMATCH,
                    f"{account}: stored balance {stored} != sum of postings {expected}",
                    account=account,
                )
            )
    return errors


def validate_non_negative(balances: Mapping[AccountId, int]) -> list[LedgerError]:
    """No lender balance (available, reserved, committed) nor borrower credit below zero."""
    return [
        LedgerError(LedgerCheck.NEGATIVE_BALANCE, f"{account} is {balance}", account=account)
        for account, balance in sorted(balances.items(), key=lambda item: str(item[0]))
        if account.type.spec.never_negative and balance < 0
    ]


def validate_ledger(
    entries: Sequence[JournalEntry], stored_balances: Mapping[AccountId, int]
) -> list[LedgerError]:
    """The trial balance: every check over the journal and the stored balances, all problems.

    Run after every test that moves money and daily in production; the escrow
    identity is `validate_escrow_identity`, run alongside it.
    """
    return [
        *validate_entries(entries),
        *validate_balances(entries, stored_balances),
        *validate_non_negative(balances_from(entries)),
    ]


@dataclass(frozen=True)
class EscrowPosition:
    """Both sides of the escrow identity."""

    escrow_cash: int
    held_for_others: int  # lender, borrower, suspense, unapplied, pending split, in transit
    platform_unswept: int  # fees, VAT and withholding not yet swept or remitted, less costs
    in_clearing: int = 0  # paid into virtual accounts, not yet settled by the gateway

    @property
    def difference(self) -> int:
        return self.escrow_cash + self.in_clearing - self.held_for_others - self.platform_unswept


def escrow_position(balances: Mapping[AccountId, int]) -> EscrowPosition:
    """Escrow cash (and what the gateway holds for it) against everything it holds money for.
    An expense on the platform's side (the gateway's fees) is money the platform already
    spent out of what it had not swept, so it counts against the unswept side."""
    held = unswept = clearing = 0
    for account, balance in balances.items():
        role = account.type.spec.escrow_role
        if role is EscrowRole.HELD_FOR_OTHERS:
            held += balance
        elif role is EscrowRole.PLATFORM_UNSWEPT:
            unswept += -balance if account.type.kind is AccountKind.EXPENSE else balance
        elif role is EscrowRole.CLEARING:
            clearing += balance
    return EscrowPosition(balances.get(ESCROW_CASH, 0), held, unswept, clearing)


def validate_escrow_identity(balances: Mapping[AccountId, int]) -> list[LedgerError]:
    """escrow cash + gateway clearing = lender available + reserved + committed + borrower
    credit + suspense + unapplied receipts + pending splits + payouts in transit + fee income
    + VAT + withholding not yet swept, less the gateway's fees."""
    position = escrow_position(balances)
    if position.difference == 0:
        return []
    return [
        LedgerError(
            LedgerCheck.ESCROW_IDENTITY,
            f"escrow cash {position.escrow_cash} + gateway clearing {position.in_clearing}"
            f" != held for others {position.held_for_others}"
            f" + platform unswept {position.platform_unswept}"
            f" (difference {position.difference})",
            account=ESCROW_CASH,
        )
    ]


# --- lender participation in loans -------------------------------------------------


class LenderReceipt(Protocol):
    """One lender's part of one repayment (what `split.LenderLine` carries)."""

    @property
    def lender_id(self) -> str: ...
    @property
    def principal(self) -> int: ...
    @property
    def interest(self) -> int: ...
    @property
    def late_fee(self) -> int: ...
    @property
    def platform_fee(self) -> int: ...
    @property
    def vat(self) -> int: ...
    @property
    def withholding(self) -> int: ...
    @property
    def net(self) -> int: ...


_NOTHING = Rupiah(0)


@dataclass(frozen=True)
class Participation:
    """A lender's stake in one loan and what it has paid the lender so far."""

    loan_id: str
    lender_id: str
    principal_funded: Rupiah
    principal_received: Rupiah = _NOTHING
    interest_received: Rupiah = _NOTHING
    late_fee_received: Rupiah = _NOTHING
    platform_fee_paid: Rupiah = _NOTHING
    vat_paid: Rupiah = _NOTHING
    withholding_paid: Rupiah = _NOTHING
    net_received: Rupiah = _NOTHING

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        for name in ("loan_id", "lender_id"):
            problem = _id_problem(getattr(self, name), name)
            if problem:
                errors[name] = problem
        for name in (
            "principal_funded",
            "principal_received",
            "interest_received",
            "late_fee_received",
            "platform_fee_paid",
            "vat_paid",
            "withholding_paid",
            "net_received",
        ):
            if rupiah(getattr(self, name)) < 0:
                errors[name] = "must not be negative"
        if self.principal_funded <= 0:
            errors["principal_funded"] = "must be > 0"
        if self.principal_received > self.principal_funded:
            errors["principal_received"] = (
                f"{self.principal_received} exceeds the {self.principal_funded} funded"
            )
        if errors:
            raise ValidationFailed(
                f"invalid participation of {self.lender_id!r} in {self.loan_id!r}", errors
            )

    @property
    def outstanding_principal(self) -> Rupiah:
        return Rupiah(self.principal_funded - self.principal_received)

    @property
    def gross_earnings(self) -> Rupiah:
        """Interest and late fees before the platform fee, its VAT and withholding."""
        return Rupiah(self.interest_received + self.late_fee_received)

    @property
    def net_earnings(self) -> Rupiah:
        """What the lender kept beyond the principal returned."""
        return Rupiah(self.net_received - self.principal_received)

    def with_receipt(self, receipt: LenderReceipt) -> Participation:
        """This participation after the lender received `receipt` from a repayment."""
        if receipt.lender_id != self.lender_id:
            raise ValidationFailed(
                f"a receipt for {receipt.lender_id!r} cannot be applied to {self.lender_id!r}",
                {"lender_id": "does not match the participation"},
            )
        return replace(
            self,
            principal_received=Rupiah(self.principal_received + receipt.principal),
            interest_received=Rupiah(self.interest_received + receipt.interest),
            late_fee_received=Rupiah(self.late_fee_received + receipt.late_fee),
            platform_fee_paid=Rupiah(self.platform_fee_paid + receipt.platform_fee),
            vat_paid=Rupiah(self.vat_paid + receipt.vat),
            withholding_paid=Rupiah(self.withholding_paid + receipt.withholding),
            net_received=Rupiah(self.net_received + receipt.net),
        )


def principal_shares(participations: Iterable[Participation]) -> dict[str, Decimal]:
    """Each lender's share of the loan's principal (fractions summing to 1)."""
    funded = {p.lender_id: p.principal_funded for p in participations}
    total = sum(funded.values())
    if total <= 0:
        raise ValidationFailed(
            "a loan's participations fund no principal", {"participations": "empty"}
        )
    return {lender_id: Decimal(amount) / total for lender_id, amount in funded.items()}


def record_receipts(
    participations: Mapping[str, Participation], receipts: Iterable[LenderReceipt]
) -> dict[str, Participation]:
    """Fold repayment receipts into participations keyed by lender id."""
    folded = dict(participations)
    for receipt in receipts:
        current = folded.get(receipt.lender_id)
        if current is None:
            raise ValidationFailed(
                f"{receipt.lender_id!r} has no participation in this loan",
                {"lender_id": "unknown lender for this loan"},
            )
        folded[receipt.lender_id] = current.with_receipt(receipt)
    return folded
