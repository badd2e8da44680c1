"""Lenders' withdrawals: requested by the lender, approved by one `admin.finance`, the bank
transfer confirmed by another (docs/lending-rules.md#deposits-and-withdrawals).

- `request_withdrawal`: at least the entity's minimum, to the lender's own verified bank
  account, not within a day of changing it. The amount moves from available to reserved in
  the same transaction that checks the balance, so concurrent requests can never reserve
  more than there is: a short balance is a 409 carrying what is available.
- `approve_withdrawal`: `admin.finance` releases the request for transfer (the maker).
- `confirm_withdrawal`: a different `admin.finance` confirms the bank made the transfer, with
  its reference and value date: reserved leaves the platform with the escrow cash. A statement
  line already imported with that reference is explained by it.
- `reject_withdrawal`: reserved returns to available (the reservation reversed).
- `record_returned_withdrawal`: the bank sent a confirmed transfer back, and the statement line
  showing the money return is in suspense: the payout, that line's suspense posting and the
  reservation are each reversed, so the money is available to the lender again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.domain.events import (
    EventType,
    WithdrawalConfirmed,
    WithdrawalRejected,
    WithdrawalRequested,
    WithdrawalReturned,
)
from shared.domain.maker_checker import Checked, Made, checked, refuse_own_case
from shared.domain.movements import (
    line_in_reversed,
    withdrawal_payout,
    withdrawal_payout_returned,
    withdrawal_release,
    withdrawal_reserve,
)
from shared.fields import InstantText, PlainStr, PositiveRupiah, ProseStr, sortable_instant
from shared.model import Model
from shared.platform.callers import Caller
from shared.platform.clock import jakarta_date
from shared.platform.escrow import MoneyLimits
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import (
    DocRef,
    DocumentTransaction,
    JsonDict,
    UnitOfWork,
    Where,
    within,
)
from shared.records.ledger import LedgerBook, post_entry
from shared.records.statements import STATEMENT_LINES, StatementLineRecord, StatementLines
from shared.records.users import USERS, UserRecord
from shared.records.withdrawals import (
    WITHDRAWALS,
    WithdrawalRecord,
    Withdrawals,
    WithdrawalState,
)
from shared.services.bank_accounts import account_ref, withdrawals_held_until

MAX_LISTED = 100

BankReference = Annotated[
    PlainStr, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]*$")
]
Reason = Annotated[ProseStr, Field(min_length=5, max_length=1000)]


class WithdrawalRequest(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: PositiveRupiah


class WithdrawalConfirmation(Model):
    """The bank's reference of the transfer and the day it was sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_reference: BankReference
    value_date: date


