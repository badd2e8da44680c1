"""The double-entry ledger: chart, entries, idempotent posting, reversals, reconciliation."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shared.domain.errors import Conflict, InsufficientFunds, NotFound, ValidationFailed
from shared.domain.ledger import (
    CHART_OF_ACCOUNTS,
    ESCROW_CASH,
    PLATFORM_FEE_INCOME,
    SUSPENSE,
    VAT_PAYABLE,
    WITHHOLDING_TAX_PAYABLE,
    AccountId,
    AccountKind,
    AccountType,
    JournalEntry,
    Ledger,
    LedgerCheck,
    LedgerError,
    OwnerKind,
    Participation,
    Posting,
    Side,
    balance_changes,
    balances_from,
    escrow_position,
    principal_shares,
    record_receipts,
    reverse,
    shard_for,
    sum_shards,
    validate_entries,
    validate_escrow_identity,
    validate_ledger,
)
from shared.domain.money import Rupiah

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def available(lender: str) -> AccountId:
    return AccountId(AccountType.LENDER_AVAILABLE, lender)


def reserved(lender: str) -> AccountId:
    return AccountId(AccountType.LENDER_RESERVED, lender)


def committed(lender: str) -> AccountId:
    return AccountId(AccountType.LENDER_COMMITTED, lender)


def principal(loan: str) -> AccountId:
    return AccountId(AccountType.LOAN_PRINCIPAL, loan)


def lenders_claim(loan: str) -> AccountId:
    return AccountId(AccountType.LOAN_LENDERS_CLAIM, loan)


def payout(loan: str) -> AccountId:
    return AccountId(AccountType.BORROWER_PAYOUT_IN_TRANSIT, loan)


def credit_of(borrower: str) -> AccountId:
    return AccountId(AccountType.BORROWER_CREDIT, borrower)


def entry(entry_id: str, *postings: Posting, at: datetime = T0, memo: str = "") -> JournalEntry:
    return JournalEntry(entry_id, at, postings, memo)


def transfer(entry_id: str, debit: AccountId, credit: AccountId, amount: int) -> JournalEntry:
    return entry(entry_id, Posting.debit(debit, amount), Posting.credit(credit, amount))


def codes(errors: list[LedgerError]) -> list[LedgerCheck]:
    return [error.check for error in errors]


# --- chart of accounts -------------------------------------------------------------


def test_every_account_type_is_in_the_chart_with_its_normal_balance() -> None:
    assert set(CHART_OF_ACCOUNTS) == set(AccountType)
    assert AccountType.ESCROW_CASH.normal_balance is Side.DEBIT
    assert AccountType.LOAN_PRINCIPAL.kind is AccountKind.ASSET
    assert AccountType.LENDER_AVAILABLE.normal_balance is Side.CREDIT
    assert AccountType.PLATFORM_FEE_INCOME.kind is AccountKind.INCOME
    assert AccountType.PLATFORM_FEE_INCOME.normal_balance is Side.CREDIT
    assert AccountKind.EXPENSE.normal_balance is Side.DEBIT
    assert AccountKind.EQUITY.normal_balance is Side.CREDIT


def test_an_account_that_must_never_go_negative_is_never_a_hot_account() -> None:
    """The balance check and the debit are one document read and write only if unsharded."""
    for account_type, spec in CHART_OF_ACCOUNTS.items():
        assert not (spec.hot and spec.never_negative), account_type
    hot = {t for t, spec in CHART_OF_ACCOUNTS.items() if spec.hot}
    assert hot == {
        AccountType.ESCROW_CASH,
        AccountType.PLATFORM_FEE_INCOME,
        AccountType.VAT_PAYABLE,
        AccountType.WITHHOLDING_TAX_PAYABLE,
        AccountType.GATEWAY_CLEARING,
    }


def test_per_owner_accounts_carry_the_owner_and_round_trip_through_text() -> None:
    account = available("L-7")
    assert str(account) == "lender_available:L-7"
    assert AccountId.parse("lender_available:L-7") == account
    assert AccountId.parse("escrow_cash") == ESCROW_CASH
    assert str(principal("K-1")) == "loan_principal:K-1"
    assert AccountType.LOAN_PRINCIPAL.owner_kind is OwnerKind.LOAN


@pytest.mark.parametrize(
    ("account_type", "owner"),
    [
        (AccountType.LENDER_AVAILABLE, None),
        (AccountType.LENDER_AVAILABLE, ""),
        (AccountType.LENDER_AVAILABLE, "a:b"),
        (AccountType.LENDER_AVAILABLE, "a/b"),
        (AccountType.LENDER_AVAILABLE, "x" * 257),
        (AccountType.ESCROW_CASH, "L-1"),
    ],
)
def test_an_account_id_with_a_missing_or_unusable_owner_is_refused(
    account_type: AccountType, owner: str | None
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        AccountId(account_type, owner)
    assert "owner" in refused.value.field_errors


def test_an_unknown_account_name_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="unknown account"):
        AccountId.parse("petty_cash")


# --- postings and entries ----------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -100])
def test_a_posting_is_a_positive_amount_on_one_side(amount: int) -> None:
    assert Posting.debit(ESCROW_CASH, 100).amount == 100
    with pytest.raises(ValidationFailed, match="positive"):
        Posting.credit(ESCROW_CASH, amount)


def test_a_posting_amount_is_whole_rupiah() -> None:
    with pytest.raises(TypeError):
        Posting.debit(ESCROW_CASH, 10.5)  # type: ignore[arg-type]


def test_a_balanced_entry_of_two_or_more_postings_is_accepted() -> None:
    deposit = transfer("dep-1", ESCROW_CASH, available("L-1"), 1_000_000)
    assert deposit.debits == deposit.credits == 1_000_000
    split = entry(
        "rep-1",
        Posting.debit(ESCROW_CASH, 1_100),
        Posting.credit(available("L-1"), 1_000),
        Posting.credit(PLATFORM_FEE_INCOME, 100),
    )
    assert split.accounts == {ESCROW_CASH, available("L-1"), PLATFORM_FEE_INCOME}


def test_an_entry_is_immutable() -> None:
    deposit = transfer("dep-1", ESCROW_CASH, available("L-1"), 1_000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        deposit.memo = "edited"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "field", "message"),
    [
        (
            lambda: entry("e", Posting.debit(ESCROW_CASH, 100), Posting.credit(SUSPENSE, 99)),
            "postings",
            "debits 100 != credits 99",
        ),
        (lambda: entry("e", Posting.debit(ESCROW_CASH, 100)), "postings", "needs >= 2"),
        (lambda: transfer("", ESCROW_CASH, SUSPENSE, 1), "entry_id", "non-empty"),
        (lambda: transfer("a/b", ESCROW_CASH, SUSPENSE, 1), "entry_id", "'/'"),
        (
            lambda: JournalEntry(
                "e",
                datetime(2025, 1, 1),  # naive: the case under test
                (Posting.debit(ESCROW_CASH, 1), Posting.credit(SUSPENSE, 1)),
            ),
            "occurred_at",
            "timezone-aware",
        ),
        (
            lambda: JournalEntry(
                "e",
                T0,
                (Posting.debit(ESCROW_CASH, 1), Posting.credit(SUSPENSE, 1)),
                reverses="e",
            ),
            "reverses",
            "cannot reverse itself",
        ),
        (
            lambda: JournalEntry(
                "e",
                T0,
                (Posting.debit(ESCROW_CASH, 1), Posting.credit(SUSPENSE, 1)),
                reverses="",
            ),
            "reverses",
            "non-empty",
        ),
    ],
)
def test_an_entry_that_breaks_a_rule_is_refused_with_the_rule_named(
    build: Callable[[], object], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        build()
    assert message in refused.value.field_errors[field]


def test_a_reversal_mirrors_the_original_and_points_at_it() -> None:
    commitment = transfer("commit-1", available("L-1"), committed("L-1"), 500_000)
    release = reverse(commitment, "release-1", T0 + timedelta(days=30))
    assert release.reverses == "commit-1"
    assert release.memo == "reversal of commit-1"
    assert release.postings == (
        Posting.credit(available("L-1"), 500_000),
        Posting.debit(committed("L-1"), 500_000),
    )
    assert reverse(commitment, "r", T0, memo="funding window passed").memo == (
        "funding window passed"
    )


# --- a textbook sequence -----------------------------------------------------------


def test_worked_example_from_deposit_to_first_repayment() -> None:
    """Two lenders fund a 10,000,000 loan and receive its first installment.

    1. L-1 deposits 7,000,000 and L-2 4,000,000 (escrow 11,000,000).
    2. L-1 commits 6,000,000 and L-2 4,000,000 to loan K-1.
    3. Disbursement: the 10,000,000 committed becomes the borrower's payout less the
       origination fee 300,000 and its VAT 33,000 → payout 9,667,000 in transit;
       the loan's principal 10,000,000 is receivable, owed on to its lenders.
    4. The bank confirms the payout: escrow 11,000,000 − 9,667,000 = 1,333,000.
    5. The borrower pays the first installment, 620,030: principal 416,700 and interest
       200,000 to the lenders, less the platform fee (15% of interest = 30,000), its VAT
       (3,300) and withholding (15% of interest = 30,000), so the lenders' net is
       616,700 − 63,300 = 553,400 (L-1 60%: 250,020 + 120,000 − 18,000 − 1,980 − 18,000
       = 332,040; L-2 40%: 166,680 + 80,000 − 12,000 − 1,320 − 12,000 = 221,360); plus a
       service fee of 3,000 and its VAT 330 for the platform:
       553,400 + 30,000 + 3,300 + 30,000 + 3,000 + 330 = 620,030.
    """
    steps = [
        transfer("dep-1", ESCROW_CASH, available("L-1"), 7_000_000),
        transfer("dep-2", ESCROW_CASH, available("L-2"), 4_000_000),
        transfer("commit-1", available("L-1"), committed("L-1"), 6_000_000),
        transfer("commit-2", available("L-2"), committed("L-2"), 4_000_000),
        entry(
            "disburse-K-1",
            Posting.debit(committed("L-1"), 6_000_000),
            Posting.debit(committed("L-2"), 4_000_000),
            Posting.credit(payout("K-1"), 9_667_000),
            Posting.credit(PLATFORM_FEE_INCOME, 300_000),
            Posting.credit(VAT_PAYABLE, 33_000),
            Posting.debit(principal("K-1"), 10_000_000),
            Posting.credit(lenders_claim("K-1"), 10_000_000),
        ),
        transfer("payout-K-1", payout("K-1"), ESCROW_CASH, 9_667_000),
        entry(
            "repay-K-1-1",
            Posting.debit(ESCROW_CASH, 620_030),
            Posting.credit(available("L-1"), 332_040),
            Posting.credit(available("L-2"), 221_360),
            Posting.credit(PLATFORM_FEE_INCOME, 30_000 + 3_000),
            Posting.credit(VAT_PAYABLE, 3_300 + 330),
            Posting.credit(WITHHOLDING_TAX_PAYABLE, 30_000),
            Posting.debit(lenders_claim("K-1"), 416_700),
            Posting.credit(principal("K-1"), 416_700),
        ),
    ]
    ledger = Ledger()
    for step in steps:
        ledger = ledger.post(step)
        assert validate_escrow_identity(ledger.balances) == [], step.entry_id

    assert ledger.balance(ESCROW_CASH) == 11_000_000 - 9_667_000 + 620_030
    assert ledger.balance(available("L-1")) == 1_000_000 + 332_040
    assert ledger.balance(available("L-2")) == 221_360
    assert ledger.balance(committed("L-1")) == 0
    assert ledger.balance(payout("K-1")) == 0
    assert ledger.balance(principal("K-1")) == 10_000_000 - 416_700 == 9_583_300
    assert ledger.balance(lenders_claim("K-1")) == 9_583_300
    assert ledger.balance(PLATFORM_FEE_INCOME) == 333_000
    assert ledger.balance(VAT_PAYABLE) == 36_630
    assert ledger.balance(WITHHOLDING_TAX_PAYABLE) == 30_000
    assert validate_ledger(ledger.entries, ledger.balances) == []
    position = escrow_position(ledger.balances)
    assert position.held_for_others == 1_332_040 + 221_360
    assert position.platform_unswept == 333_000 + 36_630 + 30_000
    assert position.escrow_cash == position.held_for_others + position.platform_unswept


# --- posting rules -----------------------------------------------------------------


def test_posting_the_same_entry_twice_posts_it_once() -> None:
    deposit = transfer("dep-1", ESCROW_CASH, available("L-1"), 1_000_000)
    once = Ledger().post(deposit)
    twice = once.post(deposit)
    assert twice is once
    assert twice.balance(available("L-1")) == 1_000_000
    assert len(twice.entries) == 1
    assert once.has_entry("dep-1")
    assert once.entry("dep-1") == deposit


def test_the_same_id_with_different_content_is_a_conflict() -> None:
    ledger = Ledger().post(transfer("dep-1", ESCROW_CASH, available("L-1"), 1_000_000))
    with pytest.raises(Conflict, match="different content"):
        ledger.post(transfer("dep-1", ESCROW_CASH, available("L-1"), 2_000_000))
    assert ledger.balance(available("L-1")) == 1_000_000


def test_a_lender_cannot_commit_more_than_is_available_and_nothing_moves() -> None:
    ledger = Ledger().post(transfer("dep-1", ESCROW_CASH, available("L-1"), 500_000))
    with pytest.raises(InsufficientFunds, match=r"lender_available:L-1 \(short by 100000\)"):
        ledger.post(transfer("commit-1", available("L-1"), committed("L-1"), 600_000))
    assert ledger.balance(available("L-1")) == 500_000
    assert ledger.balance(committed("L-1")) == 0
    assert not ledger.has_entry("commit-1")
    assert (
        ledger.post(transfer("commit-1", available("L-1"), committed("L-1"), 500_000)).balance(
            available("L-1")
        )
        == 0
    )


def test_a_withdrawal_confirmation_cannot_take_more_than_is_reserved() -> None:
    ledger = Ledger().post_all(
        [
            transfer("dep-1", ESCROW_CASH, available("L-1"), 500_000),
            transfer("wd-1", available("L-1"), reserved("L-1"), 200_000),
        ]
    )
    with pytest.raises(InsufficientFunds, match="lender_reserved:L-1"):
        ledger.post(transfer("wd-1-paid", reserved("L-1"), ESCROW_CASH, 300_000))


def test_a_borrower_cannot_spend_more_credit_than_they_have() -> None:
    with pytest.raises(InsufficientFunds, match="borrower_credit:B-1"):
        Ledger().post(transfer("apply-credit", credit_of("B-1"), principal("K-1"), 1))


def test_looking_up_a_missing_entry_is_not_found() -> None:
    with pytest.raises(NotFound):
        Ledger().entry("nope")


def test_a_reversal_nets_the_original_to_zero() -> None:
    request = transfer("wd-1", available("L-1"), reserved("L-1"), 200_000)
    ledger = Ledger().post_all(
        [
            transfer("dep-1", ESCROW_CASH, available("L-1"), 500_000),
            request,
            reverse(request, "wd-1-rejected", T0 + timedelta(hours=2)),
        ]
    )
    assert ledger.balance(available("L-1")) == 500_000
    assert ledger.balance(reserved("L-1")) == 0
    assert validate_ledger(ledger.entries, ledger.balances) == []


def test_reversing_a_missing_entry_twice_or_with_other_postings_is_refused() -> None:
    deposit = transfer("dep-1", ESCROW_CASH, available("L-1"), 500_000)
    ledger = Ledger().post(deposit)
    ghost = reverse(transfer("ghost", ESCROW_CASH, available("L-1"), 1), "r-ghost", T0)
    with pytest.raises(NotFound, match="ghost"):
        ledger.post(ghost)
    lopsided = JournalEntry(
        "r-bad",
        T0,
        (Posting.debit(available("L-1"), 400_000), Posting.credit(ESCROW_CASH, 400_000)),
        reverses="dep-1",
    )
    with pytest.raises(ValidationFailed, match="does not mirror"):
        ledger.post(lopsided)
    reversed_once = ledger.post(reverse(deposit, "r-1", T0))
    with pytest.raises(Conflict, match="already reversed by 'r-1'"):
        reversed_once.post(reverse(deposit, "r-2", T0))


# --- reconciliation checks ---------------------------------------------------------


def test_validate_ledger_reports_an_unbalanced_stored_entry() -> None:
    corrupted = JournalEntry.restore(
        "dep-1",
        T0,
        [Posting.debit(ESCROW_CASH, 1_000), Posting.credit(available("L-1"), 900)],
    )
    balances = {ESCROW_CASH: 1_000, available("L-1"): 900}
    assert codes(validate_ledger([corrupted], balances)) == [LedgerCheck.UNBALANCED_ENTRY]


def test_validate_ledger_reports_an_entry_with_a_single_posting() -> None:
    corrupted = JournalEntry.restore("x", T0, [Posting.debit(ESCROW_CASH, 5)])
    found = codes(validate_entries([corrupted]))
    assert found == [LedgerCheck.TOO_FEW_POSTINGS, LedgerCheck.UNBALANCED_ENTRY]


def test_validate_ledger_reports_a_malformed_stored_entry() -> None:
    corrupted = JournalEntry.restore(
        "x",
        datetime(2025, 1, 1),  # naive: the case under test
        [Posting.debit(ESCROW_CASH, 5), Posting.credit(SUSPENSE, 5)],
    )
    assert codes(validate_entries([corrupted])) == [LedgerCheck.MALFORMED_ENTRY]


def test_validate_ledger_reports_a_stored_balance_that_is_not_the_sum_of_postings() -> None:
    entries = [transfer("dep-1", ESCROW_CASH, available("L-1"), 1_000)]
    stored = {ESCROW_CASH: 1_000, available("L-1"): 1_001, available("L-9"): 5}
    errors = validate_ledger(entries, stored)
    assert codes(errors) == [LedgerCheck.BALANCE_MISMATCH, LedgerCheck.BALANCE_MISMATCH]
    assert {error.account for error in errors} == {available("L-1"), available("L-9")}
    assert "stored balance 1001 != sum of postings 1000" in errors[0].message


def test_validate_ledger_reports_a_negative_lender_available_balance() -> None:
    """Entries written without the ledger's check (a bug, a manual fix) are caught daily."""
    entries = [transfer("commit-1", available("L-1"), committed("L-1"), 100)]
    errors = validate_ledger(entries, balances_from(entries))
    assert codes(errors) == [LedgerCheck.NEGATIVE_BALANCE]
    assert errors[0].account == available("L-1")


