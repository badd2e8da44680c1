"""Funding and disbursement scenarios as checks over a `FundingDesk`, run on the in-memory
store (tests/unit/journey/test_funding.py) and on the Firestore emulator
(tests/integration/journey/test_funding_on_the_emulator.py).

Every scenario reconciles after each step: nothing it does may create or lose a rupiah.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shared.domain.errors import (
    CapExceeded,
    Conflict,
    Forbidden,
    InsufficientFunds,
    ValidationFailed,
)
from shared.domain.loan import LoanState
from shared.platform.errors import TransactionContended
from shared.platform.escrow import FundingRules
from shared.services.bank_accounts import AccountInquiryUnavailable
from shared.services.users import MembershipRequest, approve_membership, record_membership
from tests.unit.journey.funding_desk import FundingDesk
from tests.unit.journey.money_desk import lender_account
from tests.unit.journey.money_scenarios import assert_reconciles

Scenario = Callable[[FundingDesk], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def money(desk: FundingDesk, lender: str) -> tuple[int, int]:
    """(available, committed) of a lender."""
    wallet = desk.wallet(lender)
    return wallet.available, wallet.committed


@scenario
def three_lenders_fund_and_the_loan_is_paid_out(desk: FundingDesk) -> None:
    """The worked journey: Rp 10,000,000 funded 5,000,000 / 3,000,000 / 2,000,000, paid out
    net of the 2% origination fee (200,000) and its 11% VAT (22,000): 9,778,000."""
    ani = desk.funded_lender("ani", "1110001111", 6_000_000)
    budi = desk.funded_lender("budi", "2220002222", 3_000_000)
    citra = desk.funded_lender("citra", "3330003333", 2_500_000)
    loan = desk.loan(10_000_000)
    assert_reconciles(desk)

    first = desk.commit(ani, loan, 5_000_000)
    assert (first.amount, first.remaining, first.loan_state) == (5_000_000, 5_000_000, "funding")
    assert money(desk, ani) == (1_000_000, 5_000_000)
    assert_reconciles(desk)
    desk.commit(budi, loan, 3_000_000)
    last = desk.commit(citra, loan, 2_500_000)  # more than remains: cut to 2,000,000
    assert (last.amount, last.cut, last.remaining, last.loan_state) == (
        2_000_000,
        True,
        0,
        LoanState.FUNDED,
    )
    assert money(desk, citra) == (500_000, 2_000_000)
    assert desk.loan_record(loan).lender_count == 3
    assert_reconciles(desk)

    booked = desk.disburse(loan)
    terms = booked.disbursement
    assert booked.loan_state is LoanState.ACTIVE
    assert (terms.origination_fee, terms.origination_fee_vat, terms.net_disbursement) == (
        200_000,
        22_000,
        9_778_000,
    )
    assert [money(desk, lender) for lender in (ani, budi, citra)] == [
        (1_000_000, 0),
        (0, 0),
        (500_000, 0),
    ]
    assert desk.balance(f"borrower_payout_in_transit:{loan}") == 9_778_000
    assert desk.balance(f"loan_principal:{loan}") == 10_000_000
    assert desk.balance(f"loan_lenders_claim:{loan}") == 10_000_000
    assert desk.balance("platform_fee_income") == 200_000
    assert desk.balance("vat_payable") == 22_000
    schedule = desk.installments(loan)
    assert [i.number for i in schedule] == [1, 2, 3, 4, 5, 6]  # fixed at disbursement
    assert sum(i.principal for i in schedule) == 10_000_000
    assert schedule[-1].due_date == terms.maturity_date
    stakes = desk.stakes(loan)
    assert {lender: s.principal_funded for lender, s in stakes.items()} == {
        ani: 5_000_000,
        budi: 3_000_000,
        citra: 2_000_000,
    }
    assert_reconciles(desk)

    paid = desk.confirm_payout(loan)
    assert paid.disbursement.state == "paid"
    assert desk.balance(f"borrower_payout_in_transit:{loan}") == 0
    # Escrow: 11,500,000 deposited − 9,778,000 paid out = lenders' 1,500,000 + 222,000 fees.
    assert desk.balance("escrow_cash") == 1_722_000
    assert_reconciles(desk)


@scenario
def auto_invest_commits_by_the_rules_once_in_a_fair_order(desk: FundingDesk) -> None:
    ani = desk.funded_lender("ani", "1110001111", 8_000_000)
    budi = desk.funded_lender("budi", "2220002222", 5_000_000)
    citra = desk.funded_lender("citra", "3330003333", 5_000_000)
    dedi = desk.funded_lender("dedi", "4440004444", 5_000_000)
    desk.auto_rules(ani, max_per_loan=6_000_000, max_total=10_000_000)
    desk.auto_rules(budi, max_per_loan=3_000_000, max_total=3_500_000)
    desk.auto_rules(citra, max_per_loan=2_000_000, max_total=5_000_000, grades=("A",))
    desk.auto_rules(dedi, max_per_loan=1_000_000, max_total=1_000_000)
    first = desk.loan(10_000_000)
    done = desk.auto_invest(first)
    assert done.matching == 3  # citra funds grade A only; the loan is B
    assert done.committed == {ani: 6_000_000, budi: 3_000_000, dedi: 1_000_000}
    assert done.loan_state is LoanState.FUNDED
    again = desk.auto_invest(first)  # the event delivered again: nothing more
    assert again.committed == {}
    assert desk.loan_record(first).funded_amount == 10_000_000
    assert money(desk, ani) == (2_000_000, 6_000_000)
    assert_reconciles(desk)

    # A second loan: each lender's max_total counts what they already have out.
    second = desk.loan(10_000_000)
    later = desk.auto_invest(second)
    assert later.committed == {ani: 2_000_000, budi: 500_000}  # ani: all still available
    assert later.loan_state is LoanState.FUNDING
    assert_reconciles(desk)


@scenario
def commitments_respect_the_minimum_and_the_remainder(desk: FundingDesk) -> None:
    ani = desk.funded_lender("ani", "1110001111", 20_000_000)
    loan = desk.loan(10_000_000)
    with pytest.raises(ValidationFailed, match="smallest commitment"):
        desk.commit(ani, loan, 99_999)
    with pytest.raises(Conflict, match="at most Rp 9,900,000, or all that remains"):
        desk.commit(ani, loan, 9_950_000)  # would leave 50,000
    desk.commit(ani, loan, 4_000_000)
    again = desk.commit(ani, loan, 1_000_000)  # the same lender adds to their stake
    assert again.stake == 5_000_000
    assert desk.loan_record(loan).lender_count == 1
    assert_reconciles(desk)


@scenario
def a_lender_commits_no_more_than_they_hold(desk: FundingDesk) -> None:
    ani = desk.funded_lender("ani", "1110001111", 1_000_000)
    loan = desk.loan(10_000_000)
    with pytest.raises(InsufficientFunds) as refused:
        desk.commit(ani, loan, 2_000_000)
    assert (refused.value.account, refused.value.available) == (
        lender_account("available", ani),
        1_000_000,
    )
    assert money(desk, ani) == (1_000_000, 0)
    assert_reconciles(desk)


@scenario
def nobody_commits_before_accepting_the_agreements(desk: FundingDesk) -> None:
    ani = desk.funded_lender("ani", "1110001111", 1_000_000, agreed=False)
    loan = desk.loan(10_000_000)
    with pytest.raises(Conflict, match="accept the lender agreement"):
        desk.commit(ani, loan, 500_000)
    desk.agree(ani)
    desk.commit(ani, loan, 500_000)
    with pytest.raises(Forbidden):
        desk.commit("bora", loan, 500_000)  # the borrower is no lender


@scenario
def the_placement_limit_and_concentration_cap_refuse_with_their_source(
    desk: FundingDesk,
) -> None:
    # An annual income of Rp 100,000,000 (non-professional) places at most 10% of it.
    ani = desk.funded_lender("ani", "1110001111", 20_000_000, income=100_000_000)
    loan = desk.loan(50_000_000)
    desk.commit(ani, loan, 10_000_000)
    with pytest.raises(CapExceeded, match=r"lender_placement \(SEOJK 19/SEOJK.06/2025"):
        desk.commit(ani, loan, 100_000)
    assert money(desk, ani) == (10_000_000, 10_000_000)

    # Concentration: the platform already has outstanding past its floor.
    desk.rules = desk.rules.model_copy(update={"concentration_floor": 0})
    budi = desk.funded_lender("budi", "2220002222", 20_000_000, group="grup-a")
    with pytest.raises(CapExceeded, match=r"lender_concentration \("):
        desk.commit(budi, loan, 5_000_000)  # 5 of 15 outstanding: a third
    assert_reconciles(desk)


@scenario
def non_professional_lenders_hold_at_most_their_share_of_the_platform(desk: FundingDesk) -> None:
    """From 2028 non-professional lenders hold at most 20% of the platform's outstanding
    funding: the last daily reconciliation's figure of theirs plus the live commitment."""
    desk.clock.advance(days=406)  # Monday 3 January 2028
    # Rp 100,000,000 outstanding from professional lenders; Rp 20,000,000 from a
    # non-professional one (income Rp 300,000,000: at most 10% of it placed).
    pros = [desk.funded_lender(f"pro{n}", f"44400{n:05d}", 25_000_000) for n in range(4)]
    big = desk.loan(100_000_000)
    for pro in pros:
        desk.commit(pro, big, 25_000_000)
    ani = desk.funded_lender("ani", "1110001111", 30_000_000, income=300_000_000)
    loan = desk.loan(50_000_000)
    desk.commit(ani, loan, 20_000_000)
    daily = desk.reconcile("daily")
    assert (daily.outstanding_funding, daily.non_professional_funding) == (
        120_000_000,
        20_000_000,
    )
    desk.next_day()
    desk.rules = desk.rules.model_copy(update={"concentration_floor": 0})

    budi = desk.funded_lender("budi", "2220002222", 30_000_000, income=300_000_000)
    desk.commit(budi, loan, 5_000_000)  # the reconciled 20 plus 5, of 125: exactly 20%
    # The class's figure is the reconciled one plus this commitment (and never less than
    # the lender's own live position): 20 + 6 of 126.
    with pytest.raises(
        CapExceeded, match=r"non_professional_share \(SEOJK 19/SEOJK.06/2025.*over the 20% cap"
    ):
        desk.commit(budi, loan, 6_000_000)
    assert money(desk, budi) == (25_000_000, 5_000_000)
    # A professional lender is not held to the class's share.
    citra = desk.funded_lender("citra", "3330003333", 10_000_000)
    desk.commit(citra, loan, 10_000_000)
    assert_reconciles(desk)


