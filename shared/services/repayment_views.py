"""What borrowers and lenders see of repayments: read-only use cases, no writes
(docs/lending-rules.md#payments, docs/lending-rules.md#billing-split).

- `repayment_of`: a borrower's loan as they repay it: each installment with what is due,
  paid and outstanding per part (late fee, fee, its VAT, interest, principal) and its state
  on today's Jakarta date, the total borrowed, what remains (outstanding principal and
  everything still owed) and the virtual account to pay into. Another borrower's loan is
  indistinguishable from a missing one (404); admins with `loan.read_any` read every loan,
  as with the application itself (`loan_applications.read_application`). A loan not yet
  disbursed has no schedule and owes nothing.
- `statement_of`: a lender's monthly statement, one line per receipt of that month
  (`lender_receipts`, written by the billing split): the gross (principal + interest +
  late fee), the platform fee, its VAT, withholding with its article and the net, and the
  totals. A written-off loan adds a line of the lender's loss (`principal_written_off`),
  and its later repayments are marked `recovery`. A month without receipts is an empty
  statement; a month not written `YYYY-MM` is a 422.
- `receipts_for_loan`: a lender's receipts from one loan, with the totals; a loan the
  lender has no participation in is a 404.

The totals are the sums of the lines shown, to the rupiah.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict

from shared.domain.allocation import InstallmentParts
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.loan import LoanState
from shared.domain.money import Rupiah
from shared.domain.permissions import Permission
from shared.model import Model
from shared.platform.callers import Caller
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.loans import LoanRecord, Loans

if TYPE_CHECKING:  # each use case imports the records it reads (docs/architecture.md#cold-start)
    from shared.records.installments import InstallmentRecord
    from shared.records.payments import LenderReceiptRecord

MAX_INSTALLMENTS = 400  # far beyond the longest schedule a product allows
MAX_STATEMENT_LINES = 10_000  # a month's receipts of one lender shown in one statement
MAX_LOAN_RECEIPTS = 1_000  # one lender's receipts from one loan (one or a few a month)
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)

InstallmentState = Literal["paid", "partially_paid", "due", "overdue"]


# --- the borrower's view ----------------------------------------------------------------------


class PartsView(Model):
    """Amounts per part of an installment, in the order a payment pays them, and their sum."""

    model_config = ConfigDict(frozen=True)

    late_fee: int
    fee: int
    fee_vat: int
    interest: int
    principal: int
    total: int

    @classmethod
    def of(cls, parts: InstallmentParts) -> PartsView:
        return cls(
            late_fee=parts.late_fee,
            fee=parts.fee,
            fee_vat=parts.fee_vat,
            interest=parts.interest,
            principal=parts.principal,
            total=parts.total,
        )


class InstallmentView(Model):
    model_config = ConfigDict(frozen=True)

    number: int
    due_date: date
    state: InstallmentState
    due: PartsView  # as the schedule fixed it, plus the late fee accrued so far
    paid: PartsView
    outstanding: PartsView


class RepaymentView(Model):
    """A borrower's loan as they repay it, on `as_of` (today's Jakarta date)."""

    model_config = ConfigDict(frozen=True)

    loan_id: str
    state: LoanState
    as_of: date
    principal: int  # the total borrowed
    outstanding_principal: int
    total_outstanding: int  # every part of every installment still owed, late fees included
    virtual_account: str | None  # where to pay; None until the borrower asks for one
    installments: tuple[InstallmentView, ...]


def installment_state(installment: InstallmentRecord, today: date) -> InstallmentState:
    """`paid` when nothing is outstanding; `overdue` once its due date has passed
    (`delinquency.days_past_due`); `partially_paid` when a payment reached it; else `due`."""
    from shared.domain.delinquency import days_past_due

    if installment.settled:
        return "paid"
    if days_past_due(installment.due_date, today) > 0:
        return "overdue"
    return "partially_paid" if installment.paid > 0 else "due"


def _installment_view(installment: InstallmentRecord, today: date) -> InstallmentView:
    due = InstallmentParts(
        late_fee=Rupiah(installment.late_fee),
        fee=Rupiah(installment.fees),
        fee_vat=Rupiah(installment.fee_vat),
        interest=Rupiah(installment.interest),
        principal=Rupiah(installment.principal),
    )
    outstanding = installment.outstanding
    return InstallmentView(
        number=installment.number,
        due_date=installment.due_date,
        state=installment_state(installment, today),
        due=PartsView.of(due),
        paid=PartsView.of(due - outstanding),
        outstanding=PartsView.of(outstanding),
    )


def _visible(loan: LoanRecord | None, caller: Caller, loan_id: str) -> LoanRecord:
    """The loan if the caller may read it: their own, or any with `loan.read_any`. Another
    borrower's loan looks like a missing one, as in `loan_applications`."""
    if loan is None or (
        not caller.may(Permission.LOAN_READ_ANY) and loan.borrower_id != caller.user_id
    ):
        raise NotFound(f"there is no loan {loan_id!r}")
    return loan


