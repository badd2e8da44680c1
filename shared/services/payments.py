"""Money paid in through the payment gateway's virtual accounts
(docs/lending-rules.md#payments).

- `issue_virtual_account`: a borrower's account for their active loan, or a lender's for
  top-ups. The gateway issues it (idempotent on the owner), the platform records whose it
  is; asking again answers the same number.
- `receive_payment` (`payment_webhook`, after the gateway's signature verified): one
  transaction records the notification under the gateway's reference, so a notification
  delivered again finds it and changes nothing, and posts it from the gateway's clearing
  account: to the loan's unapplied receipts (and `payment.received`), to the lender's
  available balance (a top-up: a deposit confirmed by the notice, `deposit.confirmed`), or
  to suspense when the account is not one of ours.
- `import_settlement` (`admin.finance`): the gateway's settlement report of a day, and the
  escrow statement line showing its net arrive: the line's suspense posting and the
  gateway's fees take every reported payment out of clearing, in one transaction, once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal, Protocol

from pydantic import ConfigDict, Field, field_validator

from shared.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.domain.events import DepositConfirmed, EventType, PaymentReceived
from shared.domain.ledger import SUSPENSE, AccountId, AccountType
from shared.domain.loan import LoanState
from shared.domain.maker_checker import Checked, Made
from shared.domain.movements import gateway_settled, payment_received
from shared.fields import InstantText
from shared.model import Model
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.deposits import DepositRecord, Deposits
from shared.records.ledger import post_entry
from shared.records.loans import Loans
from shared.records.payments import (
    PaymentRecord,
    Payments,
    SettlementRecord,
    Settlements,
    VirtualAccountKind,
    VirtualAccountRecord,
    VirtualAccounts,
)
from shared.records.statements import STATEMENT_LINES, StatementLineRecord, StatementLines
from shared.records.users import Users

MAX_SETTLEMENT_ITEMS = 2_000  # one report, one transaction: far inside Firestore's limits

GatewayReference = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
VirtualAccountNumber = Annotated[str, Field(pattern=r"^\d{8,20}$")]


class VirtualAccountIssuer(Protocol):
    """The gateway's side of issuing: the number of the owner's account (idempotent)."""

    def issue(self, kind: VirtualAccountKind, reference: str, name: str) -> str: ...


# --- virtual accounts ----------------------------------------------------------------------


class VirtualAccountView(Model):
    model_config = ConfigDict(frozen=True)

    virtual_account: str
    kind: VirtualAccountKind
    owner_id: str
    name: str


def issue_virtual_account(
    uow: UnitOfWork,
    issuer: VirtualAccountIssuer,
    *,
    caller_id: str,
    loan_id: str | None,
    origin: EventOrigin,
) -> VirtualAccountView:
    """The caller's virtual account: for `loan_id` (its borrower), or their own (a lender)."""
    if loan_id is not None:
        require_document_id(loan_id, "loan")

    def owner(
        tx: DocumentTransaction,
    ) -> tuple[VirtualAccountKind, str, str, str | None, str | None]:
        if loan_id is None:
            user = Users(tx).require(caller_id)
            if user.lender_profile is None:
                raise Forbidden("only a lender has a virtual account of their own")
            return "lender", user.id, user.full_name, None, user.virtual_account
        loan = Loans(tx).get(loan_id)
        if loan is None or loan.borrower_id != caller_id:
            raise NotFound(f"you have no loan {loan_id!r}")
        if loan.state not in (LoanState.ACTIVE, LoanState.WRITTEN_OFF):
            # A written-off loan is still owed: its payments are recoveries for its lenders.
            raise Conflict(f"loan {loan_id} is {loan.state.value}: only an active loan is repaid")
        borrower = Users(tx).require(caller_id)
        return "loan", loan.id, borrower.full_name, caller_id, loan.virtual_account

    kind, owner_id, name, borrower_id, known = uow.run(owner, read_only=True)
    if known is not None:
        return VirtualAccountView(virtual_account=known, kind=kind, owner_id=owner_id, name=name)
    number = issuer.issue(kind, owner_id, name)
    now = origin.clock.now()

    def record(tx: DocumentTransaction) -> VirtualAccountView:
        accounts = VirtualAccounts(tx)
        existing = accounts.get(number)
        lender = Users(tx).require(owner_id) if kind == "lender" else None
        loan = Loans(tx).require(owner_id) if kind == "loan" else None
        if existing is not None and (existing.kind, existing.owner_id) != (kind, owner_id):
            raise Conflict(f"the gateway issued {number} to another owner: ask ops to check")
        if existing is None:
            accounts.add(
                VirtualAccountRecord(
                    id=number,
                    kind=kind,
                    owner_id=owner_id,
                    borrower_id=borrower_id,
                    name=name,
                    issued_at=now,
                )
            )
        noted = {"virtual_account": number, "updated_at": now}
        if lender is not None and lender.virtual_account != number:
            Users(tx).put(lender.model_copy(update=noted))
        if loan is not None and loan.virtual_account != number:
            Loans(tx).put(loan.model_copy(update=noted))
        return VirtualAccountView(virtual_account=number, kind=kind, owner_id=owner_id, name=name)

    return uow.run(record)