@scenario
def a_cooperative_funds_members_loans_from_members_only(desk: FundingDesk) -> None:
    """At a cooperative entity the lender and the loan's borrower are approved members, and
    the lenders' limits are the cooperative's rows, not the LPBBTI ones."""
    desk.rules = FundingRules(members_only=True, cap_table="koperasi", concentration_floor=0)
    ani = desk.funded_lender("ani", "1110001111", 30_000_000, income=100_000_000)
    loan = desk.loan(50_000_000)
    with pytest.raises(Forbidden, match=r"cooperative members only \(Permenkop UKM 8/2023\)"):
        desk.commit(ani, loan, 1_000_000)
    desk.member(ani, "KSP-0001")
    with pytest.raises(Conflict, match=r"the borrower of loan .* is not an approved member"):
        desk.commit(ani, loan, 1_000_000)
    # Recorded is not yet a member: a second admin.super approves.
    record_membership(
        desk.uow, "bora", MembershipRequest(member_number="KSP-0002"), admin_id="sup-1",
        clock=desk.clock,
    )  # fmt: skip
    with pytest.raises(Conflict, match="not an approved member"):
        desk.commit(ani, loan, 1_000_000)
    with pytest.raises(Forbidden):  # the admin who recorded it does not approve it
        approve_membership(desk.uow, "bora", admin_id="sup-1", clock=desk.clock)
    approve_membership(desk.uow, "bora", admin_id="sup-2", clock=desk.clock)
    # An income of Rp 100,000,000 would place at most 10% at a P2P platform, and one lender
    # of a platform past its floor at most 25%: neither binds a cooperative's member.
    made = desk.commit(ani, loan, 20_000_000)
    assert (made.amount, made.stake) == (20_000_000, 20_000_000)
    assert money(desk, ani) == (10_000_000, 20_000_000)
    assert_reconciles(desk)