def repayment_of(uow: UnitOfWork, caller: Caller, loan_id: str, *, today: date) -> RepaymentView:
    """The caller's loan with its schedule as paid so far, on `today` (Jakarta)."""
    from shared.records.installments import Installments

    require_document_id(loan_id, "loan")

    def read(tx: DocumentTransaction) -> tuple[LoanRecord, list[InstallmentRecord]]:
        loan = _visible(Loans(tx).get(loan_id), caller, loan_id)
        schedule = Installments(tx).find(Where("loan_id", "==", loan_id), limit=MAX_INSTALLMENTS)
        return loan, schedule

    loan, schedule = uow.run(read, read_only=True)
    views = tuple(_installment_view(i, today) for i in sorted(schedule, key=lambda i: i.number))
    return RepaymentView(
        loan_id=loan.id,
        state=loan.state,
        as_of=today,
        principal=loan.principal,
        # Set at disbursement and kept by repayments; before it the loan owes nothing.
        outstanding_principal=loan.outstanding_principal or 0,
        total_outstanding=sum(i.outstanding.total for i in views),
        virtual_account=loan.virtual_account,
        installments=views,
    )


# --- the lender's view ------------------------------------------------------------------------


class ReceiptLine(Model):
    """One lender's part of one repayment: what the borrower paid them, what was taken, net."""

    model_config = ConfigDict(frozen=True)

    on: date  # the Jakarta date the repayment was split to the lenders
    loan_id: str
    payment_id: str
    principal: int
    interest: int
    late_fee: int
    gross: int  # principal + interest + late fee
    platform_fee: int
    vat: int  # on the platform fee
    withholding: int
    withholding_article: str  # the income-tax article it was withheld under
    net: int  # gross − platform fee − VAT − withholding: what reached the lender's wallet
    # The lender's loss when the loan was written off (a line of its own, nothing received),
    # and whether this receipt is a recovery after it (docs/lending-rules.md#write-off).
    principal_written_off: int = 0
    recovery: bool = False

    @classmethod
    def of(cls, receipt: LenderReceiptRecord) -> ReceiptLine:
        return cls(
            on=receipt.on,
            loan_id=receipt.loan_id,
            payment_id=receipt.payment_id,
            principal=receipt.principal,
            interest=receipt.interest,
            late_fee=receipt.late_fee,
            gross=receipt.gross,
            platform_fee=receipt.platform_fee,
            vat=receipt.vat,
            withholding=receipt.withholding,
            withholding_article=receipt.withholding_article,
            net=receipt.net,
            principal_written_off=receipt.principal_written_off,
            recovery=receipt.recovery,
        )


