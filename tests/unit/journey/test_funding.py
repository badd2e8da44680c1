"""Funding and disbursement on the in-memory store: the shared scenarios
(funding_scenarios.py), each operation's Firestore budget, and a plan over 1,000 lenders."""

from __future__ import annotations

import pytest

from shared.adapters.memory import MemoryUnitOfWork
from shared.domain.errors import Conflict
from shared.domain.loan import LoanState
from shared.services.auto_invest import turn
from shared.services.bank_accounts import BankAccountInput, change_bank_account, verify_by_inquiry
from tests.unit.journey.funding_desk import FundingDesk
from tests.unit.journey.funding_scenarios import SCENARIOS


@pytest.fixture
def desk() -> FundingDesk:
    desk = FundingDesk(MemoryUnitOfWork(max_attempts=10))  # as the emulator runs use
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_funding_scenario(name: str, desk: FundingDesk) -> None:
    SCENARIOS[name](desk)


def test_the_auto_invest_order_is_fixed_per_loan_and_rotates_between_loans() -> None:
    lenders = [f"lender-{n}" for n in range(10)]

    def order(loan: str) -> list[str]:
        return sorted(lenders, key=lambda lender: turn(loan, lender))

    assert order("loan-1") == order("loan-1")
    firsts = {order(f"loan-{n}")[0] for n in range(50)}
    assert len(firsts) >= 8  # over 50 loans, nearly every lender has gone first


def test_a_commitment_and_a_disbursement_keep_their_firestore_budget(desk: FundingDesk) -> None:
    ani = desk.funded_lender("ani", "1110001111", 10_000_000)
    loan = desk.loan(10_000_000)
    desk.commit(ani, loan, 4_000_000)
    # The loan, the stake, the lender, the balance (which holds the lender's live position);
    # the last reconciliation (a query): however many stakes the lender has.
    reads, writes = desk.uow.last_attempt.reads, desk.uow.last_attempt.writes  # type: ignore[attr-defined]
    assert reads == 5
    # The entry, two balances (the available one with the position), the stake, the loan.
    assert writes == 5
    assert desk.live_position(ani) == 4_000_000
    # A lender in an affiliate group: their group's position is one more read and write.
    budi = desk.funded_lender("budi", "2220002222", 10_000_000, group="grup-a")
    desk.commit(budi, loan, 1_000_000)
    assert (desk.uow.last_attempt.reads, desk.uow.last_attempt.writes) == (6, 6)  # type: ignore[attr-defined]
    assert desk.live_position(budi) == desk.group_position("grup-a") == 1_000_000
    desk.commit(ani, loan, 5_000_000)
    assert desk.uow.last_attempt.writes == 6  # type: ignore[attr-defined]  # + loan.funded


def test_a_changed_borrower_account_is_verified_again_before_a_payout(desk: FundingDesk) -> None:
    ani = desk.funded_lender("ani", "1110001111", 10_000_000)
    loan = desk.loan(10_000_000)  # bora's account 5550005555 is held in her name
    desk.commit(ani, loan, 10_000_000)
    verify_by_inquiry(desk.uow, desk.vault, desk.bank, "bora", admin_id="fin-1", clock=desk.clock)
    assert desk.user("bora").bank_account.verified_at is not None  # type: ignore[union-attr]

    new_account = BankAccountInput(
        bank_code="008", account_number="6660006666", account_holder="bora"
    )
    change_bank_account(desk.uow, desk.vault, "bora", new_account, clock=desk.clock)
    assert desk.user("bora").bank_account.verified_at is None  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="the bank has no account"):
        desk.disburse(loan)
    desk.bank.open("008", "6660006666", "Bora")
    assert desk.disburse(loan).loan_state is LoanState.ACTIVE
    assert desk.bank.inquiries == [("008", "5550005555"), *[("008", "6660006666")] * 2]
