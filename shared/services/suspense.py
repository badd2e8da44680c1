"""Money waiting for a decision: gateway payments in suspense and a repaid loan's borrower
credit, each settled by two `admin.finance` (maker-checker; docs/lending-rules.md#payments).

- A payment into an account that is not ours waits in suspense. One admin proposes where it
  goes (`propose_resolution`): to a loan (it becomes that loan's unapplied receipt and
  `payment.received` goes out, so `repayments` applies it), to a lender (a top-up), or back
  to the payer (a refund). Another admin approves it (`approve_resolution`; for a refund,
  with the bank's reference of the transfer back) or rejects it (`reject_resolution`).
- What a borrower overpaid on a loan that is now repaid is refunded to their bank account:
  one admin proposes the refund (`propose_credit_refund`), another confirms the transfer
  (`approve_credit_refund`), which takes it out of the borrower's credit and escrow cash.

Every decision is one transaction: the entry, the record and any event together.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.events import EventType, PaymentReceived
from shared.domain.ledger import (
    ESCROW_CASH,
    SUSPENSE,
    AccountId,
    AccountType,
    JournalEntry,
    Posting,
)
from shared.domain.loan import LoanState
from shared.domain.maker_checker import Made, checked
from shared.fields import PositiveRupiah, ProseStr
from shared.model import Model
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, UnitOfWork, Where
from shared.records.ledger import LedgerBook, read_balances
from shared.records.loans import CreditRefundRecord, Loans
from shared.records.payments import PaymentRecord, Payments, ResolutionRecord
from shared.records.users import Users

MAX_LISTED = 200
BankReference = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$")]


class ResolutionProposal(Model):
    """`POST /gateway-payments/{id}/resolution`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["loan", "lender", "refund"]
    loan_id: str | None = None
    lender_id: str | None = None
    reason: ProseStr

    @model_validator(mode="after")
    def _names_its_target(self) -> ResolutionProposal:
        wanted = {"loan": "loan_id", "lender": "lender_id", "refund": None}[self.action]
        given = [name for name in ("loan_id", "lender_id") if getattr(self, name) is not None]
        if given != ([wanted] if wanted else []):
            raise ValueError(
                f"a {self.action} resolution names "
                + (f"`{wanted}` and nothing else" if wanted else "no loan or lender")
            )
        return self


class ResolutionApproval(Model):
    """`POST /gateway-payments/{id}/resolution/approve`: for a refund, the transfer back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_reference: BankReference | None = None
    value_date: date | None = None


class ResolutionRejection(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: ProseStr


class GatewayPaymentQuery(Model):
    """`GET /gateway-payments`: payments in one state, newest first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["in_suspense", "refunded", "deposited", "unapplied", "allocated", "split"] = (
        "in_suspense"
    )
    limit: Annotated[int, Field(ge=1, le=MAX_LISTED)] = 50


class SuspendedPaymentView(Model):
    model_config = ConfigDict(frozen=True)

    payment_id: str
    virtual_account: str
    amount: int
    state: str
    resolution: ResolutionRecord | None


def _view(payment: PaymentRecord) -> SuspendedPaymentView:
    return SuspendedPaymentView(
        payment_id=payment.id,
        virtual_account=payment.virtual_account,
        amount=payment.amount,
        state=payment.state,
        resolution=payment.resolution,
    )


class GatewayPaymentList(Model):
    model_config = ConfigDict(frozen=True)

    payments: tuple[SuspendedPaymentView, ...]


def find_gateway_payments(uow: UnitOfWork, query: GatewayPaymentQuery) -> GatewayPaymentList:
    """Gateway payments in one state (those in suspense by default), newest first."""
    found = uow.run(
        lambda tx: Payments(tx).newest(
            Where("state", "==", query.state), by="received_at", limit=query.limit
        ),
        read_only=True,
    )
    return GatewayPaymentList(payments=tuple(_view(p) for p in found))


def _in_suspense(tx: DocumentTransaction, payment_id: str) -> PaymentRecord:
    payment = Payments(tx).get(payment_id)
    if payment is None:
        raise NotFound(f"there is no gateway payment {payment_id!r}")
    if payment.state != "in_suspense":
        raise Conflict(f"payment {payment_id} is {payment.state}, not in suspense")
    return payment


