"""Payment scenarios as checks over a `PaymentDesk`, run on the in-memory store
(tests/unit/journey/test_payments.py) and on the Firestore emulator
(tests/integration/journey/test_payments_on_the_emulator.py): the gateway's notices, the
allocation and the split (docs/lending-rules.md#payments).

Every scenario reconciles after its steps: nothing it does may create or lose a rupiah.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from shared.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.domain.loan import LoanState
from shared.services.billing_split import split_payment
from shared.services.deposits import deposits_of
from shared.services.overdue import sweep_overdue
from shared.services.repayments import allocate_payment
from shared.services.suspense import (
    CreditRefundApproval,
    CreditRefundProposal,
    ResolutionApproval,
    ResolutionProposal,
    ResolutionRejection,
    approve_credit_refund,
    approve_resolution,
    propose_credit_refund,
    propose_resolution,
    reject_resolution,
)
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import GATEWAY_FEE, PaymentDesk

SHARES = {"ani": 5_000_000, "budi": 3_000_000, "citra": 2_000_000}


Scenario = Callable[[PaymentDesk], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__.removeprefix("test_")] = fn
    return fn


@scenario
def a_split_lowers_the_lenders_and_their_groups_live_positions_by_the_principal_returned(
    desk: PaymentDesk,
) -> None:
    """A lender's live position sits beside their available balance: a split takes the
    principal it returns out of it, and out of their group's, and the balance the lender sees
    (and reconciliation checks) is only ever the money."""
    groups = {"ani": "grup-a", "budi": "grup-a"}
    loan = desk.active_loan(SHARES, groups=groups)
    assert {lender: desk.live_position(lender) for lender in SHARES} == SHARES
    assert desk.group_position("grup-a") == SHARES["ani"] + SHARES["budi"]
    available = {lender: desk.wallet(lender).available for lender in SHARES}

    payment = desk.payment(desk.pay(loan, desk.installments(loan)[0].total))
    stakes = desk.stakes(loan)
    receipts = {lender: desk.receipts(lender) for lender in SHARES}
    for lender, funded in SHARES.items():
        (receipt,) = receipts[lender]
        assert receipt.principal == stakes[lender].principal_received > 0
        assert desk.live_position(lender) == funded - receipt.principal
        assert desk.wallet(lender).available == available[lender] + receipt.net
    assert desk.group_position("grup-a") == sum(desk.live_position(lender) for lender in groups)
    assert payment.state == "split"
    assert_reconciles(desk)

    # The rest of the loan repaid: nothing is out any more.
    for installment in desk.installments(loan)[1:]:
        desk.next_day()
        desk.pay(loan, installment.total)
    assert [desk.live_position(lender) for lender in SHARES] == [0, 0, 0]
    assert desk.group_position("grup-a") == 0
    assert_reconciles(desk)


@scenario
def a_loan_repaid_in_full_returns_every_lenders_principal_and_splits_exactly(
    desk: PaymentDesk,
) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    assert_reconciles(desk)
    payments = []
    for installment in schedule:
        payments.append(desk.pay(loan, installment.total))
        assert_reconciles(desk)
        desk.next_day()
    record = desk.loan_record(loan)
    assert record.state is LoanState.REPAID
    assert record.outstanding_principal == 0
    assert all(i.settled for i in desk.installments(loan))
    stakes = desk.stakes(loan)
    for lender, funded in SHARES.items():
        assert stakes[lender].principal_received == funded
        assert desk.live_position(lender) == 0
    for payment_id in payments:
        payment = desk.payment(payment_id)
        assert payment.state == "split"
    interest = sum(i.interest for i in schedule)
    fees = sum(i.fees + i.fee_vat for i in schedule)
    assert sum(s.interest_received for s in stakes.values()) == interest
    lender_side = sum(
        s.net_received + s.platform_fee_paid + s.vat_paid + s.withholding_paid
        for s in stakes.values()
    )
    assert lender_side + fees == sum(i.total for i in schedule)  # the split invariant, summed
    assert desk.balance(f"loan_principal:{loan}") == 0
    assert desk.balance(f"unapplied_receipts:{loan}") == 0
    assert desk.balance(f"pending_split:{loan}") == 0
    total = sum(i.total for i in schedule)
    assert desk.balance("gateway_clearing") == total  # notified, not yet settled

    settled = desk.settle(payments)
    assert (settled.payments, settled.total_amount) == (len(payments), total)
    assert desk.balance("gateway_clearing") == 0
    assert desk.balance("payment_fees_expense") == GATEWAY_FEE * len(payments)
    assert_reconciles(desk)


@scenario
def each_lender_is_credited_their_net_and_the_receipt_says_how(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    first = desk.installments(loan)[0]
    before = {lender: desk.wallet(lender).available for lender in SHARES}
    payment = desk.pay(loan, first.total)
    receipts = {lender: desk.receipts(lender) for lender in SHARES}
    for lender in SHARES:
        (receipt,) = receipts[lender]
        assert receipt.payment_id == payment
        assert receipt.net == (
            receipt.principal
            + receipt.interest
            + receipt.late_fee
            - receipt.platform_fee
            - receipt.vat
            - receipt.withholding
        )
        assert desk.wallet(lender).available - before[lender] == receipt.net
    assert sum(r[0].principal for r in receipts.values()) == first.principal
    assert sum(r[0].interest for r in receipts.values()) == first.interest
    # Shares of 50/30/20%: the principal split by the weights, exactly.
    principals = [receipts[lender][0].principal for lender in SHARES]
    assert principals[0] * 2 == pytest.approx(first.principal, abs=2)


@scenario
def the_same_notification_five_times_records_one_payment(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    account = desk.virtual_account(loan)
    answers = [desk.notify(account, 500_000, "PAY-DUP") for _ in range(5)]
    assert [a.duplicate for a in answers] == [False, True, True, True, True]
    assert desk.balance(f"unapplied_receipts:{loan}") == 500_000
    assert desk.balance("gateway_clearing") == 500_000
    with pytest.raises(Conflict):
        desk.notify(account, 600_000, "PAY-DUP")  # the same reference, another amount
    assert_reconciles(desk)


@scenario
def allocation_and_split_delivered_again_change_nothing(desk: PaymentDesk) -> None:
    from shared.services.billing_split import split_payment
    from shared.services.repayments import allocate_payment

    loan = desk.active_loan(SHARES)
    payment = desk.pay(loan, desk.installments(loan)[0].total)
    wallets = {lender: desk.wallet(lender).available for lender in SHARES}
    for _ in range(2):
        allocate_payment(desk.uow, payment, origin=desk.origin)
        split_payment(desk.uow, payment, origin=desk.origin)
    assert {lender: desk.wallet(lender).available for lender in SHARES} == wallets
    assert desk.installments(loan)[1].paid == 0
    assert_reconciles(desk)


@scenario
def an_overpayment_is_the_borrowers_credit(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    payment = desk.pay(loan, schedule[0].total + 1_000)  # the coming installment, and more
    allocation = desk.payment(payment).allocation
    assert allocation is not None
    # The first installment is billed (it comes next); the extra 1,000 is not due: credit.
    assert [a.number for a in allocation.installments] == [1]
    assert allocation.borrower_credit == 1_000
    # On the third installment's due date the second and third are due, the fourth comes
    # next: a payment of the whole schedule pays those three, and the rest is credit.
    desk.clock.set(datetime.combine(schedule[2].due_date, time(3), tzinfo=UTC))
    everything = sum(i.total for i in schedule)
    last = desk.pay(loan, everything)
    billed = schedule[1].total + schedule[2].total + schedule[3].total
    credit = desk.payment(last).allocation.borrower_credit  # type: ignore[union-attr]
    assert credit == everything - billed
    assert desk.balance("borrower_credit:bora") == 1_000 + credit
    assert [i.settled for i in desk.installments(loan)] == [True, True, True, True, False, False]
    assert desk.loan_record(loan).state is LoanState.ACTIVE
    assert_reconciles(desk)


@scenario
def a_lenders_virtual_account_tops_up_their_balance(desk: PaymentDesk) -> None:
    desk.funded_lender("dewi", "4440004444", 1_000_000)
    account = desk.lender_virtual_account("dewi")
    assert desk.lender_virtual_account("dewi") == account  # asked again: the same number
    answer = desk.notify(account, 2_500_000)
    assert answer.state == "deposited"
    assert desk.wallet("dewi").available == 3_500_000
    # The top-up is a deposit in the lender's history, confirmed by the gateway's notice.
    newest = deposits_of(desk.uow, "dewi").deposits[0]
    assert (newest.amount, newest.state, newest.confirmed_by) == (
        2_500_000,
        "confirmed",
        "payment-gateway",
    )
    assert newest.sender_account_masked is None
    assert_reconciles(desk)


@scenario
def a_payment_to_an_account_not_ours_waits_in_suspense(desk: PaymentDesk) -> None:
    answer = desk.notify("8808999999999999", 750_000)
    assert answer.state == "in_suspense"
    assert desk.balance("suspense") == 750_000
    assert_reconciles(desk)


@scenario
def a_loan_settled_early_by_its_payoff_quote(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    desk.pay(loan, schedule[0].total)
    desk.clock.set(datetime.combine(schedule[0].due_date + timedelta(days=10), time(3), tzinfo=UTC))
    quote = desk.payoff(loan)
    record = desk.loan_record(loan)
    assert record.offer is not None
    # Worked by hand: no installment overdue; the principal of installments 2-6; interest on
    # it for the 10 days since the first due date at 12 × the monthly rate, actual/365.
    principal = sum(i.principal for i in schedule[1:])
    yearly = record.offer.rate * 12
    interest = int((Decimal(principal) * yearly * 10 / 365).quantize(Decimal(1), ROUND_HALF_UP))
    assert (quote.overdue, quote.principal, quote.interest) == (0, principal, interest)
    assert interest < schedule[1].interest  # never more than the schedule would charge
    assert quote.total == principal + interest

    paid = desk.pay(loan, quote.total + 5_000)
    assert desk.payment(paid).allocation.borrower_credit == 5_000  # type: ignore[union-attr]
    record = desk.loan_record(loan)
    assert record.state is LoanState.REPAID
    assert record.payoff is not None and record.payoff.settled_by == paid
    after = desk.installments(loan)
    assert after[1].interest == interest and after[1].fees == 0  # the final installment
    assert all(i.settled for i in after)
    assert sum(i.paid for i in after) == schedule[0].total + quote.total
    stakes = desk.stakes(loan)
    assert {lender: s.principal_received for lender, s in stakes.items()} == SHARES
    assert desk.balance(f"loan_principal:{loan}") == 0
    assert_reconciles(desk)


@scenario
def a_payoff_quote_made_stale_by_a_payment_settles_nothing(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    quote = desk.payoff(loan)
    desk.pay(loan, 100_000)  # the loan now owes less than when it was quoted
    paid = desk.pay(loan, quote.total)
    assert desk.loan_record(loan).state is LoanState.ACTIVE  # an ordinary repayment
    assert desk.payment(paid).allocation.borrower_credit > 0  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed):
        desk.payoff(loan, settle_on=desk.today() - timedelta(days=1))
    with pytest.raises(NotFound):
        desk.payoff(loan, borrower="somebody-else")
    assert_reconciles(desk)


@scenario
def a_payment_in_suspense_goes_where_two_admins_decide(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    first = desk.installments(loan)[0]
    stray = desk.notify("8808777777777777", first.total).payment_id  # an account not ours
    to_loan = ResolutionProposal(action="loan", loan_id=loan, reason="the borrower's own payment")
    propose_resolution(desk.uow, stray, to_loan, admin_id="fin-1", origin=desk.origin)
    with pytest.raises(Conflict):  # one open proposal at a time
        propose_resolution(desk.uow, stray, to_loan, admin_id="fin-2", origin=desk.origin)
    with pytest.raises(Forbidden):  # the maker does not approve
        approve_resolution(
            desk.uow, stray, ResolutionApproval(), admin_id="fin-1", origin=desk.origin
        )
    approved = approve_resolution(
        desk.uow, stray, ResolutionApproval(), admin_id="fin-2", origin=desk.origin
    )
    assert approved.state == "unapplied"
    assert desk.balance("suspense") == 0
    assert desk.balance(f"unapplied_receipts:{loan}") == first.total
    # `payment.received` went out: the chain applies and splits it like any repayment.
    allocate_payment(desk.uow, stray, origin=desk.origin)
    split_payment(desk.uow, stray, origin=desk.origin)
    assert desk.installments(loan)[0].settled
    assert desk.payment(stray).state == "split"

    refund = desk.notify("8808777777777777", 250_000).payment_id
    propose_resolution(
        desk.uow, refund, ResolutionProposal(action="lender", lender_id="ani", reason="ani's"),
        admin_id="fin-1", origin=desk.origin,
    )  # fmt: skip
    reject_resolution(
        desk.uow, refund, ResolutionRejection(reason="ani denies it"), admin_id="fin-2",
        origin=desk.origin,
    )  # fmt: skip
    assert desk.payment(refund).state == "in_suspense"
    propose_resolution(
        desk.uow, refund, ResolutionProposal(action="refund", reason="sent to us in error"),
        admin_id="fin-2", origin=desk.origin,
    )  # fmt: skip
    with pytest.raises(ValidationFailed):  # a refund names the bank's transfer back
        approve_resolution(
            desk.uow, refund, ResolutionApproval(), admin_id="fin-1", origin=desk.origin
        )
    back = ResolutionApproval(bank_reference="RFD-1", value_date=desk.today())
    escrow_before = desk.balance("escrow_cash")
    assert (
        approve_resolution(desk.uow, refund, back, admin_id="fin-1", origin=desk.origin).state
        == "refunded"
    )
    assert desk.balance("suspense") == 0
    assert desk.balance("escrow_cash") == escrow_before - 250_000
    assert_reconciles(desk)


@scenario
def a_repaid_loans_credit_is_refunded_by_two_admins(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    desk.clock.set(datetime.combine(schedule[-1].due_date, time(3), tzinfo=UTC))
    desk.pay(loan, sum(i.total for i in schedule) + 40_000)  # everything due, and 40,000 more
    assert desk.loan_record(loan).state is LoanState.REPAID
    assert desk.balance("borrower_credit:bora") == 40_000
    with pytest.raises(ValidationFailed):  # more than the borrower holds
        propose_credit_refund(
            desk.uow, loan, CreditRefundProposal(amount=40_001, reason="overpaid"),
            admin_id="fin-1", origin=desk.origin,
        )  # fmt: skip
    propose_credit_refund(
        desk.uow, loan, CreditRefundProposal(amount=40_000, reason="overpaid"),
        admin_id="fin-1", origin=desk.origin,
    )  # fmt: skip
    sent = CreditRefundApproval(bank_reference="RFD-CR-1", value_date=desk.today())
    with pytest.raises(Forbidden):
        approve_credit_refund(desk.uow, loan, sent, admin_id="fin-1", origin=desk.origin)
    done = approve_credit_refund(desk.uow, loan, sent, admin_id="fin-2", origin=desk.origin)
    assert done.refund.bank_reference == "RFD-CR-1"
    assert desk.balance("borrower_credit:bora") == 0
    with pytest.raises(Conflict):  # approved once
        approve_credit_refund(desk.uow, loan, sent, admin_id="fin-2", origin=desk.origin)
    assert_reconciles(desk)


@scenario
def a_missed_installment_accrues_late_fees_within_the_caps_and_pays_them_to_the_lenders(
    desk: PaymentDesk,
) -> None:
    loan = desk.active_loan(SHARES)
    first = desk.installments(loan)[0]
    # Worked by hand: 0.05% a day (the product's rate, under 2026's 0.067% cap on the
    # Rp 10,000,000 balance) on the unpaid principal and interest of installment 1, after
    # the product's 3 grace days; rounded down each day.
    per_day = (first.principal + first.interest) * 5 // 10_000

    def on(days_after_due: int) -> None:
        moment = datetime.combine(first.due_date + timedelta(days=days_after_due), time(3))
        desk.clock.set(moment.replace(tzinfo=UTC))

    on(10)
    run = sweep_overdue(desk.uow, origin=desk.origin)
    assert (run.loans_swept, run.late_fees) == (1, 7 * per_day)  # days 4 to 10 past due
    assert run.events == 2  # installment 1 due soon, then overdue
    record = desk.loan_record(loan)
    assert record.overdue is not None
    assert (record.overdue.days_past_due, record.overdue.bucket) == (10, "current")
    assert record.overdue.collectability == 2
    assert desk.installments(loan)[0].late_fee == 7 * per_day
    assert desk.balance(f"late_fee_receivable:{loan}") == 7 * per_day
    assert_reconciles(desk)
    again = sweep_overdue(desk.uow, origin=desk.origin)  # the same day: nothing more
    assert (again.loans_swept, again.late_fees) == (0, 0)

    on(12)  # day 11's run was missed: this one catches it up
    caught_up = sweep_overdue(desk.uow, origin=desk.origin)
    assert caught_up.late_fees == 2 * per_day
    late_fees = 9 * per_day
    assert desk.installments(loan)[0].late_fee == late_fees

    paid = desk.pay(loan, first.total + late_fees)
    allocation = desk.payment(paid).allocation
    assert allocation is not None and allocation.collected.late_fee == late_fees
    assert desk.installments(loan)[0].settled
    assert sum(r.late_fee for lender in SHARES for r in desk.receipts(lender)) == late_fees
    assert desk.balance(f"late_fee_receivable:{loan}") == 0
    assert_reconciles(desk)


@scenario
def the_borrowers_credit_pays_the_next_installment_when_it_falls_due(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    desk.pay(loan, schedule[0].total + 50_000)  # 50,000 more than the first installment
    assert desk.balance("borrower_credit:bora") == 50_000
    desk.clock.set(datetime.combine(schedule[1].due_date, time(3), tzinfo=UTC))
    run = sweep_overdue(desk.uow, origin=desk.origin)
    assert run.late_fees == 0
    applied = f"credit-{loan}-{schedule[1].due_date.isoformat()}"
    assert desk.payment(applied).amount == 50_000
    assert desk.balance("borrower_credit:bora") == 0
    # `payment.received` went out: the chain applies it like any payment.
    allocate_payment(desk.uow, applied, origin=desk.origin)
    split_payment(desk.uow, applied, origin=desk.origin)
    assert desk.installments(loan)[1].paid == 50_000
    assert_reconciles(desk)
    assert sweep_overdue(desk.uow, origin=desk.origin).loans_swept == 0  # once a day


@scenario
def a_loan_brought_back_under_31_days_past_due_keeps_the_day_it_reached_them(
    desk: PaymentDesk,
) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    first_due = schedule[0].due_date
    desk.clock.set(datetime.combine(first_due + timedelta(days=35), time(3), tzinfo=UTC))
    assert sweep_overdue(desk.uow, origin=desk.origin).loans_swept == 1
    overdue = desk.loan_record(loan).overdue
    assert overdue is not None
    assert (overdue.days_past_due, overdue.bucket) == (35, "31-90")
    assert overdue.delinquent_since == first_due + timedelta(days=31)

    today = first_due + timedelta(days=35)
    owed = sum(i.outstanding.total for i in desk.installments(loan) if i.due_date < today)
    desk.pay(loan, owed)  # everything past due, late fees included
    desk.clock.set(datetime.combine(schedule[2].due_date - timedelta(days=3), time(3), tzinfo=UTC))
    assert sweep_overdue(desk.uow, origin=desk.origin).loans_swept == 1  # installment 3 due soon
    cured = desk.loan_record(loan).overdue
    assert cured is not None
    assert (cured.days_past_due, cured.bucket) == (0, "current")
    assert cured.delinquent_since == first_due + timedelta(days=31)  # early delinquency stays
    assert_reconciles(desk)
