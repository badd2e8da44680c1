"""Writing a loan off and recovering from it afterwards, on the in-memory store
(shared/services/write_offs.py, docs/lending-rules.md#write-off).

The worked loan: Rp 10,000,000 funded by ani 5,000,000, budi 3,000,000 and citra 2,000,000,
six monthly annuity installments from 26 Dec 2026 (installment 1: principal 1,605,300,
interest 150,000; installment 2: principal 1,629,400, interest 125,900, due 26 Jan 2027).
The borrower pays installment 1 and nothing more; installment 2 is 90 days past due on
26 Apr 2027, the product's write-off threshold.

Installment 1's principal is split 5:3:2 — ani 802,650, budi 481,590, citra 321,060 — so
each lender's loss at the write-off is their outstanding principal:

| lender | funded | principal received | loss |
|---|---|---|---|
| ani | 5,000,000 | 802,650 | 4,197,350 |
| budi | 3,000,000 | 481,590 | 2,518,410 |
| citra | 2,000,000 | 321,060 | 1,678,940 |
| total | 10,000,000 | 1,605,300 | 8,394,700 = the principal receivable cleared |
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.adapters.memory import MemoryUnitOfWork
from shared.domain.errors import Conflict, Forbidden, IllegalTransition
from shared.domain.loan import LoanState
from shared.platform.outbox import OUTBOX
from shared.records.loans import LoanPurpose
from shared.services.loan_applications import InDefault, SubmitApplication, submit_application
from shared.services.repayment_views import receipts_for_loan, statement_of
from shared.services.write_offs import WriteOffRejection, reject_write_off, write_off_of
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk

SHARES = {"ani": 5_000_000, "budi": 3_000_000, "citra": 2_000_000}
LOSSES = {"ani": 4_197_350, "budi": 2_518_410, "citra": 1_678_940}
DAY_89 = datetime(2027, 4, 25, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta, 89 days past due
DAY_90 = datetime(2027, 4, 26, 3, 0, tzinfo=UTC)


@pytest.fixture
def desk() -> PaymentDesk:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


def a_loan_in_default(desk: PaymentDesk) -> str:
    """The worked loan: installment 1 paid, then nothing until 90 days past installment 2."""
    loan = desk.active_loan(SHARES)
    desk.pay(loan, desk.installments(loan)[0].total)
    assert_reconciles(desk)
    desk.clock.set(DAY_90)
    return loan


def written_off_events(desk: PaymentDesk) -> list[dict]:  # type: ignore[type-arg]
    outbox = desk.uow.documents(OUTBOX).values()  # type: ignore[attr-defined]
    return [json.loads(e["data"]) for e in outbox if e["topic"] == "loan.written_off"]


def test_a_partly_repaid_loan_written_off_charges_each_lender_their_outstanding_principal(
    desk: PaymentDesk,
) -> None:
    loan = a_loan_in_default(desk)
    proposed = desk.propose_write_off(loan)
    assert proposed.write_off is not None and proposed.write_off.days_past_due == 90
    assert proposed.write_off.outstanding_principal == 8_394_700
    assert desk.loan_record(loan).state is LoanState.ACTIVE  # nothing moves before confirmation
    assert_reconciles(desk)

    view = desk.confirm_write_off(loan)

    assert view.loan_state == "written_off"
    assert view.principal_written_off == 8_394_700 and view.lender_count == 3
    stakes = desk.stakes(loan)
    assert {lender: s.principal_written_off for lender, s in stakes.items()} == LOSSES
    assert desk.balance(f"loan_principal:{loan}") == 0
    assert desk.balance(f"loan_lenders_claim:{loan}") == 0
    record = desk.loan_record(loan)
    assert record.state is LoanState.WRITTEN_OFF and record.money_plan is None
    assert record.history[-1].by == "fin-2"
    [event] = written_off_events(desk)
    assert event["data"]["principal_written_off"] == 8_394_700
    assert event["data"]["lender_count"] == 3
    # Each lender sees the loss on their statement of the month, and nothing received.
    for lender, loss in LOSSES.items():
        statement = statement_of(desk.uow, lender, "2027-04")
        [line] = statement.lines
        assert (line.principal_written_off, line.gross, line.net) == (loss, 0, 0)
        assert statement.totals.principal_written_off == loss
    assert_reconciles(desk)


def test_confirming_twice_writes_the_loan_off_once(desk: PaymentDesk) -> None:
    loan = a_loan_in_default(desk)
    desk.propose_write_off(loan)
    first = desk.confirm_write_off(loan)
    wallets = {lender: desk.wallet(lender).available for lender in SHARES}

    again = desk.confirm_write_off(loan)

    assert again == first
    assert {lender: desk.wallet(lender).available for lender in SHARES} == wallets
    assert len(written_off_events(desk)) == 1
    assert len(desk.receipts("ani")) == 2  # installment 1 and one loss line
    history = desk.loan_record(loan).history
    assert [h.transition for h in history].count("write_off") == 1
    assert_reconciles(desk)


def test_a_recovery_after_the_write_off_is_split_to_the_lenders_without_a_state_change(
    desk: PaymentDesk,
) -> None:
    loan = a_loan_in_default(desk)
    desk.propose_write_off(loan)
    desk.confirm_write_off(loan)
    desk.next_day()
    before = {lender: desk.wallet(lender).available for lender in SHARES}

    # 1,000,000 pays installment 2's interest (125,900) and 874,100 of its principal; the
    # interest is split by the funded shares 5:3:2, the principal by what each is still owed
    # (4,197,350 : 2,518,410 : 1,678,940, also 5:3:2).
    desk.pay(loan, 1_000_000)

    record = desk.loan_record(loan)
    assert record.state is LoanState.WRITTEN_OFF
    assert record.outstanding_principal == 8_394_700 - 874_100  # the borrower still owes it
    expected = {
        "ani": (437_050, 62_950),
        "budi": (262_230, 37_770),
        "citra": (174_820, 25_180),
    }
    for lender, (principal, interest) in expected.items():
        receipt = receipts_for_loan(desk.uow, lender, loan).receipts[-1]
        assert (receipt.principal, receipt.interest, receipt.recovery) == (
            principal,
            interest,
            True,
        )
        assert desk.wallet(lender).available - before[lender] == receipt.net
        assert desk.stakes(loan)[lender].principal_written_off == LOSSES[lender]  # unchanged
    # Nothing went back into the cleared receivable, and nothing went negative.
    assert desk.balance(f"loan_principal:{loan}") == 0
    assert desk.balance(f"loan_lenders_claim:{loan}") == 0
    assert desk.balance(f"pending_split:{loan}") == 0
    assert_reconciles(desk)


def test_a_loan_short_of_the_threshold_cannot_be_proposed(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    desk.pay(loan, desk.installments(loan)[0].total)
    desk.clock.set(DAY_89)
    with pytest.raises(Conflict, match="89 days past due"):
        desk.propose_write_off(loan)


def test_the_proposer_cannot_confirm_and_neither_can_the_borrower(desk: PaymentDesk) -> None:
    loan = a_loan_in_default(desk)
    desk.propose_write_off(loan, admin="cred-1")
    with pytest.raises(Forbidden, match="maker-checker"):
        desk.confirm_write_off(loan, admin="cred-1")
    with pytest.raises(Forbidden, match="subject"):
        desk.confirm_write_off(loan, admin="bora")
    assert desk.loan_record(loan).state is LoanState.ACTIVE
    assert_reconciles(desk)


def test_one_open_proposal_and_nothing_to_confirm_without_one(desk: PaymentDesk) -> None:
    loan = a_loan_in_default(desk)
    with pytest.raises(Conflict, match="no write-off proposal"):
        desk.confirm_write_off(loan)
    desk.propose_write_off(loan)
    with pytest.raises(Conflict, match="waiting for a decision"):
        desk.propose_write_off(loan, admin="cred-2")


def test_a_rejected_proposal_leaves_the_loan_as_it_was(desk: PaymentDesk) -> None:
    loan = a_loan_in_default(desk)
    desk.propose_write_off(loan)
    view = reject_write_off(
        desk.uow,
        loan,
        WriteOffRejection(reason="The borrower promised to pay next week."),
        admin_id="fin-1",
        origin=desk.origin,
    )
    assert view.write_off is not None and view.write_off.outcome == "rejected"
    with pytest.raises(Conflict, match="no write-off proposal"):
        desk.confirm_write_off(loan)
    assert write_off_of(desk.uow, loan).loan_state == "active"
    assert desk.balance(f"loan_principal:{loan}") == 8_394_700
    assert_reconciles(desk)


def test_a_payment_after_the_proposal_that_cures_the_loan_stops_the_confirmation(
    desk: PaymentDesk,
) -> None:
    loan = a_loan_in_default(desk)
    desk.propose_write_off(loan)
    overdue = sum(i.total for i in desk.installments(loan)[1:5])  # installments 2 to 5
    desk.pay(loan, overdue)
    with pytest.raises(Conflict, match="0 days past due"):
        desk.confirm_write_off(loan)
    assert desk.loan_record(loan).state is LoanState.ACTIVE
    assert_reconciles(desk)


def test_a_repaid_loan_cannot_be_written_off(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    for installment in desk.installments(loan):
        desk.pay(loan, installment.total)
    with pytest.raises(IllegalTransition):
        desk.propose_write_off(loan)


def application() -> SubmitApplication:
    return SubmitApplication(
        product_id="working-capital-annuity",
        principal=10_000_000,
        tenor=6,
        purpose=LoanPurpose.WORKING_CAPITAL,
    )


def test_a_borrower_90_days_past_due_or_written_off_may_not_apply(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    desk.pay(loan, desk.installments(loan)[0].total)
    desk.clock.set(DAY_90)
    with pytest.raises(InDefault, match="90 days past due"):
        submit_application(desk.uow, application(), "bora", origin=desk.origin)
    desk.propose_write_off(loan)
    desk.confirm_write_off(loan)
    with pytest.raises(InDefault, match="written off"):
        submit_application(desk.uow, application(), "bora", origin=desk.origin)


def test_a_borrower_89_days_past_due_may_still_apply(desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    desk.pay(loan, desk.installments(loan)[0].total)
    desk.clock.set(DAY_89)
    accepted = submit_application(desk.uow, application(), "bora", origin=desk.origin)
    assert accepted.state is LoanState.SUBMITTED