@scenario
def a_payout_goes_only_to_an_account_the_bank_names_the_borrower_as_holder_of(
    desk: FundingDesk,
) -> None:
    """The disbursement request asks the bank's account inquiry first: an account the bank
    does not know, or holds in another name, is refused and nothing is booked."""
    ani = desk.funded_lender("ani", "1110001111", 10_000_000)
    desk.borrower("bora", account_number="5550005555")
    loan = desk.loan(10_000_000, borrower="bora")
    desk.commit(ani, loan, 10_000_000)

    desk.bank.open("008", "5550005555", "Someone Else")
    with pytest.raises(Conflict, match=r"the bank names another holder of account .*5555"):
        desk.disburse(loan)
    desk.bank.holders.clear()
    with pytest.raises(Conflict, match="the bank has no account"):
        desk.disburse(loan)
    desk.bank.down = True
    with pytest.raises(AccountInquiryUnavailable):
        desk.disburse(loan)
    # Refused each time: nothing booked, the stakes still committed, the account unverified.
    assert desk.loan_record(loan).state is LoanState.FUNDED
    assert desk.loan_record(loan).disbursement is None
    assert money(desk, ani) == (0, 10_000_000)
    assert desk.user("bora").bank_account.verified_at is None

    # The bank answers in capitals with other spacing: the same name.
    desk.bank.down = False
    desk.bank.open("008", "5550005555", "BORA ")
    assert desk.disburse(loan).loan_state is LoanState.ACTIVE
    account = desk.user("bora").bank_account
    assert (account.verified_at, account.verified_by_inquiry) == (desk.clock.now(), "fin-1")
    assert_reconciles(desk)