def test_validate_ledger_reports_duplicate_ids_and_broken_reversals() -> None:
    deposit = transfer("dep-1", ESCROW_CASH, available("L-1"), 1_000)
    entries = [
        deposit,
        deposit,
        reverse(transfer("gone", ESCROW_CASH, SUSPENSE, 5), "r-gone", T0),
        reverse(deposit, "r-1", T0),
        reverse(deposit, "r-2", T0),
        JournalEntry(
            "r-3",
            T0,
            (Posting.debit(available("L-1"), 1), Posting.credit(ESCROW_CASH, 1)),
            reverses="dep-1",
        ),
    ]
    found = Counter(codes(validate_entries(entries)))
    assert found == {
        LedgerCheck.DUPLICATE_ENTRY_ID: 1,
        LedgerCheck.MISSING_REVERSED_ENTRY: 1,
        LedgerCheck.REVERSED_TWICE: 2,
        LedgerCheck.REVERSAL_MISMATCH: 1,
    }


def test_the_escrow_identity_catches_money_that_left_escrow_unaccounted() -> None:
    """A payout booked against the loan's receivable instead of the payout in transit."""
    ledger = Ledger().post_all(
        [
            transfer("dep-1", ESCROW_CASH, available("L-1"), 1_000_000),
            transfer("oops", principal("K-1"), ESCROW_CASH, 1_000_000),
        ]
    )
    assert validate_ledger(ledger.entries, ledger.balances) == []  # balanced, but...
    errors = validate_escrow_identity(ledger.balances)
    assert codes(errors) == [LedgerCheck.ESCROW_IDENTITY]
    assert "difference -1000000" in errors[0].message


