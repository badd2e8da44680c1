"""Lenders' deposits: declared by the lender, matched to a statement line by one
`admin.finance`, confirmed by another (docs/lending-rules.md#deposits-and-withdrawals).

- `declare_deposit`: a lender says they transferred (or will transfer) an amount from their
  own bank account to the escrow account, with the reference they wrote on the transfer;
  the answer says where to transfer. At least the entity's minimum.
- `match_deposit`: `admin.finance` pairs a declared deposit with the statement line showing
  the money arrive: same amount, the lender's account as the sender, the reference in the
  line's description. The line must still be in suspense, so one line matches one deposit.
- `confirm_deposit`: a different `admin.finance` confirms: the line's money moves from
  suspense to the lender's available balance, in one transaction with the deposit, the line
  and the lender's bank account (verified now: the bank named it as the sender). Confirming
  a confirmed deposit changes nothing.
- `unmatch_deposit` (the checker disagrees) and `reject_deposit` (with a reason) return the
  line to suspense; a rejected deposit credits nothing.
- `deposits_of` (a lender's own) and `find_deposits` (admins: by state and period).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.domain.events import DepositConfirmed, DepositDeclared, DepositRejected, EventType
from shared.domain.maker_checker import Checked, Made, checked, refuse_own_case
from shared.domain.movements import deposit_credit
from shared.fields import InstantText, PlainStr, PositiveRupiah, ProseStr
from shared.model import Model
from shared.platform.callers import Caller
from shared.platform.escrow import EscrowAccount, MoneyLimits
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.personal_data import PersonalDataVault
from shared.platform.store import DocumentTransaction, UnitOfWork, Where, within
from shared.records.deposits import DEPOSITS, DepositRecord, Deposits, DepositState
from shared.records.ledger import post_entry
from shared.records.statements import STATEMENT_LINES, StatementLineRecord, StatementLines
from shared.records.users import USERS, UserRecord, Users
from shared.services.bank_accounts import BankAccountInput, account_number_hash, account_ref

MAX_LISTED = 100

TransferReference = Annotated[
    PlainStr, Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 /._-]*$")
]
Reason = Annotated[ProseStr, Field(min_length=5, max_length=1000)]


class DepositDeclaration(Model):
    """`POST /lender_wallet/deposits`: the transfer the lender made or is about to make."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: PositiveRupiah
    sender_account: BankAccountInput
    transfer_reference: TransferReference


class PayTo(Model):
    """Where to transfer: the escrow account, and what to write on the transfer."""

    model_config = ConfigDict(frozen=True)

    bank_code: str
    bank_name: str
    account_number: str
    account_name: str
    amount: int
    transfer_reference: str


class DepositView(Model):
    model_config = ConfigDict(frozen=True)

    id: str
    lender_id: str
    amount: int
    state: DepositState
    sender_account_masked: str | None  # None: paid into the lender's virtual account
    sender_bank_code: str | None
    transfer_reference: str
    declared_at: datetime
    updated_at: datetime
    line_id: str | None
    matched_by: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, deposit: DepositRecord) -> DepositView:
        return cls(
            id=deposit.id,
            lender_id=deposit.lender_id,
            amount=deposit.amount,
            state=deposit.state,
            sender_account_masked=deposit.sender.account_number_masked if deposit.sender else None,
            sender_bank_code=deposit.sender.bank_code if deposit.sender else None,
            transfer_reference=deposit.transfer_reference,
            declared_at=deposit.declared_at,
            updated_at=deposit.updated_at,
            line_id=deposit.line_id,
            matched_by=deposit.matched.by if deposit.matched else None,
            confirmed_by=deposit.confirmed.by if deposit.confirmed else None,
            confirmed_at=deposit.confirmed.at if deposit.confirmed else None,
            reason=deposit.reason,
        )


class DeclaredDeposit(Model):
    model_config = ConfigDict(frozen=True)

    deposit: DepositView
    pay_to: PayTo


class DepositList(Model):
    model_config = ConfigDict(frozen=True)

    deposits: tuple[DepositView, ...]


class DepositMatch(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]