@scenario
def an_expired_loan_returns_every_commitment(desk: FundingDesk) -> None:
    ani = desk.funded_lender("ani", "1110001111", 3_000_000)
    budi = desk.funded_lender("budi", "2220002222", 2_000_000)
    loan = desk.loan(10_000_000)
    desk.commit(ani, loan, 3_000_000)
    desk.commit(budi, loan, 1_500_000)
    assert desk.expire_due() == ()  # the window is still open
    desk.clock.advance(days=15)
    assert desk.expire_due() == (loan,)
    assert desk.expire_due() == ()  # once
    with pytest.raises(Conflict, match="not open for funding"):
        desk.commit(budi, loan, 500_000)
    desk.release(loan)
    desk.release(loan)  # the event delivered again: released once
    assert money(desk, ani) == (3_000_000, 0)
    assert money(desk, budi) == (2_000_000, 0)
    assert {s.state for s in desk.stakes(loan).values()} == {"released"}
    assert desk.live_position(ani) == desk.live_position(budi) == 0
    assert_reconciles(desk)


@scenario
def concurrent_commitments_fund_the_loan_exactly(desk: FundingDesk) -> None:
    lenders = [desk.funded_lender(f"l{n:02d}", f"77700{n:05d}", 1_500_000) for n in range(12)]
    loan = desk.loan(10_000_000)
    outcomes: list[object] = []

    def commit(lender: str) -> None:
        try:
            outcomes.append(desk.commit(lender, loan, 1_000_000))
        except (Conflict, TransactionContended) as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=commit, args=(lender,)) for lender in lenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = desk.loan_record(loan)
    assert (record.state, record.funded_amount) == (LoanState.FUNDED, 10_000_000)
    assert not [o for o in outcomes if isinstance(o, TransactionContended)]
    committed = sum(money(desk, lender)[1] for lender in lenders)
    assert committed == 10_000_000
    assert all(money(desk, lender)[0] >= 0 for lender in lenders)
    assert_reconciles(desk)


@scenario
def a_payout_is_confirmed_by_another_admin_and_a_returned_one_goes_again(
    desk: FundingDesk,
) -> None:
    ani = desk.funded_lender("ani", "1110001111", 10_000_000)
    loan = desk.loan(10_000_000)
    desk.commit(ani, loan, 10_000_000)
    desk.disburse(loan, admin="fin-1")
    assert desk.disburse(loan, admin="fin-1").loan_state is LoanState.ACTIVE  # asked again: once
    with pytest.raises(Forbidden, match="maker-checker"):
        desk.confirm_payout(loan, admin="fin-1")
    desk.confirm_payout(loan, "PAYOUT-1", admin="fin-2")
    desk.confirm_payout(loan, "PAYOUT-1", admin="fin-2")  # a retry: paid once
    desk.statement([desk.transfer_out(9_778_000, "PAYOUT-1")])
    [shown] = [line for line in desk.lines() if line.direction == "debit"]
    assert (shown.state, shown.loan_id) == ("explained", loan)  # the bank shows the payout
    assert desk.loan_record(loan).disbursement.line_id == shown.id  # type: ignore[union-attr]
    assert_reconciles(desk)

    # The borrower's bank refuses the transfer; the money comes back the next day.
    desk.statement([desk.transfer_in(None, 9_778_000, "RETUR-PAYOUT-1", sender="5550005555")])
    back = desk.line("RETUR-PAYOUT-1")
    again = desk.payout_returned(loan, back)
    assert again.disbursement.state == "in_transit"
    assert desk.balance(f"borrower_payout_in_transit:{loan}") == 9_778_000
    assert_reconciles(desk)
    # The second transfer shows on a statement before it is confirmed: confirming explains it.
    sent_on = desk.today()
    desk.statement([desk.transfer_out(9_778_000, "PAYOUT-2")])
    desk.confirm_payout(loan, "PAYOUT-2", admin="fin-2", on=sent_on)
    assert desk.balance(f"borrower_payout_in_transit:{loan}") == 0
    assert {line.bank_reference: line.state for line in desk.lines()}["PAYOUT-2"] == "explained"
    assert_reconciles(desk)

    other = desk.loan(10_000_000, borrower="bora-2")
    desk.funded_lender("budi", "2220002222", 10_000_000)
    desk.commit("budi", other, 10_000_000)
    desk.disburse(other)
    with pytest.raises(Conflict, match="already confirms another payout"):
        desk.confirm_payout(other, "PAYOUT-2", admin="fin-2")
