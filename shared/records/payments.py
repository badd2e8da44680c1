"""What the store keeps about money paid in through the payment gateway
(docs/lending-rules.md#payments).

- `virtual_accounts/<number>`: a virtual account the gateway issued, and whose it is: a
  loan's (its borrower repays into it) or a lender's (top-ups). Issued once per owner; the
  owner's record keeps the number too.
- `payments/<gateway reference>`: one notification of the gateway, created once: the id is
  the gateway's `paymentRequestId`, so the same notification delivered again finds it.

      loan's VA:    unapplied ──allocate──▶ allocated ──split──▶ split
      lender's VA:  deposited
      unknown VA:   in_suspense ──resolved──▶ unapplied (a loan's) │ deposited │ refunded

- `lender_receipts/<payment id>~<lender id>`: a lender's part of one repayment (gross, the
  platform's fee and its VAT, withholding, net): the lines of their monthly statement.
- `gateway_settlements/<settlement date>`: a settlement report imported, once per date.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict

from shared.domain.allocation import InstallmentParts
from shared.domain.maker_checker import Checked, Made
from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository

VIRTUAL_ACCOUNTS = "virtual_accounts"
PAYMENTS = "payments"
LENDER_RECEIPTS = "lender_receipts"
GATEWAY_SETTLEMENTS = "gateway_settlements"

VirtualAccountKind = Literal["loan", "lender"]
PaymentState = Literal["unapplied", "allocated", "split", "deposited", "in_suspense", "refunded"]


class VirtualAccountRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str  # the virtual account number
    kind: VirtualAccountKind
    owner_id: str  # the loan's or the lender's id
    borrower_id: str | None = None  # a loan's borrower
    name: str
    issued_at: Instant


class Parts(Model):
    """`InstallmentParts` as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    late_fee: int = 0
    fee: int = 0
    fee_vat: int = 0
    interest: int = 0
    principal: int = 0

    @classmethod
    def of(cls, parts: InstallmentParts) -> Parts:
        return cls(
            late_fee=parts.late_fee,
            fee=parts.fee,
            fee_vat=parts.fee_vat,
            interest=parts.interest,
            principal=parts.principal,
        )

    def parts(self) -> InstallmentParts:
        return InstallmentParts(**self.model_dump())


class AppliedRecord(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    applied: Parts
    settled: bool


class AllocationRecord(Model):
    """Where a repayment went: installments (oldest first), and the overpayment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    installments: tuple[AppliedRecord, ...]
    collected: Parts
    borrower_credit: int
    entry_id: str
    allocated_at: Instant


class ResolutionRecord(Model):
    """Where a payment in suspense goes, who proposed it and who decided
    (shared/services/suspense.py)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Literal["loan", "lender", "refund"]
    target: str | None  # the loan or the lender
    reason: str
    proposed: Made
    decided: Checked | None = None
    outcome: Literal["approved", "rejected"] | None = None
    bank_reference: str | None = None


class PaymentRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str  # the gateway's reference (paymentRequestId)
    external_id: str
    virtual_account: str
    amount: int
    paid_at: Instant  # when the payer paid, as the gateway says
    received_at: Instant  # when the notification reached the platform
    kind: VirtualAccountKind | None  # None: the account is not one of ours
    owner_id: str | None = None
    borrower_id: str | None = None
    state: PaymentState
    entry_id: str  # the notification's entry (`payment-<id>`)
    allocation: AllocationRecord | None = None
    settlement_id: str | None = None  # the gateway settlement that brought it into escrow
    resolution: ResolutionRecord | None = None  # a payment in suspense: where it goes


class LenderReceiptRecord(Model):
    """One lender's part of one repayment of one loan; or, with `principal_written_off`, the
    loss the lender took when the loan was written off (its `payment_id` is the write-off's
    plan, every amount received zero); `recovery` marks a repayment of a written-off loan
    (docs/lending-rules.md#write-off)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    payment_id: str
    loan_id: str
    lender_id: str
    on: date  # the Jakarta date of the split
    month: str  # YYYY-MM, the statement it belongs to
    principal: int
    interest: int
    late_fee: int
    platform_fee: int
    vat: int
    withholding: int
    withholding_article: str
    net: int
    principal_written_off: int = 0
    recovery: bool = False

    @property
    def gross(self) -> int:
        return self.principal + self.interest + self.late_fee


class SettlementRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str  # the settlement date
    settlement_date: date
    payments: tuple[str, ...]
    total_amount: int
    total_fee: int
    total_net: int
    line_id: str  # the statement line showing the net arrive in escrow
    entry_id: str
    imported: Made


class VirtualAccounts(Repository[VirtualAccountRecord]):
    collection = VIRTUAL_ACCOUNTS
    model = VirtualAccountRecord


class Payments(Repository[PaymentRecord]):
    collection = PAYMENTS
    model = PaymentRecord


class LenderReceipts(Repository[LenderReceiptRecord]):
    collection = LENDER_RECEIPTS
    model = LenderReceiptRecord


class Settlements(Repository[SettlementRecord]):
    collection = GATEWAY_SETTLEMENTS
    model = SettlementRecord


def receipt_id(payment_id: str, lender_id: str) -> str:
    return f"{payment_id}~{lender_id}"
