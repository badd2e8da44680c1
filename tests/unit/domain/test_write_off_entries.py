"""The write-off's entry and a recovery's allocation entry (shared/domain/movements.py,
docs/lending-rules.md#write-off)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.allocation import InstallmentParts
from shared.domain.ledger import AccountId, AccountType, JournalEntry, Ledger, Posting
from shared.domain.money import Rupiah
from shared.domain.movements import loan_receivables, loan_written_off, repayment_allocated

AT = datetime(2027, 4, 26, 3, 0, tzinfo=UTC)
PRINCIPAL = AccountId(AccountType.LOAN_PRINCIPAL, "L-1")
INTEREST = AccountId(AccountType.INTEREST_RECEIVABLE, "L-1")
CLAIM = AccountId(AccountType.LOAN_LENDERS_CLAIM, "L-1")


def test_every_receivable_of_the_loan_is_read_from_the_chart() -> None:
    assert set(loan_receivables("L-1")) >= {PRINCIPAL, INTEREST}
    assert all(a.type.kind.value == "asset" and a.owner == "L-1" for a in loan_receivables("L-1"))


def test_the_write_off_clears_principal_and_interest_against_the_lenders_claim() -> None:
    entry = loan_written_off("write-off-L-1", "L-1", {PRINCIPAL: 8_394_700, INTEREST: 50_000}, AT)
    assert entry is not None
    ledger = Ledger().post_all(
        [
            # what disbursement and an interest accrual left on the loan
            _pair("disbursed", PRINCIPAL, 8_394_700),
            _pair("accrued", INTEREST, 50_000),
            entry,
        ]
    )
    assert (ledger.balance(PRINCIPAL), ledger.balance(INTEREST), ledger.balance(CLAIM)) == (0, 0, 0)


def test_nothing_receivable_is_no_entry() -> None:
    assert loan_written_off("write-off-L-1", "L-1", {PRINCIPAL: 0, INTEREST: 0}, AT) is None


def test_a_recovery_leaves_the_cleared_receivable_alone() -> None:
    collected = InstallmentParts(interest=Rupiah(125_900), principal=Rupiah(874_100))
    recovery = repayment_allocated("P-1", "L-1", "bora", collected, 0, AT, receivable_cleared=True)
    repayment = repayment_allocated("P-1", "L-1", "bora", collected, 0, AT)
    assert PRINCIPAL not in recovery.accounts and CLAIM not in recovery.accounts
    assert {PRINCIPAL, CLAIM} <= repayment.accounts


def _pair(entry_id: str, receivable: AccountId, amount: int) -> JournalEntry:
    """`amount` booked to `receivable` against the lenders' claim."""
    return JournalEntry(
        entry_id, AT, (Posting.debit(receivable, amount), Posting.credit(CLAIM, amount)), entry_id
    )