# --- hot accounts ------------------------------------------------------------------


def test_hot_accounts_spread_over_shards_and_others_stay_on_one_document() -> None:
    ids = [f"repay-{n}" for n in range(400)]
    used = {shard_for(ESCROW_CASH, entry_id, 8) for entry_id in ids}
    assert used == set(range(8))
    assert {shard_for(available("L-1"), entry_id, 8) for entry_id in ids} == {0}
    assert shard_for(ESCROW_CASH, "repay-1", 8) == shard_for(ESCROW_CASH, "repay-1", 8)
    assert shard_for(ESCROW_CASH, "repay-1", 1) == 0
    with pytest.raises(ValidationFailed):
        shard_for(ESCROW_CASH, "repay-1", 0)


def test_shard_balances_add_back_up_to_the_account_balances() -> None:
    entries = [
        transfer(f"dep-{n}", ESCROW_CASH, available(f"L-{n % 3}"), 1_000 + n) for n in range(50)
    ]
    shard_balances: Counter[tuple[AccountId, int]] = Counter()
    for each in entries:
        shard_balances.update(balance_changes(each, shards=4))
    assert len({shard for account, shard in shard_balances if account == ESCROW_CASH}) > 1
    assert sum_shards(shard_balances) == balances_from(entries)
    assert validate_ledger(entries, sum_shards(shard_balances)) == []