class WithdrawalRejection(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Reason


class WithdrawalReturn(Model):
    """The statement line (in suspense) showing the returned money come back, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
    reason: Reason


class WithdrawalQuery(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    state: WithdrawalState | None = None
    requested_from: InstantText | None = Field(default=None, alias="from")
    requested_to: InstantText | None = Field(default=None, alias="to")
    limit: Annotated[int, Field(ge=1, le=MAX_LISTED)] = 50


class WithdrawalView(Model):
    model_config = ConfigDict(frozen=True)

    id: str
    lender_id: str
    amount: int
    state: WithdrawalState
    to_account_masked: str
    to_bank_code: str
    requested_at: datetime
    updated_at: datetime
    approved_by: str | None
    confirmed_by: str | None
    bank_reference: str | None
    value_date: date | None
    returned_on: date | None
    reason: str | None

    @classmethod
    def of(cls, withdrawal: WithdrawalRecord) -> WithdrawalView:
        return cls(
            id=withdrawal.id,
            lender_id=withdrawal.lender_id,
            amount=withdrawal.amount,
            state=withdrawal.state,
            to_account_masked=withdrawal.to_account.account_number_masked,
            to_bank_code=withdrawal.to_account.bank_code,
            requested_at=withdrawal.requested_at,
            updated_at=withdrawal.updated_at,
            approved_by=withdrawal.approved.by if withdrawal.approved else None,
            confirmed_by=withdrawal.confirmed.by if withdrawal.confirmed else None,
            bank_reference=withdrawal.bank_reference,
            value_date=withdrawal.value_date,
            returned_on=withdrawal.returned_on,
            reason=withdrawal.reason,
        )


class WithdrawalList(Model):
    model_config = ConfigDict(frozen=True)

    withdrawals: tuple[WithdrawalView, ...]


def _payable_account(user: UserRecord | None, now: datetime) -> UserRecord:
    if user is None or user.role != "lender" or user.lender_profile is None:
        raise Forbidden("only registered lenders withdraw")
    account = user.bank_account
    if account is None:
        raise Conflict("register the bank account withdrawals go to first")
    if account.verified_at is None:
        raise Conflict(
            "your bank account is not verified yet: it is verified when a deposit from it "
            "is confirmed against the bank statement"
        )
    held_until = withdrawals_held_until(account)
    if held_until is not None and now < held_until:
        raise Conflict(
            f"your bank account changed recently; withdrawals to it open at "
            f"{sortable_instant(held_until)}"
        )
    return user


def request_withdrawal(
    uow: UnitOfWork,
    caller: Caller,
    request: WithdrawalRequest,
    *,
    limits: MoneyLimits,
    origin: EventOrigin,
) -> WithdrawalView:
    """Reserve the amount for a payout to the lender's verified bank account."""
    if request.amount < limits.min_withdrawal:
        raise ValidationFailed(
            f"the smallest withdrawal is Rp {limits.min_withdrawal:,}",
            {"amount": f"must be at least {limits.min_withdrawal}"},
        )
    now = origin.clock.now()
    withdrawal_id = origin.ids.new_id("wd")
    entry = withdrawal_reserve(withdrawal_id, caller.user_id, request.amount, now)

    def reserve(tx: DocumentTransaction) -> WithdrawalView:
        found = tx.get_documents([(USERS, caller.user_id), *LedgerBook.refs_to_read([entry])])
        user_doc = found[(USERS, caller.user_id)]
        lender = _payable_account(UserRecord.model_validate(user_doc) if user_doc else None, now)
        assert lender.bank_account is not None
        post_entry(tx, entry, found, source=f"withdrawal/{withdrawal_id}")
        withdrawal = WithdrawalRecord(
            id=withdrawal_id,
            lender_id=lender.id,
            amount=request.amount,
            to_account=account_ref(lender.bank_account),
            requested=Made(by=lender.id, at=now),
            requested_at=now,
            updated_at=now,
        )
        Withdrawals(tx).add(withdrawal)
        tx.emit(
            origin.event(
                EventType.WITHDRAWAL_REQUESTED,
                WithdrawalRequested(
                    withdrawal_id=withdrawal_id, lender_id=lender.id, amount=request.amount
                ),
            )
        )
        return WithdrawalView.of(withdrawal)

    return uow.run(reserve)


def _withdrawal(
    tx: DocumentTransaction, withdrawal_id: str, *extra: DocRef
) -> tuple[WithdrawalRecord, dict[DocRef, JsonDict | None]]:
    """The withdrawal and any `extra` documents, in one read."""
    found = tx.get_documents([(WITHDRAWALS, withdrawal_id), *extra])
    data = found[(WITHDRAWALS, withdrawal_id)]
    if data is None:
        raise NotFound(f"there is no withdrawal {withdrawal_id!r}")
    return WithdrawalRecord.model_validate(data), found


def approve_withdrawal(
    uow: UnitOfWork, withdrawal_id: str, *, admin_id: str, origin: EventOrigin
) -> WithdrawalView:
    """Release a requested withdrawal for transfer; someone else confirms the transfer."""
    require_document_id(withdrawal_id, "withdrawal")
    now = origin.clock.now()

    def approve(tx: DocumentTransaction) -> WithdrawalView:
        withdrawal, _ = _withdrawal(tx, withdrawal_id)
        refuse_own_case(admin_id, withdrawal.lender_id, "approve a withdrawal")
        if withdrawal.state == "approved":
            return WithdrawalView.of(withdrawal)
        if withdrawal.state != "requested":
            raise Conflict(f"withdrawal {withdrawal_id} is {withdrawal.state}")
        approved = withdrawal.model_copy(
            update={"state": "approved", "approved": Made(by=admin_id, at=now), "updated_at": now}
        )
        Withdrawals(tx).put(approved)
        return WithdrawalView.of(approved)

    return uow.run(approve)


def confirm_withdrawal(
    uow: UnitOfWork,
    withdrawal_id: str,
    confirmation: WithdrawalConfirmation,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> WithdrawalView:
    """The bank sent the transfer: reserved leaves the platform with the escrow cash."""
    require_document_id(withdrawal_id, "withdrawal")
    now = origin.clock.now()
    if confirmation.value_date > jakarta_date(now):
        raise ValidationFailed(
            "a transfer is confirmed once the bank made it",
            {"value_date": "is in the future"},
        )
    reference = confirmation.bank_reference

    def confirm(tx: DocumentTransaction) -> WithdrawalView:
        withdrawal, _ = _withdrawal(tx, withdrawal_id)
        if withdrawal.state == "confirmed" and withdrawal.bank_reference == reference:
            return WithdrawalView.of(withdrawal)
        if withdrawal.state != "approved" or withdrawal.approved is None:
            raise Conflict(
                f"withdrawal {withdrawal_id} is {withdrawal.state}; it is confirmed once approved"
            )
        if confirmation.value_date < jakarta_date(withdrawal.requested_at):
            raise ValidationFailed(
                "the transfer cannot predate the request",
                {"value_date": "is before the withdrawal was requested"},
            )
        confirmed_by = checked(
            admin_id,
            withdrawal.approved,
            now,
            action="confirm this transfer",
            subject=withdrawal.lender_id,
        )
        entry = withdrawal_payout(withdrawal.id, withdrawal.lender_id, withdrawal.amount, now)
        balances = tx.get_documents(LedgerBook.refs_to_read([entry]))
        same_reference = Withdrawals(tx).find(Where("bank_reference", "==", reference), limit=2)
        if any(other.id != withdrawal.id for other in same_reference):
            raise Conflict(f"bank reference {reference} already confirms another withdrawal")
        line = unexplained_line(tx, reference, withdrawal.amount)
        post_entry(
            tx,
            entry,
            balances,
            source=f"withdrawal/{withdrawal.id}",
            value_date=confirmation.value_date,
            bank_reference=reference,
        )
        confirmed = withdrawal.model_copy(
            update={
                "state": "confirmed",
                "confirmed": confirmed_by,
                "bank_reference": reference,
                "value_date": confirmation.value_date,
                "line_id": line.id if line else None,
                "updated_at": now,
            }
        )
        Withdrawals(tx).put(confirmed)
        if line is not None:
            StatementLines(tx).put(
                line.model_copy(
                    update={"state": "explained", "withdrawal_id": withdrawal.id, "updated_at": now}
                )
            )
        tx.emit(
            origin.event(
                EventType.WITHDRAWAL_CONFIRMED,
                WithdrawalConfirmed(
                    withdrawal_id=withdrawal.id,
                    lender_id=withdrawal.lender_id,
                    amount=withdrawal.amount,
                    bank_reference=reference,
                    value_date=confirmation.value_date,
                    confirmed_by=admin_id,
                ),
            )
        )
        return WithdrawalView.of(confirmed)

    return uow.run(confirm)


def unexplained_line(
    tx: DocumentTransaction, bank_reference: str, amount: int
) -> StatementLineRecord | None:
    """An imported outgoing line with this bank reference and amount, not yet explained."""
    lines = StatementLines(tx).find(
        Where("bank_reference", "==", bank_reference),
        Where("state", "==", "unexplained"),
        limit=5,
    )
    return next((line for line in lines if line.amount == amount), None)


def reject_withdrawal(
    uow: UnitOfWork,
    withdrawal_id: str,
    rejection: WithdrawalRejection,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> WithdrawalView:
    """Refuse a withdrawal before its transfer: reserved returns to available."""
    require_document_id(withdrawal_id, "withdrawal")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> WithdrawalView:
        withdrawal, _ = _withdrawal(tx, withdrawal_id)
        refuse_own_case(admin_id, withdrawal.lender_id, "reject a withdrawal")
        if withdrawal.state not in ("requested", "approved"):
            raise Conflict(f"withdrawal {withdrawal_id} is {withdrawal.state}; too late to reject")
        entry = withdrawal_release(withdrawal.id, withdrawal.lender_id, withdrawal.amount, now)
        balances = tx.get_documents(LedgerBook.refs_to_read([entry]))
        post_entry(tx, entry, balances, source=f"withdrawal/{withdrawal.id}")
        rejected = withdrawal.model_copy(
            update={
                "state": "rejected",
                "rejected": Checked(by=admin_id, at=now),
                "reason": rejection.reason,
                "updated_at": now,
            }
        )
        Withdrawals(tx).put(rejected)
        tx.emit(
            origin.event(
                EventType.WITHDRAWAL_REJECTED,
                WithdrawalRejected(
                    withdrawal_id=withdrawal.id,
                    lender_id=withdrawal.lender_id,
                    amount=withdrawal.amount,
                    reason=rejection.reason,
                    rejected_by=admin_id,
                ),
            )
        )
        return WithdrawalView.of(rejected)

    return uow.run(reject)


def record_returned_withdrawal(
    uow: UnitOfWork,
    withdrawal_id: str,
    returned: WithdrawalReturn,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> WithdrawalView:
    """The bank returned a confirmed transfer (shown by a line in suspense): undo the payout,
    the line's suspense posting and the reservation; the money is available again."""
    require_document_id(withdrawal_id, "withdrawal")
    now = origin.clock.now()

    def record(tx: DocumentTransaction) -> WithdrawalView:
        withdrawal, found = _withdrawal(tx, withdrawal_id, (STATEMENT_LINES, returned.line_id))
        refuse_own_case(admin_id, withdrawal.lender_id, "record a returned withdrawal")
        if withdrawal.state == "returned" and withdrawal.return_line_id == returned.line_id:
            return WithdrawalView.of(withdrawal)
        if withdrawal.state != "confirmed":
            raise Conflict(
                f"withdrawal {withdrawal_id} is {withdrawal.state}; only a confirmed transfer "
                "can come back"
            )
        line_doc = found[(STATEMENT_LINES, returned.line_id)]
        if line_doc is None:
            raise NotFound(f"there is no statement line {returned.line_id!r}")
        line = StatementLineRecord.model_validate(line_doc)
        problems = {}
        if line.state != "in_suspense" or line.direction != "credit":
            problems["line_id"] = f"the line is {line.direction} and {line.state}, not money in"
        if line.amount != withdrawal.amount:
            problems["amount"] = (
                f"the line is Rp {line.amount:,}, the transfer Rp {withdrawal.amount:,}"
            )
        if withdrawal.value_date is not None and line.value_date < withdrawal.value_date:
            problems["value_date"] = "the money came back before it was sent"
        if problems:
            raise ValidationFailed(f"line {line.id} does not show this transfer return", problems)
        lender, amount = withdrawal.lender_id, withdrawal.amount
        unpaid = withdrawal_payout_returned(withdrawal.id, lender, amount, now)
        explained = line_in_reversed(line.id, line.amount, now)
        released = withdrawal_release(withdrawal.id, lender, amount, now)
        balances = tx.get_documents(LedgerBook.refs_to_read([unpaid, explained, released]))
        source = f"withdrawal/{withdrawal.id}"
        with LedgerBook(tx) as book:
            for entry in (unpaid, explained):
                book.post(
                    entry,
                    balances,
                    source=source,
                    value_date=line.value_date,
                    bank_reference=line.bank_reference,
                )
            book.post(released, balances, source=source)
        done = withdrawal.model_copy(
            update={
                "state": "returned",
                "returned": Checked(by=admin_id, at=now),
                "returned_on": line.value_date,
                "return_line_id": line.id,
                "reason": returned.reason,
                "updated_at": now,
            }
        )
        Withdrawals(tx).put(done)
        StatementLines(tx).put(
            line.model_copy(
                update={"state": "explained", "withdrawal_id": withdrawal.id, "updated_at": now}
            )
        )
        tx.emit(
            origin.event(
                EventType.WITHDRAWAL_RETURNED,
                WithdrawalReturned(
                    withdrawal_id=withdrawal.id,
                    lender_id=lender,
                    amount=amount,
                    returned_on=line.value_date,
                    reason=returned.reason,
                ),
            )
        )
        return WithdrawalView.of(done)

    return uow.run(record)


def withdrawals_of(uow: UnitOfWork, lender_id: str, limit: int = MAX_LISTED) -> WithdrawalList:
    found = uow.run(
        lambda tx: Withdrawals(tx).newest(
            Where("lender_id", "==", lender_id), by="requested_at", limit=limit
        ),
        read_only=True,
    )
    return WithdrawalList(withdrawals=tuple(WithdrawalView.of(w) for w in found))


def find_withdrawals(uow: UnitOfWork, query: WithdrawalQuery) -> WithdrawalList:
    where = within("requested_at", query.requested_from, query.requested_to)
    if query.state is not None:
        where.append(Where("state", "==", query.state))
    found = uow.run(
        lambda tx: Withdrawals(tx).newest(*where, by="requested_at", limit=query.limit),
        read_only=True,
    )
    return WithdrawalList(withdrawals=tuple(WithdrawalView.of(w) for w in found))