# --- notifications -------------------------------------------------------------------------


class PaidAmount(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    value: Annotated[str, Field(pattern=r"^\d{1,15}(\.\d{2})?$", examples=["150000.00"])]
    currency: Literal["IDR"]


class PaymentNotification(Model):
    """The gateway's notice of a payment into a virtual account (SNAP's field names)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    partner_service_id: str = Field(alias="partnerServiceId", max_length=20)
    customer_no: str = Field(alias="customerNo", max_length=28)
    virtual_account: VirtualAccountNumber = Field(alias="virtualAccountNo")
    virtual_account_name: str = Field(default="", alias="virtualAccountName", max_length=255)
    payment_id: GatewayReference = Field(alias="paymentRequestId")
    paid_amount: PaidAmount = Field(alias="paidAmount")
    paid_at: InstantText = Field(alias="trxDateTime")

    @field_validator("paid_amount")
    @classmethod
    def _whole_rupiah(cls, amount: PaidAmount) -> PaidAmount:
        try:
            value = Decimal(amount.value)
        except InvalidOperation:
            raise ValueError("the amount is not a number") from None
        if value != value.to_integral_value() or value <= 0:
            raise ValueError("a payment is a positive whole number of rupiah")
        return amount

    @property
    def amount(self) -> int:
        return int(Decimal(self.paid_amount.value))


class NotificationAnswer(Model):
    model_config = ConfigDict(frozen=True)

    payment_id: str
    state: str
    duplicate: bool


def receive_payment(
    uow: UnitOfWork, notice: PaymentNotification, external_id: str, *, origin: EventOrigin
) -> NotificationAnswer:
    """Record the notification once and post the money where its account says."""
    now = origin.clock.now()
    payment_id = notice.payment_id

    def receive(tx: DocumentTransaction) -> NotificationAnswer:
        payments = Payments(tx)
        existing = payments.get(payment_id)
        account = VirtualAccounts(tx).get(notice.virtual_account)
        if existing is not None:
            if (existing.virtual_account, existing.amount) != (
                notice.virtual_account,
                notice.amount,
            ):
                raise Conflict(
                    f"payment {payment_id} was notified before with another account or amount"
                )
            return NotificationAnswer(payment_id=payment_id, state=existing.state, duplicate=True)
        if account is None:
            to, state = SUSPENSE, "in_suspense"
        elif account.kind == "loan":
            to, state = AccountId(AccountType.UNAPPLIED_RECEIPTS, account.owner_id), "unapplied"
        else:
            to, state = AccountId(AccountType.LENDER_AVAILABLE, account.owner_id), "deposited"
        entry = payment_received(payment_id, to, notice.amount, now)
        post_entry(tx, entry, {}, source=f"payments/{payment_id}")
        payments.add(
            PaymentRecord(
                id=payment_id,
                external_id=external_id,
                virtual_account=notice.virtual_account,
                amount=notice.amount,
                paid_at=notice.paid_at,
                received_at=now,
                kind=None if account is None else account.kind,
                owner_id=None if account is None else account.owner_id,
                borrower_id=None if account is None else account.borrower_id,
                state=state,
                entry_id=entry.entry_id,
            )
        )
        if account is not None and account.kind == "lender":
            _top_up(tx, notice, account.owner_id, entry.entry_id, now, origin)
        if account is not None and account.kind == "loan":
            tx.emit(
                origin.event(
                    EventType.PAYMENT_RECEIVED,
                    PaymentReceived(
                        payment_id=payment_id,
                        loan_id=account.owner_id,
                        amount=notice.amount,
                        paid_at=notice.paid_at,
                    ),
                )
            )
        return NotificationAnswer(payment_id=payment_id, state=state, duplicate=False)

    return uow.run(receive)


GATEWAY = "payment-gateway"  # who confirms a virtual-account top-up: the gateway's notice


def _top_up(
    tx: DocumentTransaction,
    notice: PaymentNotification,
    lender_id: str,
    entry_id: str,
    now: datetime,
    origin: EventOrigin,
) -> None:
    """A lender's virtual-account payment is a deposit, confirmed by the notice itself."""
    deposit_id = f"va-{notice.payment_id}"
    Deposits(tx).add(
        DepositRecord(
            id=deposit_id,
            lender_id=lender_id,
            amount=notice.amount,
            sender=None,
            transfer_reference=notice.payment_id,
            state="confirmed",
            declared_at=notice.paid_at,
            updated_at=now,
            confirmed=Checked(by=GATEWAY, at=now),
            entry_id=entry_id,
            via="virtual_account",
            payment_id=notice.payment_id,
        )
    )
    tx.emit(
        origin.event(
            EventType.DEPOSIT_CONFIRMED,
            DepositConfirmed(
                deposit_id=deposit_id,
                lender_id=lender_id,
                amount=notice.amount,
                entry_id=entry_id,
                confirmed_by=GATEWAY,
            ),
        )
    )


# --- settlement ----------------------------------------------------------------------------


class SettlementItem(Model):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    payment_id: GatewayReference = Field(alias="paymentRequestId")
    virtual_account: VirtualAccountNumber = Field(alias="virtualAccountNo")
    amount: Annotated[int, Field(gt=0, strict=True)]
    fee: Annotated[int, Field(ge=0, strict=True)]
    net: Annotated[int, Field(ge=0, strict=True)]


class SettlementReport(Model):
    """The gateway's settlement report of one day, as it gives it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    settlement_date: date = Field(alias="settlementDate")
    currency: Literal["IDR"] = "IDR"
    items: Annotated[
        tuple[SettlementItem, ...], Field(min_length=1, max_length=MAX_SETTLEMENT_ITEMS)
    ]
    total_amount: int = Field(alias="totalAmount", strict=True)
    total_fee: int = Field(alias="totalFee", strict=True)
    total_net: int = Field(alias="totalNet", strict=True)


class SettlementImport(Model):
    """`POST /gateway-settlements`: the report, and the escrow statement line of its net."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    report: SettlementReport
    line_id: Annotated[str, Field(min_length=1, max_length=128)]


class SettlementView(Model):
    model_config = ConfigDict(frozen=True)

    settlement_id: str
    payments: int
    total_amount: int
    total_fee: int
    total_net: int
    line_id: str
    entry_id: str


def _report_problems(report: SettlementReport) -> dict[str, str]:
    problems: dict[str, str] = {}
    ids = [item.payment_id for item in report.items]
    if len(set(ids)) != len(ids):
        problems["report.items"] = "a payment is listed twice"
    for n, item in enumerate(report.items):
        if item.fee + item.net != item.amount:
            problems[f"report.items.{n}"] = "fee + net must equal the amount"
    totals = (
        ("total_amount", report.total_amount, sum(i.amount for i in report.items)),
        ("total_fee", report.total_fee, sum(i.fee for i in report.items)),
        ("total_net", report.total_net, sum(i.net for i in report.items)),
    )
    for name, given, added in totals:
        if given != added:
            problems[f"report.{name}"] = f"is {given:,}; the items add up to {added:,}"
    return problems


def import_settlement(
    uow: UnitOfWork, imported: SettlementImport, *, admin_id: str, origin: EventOrigin
) -> SettlementView:
    """Move a day's settled payments from the gateway's clearing account into escrow."""
    report = imported.report
    problems = _report_problems(report)
    if problems:
        raise ValidationFailed("the settlement report does not add up", problems)
    require_document_id(imported.line_id, "statement line")
    settlement_id = report.settlement_date.isoformat()
    now = origin.clock.now()

    def settle(tx: DocumentTransaction) -> SettlementView:
        settlements = Settlements(tx)
        existing = settlements.get(settlement_id)
        line_doc = tx.get(STATEMENT_LINES, imported.line_id)
        found = Payments(tx).get_many([item.payment_id for item in report.items])
        if existing is not None:
            if set(existing.payments) != set(found) or existing.line_id != imported.line_id:
                raise Conflict(f"the settlement of {settlement_id} was imported with other items")
            return _view(existing)
        if line_doc is None:
            raise NotFound(f"there is no statement line {imported.line_id!r}")
        line = StatementLineRecord.model_validate(line_doc)
        if line.state != "in_suspense" or line.direction != "credit":
            raise ValidationFailed(
                f"line {line.id} is {line.direction} and {line.state}, not money in",
                {"line_id": "choose the line in suspense that shows the settlement"},
            )
        if line.amount != report.total_net:
            raise ValidationFailed(
                f"line {line.id} is Rp {line.amount:,}; the report settles Rp {report.total_net:,}",
                {"line_id": "the amounts differ"},
            )
        mismatched: dict[str, str] = {}
        for n, item in enumerate(report.items):
            payment = found[item.payment_id]
            if payment is None:
                mismatched[f"report.items.{n}"] = f"no payment {item.payment_id} was notified"
            elif payment.amount != item.amount or payment.virtual_account != item.virtual_account:
                mismatched[f"report.items.{n}"] = "differs from the payment as notified"
            elif payment.settlement_id is not None:
                mismatched[f"report.items.{n}"] = f"settled already ({payment.settlement_id})"
        if mismatched:
            raise Conflict(f"the report does not match the payments notified: {mismatched}")
        entry = gateway_settled(settlement_id, line.id, report.total_amount, report.total_fee, now)
        post_entry(
            tx,
            entry,
            {},
            source=f"gateway_settlements/{settlement_id}",
            value_date=line.value_date,
            bank_reference=line.bank_reference,
        )
        payments = Payments(tx)
        for payment in found.values():
            assert payment is not None
            payments.put(payment.model_copy(update={"settlement_id": settlement_id}))
        StatementLines(tx).put(line.model_copy(update={"state": "explained", "updated_at": now}))
        record = SettlementRecord(
            id=settlement_id,
            settlement_date=report.settlement_date,
            payments=tuple(item.payment_id for item in report.items),
            total_amount=report.total_amount,
            total_fee=report.total_fee,
            total_net=report.total_net,
            line_id=line.id,
            entry_id=entry.entry_id,
            imported=Made(by=admin_id, at=now),
        )
        settlements.add(record)
        return _view(record)

    return uow.run(settle)


def _view(record: SettlementRecord) -> SettlementView:
    return SettlementView(
        settlement_id=record.id,
        payments=len(record.payments),
        total_amount=record.total_amount,
        total_fee=record.total_fee,
        total_net=record.total_net,
        line_id=record.line_id,
        entry_id=record.entry_id,
    )