# --- properties --------------------------------------------------------------------

LENDERS = ("L-1", "L-2", "L-3")
amounts = st.integers(min_value=1, max_value=50_000_000)
percents = st.integers(min_value=1, max_value=110)  # of the balance drawn on; > 100 overdraws


class LedgerLifecycle(RuleBasedStateMachine):
    """Random sequences of the canonical business entries (see the ledger module docstring).

    Money going out of an account is a percentage of its balance, so most operations
    fit and some overdraw; an overdraft must be refused whole and leave the ledger as
    it was. After every step the ledger must reconcile.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger()
        self.count = 0

    def next_id(self) -> str:
        self.count += 1
        return f"op-{self.count}"

    def post(self, candidate: JournalEntry) -> None:
        before = self.ledger
        try:
            self.ledger = self.ledger.post(candidate)
        except InsufficientFunds:
            assert self.ledger is before and not before.has_entry(candidate.entry_id)
            return
        assert self.ledger.post(candidate) is self.ledger  # a retry changes nothing

    def funded(self, account_type: AccountType) -> list[str]:
        return [
            owner
            for owner in LENDERS
            if self.ledger.balance(AccountId(account_type, owner)) > 0
            or self.ledger.balance(AccountId(account_type, f"K-{owner}")) > 0
        ]

    def share(self, account: AccountId, percent: int) -> int:
        return max(1, self.ledger.balance(account) * percent // 100)

    @rule(lender=st.sampled_from(LENDERS), amount=amounts)
    def deposit(self, lender: str, amount: int) -> None:
        self.post(transfer(self.next_id(), ESCROW_CASH, available(lender), amount))

    @rule(amount=amounts)
    def unmatched_payment(self, amount: int) -> None:
        self.post(transfer(self.next_id(), ESCROW_CASH, SUSPENSE, amount))

    @precondition(lambda self: self.funded(AccountType.LENDER_AVAILABLE))
    @rule(data=st.data(), percent=percents, to_reserve=st.booleans())
    def commit_or_request_withdrawal(
        self, data: st.DataObject, percent: int, to_reserve: bool
    ) -> None:
        lender = data.draw(st.sampled_from(self.funded(AccountType.LENDER_AVAILABLE)))
        target = reserved(lender) if to_reserve else committed(lender)
        amount = self.share(available(lender), percent)
        self.post(transfer(self.next_id(), available(lender), target, amount))

    @precondition(lambda self: self.funded(AccountType.LENDER_RESERVED))
    @rule(data=st.data(), percent=percents)
    def confirm_withdrawal(self, data: st.DataObject, percent: int) -> None:
        lender = data.draw(st.sampled_from(self.funded(AccountType.LENDER_RESERVED)))
        amount = self.share(reserved(lender), percent)
        self.post(transfer(self.next_id(), reserved(lender), ESCROW_CASH, amount))

    @precondition(lambda self: self.funded(AccountType.LENDER_COMMITTED))
    @rule(data=st.data(), percent=percents)
    def disburse(self, data: st.DataObject, percent: int) -> None:
        lender = data.draw(st.sampled_from(self.funded(AccountType.LENDER_COMMITTED)))
        loan = f"K-{lender}"
        amount = self.share(committed(lender), percent)
        fee = amount // 50
        vat = fee * 11 // 100
        self.post(
            entry(
                self.next_id(),
                Posting.debit(committed(lender), amount),
                Posting.credit(payout(loan), amount - fee - vat),
                *([Posting.credit(PLATFORM_FEE_INCOME, fee)] if fee else []),
                *([Posting.credit(VAT_PAYABLE, vat)] if vat else []),
                Posting.debit(principal(loan), amount),
                Posting.credit(lenders_claim(loan), amount),
            )
        )

    @precondition(lambda self: self.funded(AccountType.BORROWER_PAYOUT_IN_TRANSIT))
    @rule(data=st.data())
    def confirm_payout(self, data: st.DataObject) -> None:
        lender = data.draw(st.sampled_from(self.funded(AccountType.BORROWER_PAYOUT_IN_TRANSIT)))
        amount = self.ledger.balance(payout(f"K-{lender}"))
        self.post(transfer(self.next_id(), payout(f"K-{lender}"), ESCROW_CASH, amount))

    @precondition(lambda self: self.funded(AccountType.LOAN_PRINCIPAL))
    @rule(data=st.data(), percent=st.integers(1, 100), overpaid=st.integers(0, 5_000))
    def repay(self, data: st.DataObject, percent: int, overpaid: int) -> None:
        lender = data.draw(st.sampled_from(self.funded(AccountType.LOAN_PRINCIPAL)))
        loan = f"K-{lender}"
        collected = self.share(principal(loan), percent)
        interest = collected // 20
        fee = interest // 10
        vat = fee * 11 // 100
        withheld = interest * 15 // 100
        extras = [
            Posting.credit(account, amount)
            for account, amount in (
                (PLATFORM_FEE_INCOME, fee),
                (VAT_PAYABLE, vat),
                (WITHHOLDING_TAX_PAYABLE, withheld),
                (credit_of(f"B-{lender}"), overpaid),
            )
            if amount
        ]
        self.post(
            entry(
                self.next_id(),
                Posting.debit(ESCROW_CASH, collected + interest + overpaid),
                Posting.credit(available(lender), collected + interest - fee - vat - withheld),
                *extras,
                Posting.debit(lenders_claim(loan), collected),
                Posting.credit(principal(loan), collected),
            )
        )

    @precondition(lambda self: self.ledger.balance(PLATFORM_FEE_INCOME) > 0)
    @rule(percent=percents)
    def sweep_fees(self, percent: int) -> None:
        amount = self.share(PLATFORM_FEE_INCOME, percent)
        self.post(transfer(self.next_id(), PLATFORM_FEE_INCOME, ESCROW_CASH, amount))

    @precondition(lambda self: bool(self.ledger.entries))
    @rule(data=st.data())
    def reverse_an_entry(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(self.ledger.entries))
        candidate = reverse(original, self.next_id(), T0 + timedelta(days=1))
        try:
            self.post(candidate)
        except Conflict:
            # refused only because it was reversed already
            assert any(e.reverses == original.entry_id for e in self.ledger.entries)

    @invariant()
    def the_ledger_reconciles(self) -> None:
        assert validate_ledger(self.ledger.entries, self.ledger.balances) == []
        assert validate_escrow_identity(self.ledger.balances) == []
        balances = self.ledger.balances
        debit_normal = sum(b for a, b in balances.items() if a.type.normal_balance is Side.DEBIT)
        credit_normal = sum(b for a, b in balances.items() if a.type.normal_balance is Side.CREDIT)
        assert debit_normal == credit_normal  # the trial balance
        assert all(
            balance >= 0
            for account, balance in balances.items()
            if account.type.spec.never_negative
        )


LedgerLifecycle.TestCase.settings = settings(max_examples=40, stateful_step_count=25)
test_any_sequence_of_business_operations_keeps_the_ledger_reconciled = LedgerLifecycle.TestCase


ALL_ACCOUNTS = [
    ESCROW_CASH,
    PLATFORM_FEE_INCOME,
    VAT_PAYABLE,
    WITHHOLDING_TAX_PAYABLE,
    SUSPENSE,
    available("L-1"),
    reserved("L-1"),
    committed("L-2"),
    principal("K-1"),
    lenders_claim("K-1"),
    payout("K-1"),
    AccountId(AccountType.INTEREST_RECEIVABLE, "K-1"),
    credit_of("B-1"),
]


@st.composite
def balanced_entries(draw: st.DrawFn, entry_id: str) -> JournalEntry:
    debits = draw(
        st.lists(st.tuples(st.sampled_from(ALL_ACCOUNTS), amounts), min_size=1, max_size=4)
    )
    credit_accounts = draw(st.lists(st.sampled_from(ALL_ACCOUNTS), min_size=1, max_size=4))
    total = sum(amount for _, amount in debits)
    if total < len(credit_accounts):
        credit_accounts = credit_accounts[:1]
    cuts: list[int] = []
    if len(credit_accounts) > 1:
        cuts = sorted(draw(st.sets(st.integers(1, total - 1), max_size=len(credit_accounts) - 1)))
    credit_amounts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    postings = [Posting.debit(account, amount) for account, amount in debits]
    postings += [
        Posting.credit(account, amount)
        for account, amount in zip(credit_accounts, credit_amounts, strict=False)
    ]
    return JournalEntry(entry_id, T0, tuple(postings))


@given(st.data())
def test_random_balanced_entries_always_validate_and_sum_to_a_zero_trial_balance(
    data: st.DataObject,
) -> None:
    ledger = Ledger()
    for n in range(data.draw(st.integers(0, 15))):
        try:
            ledger = ledger.post(data.draw(balanced_entries(f"e-{n}")))
        except InsufficientFunds:
            continue
    assert validate_ledger(ledger.entries, ledger.balances) == []
    signed = sum(
        balance if account.type.normal_balance is Side.DEBIT else -balance
        for account, balance in ledger.balances.items()
    )
    assert signed == 0


@given(st.data())
def test_an_entry_and_its_reversal_net_every_account_to_zero(data: st.DataObject) -> None:
    original = data.draw(balanced_entries("orig"))
    both = [original, reverse(original, "undo", T0 + timedelta(days=1))]
    assert all(balance == 0 for balance in balances_from(both).values())
    assert validate_entries(both) == []


# --- participation -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Receipt:
    lender_id: str
    principal: int
    interest: int
    late_fee: int = 0
    platform_fee: int = 0
    vat: int = 0
    withholding: int = 0
    net: int = 0


def test_a_lenders_participation_tracks_principal_outstanding_and_earnings() -> None:
    """L-1 funded 6,000,000 of 10,000,000; two installments pay it 250,020 + 251,000
    principal and 120,000 + 115,000 interest, minus fee, VAT and withholding."""
    stakes = {
        "L-1": Participation("K-1", "L-1", Rupiah(6_000_000)),
        "L-2": Participation("K-1", "L-2", Rupiah(4_000_000)),
    }
    assert principal_shares(stakes.values()) == {"L-1": Decimal("0.6"), "L-2": Decimal("0.4")}
    first = Receipt("L-1", 250_020, 120_000, 0, 18_000, 1_980, 18_000, 332_040)
    second = Receipt("L-1", 251_000, 115_000, 7_407, 17_250, 1_898, 18_361, 335_898)
    folded = record_receipts(stakes, [first, second])
    l1 = folded["L-1"]
    assert l1.principal_received == 501_020
    assert l1.outstanding_principal == 6_000_000 - 501_020
    assert l1.gross_earnings == 120_000 + 115_000 + 7_407
    assert l1.withholding_paid == 36_361
    assert l1.platform_fee_paid == 35_250
    assert l1.vat_paid == 3_878
    assert l1.net_earnings == 332_040 + 335_898 - 501_020
    assert folded["L-2"] == stakes["L-2"]


def test_participation_refuses_more_principal_than_funded_and_foreign_receipts() -> None:
    stake = Participation("K-1", "L-1", Rupiah(1_000_000))
    with pytest.raises(ValidationFailed) as refused:
        stake.with_receipt(Receipt("L-1", 1_000_001, 0))
    assert "principal_received" in refused.value.field_errors
    with pytest.raises(ValidationFailed, match="cannot be applied"):
        stake.with_receipt(Receipt("L-2", 1, 0))
    with pytest.raises(ValidationFailed, match="no participation"):
        record_receipts({"L-1": stake}, [Receipt("L-9", 1, 0)])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"principal_funded": 0}, "principal_funded"),
        ({"principal_funded": 100, "interest_received": -1}, "interest_received"),
        ({"principal_funded": 100, "lender_id": ""}, "lender_id"),
    ],
)
def test_an_impossible_participation_is_refused(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"loan_id": "K-1", "lender_id": "L-1", **kwargs}
    with pytest.raises(ValidationFailed) as refused:
        Participation(**values)  # type: ignore[arg-type]
    assert field in refused.value.field_errors


def test_shares_of_a_loan_without_participations_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        principal_shares([])
