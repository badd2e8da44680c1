"""Money the platform takes out of escrow: its fees swept to its operating account, the tax it
withheld paid to the state, and the monthly withholding summary behind the tax slips
(docs/lending-rules.md#fee-sweep-and-tax-remittance).

The model: escrow holds, beside everyone else's money, what the platform earned and owes and
has not yet taken out (`platform_fee_income`, `vat_payable`, `withholding_tax_payable`, less
the gateway's fees in `payment_fees_expense`, which the gateway already kept out of what it
settled). Two movements take it out, each proposed by one `admin.finance` and approved by
another with the bank's reference and value date (maker-checker), each one transaction that
posts one entry `remittance-<id>`:

- A fee sweep moves fee income net of the gateway's fees, and the VAT on the platform's
  fees, to the operating account: VAT is the platform's own tax on its own fees, declared in
  its monthly VAT return against its input VAT and paid from the operating account, so it
  leaves escrow with the fees. The entry closes the gateway's fees against fee income, so
  what leaves is fee income less expenses:
  platform_fee_income (fee + the gateway's fees) / payment_fees_expense (the gateway's fees)
  + escrow_cash (fee); vat_payable / escrow_cash (VAT).
- A tax payment pays withholding (PPh 23 or PPh 26) straight from escrow to the state under
  a billing code (kode billing): it is the lenders' money withheld on their behalf, which
  the platform never owns: withholding_tax_payable / escrow_cash.

An approval reads the balances it draws on (every shard of the hot accounts) in its own
transaction and refuses more than they hold, so two approvals cannot take the same rupiah;
a sweep or a payment is rare, so the splits that touch the same shards meanwhile are merely
retried. The same admin approving a posted remittance again with the same reference and
value date changes nothing (a retried request); any other approval of it is a conflict. The
bank's value date is neither in the future nor before the proposal.

`withholding_summary` adds up a month's `lender_receipts` per lender and article: the base
(interest and late fees) and the tax withheld, with the totals per article — what the
tax slips (bukti potong) and the monthly return declare.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from shared.domain.errors import Conflict, InsufficientFunds, NotFound, ValidationFailed
from shared.domain.ledger import (
    ESCROW_CASH,
    PAYMENT_FEES_EXPENSE,
    PLATFORM_FEE_INCOME,
    VAT_PAYABLE,
    WITHHOLDING_TAX_PAYABLE,
    AccountId,
    JournalEntry,
    Posting,
)
from shared.domain.maker_checker import Made, checked
from shared.fields import PositiveRupiah, ProseStr, Rupiah
from shared.model import Model
from shared.platform.clock import jakarta_date
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.ledger import LedgerBook, read_balances
from shared.records.payments import LenderReceiptRecord, LenderReceipts
from shared.records.remittances import (
    RemittanceRecord,
    Remittances,
    TaxArticle,
)
from shared.services.repayment_views import MONTH_PATTERN, require_month

BankReference = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$")]
BillingCode = Annotated[str, Field(pattern=r"^[0-9]{15}$")]  # kode billing: 15 digits
SUMMARY_PAGE = 500  # receipts read per query
MAX_SUMMARY_RECEIPTS = 200_000  # a month's receipts one summary adds up


# --- what the ledger holds ----------------------------------------------------------------


class RemittanceBalances(Model):
    """What escrow holds for the platform and the tax office, not yet taken out."""

    model_config = ConfigDict(frozen=True)

    platform_fee_income: int
    payment_fees_expense: int  # the gateway's fees, already kept out of what it settled
    sweepable_fees: int  # fee income less the gateway's fees: at most this is swept
    vat_payable: int
    withholding_tax_payable: int


_ACCOUNTS = (PLATFORM_FEE_INCOME, PAYMENT_FEES_EXPENSE, VAT_PAYABLE, WITHHOLDING_TAX_PAYABLE)


def _balances_of(held: dict[AccountId, int]) -> RemittanceBalances:
    return RemittanceBalances(
        platform_fee_income=held[PLATFORM_FEE_INCOME],
        payment_fees_expense=held[PAYMENT_FEES_EXPENSE],
        sweepable_fees=held[PLATFORM_FEE_INCOME] - held[PAYMENT_FEES_EXPENSE],
        vat_payable=held[VAT_PAYABLE],
        withholding_tax_payable=held[WITHHOLDING_TAX_PAYABLE],
    )


def _read_balances(tx: DocumentTransaction) -> RemittanceBalances:
    return _balances_of(read_balances(tx, _ACCOUNTS))


def remittance_balances(uow: UnitOfWork) -> RemittanceBalances:
    """What could be swept and remitted now (every shard summed)."""
    return uow.run(_read_balances, read_only=True)


# --- proposals ----------------------------------------------------------------------------


class FeeSweepProposal(Model):
    """`POST /fee-sweeps`: fee income (net of the gateway's fees) and VAT to sweep."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fee_amount: Rupiah = 0
    vat_amount: Rupiah = 0
    reason: ProseStr

    @model_validator(mode="after")
    def _sweeps_something(self) -> FeeSweepProposal:
        if self.fee_amount + self.vat_amount == 0:
            raise ValueError("a sweep moves a positive fee_amount, vat_amount or both")
        return self


class TaxPaymentProposal(Model):
    """`POST /tax-payments`: withholding of one article and tax period, to one billing code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: PositiveRupiah
    article: TaxArticle
    tax_period: Annotated[str, Field(pattern=MONTH_PATTERN)]
    billing_code: BillingCode
    reason: ProseStr


class RemittanceApproval(Model):
    """The bank's transfer out of escrow (for a tax payment, its state receipt number)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_reference: BankReference
    value_date: date


class RemittanceRejection(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: ProseStr


def _refuse_beyond(balances: RemittanceBalances, record: RemittanceRecord) -> None:
    """`ValidationFailed` naming each amount above what the ledger holds."""
    errors = {}
    for field, amount, held in (
        ("fee_amount", record.fee_amount, balances.sweepable_fees),
        ("vat_amount", record.vat_amount, balances.vat_payable),
        ("amount", record.withholding_amount, balances.withholding_tax_payable),
    ):
        if amount > held:
            errors[field] = f"at most {max(held, 0)}"
    if errors:
        raise ValidationFailed("the ledger holds less than proposed", errors)


def _propose(uow: UnitOfWork, record: RemittanceRecord) -> RemittanceRecord:
    # The balances are read outside the proposal's transaction: a proposal takes nothing, and
    # its approval checks them again in the transaction that does.
    _refuse_beyond(remittance_balances(uow), record)

    def propose(tx: DocumentTransaction) -> RemittanceRecord:
        Remittances(tx).add(record)
        return record  # the transaction's result is what an idempotent request replays

    return uow.run(propose)


def propose_fee_sweep(
    uow: UnitOfWork, proposal: FeeSweepProposal, *, admin_id: str, origin: EventOrigin
) -> RemittanceRecord:
    """Propose sweeping fees and VAT to the operating account (at most what escrow holds)."""
    now = origin.clock.now()
    record = RemittanceRecord(
        id=origin.ids.new_id("sweep"),
        kind="fee_sweep",
        fee_amount=proposal.fee_amount,
        vat_amount=proposal.vat_amount,
        reason=proposal.reason,
        proposed=Made(by=admin_id, at=now),
        proposed_at=now,
        updated_at=now,
    )
    return _propose(uow, record)


def propose_tax_payment(
    uow: UnitOfWork, proposal: TaxPaymentProposal, *, admin_id: str, origin: EventOrigin
) -> RemittanceRecord:
    """Propose paying withholding to the state under a billing code."""
    now = origin.clock.now()
    record = RemittanceRecord(
        id=origin.ids.new_id("taxpay"),
        kind="tax_payment",
        withholding_amount=proposal.amount,
        article=proposal.article,
        tax_period=proposal.tax_period,
        billing_code=proposal.billing_code,
        reason=proposal.reason,
        proposed=Made(by=admin_id, at=now),
        proposed_at=now,
        updated_at=now,
    )
    return _propose(uow, record)


# --- decisions ----------------------------------------------------------------------------


def _entry(record: RemittanceRecord, held: RemittanceBalances, at: datetime) -> JournalEntry:
    """The one entry a remittance posts, or `InsufficientFunds` when the ledger now holds
    less than it takes (another remittance went first)."""
    for account, amount, available in (
        (PLATFORM_FEE_INCOME, record.fee_amount, held.sweepable_fees),
        (VAT_PAYABLE, record.vat_amount, held.vat_payable),
        (WITHHOLDING_TAX_PAYABLE, record.withholding_amount, held.withholding_tax_payable),
    ):
        if amount > available:
            raise InsufficientFunds(
                f"{account} holds {available:,} rupiah to take out, {amount:,} proposed",
                account=str(account),
                available=available,
            )
    postings: list[Posting] = []
    if record.kind == "fee_sweep":
        expenses = held.payment_fees_expense
        if record.fee_amount + expenses:
            postings.append(Posting.debit(PLATFORM_FEE_INCOME, record.fee_amount + expenses))
        if expenses:
            postings.append(Posting.credit(PAYMENT_FEES_EXPENSE, expenses))
        if record.vat_amount:
            postings.append(Posting.debit(VAT_PAYABLE, record.vat_amount))
        memo = f"fee sweep {record.id} to the operating account"
    else:
        postings.append(Posting.debit(WITHHOLDING_TAX_PAYABLE, record.withholding_amount))
        memo = f"{record.article} of {record.tax_period} paid, billing code {record.billing_code}"
    postings.append(Posting.credit(ESCROW_CASH, record.total))
    return JournalEntry(f"remittance-{record.id}", at, tuple(postings), memo)


def approve_remittance(
    uow: UnitOfWork,
    remittance_id: str,
    approval: RemittanceApproval,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> RemittanceRecord:
    """The bank made the transfer (another admin than the proposer): post it, once."""
    require_document_id(remittance_id, "remittance")
    now = origin.clock.now()
    if approval.value_date > jakarta_date(now):
        raise ValidationFailed(
            "a remittance is approved once the bank made the transfer",
            {"value_date": "is in the future"},
        )

    def approve(tx: DocumentTransaction) -> RemittanceRecord:
        record = Remittances(tx).require(remittance_id)
        held = _read_balances(tx)
        if record.state == "posted":
            again = (admin_id, approval.bank_reference, approval.value_date)
            if record.decided and again == (
                record.decided.by,
                record.bank_reference,
                record.value_date,
            ):
                return record  # the same approval again: it took effect once
            raise Conflict(
                f"remittance {remittance_id} was posted with reference {record.bank_reference}"
            )
        if record.state != "proposed":
            raise Conflict(f"remittance {remittance_id} is {record.state}")
        if approval.value_date < jakarta_date(record.proposed_at):
            raise ValidationFailed(
                "the transfer cannot predate the proposal",
                {"value_date": "is before the remittance was proposed"},
            )
        decided = checked(admin_id, record.proposed, now, action="approve this remittance")
        entry = _entry(record, held, now)
        with LedgerBook(tx) as book:
            book.post(
                entry,
                {},
                source=f"remittances/{record.id}",
                value_date=approval.value_date,
                bank_reference=approval.bank_reference,
            )
        posted = record.model_copy(
            update={
                "state": "posted",
                "decided": decided,
                "bank_reference": approval.bank_reference,
                "value_date": approval.value_date,
                "expenses_closed": held.payment_fees_expense if record.kind == "fee_sweep" else 0,
                "entry_id": entry.entry_id,
                "updated_at": now,
            }
        )
        Remittances(tx).put(posted)
        return posted

    return uow.run(approve)


def reject_remittance(
    uow: UnitOfWork,
    remittance_id: str,
    rejection: RemittanceRejection,
    *,
    admin_id: str,
    origin: EventOrigin,
) -> RemittanceRecord:
    """Turn a proposal down, saying why (another admin than the proposer): nothing moves."""
    require_document_id(remittance_id, "remittance")
    now = origin.clock.now()

    def reject(tx: DocumentTransaction) -> RemittanceRecord:
        remittances = Remittances(tx)
        record = remittances.require(remittance_id)
        if record.state != "proposed":
            raise Conflict(f"remittance {remittance_id} is {record.state}")
        decided = checked(admin_id, record.proposed, now, action="reject this remittance")
        rejected = record.model_copy(
            update={
                "state": "rejected",
                "decided": decided,
                "decision_note": rejection.reason,
                "updated_at": now,
            }
        )
        remittances.put(rejected)
        return rejected

    return uow.run(reject)


def remittance(uow: UnitOfWork, remittance_id: str) -> RemittanceRecord:
    require_document_id(remittance_id, "remittance")
    found = uow.run(lambda tx: Remittances(tx).get(remittance_id), read_only=True)
    if found is None:
        raise NotFound(f"there is no remittance {remittance_id!r}")
    return found


# --- the withholding summary --------------------------------------------------------------


class WithholdingLine(Model):
    """One lender's withholding of the month under one article: a tax slip's figures."""

    model_config = ConfigDict(frozen=True)

    lender_id: str
    article: TaxArticle
    treaty_rate: bool  # PPh 26 at a treaty rate (a certificate of domicile in force)
    base: int  # gross interest + late fees the tax was withheld on
    withheld: int
    receipts: int


class ArticleTotal(Model):
    """One article's line of the monthly return."""

    model_config = ConfigDict(frozen=True)

    article: TaxArticle
    lenders: int
    base: int
    withheld: int


class WithholdingSummary(Model):
    """`GET /withholding/{month}`: a month's withholding per lender and per article."""

    model_config = ConfigDict(frozen=True)

    month: str
    lines: tuple[WithholdingLine, ...]  # by article, then lender
    totals: tuple[ArticleTotal, ...]
    withheld: int
    # False only past MAX_SUMMARY_RECEIPTS receipts in the month: the figures are then those
    # of the receipts read (far beyond the platform's volume).
    complete: bool


# The stored article of a receipt (`tax.WithholdingArticle`) → the return it goes on and
# whether a treaty rate applied. Exempt receipts withhold nothing and are on no slip.
_RETURN_ARTICLE: dict[str, tuple[TaxArticle, bool]] = {
    "pph23": ("pph23", False),
    "pph26": ("pph26", False),
    "pph26_treaty": ("pph26", True),
}


def _month_receipts(tx: DocumentTransaction, month: str) -> list[LenderReceiptRecord]:
    """The month's receipts, read a page at a time in id order (at most the maximum + 1)."""
    found: list[LenderReceiptRecord] = []
    after: list[Where] = []
    while len(found) <= MAX_SUMMARY_RECEIPTS:
        page = LenderReceipts(tx).find(
            Where("month", "==", month),
            *after,
            order_by=(OrderBy("id"),),
            limit=SUMMARY_PAGE,
        )
        found += page
        if len(page) < SUMMARY_PAGE:
            break
        after = [Where("id", ">", page[-1].id)]
    return found


def summarize(month: str, receipts: Sequence[LenderReceiptRecord]) -> WithholdingSummary:
    """Add up receipts per (article, lender) and per article."""
    lines: dict[tuple[TaxArticle, str], WithholdingLine] = {}
    for receipt in receipts:
        article = _RETURN_ARTICLE.get(receipt.withholding_article)
        base = receipt.interest + receipt.late_fee
        if article is None or (base == 0 and receipt.withholding == 0):
            continue
        key = (article[0], receipt.lender_id)
        line = lines.get(key) or WithholdingLine(
            lender_id=receipt.lender_id,
            article=article[0],
            treaty_rate=article[1],
            base=0,
            withheld=0,
            receipts=0,
        )
        lines[key] = line.model_copy(
            update={
                "treaty_rate": line.treaty_rate or article[1],
                "base": line.base + base,
                "withheld": line.withheld + receipt.withholding,
                "receipts": line.receipts + 1,
            }
        )
    ordered = tuple(lines[key] for key in sorted(lines))
    articles: list[TaxArticle] = ["pph23", "pph26"]
    totals = tuple(
        ArticleTotal(
            article=article,
            lenders=len([line for line in ordered if line.article == article]),
            base=sum(line.base for line in ordered if line.article == article),
            withheld=sum(line.withheld for line in ordered if line.article == article),
        )
        for article in articles
    )
    return WithholdingSummary(
        month=month,
        lines=ordered,
        totals=totals,
        withheld=sum(total.withheld for total in totals),
        complete=True,
    )


def withholding_summary(uow: UnitOfWork, month: str) -> WithholdingSummary:
    """The withholding of `month` (YYYY-MM) from the lenders' receipts, read at one moment."""
    require_month(month)
    receipts, _ = uow.read_snapshot(lambda tx: _month_receipts(tx, month))
    summary = summarize(month, receipts[:MAX_SUMMARY_RECEIPTS])
    if len(receipts) > MAX_SUMMARY_RECEIPTS:
        return summary.model_copy(update={"complete": False})
    return summary