def propose_resolution(
    uow: UnitOfWork,
    payment_id: str,
    proposal: ResolutionProposal,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> SuspendedPaymentView:
    """Propose where a payment in suspense goes (one open proposal at a time)."""
    require_document_id(payment_id, "payment")
    now = origin.clock.now()

    def propose(tx: DocumentTransaction) -> SuspendedPaymentView:
        payment = _in_suspense(tx, payment_id)
        if proposal.loan_id is not None:
            require_document_id(proposal.loan_id, "loan")
            loan = Loans(tx).get(proposal.loan_id)
            if loan is None or loan.state is not LoanState.ACTIVE:
                raise ValidationFailed(
                    "a payment goes to an active loan", {"loan_id": "no active loan by that id"}
                )
        if proposal.lender_id is not None:
            require_document_id(proposal.lender_id, "lender")
            lender = Users(tx).get(proposal.lender_id)
            if lender is None or lender.lender_profile is None:
                raise ValidationFailed("no such lender", {"lender_id": "not a lender"})
        current = payment.resolution
        if current is not None and current.outcome is None:
            raise Conflict(f"payment {payment_id} has a proposal waiting for a decision")
        record = ResolutionRecord(
            action=proposal.action,
            target=proposal.loan_id or proposal.lender_id,
            reason=proposal.reason,
            proposed=Made(by=admin_id, at=now),
        )
        updated = payment.model_copy(update={"resolution": record})
        Payments(tx).put(updated)
        return _view(updated)

    return uow.run(propose)


def approve_resolution(
    uow: UnitOfWork,
    payment_id: str,
    approval: ResolutionApproval,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> SuspendedPaymentView:
    """Carry out the proposal (another admin than its maker)."""
    require_document_id(payment_id, "payment")
    now = origin.clock.now()

    def approve(tx: DocumentTransaction) -> SuspendedPaymentView:
        payment = _in_suspense(tx, payment_id)
        proposal = payment.resolution
        if proposal is None or proposal.outcome is not None:
            raise Conflict(f"payment {payment_id} has no proposal to approve")
        decided = checked(admin_id, proposal.proposed, now, action="approve the resolution")
        loan = None
        if proposal.action == "loan":
            assert proposal.target is not None
            loan = Loans(tx).require(proposal.target)
            if loan.state is not LoanState.ACTIVE:
                raise Conflict(f"loan {loan.id} is {loan.state.value}: propose again")
            to = AccountId(AccountType.UNAPPLIED_RECEIPTS, loan.id)
        elif proposal.action == "lender":
            assert proposal.target is not None
            to = AccountId(AccountType.LENDER_AVAILABLE, proposal.target)
        else:
            if approval.bank_reference is None or approval.value_date is None:
                raise ValidationFailed(
                    "a refund is approved with the bank's transfer back",
                    {"bank_reference": "required for a refund", "value_date": "required"},
                )
            to = ESCROW_CASH
        entry = JournalEntry(
            f"suspense-{payment_id}",
            now,
            (Posting.debit(SUSPENSE, payment.amount), Posting.credit(to, payment.amount)),
            f"gateway payment {payment_id} out of suspense: {proposal.action}",
        )
        with LedgerBook(tx) as book:
            book.post(
                entry,
                {},
                source=f"payments/{payment_id}",
                value_date=approval.value_date if to == ESCROW_CASH else None,
                bank_reference=approval.bank_reference if to == ESCROW_CASH else None,
            )
        outcome = proposal.model_copy(
            update={
                "decided": decided,
                "outcome": "approved",
                "bank_reference": approval.bank_reference,
            }
        )
        changes: dict[str, object] = {"resolution": outcome}
        if loan is not None:
            changes |= {
                "state": "unapplied",
                "kind": "loan",
                "owner_id": loan.id,
                "borrower_id": loan.borrower_id,
            }
            tx.emit(
                origin.event(
                    EventType.PAYMENT_RECEIVED,
                    PaymentReceived(
                        payment_id=payment_id,
                        loan_id=loan.id,
                        amount=payment.amount,
                        paid_at=payment.paid_at,
                    ),
                )
            )
        elif proposal.action == "lender":
            changes |= {"state": "deposited", "kind": "lender", "owner_id": proposal.target}
        else:
            changes |= {"state": "refunded"}
        updated = payment.model_copy(update=changes)
        Payments(tx).put(updated)
        return _view(updated)

    return uow.run(approve)


def reject_resolution(
    uow: UnitOfWork,
    payment_id: str,
    rejection: ResolutionRejection,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> SuspendedPaymentView:
    """Turn the proposal down (another admin than its maker); the payment stays in suspense."""
    require_document_id(payment_id, "payment")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> SuspendedPaymentView:
        payment = _in_suspense(tx, payment_id)
        proposal = payment.resolution
        if proposal is None or proposal.outcome is not None:
            raise Conflict(f"payment {payment_id} has no proposal to reject")
        decided = checked(admin_id, proposal.proposed, now, action="reject the resolution")
        outcome = proposal.model_copy(
            update={"decided": decided, "outcome": "rejected", "reason": rejection.reason}
        )
        updated = payment.model_copy(update={"resolution": outcome})
        Payments(tx).put(updated)
        return _view(updated)

    return uow.run(reject)


# --- a repaid loan's borrower credit --------------------------------------------------------


class CreditRefundProposal(Model):
    """`POST /loans/{loan_id}/credit-refund`: the credit to refund to the borrower's account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: PositiveRupiah
    reason: ProseStr


class CreditRefundApproval(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_reference: BankReference
    value_date: date


class CreditRefundView(Model):
    model_config = ConfigDict(frozen=True)

    loan_id: str
    borrower_id: str
    refund: CreditRefundRecord


def propose_credit_refund(
    uow: UnitOfWork,
    loan_id: str,
    proposal: CreditRefundProposal,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> CreditRefundView:
    """Propose refunding a repaid loan's borrower credit (at most what the borrower holds)."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now()

    def propose(tx: DocumentTransaction) -> CreditRefundView:
        loans = Loans(tx)
        loan = loans.require(loan_id)
        credit = AccountId(AccountType.BORROWER_CREDIT, loan.borrower_id)
        held = read_balances(tx, [credit])[credit]
        if loan.state is not LoanState.REPAID:
            raise Conflict(f"loan {loan_id} is {loan.state.value}: credit is refunded once repaid")
        pending = loan.credit_refund
        if pending is not None and pending.decided is None:
            raise Conflict(f"loan {loan_id} has a credit refund waiting for a decision")
        if proposal.amount > held:
            raise ValidationFailed(
                f"the borrower holds Rp {held:,} of credit",
                {"amount": f"at most {held}"},
            )
        record = CreditRefundRecord(
            number=(pending.number + 1) if pending else 1,
            amount=proposal.amount,
            reason=proposal.reason,
            proposed=Made(by=admin_id, at=now),
        )
        loans.put(loan.model_copy(update={"credit_refund": record, "updated_at": now}))
        return CreditRefundView(loan_id=loan_id, borrower_id=loan.borrower_id, refund=record)

    return uow.run(propose)


def approve_credit_refund(
    uow: UnitOfWork,
    loan_id: str,
    approval: CreditRefundApproval,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> CreditRefundView:
    """The bank transferred the refund (another admin than its maker): it leaves the
    borrower's credit and escrow cash."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now()

    def approve(tx: DocumentTransaction) -> CreditRefundView:
        loans = Loans(tx)
        loan = loans.require(loan_id)
        refund = loan.credit_refund
        if refund is None or refund.decided is not None:
            raise Conflict(f"loan {loan_id} has no credit refund to approve")
        decided = checked(
            admin_id, refund.proposed, now, action="approve the refund", subject=loan.borrower_id
        )
        credit = AccountId(AccountType.BORROWER_CREDIT, loan.borrower_id)
        entry = JournalEntry(
            f"credit-refund-{loan_id}-{refund.number}",
            now,
            (Posting.debit(credit, refund.amount), Posting.credit(ESCROW_CASH, refund.amount)),
            f"borrower credit of loan {loan_id} refunded",
        )
        balances = tx.get_documents(LedgerBook.refs_to_read([entry]))
        with LedgerBook(tx) as book:
            book.post(
                entry,
                balances,
                source=f"loans/{loan_id}",
                value_date=approval.value_date,
                bank_reference=approval.bank_reference,
            )
        done = refund.model_copy(
            update={"decided": decided, "bank_reference": approval.bank_reference}
        )
        loans.put(loan.model_copy(update={"credit_refund": done, "updated_at": now}))
        return CreditRefundView(loan_id=loan_id, borrower_id=loan.borrower_id, refund=done)

    return uow.run(approve)
