"""What borrowers and lenders see of repayments, on the in-memory store
(docs/lending-rules.md#payments, docs/lending-rules.md#billing-split)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from shared.adapters.memory import MemoryUnitOfWork
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.loan import LoanState
from shared.platform.callers import Caller
from shared.services.repayment_views import receipts_for_loan, repayment_of, statement_of
from tests.unit.journey.payment_desk import PaymentDesk

SHARES = {"ani": 5_000_000, "budi": 3_000_000, "citra": 2_000_000}
BORA = Caller("bora", "borrower")


@pytest.fixture
def desk() -> PaymentDesk:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


def _on(desk: PaymentDesk, day: date) -> None:
    """The desk's clock at 10:00 Jakarta on `day`."""
    desk.clock.set(datetime.combine(day, time(3), tzinfo=UTC))


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


# --- the borrower -----------------------------------------------------------------------------


def test_the_borrower_sees_each_installment_paid_part_paid_overdue_or_due(
    desk: PaymentDesk,
) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    view = repayment_of(desk.uow, BORA, loan, today=desk.today())
    assert view.virtual_account is None  # not asked for yet
    assert [i.state for i in view.installments] == ["due"] * 6
    assert view.outstanding_principal == view.principal == 10_000_000
    assert view.total_outstanding == sum(i.total for i in schedule)

    desk.pay(loan, schedule[0].total)  # the first installment in full
    short = schedule[1].interest + 1_000  # the second's fees and interest, 1,000 of principal
    desk.pay(loan, schedule[1].fees + schedule[1].fee_vat + short)
    view = repayment_of(desk.uow, BORA, loan, today=desk.today())
    assert [i.state for i in view.installments] == ["paid", "partially_paid"] + ["due"] * 4
    second = view.installments[1]
    assert (second.paid.interest, second.paid.principal) == (schedule[1].interest, 1_000)
    assert second.outstanding.principal == schedule[1].principal - 1_000
    assert second.due.total == second.paid.total + second.outstanding.total == schedule[1].total
    assert view.outstanding_principal == 10_000_000 - schedule[0].principal - 1_000
    paid = schedule[0].total + schedule[1].fees + schedule[1].fee_vat + short
    assert view.total_outstanding == sum(i.total for i in schedule) - paid
    assert view.virtual_account == desk.virtual_account(loan)

    # The day after the second's due date it is overdue; the third falls due that day.
    after = schedule[1].due_date + timedelta(days=1)
    later = repayment_of(desk.uow, BORA, loan, today=after)
    assert later.as_of == after
    assert [i.state for i in later.installments][:3] == ["paid", "overdue", "due"]
    on_the_day = repayment_of(desk.uow, BORA, loan, today=schedule[1].due_date)
    assert on_the_day.installments[1].state == "partially_paid"  # due today, not yet late


def test_a_repaid_loan_owes_nothing(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES, tenor=3)
    for installment in desk.installments(loan):
        desk.pay(loan, installment.total)
    view = repayment_of(desk.uow, BORA, loan, today=desk.today())
    assert view.state is LoanState.REPAID
    assert (view.outstanding_principal, view.total_outstanding) == (0, 0)
    assert {i.state for i in view.installments} == {"paid"}