class DepositRejection(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Reason


class DepositQuery(Model):
    """`GET /finance/deposits?state=declared&from=...&to=...`: newest first."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    state: DepositState | None = None
    declared_from: InstantText | None = Field(default=None, alias="from")
    declared_to: InstantText | None = Field(default=None, alias="to")
    limit: Annotated[int, Field(ge=1, le=MAX_LISTED)] = 50


def _lender(user: UserRecord | None) -> UserRecord:
    if user is None or user.role != "lender" or user.lender_profile is None:
        raise Forbidden("only registered lenders deposit")
    if user.identity_verified_at is None:
        raise Forbidden("your identity is not verified yet; deposits open once it is")
    return user


def declare_deposit(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    caller: Caller,
    declaration: DepositDeclaration,
    *,
    escrow: EscrowAccount,
    limits: MoneyLimits,
    origin: EventOrigin,
) -> DeclaredDeposit:
    """Record the lender's declaration and say where to transfer."""
    if declaration.amount < limits.min_deposit:
        raise ValidationFailed(
            f"the smallest deposit is Rp {limits.min_deposit:,}",
            {"amount": f"must be at least {limits.min_deposit}"},
        )
    sender_hash = account_number_hash(vault, declaration.sender_account.account_number)
    now = origin.clock.now()
    deposit_id = origin.ids.new_id("dep")

    def declare(tx: DocumentTransaction) -> DeclaredDeposit:
        lender = _lender(Users(tx).get(caller.user_id))
        own = lender.bank_account
        if (
            own is None
            or own.account_number_hash != sender_hash
            or own.bank_code != declaration.sender_account.bank_code
        ):
            raise ValidationFailed(
                "deposits come from your own bank account, the one on your profile",
                {"sender_account": "is not the bank account registered to you"},
            )
        deposit = DepositRecord(
            id=deposit_id,
            lender_id=lender.id,
            amount=declaration.amount,
            sender=account_ref(own),
            transfer_reference=declaration.transfer_reference,
            declared_at=now,
            updated_at=now,
        )
        Deposits(tx).add(deposit)
        tx.emit(
            origin.event(
                EventType.DEPOSIT_DECLARED,
                DepositDeclared(deposit_id=deposit_id, lender_id=lender.id, amount=deposit.amount),
            )
        )
        return DeclaredDeposit(
            deposit=DepositView.of(deposit),
            pay_to=PayTo(
                bank_code=escrow.bank_code,
                bank_name=escrow.bank_name,
                account_number=escrow.account_number,
                account_name=escrow.account_name,
                amount=deposit.amount,
                transfer_reference=deposit.transfer_reference,
            ),
        )

    return uow.run(declare)


def _compact(text: str) -> str:
    return re.sub(r"[\s/._-]+", "", text).upper()


def _mismatches(deposit: DepositRecord, line: StatementLineRecord) -> dict[str, str]:
    """What differs between a declared deposit and a statement line, by field."""
    problems: dict[str, str] = {}
    if line.direction != "credit":
        problems["line_id"] = "the line is money out, not in"
    if line.amount != deposit.amount:
        problems["amount"] = f"the line is Rp {line.amount:,}, the deposit Rp {deposit.amount:,}"
    if line.counterparty.account_number_hash != deposit.declared_sender().account_number_hash:
        problems["sender"] = "the line's sender is not the lender's bank account"
    written = _compact(f"{line.sender_reference or ''} {line.description or ''}")
    if _compact(deposit.transfer_reference) not in written:
        problems["transfer_reference"] = "the line's description does not carry the reference"
    return problems


def _load(
    tx: DocumentTransaction, deposit_id: str, *, with_user: bool
) -> tuple[DepositRecord, StatementLineRecord | None, UserRecord | None]:
    """The deposit, its line (if matched) and, when asked, its lender: one read."""
    deposit_doc = tx.get(DEPOSITS, deposit_id)
    if deposit_doc is None:
        raise NotFound(f"there is no deposit {deposit_id!r}")
    deposit = DepositRecord.model_validate(deposit_doc)
    refs = []
    if deposit.line_id is not None:
        refs.append((STATEMENT_LINES, deposit.line_id))
    if with_user:
        refs.append((USERS, deposit.lender_id))
    found = tx.get_documents(refs) if refs else {}
    line_doc = found.get((STATEMENT_LINES, deposit.line_id or ""))
    user_doc = found.get((USERS, deposit.lender_id))
    return (
        deposit,
        StatementLineRecord.model_validate(line_doc) if line_doc else None,
        UserRecord.model_validate(user_doc) if user_doc else None,
    )


def match_deposit(
    uow: UnitOfWork, deposit_id: str, match: DepositMatch, *, admin_id: str, origin: EventOrigin
) -> DepositView:
    """Pair a declared deposit with the statement line showing its money arrive."""
    require_document_id(deposit_id, "deposit")
    now = origin.clock.now()

    def pair(tx: DocumentTransaction) -> DepositView:
        found = tx.get_documents([(DEPOSITS, deposit_id), (STATEMENT_LINES, match.line_id)])
        deposit_doc, line_doc = (
            found[(DEPOSITS, deposit_id)],
            found[(STATEMENT_LINES, match.line_id)],
        )
        if deposit_doc is None:
            raise NotFound(f"there is no deposit {deposit_id!r}")
        if line_doc is None:
            raise NotFound(f"there is no statement line {match.line_id!r}")
        deposit = DepositRecord.model_validate(deposit_doc)
        line = StatementLineRecord.model_validate(line_doc)
        refuse_own_case(admin_id, deposit.lender_id, "match a deposit")
        if deposit.state == "matched" and deposit.line_id == line.id:
            return DepositView.of(deposit)
        if deposit.state != "declared":
            raise Conflict(f"deposit {deposit_id} is {deposit.state}; only a declared one matches")
        if line.state != "in_suspense":
            raise Conflict(
                f"statement line {line.id} is {line.state}"
                + (f" (deposit {line.deposit_id})" if line.deposit_id else "")
                + "; a line matches one deposit"
            )
        problems = _mismatches(deposit, line)
        if problems:
            raise ValidationFailed(f"line {line.id} does not show deposit {deposit_id}", problems)
        matched = deposit.model_copy(
            update={
                "state": "matched",
                "line_id": line.id,
                "matched": Made(by=admin_id, at=now),
                "reason": None,
                "updated_at": now,
            }
        )
        Deposits(tx).put(matched)
        StatementLines(tx).put(
            line.model_copy(
                update={"state": "matched", "deposit_id": deposit_id, "updated_at": now}
            )
        )
        return DepositView.of(matched)

    return uow.run(pair)


def confirm_deposit(
    uow: UnitOfWork, deposit_id: str, *, admin_id: str, origin: EventOrigin
) -> DepositView:
    """Credit the lender: suspense → available, by someone other than who matched it."""
    require_document_id(deposit_id, "deposit")
    now = origin.clock.now()

    def confirm(tx: DocumentTransaction) -> DepositView:
        deposit, line, lender = _load(tx, deposit_id, with_user=True)
        if deposit.state == "confirmed":
            return DepositView.of(deposit)
        if deposit.state != "matched" or deposit.matched is None or line is None:
            raise Conflict(f"deposit {deposit_id} is {deposit.state}; match it to a line first")
        confirmation = checked(
            admin_id, deposit.matched, now, action="confirm this deposit", subject=deposit.lender_id
        )
        entry = deposit_credit(deposit.id, deposit.lender_id, deposit.amount, now)
        post_entry(tx, entry, {}, source=f"deposit/{deposit.id}")
        confirmed = deposit.model_copy(
            update={
                "state": "confirmed",
                "confirmed": confirmation,
                "entry_id": entry.entry_id,
                "updated_at": now,
            }
        )
        Deposits(tx).put(confirmed)
        StatementLines(tx).put(line.model_copy(update={"state": "claimed", "updated_at": now}))
        account = lender.bank_account if lender else None
        if (
            lender is not None
            and account is not None
            and account.verified_at is None
            and account.account_number_hash == deposit.declared_sender().account_number_hash
        ):
            verified = account.model_copy(
                update={"verified_at": now, "verified_by_deposit": deposit.id}
            )
            Users(tx).put(lender.model_copy(update={"bank_account": verified, "updated_at": now}))
        tx.emit(
            origin.event(
                EventType.DEPOSIT_CONFIRMED,
                DepositConfirmed(
                    deposit_id=deposit.id,
                    lender_id=deposit.lender_id,
                    amount=deposit.amount,
                    line_id=line.id,
                    entry_id=entry.entry_id,
                    confirmed_by=admin_id,
                ),
            )
        )
        return DepositView.of(confirmed)

    return uow.run(confirm)


def _release_line(tx: DocumentTransaction, line: StatementLineRecord | None, now: datetime) -> None:
    if line is not None and line.state == "matched":
        StatementLines(tx).put(
            line.model_copy(update={"state": "in_suspense", "deposit_id": None, "updated_at": now})
        )


def unmatch_deposit(
    uow: UnitOfWork,
    deposit_id: str,
    rejection: DepositRejection,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> DepositView:
    """The checker disagrees with a match: the deposit is declared again, the line in suspense."""
    require_document_id(deposit_id, "deposit")
    now = origin.clock.now()

    def unmatch(tx: DocumentTransaction) -> DepositView:
        deposit, line, _ = _load(tx, deposit_id, with_user=False)
        refuse_own_case(admin_id, deposit.lender_id, "unmatch a deposit")
        if deposit.state != "matched":
            raise Conflict(f"deposit {deposit_id} is {deposit.state}; only a matched one unmatches")
        _release_line(tx, line, now)
        declared = deposit.model_copy(
            update={
                "state": "declared",
                "line_id": None,
                "matched": None,
                "reason": rejection.reason,
                "updated_at": now,
            }
        )
        Deposits(tx).put(declared)
        return DepositView.of(declared)

    return uow.run(unmatch)


def reject_deposit(
    uow: UnitOfWork,
    deposit_id: str,
    rejection: DepositRejection,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> DepositView:
    """Refuse a declaration (never seen at the bank, a wrong amount): it credits nothing."""
    require_document_id(deposit_id, "deposit")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> DepositView:
        deposit, line, _ = _load(tx, deposit_id, with_user=False)
        refuse_own_case(admin_id, deposit.lender_id, "reject a deposit")
        if deposit.state not in ("declared", "matched"):
            raise Conflict(f"deposit {deposit_id} is {deposit.state}; it can no longer be rejected")
        _release_line(tx, line, now)
        rejected = deposit.model_copy(
            update={
                "state": "rejected",
                "line_id": None,
                "rejected": Checked(by=admin_id, at=now),
                "reason": rejection.reason,
                "updated_at": now,
            }
        )
        Deposits(tx).put(rejected)
        tx.emit(
            origin.event(
                EventType.DEPOSIT_REJECTED,
                DepositRejected(
                    deposit_id=deposit.id,
                    lender_id=deposit.lender_id,
                    amount=deposit.amount,
                    reason=rejection.reason,
                    rejected_by=admin_id,
                ),
            )
        )
        return DepositView.of(rejected)

    return uow.run(reject)


def deposits_of(uow: UnitOfWork, lender_id: str, limit: int = MAX_LISTED) -> DepositList:
    """A lender's own deposits, newest first."""
    found = uow.run(
        lambda tx: Deposits(tx).newest(
            Where("lender_id", "==", lender_id), by="declared_at", limit=limit
        ),
        read_only=True,
    )
    return DepositList(deposits=tuple(DepositView.of(d) for d in found))


def find_deposits(uow: UnitOfWork, query: DepositQuery) -> DepositList:
    """Every lender's deposits, by state and declaration period, newest first."""
    where = within("declared_at", query.declared_from, query.declared_to)
    if query.state is not None:
        where.append(Where("state", "==", query.state))
    found = uow.run(
        lambda tx: Deposits(tx).newest(*where, by="declared_at", limit=query.limit),
        read_only=True,
    )
    return DepositList(deposits=tuple(DepositView.of(d) for d in found))