class ReceiptTotals(Model):
    """The sums of the lines, and the withholding under each article (for the tax slips)."""

    model_config = ConfigDict(frozen=True)

    principal: int
    interest: int
    late_fee: int
    gross: int
    platform_fee: int
    vat: int
    withholding: int
    withholding_by_article: dict[str, int]
    net: int
    principal_written_off: int = 0  # the losses of written-off loans

    @classmethod
    def of(cls, lines: Sequence[ReceiptLine]) -> ReceiptTotals:
        by_article: dict[str, int] = {}
        for line in lines:
            if line.withholding:
                article = line.withholding_article
                by_article[article] = by_article.get(article, 0) + line.withholding
        return cls(
            principal=sum(line.principal for line in lines),
            interest=sum(line.interest for line in lines),
            late_fee=sum(line.late_fee for line in lines),
            gross=sum(line.gross for line in lines),
            platform_fee=sum(line.platform_fee for line in lines),
            vat=sum(line.vat for line in lines),
            withholding=sum(line.withholding for line in lines),
            withholding_by_article=by_article,
            net=sum(line.net for line in lines),
            principal_written_off=sum(line.principal_written_off for line in lines),
        )


class MonthlyStatement(Model):
    """A lender's receipts of one month, oldest first, and their totals."""

    model_config = ConfigDict(frozen=True)

    lender_id: str
    month: str  # YYYY-MM
    lines: tuple[ReceiptLine, ...]
    totals: ReceiptTotals
    # False only past MAX_STATEMENT_LINES receipts in the month: the totals are then the
    # listed lines' (none of the platform's lenders comes near it).
    complete: bool


class LoanReceipts(Model):
    """A lender's receipts from one loan, oldest first, and what the stake still holds."""

    model_config = ConfigDict(frozen=True)

    lender_id: str
    loan_id: str
    principal_funded: int
    outstanding_principal: int
    receipts: tuple[ReceiptLine, ...]
    totals: ReceiptTotals


def require_month(month: str) -> str:
    """`month` if it is a calendar month written `YYYY-MM`; otherwise a 422 naming it."""
    if not _MONTH.match(month):
        raise ValidationFailed(
            "a statement's month is written YYYY-MM", {"month": f"got {month[:16]!r}"}
        )
    return month


_OLDEST_FIRST = (OrderBy("on"), OrderBy("id"))


def statement_of(uow: UnitOfWork, lender_id: str, month: str) -> MonthlyStatement:
    """The lender's statement of `month` (YYYY-MM) from their receipts."""
    from shared.records.payments import LenderReceipts

    require_month(month)
    found = uow.run(
        lambda tx: LenderReceipts(tx).find(
            Where("lender_id", "==", lender_id),
            Where("month", "==", month),
            order_by=_OLDEST_FIRST,
            limit=MAX_STATEMENT_LINES + 1,
        ),
        read_only=True,
    )
    lines = tuple(ReceiptLine.of(r) for r in found[:MAX_STATEMENT_LINES])
    return MonthlyStatement(
        lender_id=lender_id,
        month=month,
        lines=lines,
        totals=ReceiptTotals.of(lines),
        complete=len(found) <= MAX_STATEMENT_LINES,
    )


def receipts_for_loan(uow: UnitOfWork, lender_id: str, loan_id: str) -> LoanReceipts:
    """The lender's receipts from `loan_id` (404 without a stake in it)."""
    from shared.records.participations import Participations, participation_id
    from shared.records.payments import LenderReceipts

    require_document_id(loan_id, "loan")

    def read(tx: DocumentTransaction) -> LoanReceipts:
        stake = Participations(tx).get(participation_id(loan_id, lender_id))
        if stake is None:
            raise NotFound(f"you have no participation in loan {loan_id!r}")
        found = LenderReceipts(tx).find(
            Where("lender_id", "==", lender_id),
            Where("loan_id", "==", loan_id),
            order_by=_OLDEST_FIRST,
            limit=MAX_LOAN_RECEIPTS,
        )
        lines = tuple(ReceiptLine.of(r) for r in found)
        return LoanReceipts(
            lender_id=lender_id,
            loan_id=loan_id,
            principal_funded=stake.principal_funded,
            outstanding_principal=stake.outstanding_principal,
            receipts=lines,
            totals=ReceiptTotals.of(lines),
        )

    return uow.run(read, read_only=True)