def test_another_borrowers_loan_is_not_found_and_admins_read_any(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    desk.borrower("dodi", account_number="6660006666")
    with pytest.raises(NotFound):
        repayment_of(desk.uow, Caller("dodi", "borrower"), loan, today=desk.today())
    with pytest.raises(NotFound):
        repayment_of(desk.uow, BORA, "loan-nothing", today=desk.today())
    admin = repayment_of(desk.uow, Caller("fin-1", "admin.finance"), loan, today=desk.today())
    assert len(admin.installments) == 6


def test_a_loan_not_yet_disbursed_has_no_schedule_and_owes_nothing(desk: PaymentDesk) -> None:
    loan = desk.loan(10_000_000)
    view = repayment_of(desk.uow, BORA, loan, today=desk.today())
    assert view.state is LoanState.FUNDING
    assert (view.installments, view.outstanding_principal, view.total_outstanding) == ((), 0, 0)


# --- the lenders ------------------------------------------------------------------------------


def test_a_lenders_statement_lists_the_months_receipts_and_totals_them(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    before = desk.wallet("ani").available
    _on(desk, schedule[0].due_date)
    first = desk.pay(loan, schedule[0].total)
    _on(desk, schedule[1].due_date)
    second = desk.pay(loan, schedule[1].total)
    third = desk.pay(loan, 500_000)  # the coming installment, in part, the same month

    receipts = {r.payment_id: r for r in desk.receipts("ani")}
    month = _month(schedule[1].due_date)
    statement = statement_of(desk.uow, "ani", month)
    assert (statement.lender_id, statement.month, statement.complete) == ("ani", month, True)
    assert [line.payment_id for line in statement.lines] == [second, third]
    for line in statement.lines:
        receipt = receipts[line.payment_id]
        assert (line.loan_id, line.on, line.net) == (loan, receipt.on, receipt.net)
        assert line.gross == receipt.principal + receipt.interest + receipt.late_fee
        assert line.net == line.gross - line.platform_fee - line.vat - line.withholding
        assert line.withholding_article == receipt.withholding_article
    totals = statement.totals
    shown = [receipts[second], receipts[third]]
    assert totals.net == sum(r.net for r in shown)
    assert totals.gross == sum(r.gross for r in shown)
    assert totals.platform_fee == sum(r.platform_fee for r in shown)
    assert totals.vat == sum(r.vat for r in shown)
    assert totals.withholding == sum(r.withholding for r in shown) > 0
    assert totals.withholding_by_article == {shown[0].withholding_article: totals.withholding}

    earlier = statement_of(desk.uow, "ani", _month(schedule[0].due_date))
    assert [line.payment_id for line in earlier.lines] == [first]
    # Every statement together is what reached the lender's wallet, to the rupiah.
    assert earlier.totals.net + totals.net == desk.wallet("ani").available - before


def test_a_month_without_receipts_is_an_empty_statement(desk: PaymentDesk) -> None:
    statement = statement_of(desk.uow, "ani", "2031-02")
    assert statement.lines == ()
    assert (statement.totals.gross, statement.totals.net) == (0, 0)
    assert statement.totals.withholding_by_article == {}


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "202601", "last-month"])
def test_a_malformed_month_is_refused(desk: PaymentDesk, month: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        statement_of(desk.uow, "ani", month)
    assert "month" in refused.value.field_errors


def test_a_lender_sees_only_their_own_receipts(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    desk.pay(loan, desk.installments(loan)[0].total)
    month = _month(desk.today())
    mine = statement_of(desk.uow, "budi", month)
    assert len(mine.lines) == 1
    assert mine.totals.net == desk.receipts("budi")[0].net
    assert statement_of(desk.uow, "dewi", month).lines == ()


def test_a_lenders_receipts_from_one_loan(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    desk.deposit("ani", 10_000_000, "TOPUP-ANI-2")
    other = desk.loan(10_000_000)
    desk.commit("ani", other, 10_000_000)
    payout = desk.disburse(other).disbursement.net_disbursement
    desk.confirm_payout(other, "PAYOUT-OTHER")
    desk.statement([desk.transfer_out(payout, "PAYOUT-OTHER")])
    schedule = desk.installments(loan)
    desk.pay(loan, schedule[0].total)
    desk.pay(other, desk.installments(other)[0].total)
    desk.pay(loan, schedule[1].total)

    receipts = receipts_for_loan(desk.uow, "ani", loan)
    assert {line.loan_id for line in receipts.receipts} == {loan}
    assert len(receipts.receipts) == 2
    stake = desk.stakes(loan)["ani"]
    assert receipts.principal_funded == 5_000_000
    assert receipts.totals.principal == stake.principal_received
    assert receipts.totals.net == stake.net_received
    assert receipts.outstanding_principal == 5_000_000 - stake.principal_received
    assert len(receipts_for_loan(desk.uow, "ani", other).receipts) == 1


def test_a_loan_the_lender_has_no_stake_in_is_not_found(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    desk.funded_lender("dewi", "4440004444", 1_000_000)
    with pytest.raises(NotFound):
        receipts_for_loan(desk.uow, "dewi", loan)
    with pytest.raises(NotFound):
        receipts_for_loan(desk.uow, "ani", "loan-nothing")
