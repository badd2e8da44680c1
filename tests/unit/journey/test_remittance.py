"""Fees swept and withholding remitted out of escrow by two `admin.finance`, and the monthly
withholding summary, on the in-memory store after real repayments
(docs/lending-rules.md#fee-sweep-and-tax-remittance).

Every step reconciles: a sweep or a tax payment takes out of escrow exactly what the
platform's side of the ledger gives up, so the escrow identity holds throughout.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from shared.adapters.memory import MemoryUnitOfWork
from shared.domain.errors import Conflict, Forbidden, InsufficientFunds, ValidationFailed
from shared.records.remittances import RemittanceRecord
from shared.records.users import USERS, LenderProfile
from shared.services.remittance import (
    FeeSweepProposal,
    RemittanceApproval,
    RemittanceRejection,
    TaxPaymentProposal,
    approve_remittance,
    propose_fee_sweep,
    propose_tax_payment,
    reject_remittance,
    remittance,
    remittance_balances,
    withholding_summary,
)
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import GATEWAY_FEE, PaymentDesk

SHARES = {"ani": 5_000_000, "budi": 3_000_000, "citra": 2_000_000}
BILLING_CODE = "123456789012345"


@pytest.fixture
def desk() -> PaymentDesk:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.fixture
def repaid(desk: PaymentDesk) -> list[str]:
    """Two installments of a loan paid, split and settled by the gateway."""
    loan = desk.active_loan(SHARES)
    payments = [desk.pay(loan, installment.total) for installment in desk.installments(loan)[:2]]
    desk.settle(payments)
    assert_reconciles(desk)
    return payments


def sweep(desk: PaymentDesk, fee: int, vat: int, admin: str = "fin-1") -> RemittanceRecord:
    return propose_fee_sweep(
        desk.uow,
        FeeSweepProposal(fee_amount=fee, vat_amount=vat, reason="the month's fees"),
        admin_id=admin,
        origin=desk.origin,
    )


def tax_payment(desk: PaymentDesk, amount: int, admin: str = "fin-1") -> RemittanceRecord:
    return propose_tax_payment(
        desk.uow,
        TaxPaymentProposal(
            amount=amount,
            article="pph23",
            tax_period=desk.today().strftime("%Y-%m"),
            billing_code=BILLING_CODE,
            reason="PPh 23 withheld this month",
        ),
        admin_id=admin,
        origin=desk.origin,
    )


def approve(
    desk: PaymentDesk, record: RemittanceRecord, admin: str = "fin-2", reference: str = "OUT-9"
) -> RemittanceRecord:
    return approve_remittance(
        desk.uow,
        record.id,
        RemittanceApproval(bank_reference=reference, value_date=desk.today()),
        admin_id=admin,
        origin=desk.origin,
    )


def test_fees_net_of_the_gateways_and_vat_are_swept_by_two_admins(
    desk: PaymentDesk, repaid: list[str]
) -> None:
    held = remittance_balances(desk.uow)
    assert held.payment_fees_expense == GATEWAY_FEE * len(repaid)
    assert held.platform_fee_income > held.payment_fees_expense > 0
    assert held.sweepable_fees == held.platform_fee_income - held.payment_fees_expense
    assert held.vat_payable > 0
    escrow = desk.balance("escrow_cash")

    proposed = sweep(desk, held.sweepable_fees, held.vat_payable)
    assert proposed.state == "proposed"
    assert desk.balance("escrow_cash") == escrow  # a proposal moves nothing
    with pytest.raises(Forbidden):  # the maker does not approve
        approve(desk, proposed, admin="fin-1")
    posted = approve(desk, proposed)
    assert (posted.state, posted.entry_id) == ("posted", f"remittance-{proposed.id}")
    assert posted.expenses_closed == held.payment_fees_expense
    # What left escrow is fee income less the gateway's fees, plus VAT; nothing is left over.
    assert desk.balance("escrow_cash") == escrow - held.sweepable_fees - held.vat_payable
    after = remittance_balances(desk.uow)
    assert (after.platform_fee_income, after.payment_fees_expense, after.vat_payable) == (0, 0, 0)
    assert after.withholding_tax_payable == held.withholding_tax_payable  # not swept
    assert_reconciles(desk)

    # The same approval again takes effect once; another reference for it is a conflict.
    assert approve(desk, proposed) == posted
    assert desk.balance("escrow_cash") == escrow - held.sweepable_fees - held.vat_payable
    with pytest.raises(Conflict):
        approve(desk, proposed, reference="OUT-10")
    assert_reconciles(desk)


def test_withholding_is_paid_to_its_billing_code_by_two_admins(
    desk: PaymentDesk, repaid: list[str]
) -> None:
    withheld = remittance_balances(desk.uow).withholding_tax_payable
    assert withheld > 0
    escrow = desk.balance("escrow_cash")
    proposed = tax_payment(desk, withheld)
    assert (proposed.billing_code, proposed.article) == (BILLING_CODE, "pph23")
    with pytest.raises(Forbidden):
        approve(desk, proposed, admin="fin-1")
    for day in (desk.today() + timedelta(days=1), desk.today() - timedelta(days=1)):
        with pytest.raises(ValidationFailed):  # not yet made, or before it was proposed
            approve_remittance(
                desk.uow,
                proposed.id,
                RemittanceApproval(bank_reference="NTPN0123456789AB", value_date=day),
                admin_id="fin-2",
                origin=desk.origin,
            )
    posted = approve(desk, proposed, reference="NTPN0123456789AB")
    assert posted.bank_reference == "NTPN0123456789AB"
    assert desk.balance("withholding_tax_payable") == 0
    assert desk.balance("escrow_cash") == escrow - withheld
    assert remittance_balances(desk.uow).platform_fee_income > 0  # fees stay until swept
    assert_reconciles(desk)
    approve(desk, proposed, reference="NTPN0123456789AB")
    assert desk.balance("escrow_cash") == escrow - withheld
    assert_reconciles(desk)


def test_more_than_the_ledger_holds_is_refused(desk: PaymentDesk, repaid: list[str]) -> None:
    held = remittance_balances(desk.uow)
    with pytest.raises(ValidationFailed) as fees:
        sweep(desk, held.sweepable_fees + 1, 0)
    assert fees.value.field_errors == {"fee_amount": f"at most {held.sweepable_fees}"}
    # The gateway's fees are already spent: gross fee income cannot be swept.
    with pytest.raises(ValidationFailed):
        sweep(desk, held.platform_fee_income, 0)
    with pytest.raises(ValidationFailed):
        sweep(desk, 0, held.vat_payable + 1)
    with pytest.raises(ValidationFailed):
        tax_payment(desk, held.withholding_tax_payable + 1)
    with pytest.raises(ValidationError):  # a sweep of nothing
        FeeSweepProposal(reason="nothing at all")
    with pytest.raises(ValidationError):  # a billing code is 15 digits
        TaxPaymentProposal(
            amount=1, article="pph23", tax_period="2026-11", billing_code="12345", reason="x"
        )

    # Two proposals each within the balance, together beyond it: the second approval is
    # refused in the transaction that would take the money.
    first = sweep(desk, held.sweepable_fees, 0)
    second = sweep(desk, held.sweepable_fees, 0, admin="fin-2")
    approve(desk, first)
    with pytest.raises(InsufficientFunds):
        approve(desk, second, admin="fin-1", reference="OUT-10")
    assert remittance(desk.uow, second.id).state == "proposed"
    assert desk.balance("platform_fee_income") == 0
    assert_reconciles(desk)


def test_a_rejected_proposal_moves_nothing(desk: PaymentDesk, repaid: list[str]) -> None:
    escrow = desk.balance("escrow_cash")
    proposed = tax_payment(desk, 1_000)
    no = RemittanceRejection(reason="wrong billing code")
    with pytest.raises(Forbidden):  # the maker does not decide their own proposal
        reject_remittance(desk.uow, proposed.id, no, admin_id="fin-1", origin=desk.origin)
    rejected = reject_remittance(desk.uow, proposed.id, no, admin_id="fin-2", origin=desk.origin)
    assert (rejected.state, rejected.decision_note) == ("rejected", "wrong billing code")
    with pytest.raises(Conflict):
        approve(desk, proposed)
    assert desk.balance("escrow_cash") == escrow
    assert_reconciles(desk)


def test_the_withholding_summary_adds_up_the_months_receipts_per_lender_and_article(
    desk: PaymentDesk,
) -> None:
    loan = desk.active_loan(SHARES)
    # Citra moved abroad before the repayments: withheld under PPh 26 from then on.
    citra = desk.user("citra")
    abroad = LenderProfile(residency="non_resident", country="SG")
    data = citra.model_copy(update={"lender_profile": abroad}).model_dump(mode="json")
    desk.uow.run(lambda tx: tx.set(USERS, "citra", data))
    for installment in desk.installments(loan)[:2]:
        desk.pay(loan, installment.total)
    month = desk.today().strftime("%Y-%m")

    summary = withholding_summary(desk.uow, month)
    lines = {line.lender_id: line for line in summary.lines}
    assert set(lines) == set(SHARES)
    for lender, line in lines.items():
        receipts = desk.receipts(lender)
        assert line.base == sum(r.interest + r.late_fee for r in receipts) > 0
        assert line.withheld == sum(r.withholding for r in receipts) > 0
        assert line.receipts == len(receipts) == 2
    assert (lines["ani"].article, lines["budi"].article, lines["citra"].article) == (
        "pph23",
        "pph23",
        "pph26",
    )
    assert lines["citra"].withheld * 100 == pytest.approx(lines["citra"].base * 20, abs=200)
    totals = {total.article: total for total in summary.totals}
    assert (totals["pph23"].lenders, totals["pph26"].lenders) == (2, 1)
    assert totals["pph23"].withheld == lines["ani"].withheld + lines["budi"].withheld
    assert summary.withheld == desk.balance("withholding_tax_payable") and summary.complete
    # Another month has nothing; a month written otherwise is refused.
    empty = withholding_summary(desk.uow, "2020-01")
    assert (empty.lines, empty.withheld) == ((), 0)
    with pytest.raises(ValidationFailed):
        withholding_summary(desk.uow, "2026-13")
    assert date.fromisoformat(f"{month}-01") <= desk.today()
