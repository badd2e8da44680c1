"""The billing split of a repayment between the platform, the tax office and the lenders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.domain.allocation import InstallmentDue, InstallmentParts, allocate_repayment
from shared.domain.errors import ValidationFailed
from shared.domain.ledger import (
    ESCROW_CASH,
    PLATFORM_FEE_INCOME,
    VAT_PAYABLE,
    WITHHOLDING_TAX_PAYABLE,
    AccountId,
    AccountType,
    JournalEntry,
    Ledger,
    Participation,
    Posting,
    record_receipts,
    validate_escrow_identity,
    validate_ledger,
)
from shared.domain.money import Rupiah
from shared.domain.split import LenderStake, split_to_lenders
from shared.domain.tax import LenderTaxProfile, WithholdingArticle

RESIDENT = LenderTaxProfile.resident_taxpayer()
TREATY_WITH_CERTIFICATE = LenderTaxProfile.non_resident(Decimal("0.10"), certificate_on_file=True)
TREATY_WITHOUT_CERTIFICATE = LenderTaxProfile.non_resident(
    Decimal("0.10"), certificate_on_file=False
)

STAKES = [
    LenderStake("A", Rupiah(6_000_000), RESIDENT),
    LenderStake("B", Rupiah(3_000_000), TREATY_WITH_CERTIFICATE),
    LenderStake("C", Rupiah(1_000_000), TREATY_WITHOUT_CERTIFICATE),
]
COLLECTED = InstallmentParts(
    late_fee=Rupiah(12_345),
    fee=Rupiah(25_000),
    fee_vat=Rupiah(2_750),
    interest=Rupiah(200_000),
    principal=Rupiah(416_700),
)


def test_worked_example_three_lenders_three_tax_profiles() -> None:
    """A 10,000,000 loan funded 60/30/10 by A (resident), B (non-resident, treaty 10%,
    certificate on file) and C (non-resident, treaty 10%, no certificate); platform fee
    15% of interest; repayment on 2025-03-02 of 656,795 = principal 416,700 + interest
    200,000 + late fee 12,345 + service fee 25,000 + its VAT 2,750.

    principal 416,700 → 250,020 / 125,010 / 41,670 (exact)
    interest  200,000 → 120,000 / 60,000 / 20,000 (exact)
    late fee   12,345 → 7,407 / 3,703.5 / 1,234.5 → floors 7,407 / 3,703 / 1,234, one
                        rupiah left, tied remainders .5/.5 → the earlier lender, B: 3,704
    fee 15% of interest → 18,000 / 9,000 / 3,000
    VAT fee × 11/12 × 12% → 1,980 / 990 / 330
    withholding: A PPh 23 15% × 127,407 = 19,111.05 → 19,111
                 B treaty 10% × 63,704 = 6,370.4 → 6,370
                 C PPh 26 20% × 21,234 = 4,246.8 → 4,247 (no certificate, no treaty)
    net: A 377,427 − 18,000 − 1,980 − 19,111 = 338,336
         B 188,714 − 9,000 − 990 − 6,370 = 172,354
         C 62,904 − 3,000 − 330 − 4,247 = 55,327
    Σ nets 566,017 + fees 30,000 + VAT 3,300 + withholding 29,728 + borrower fee 25,000
    + its VAT 2,750 = 656,795.
    """
    split = split_to_lenders(COLLECTED, STAKES, Decimal("0.15"), date(2025, 3, 2))
    rows = [
        (
            line.lender_id,
            line.principal,
            line.interest,
            line.late_fee,
            line.platform_fee,
            line.vat,
            line.withholding,
            line.net,
        )
        for line in split.lines
    ]
    assert rows == [
        ("A", 250_020, 120_000, 7_407, 18_000, 1_980, 19_111, 338_336),
        ("B", 125_010, 60_000, 3_704, 9_000, 990, 6_370, 172_354),
        ("C", 41_670, 20_000, 1_234, 3_000, 330, 4_247, 55_327),
    ]
    assert [line.withholding_article for line in split.lines] == [
        WithholdingArticle.PPH_23,
        WithholdingArticle.PPH_26_TREATY,
        WithholdingArticle.PPH_26,
    ]
    assert split.lines[0].gross == 377_427
    assert split.net_to_lenders == 566_017
    assert split.lender_platform_fees == 30_000
    assert split.lender_fee_vat == 3_300
    assert split.withholding == 29_728
    assert split.platform_fee_income == 55_000
    assert split.vat_payable == 6_050
    assert split.total == COLLECTED.total == 656_795


def test_vat_on_the_platform_fee_follows_the_rule_in_force_that_day() -> None:
    """Before April 2022 VAT was 10%: A's fee 18,000 → 1,800, not 1,980."""
    before = split_to_lenders(COLLECTED, STAKES, Decimal("0.15"), date(2022, 3, 31))
    assert [line.vat for line in before.lines] == [1_800, 900, 300]
    assert before.lines[0].net == 338_336 + 180
    assert before.total == COLLECTED.total


def test_fees_and_taxes_round_half_up_per_lender() -> None:
    """Interest 33,333 to one resident: fee 15% = 4,999.95 → 5,000; VAT 550;
    withholding 15% = 4,999.95 → 5,000; net 33,333 − 10,550 = 22,783."""
    collected = InstallmentParts(interest=Rupiah(33_333))
    split = split_to_lenders(collected, [STAKES[0]], Decimal("0.15"), date(2025, 3, 2))
    (line,) = split.lines
    assert (line.platform_fee, line.vat, line.withholding, line.net) == (5_000, 550, 5_000, 22_783)


def test_a_repayment_of_only_borrower_fees_goes_wholly_to_the_platform() -> None:
    collected = InstallmentParts(fee=Rupiah(3_000), fee_vat=Rupiah(330))
    split = split_to_lenders(collected, STAKES, Decimal("0.15"), date(2025, 3, 2))
    assert all(line.net == 0 for line in split.lines)
    assert (split.platform_fee_income, split.vat_payable) == (3_000, 330)


@pytest.mark.parametrize(
    ("stakes", "rate", "field"),
    [
        ([], Decimal("0.15"), "stakes"),
        ([STAKES[0], STAKES[0]], Decimal("0.15"), "stakes"),
        (STAKES, Decimal("-0.01"), "platform_fee_rate"),
        (STAKES, Decimal("0.51"), "platform_fee_rate"),
    ],
)
def test_a_split_with_no_lenders_duplicates_or_an_impossible_fee_rate_is_refused(
    stakes: list[LenderStake], rate: Decimal, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        split_to_lenders(COLLECTED, stakes, rate, date(2025, 3, 2))
    assert field in refused.value.field_errors


def test_a_stake_without_a_lender_or_principal_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        LenderStake("", Rupiah(1), RESIDENT)
    assert "lender_id" in refused.value.field_errors
    with pytest.raises(ValidationFailed) as refused:
        LenderStake("A", Rupiah(0), RESIDENT)
    assert "principal_funded" in refused.value.field_errors


def test_a_split_repayment_posts_to_a_ledger_that_reconciles() -> None:
    """From the borrower's payment to the lenders' balances, through allocation and split."""
    due = [
        InstallmentDue(
            1,
            date(2025, 3, 2),
            InstallmentParts(
                Rupiah(12_345), Rupiah(25_000), Rupiah(2_750), Rupiah(200_000), Rupiah(416_700)
            ),
        )
    ]
    allocation = allocate_repayment(700_000, due)
    split = split_to_lenders(allocation.collected, STAKES, Decimal("0.15"), date(2025, 3, 2))
    postings = [Posting.debit(ESCROW_CASH, allocation.payment)]
    postings += [
        Posting.credit(AccountId(AccountType.LENDER_AVAILABLE, line.lender_id), line.net)
        for line in split.lines
    ]
    postings += [
        Posting.credit(PLATFORM_FEE_INCOME, split.platform_fee_income),
        Posting.credit(VAT_PAYABLE, split.vat_payable),
        Posting.credit(WITHHOLDING_TAX_PAYABLE, split.withholding),
        Posting.credit(AccountId(AccountType.BORROWER_CREDIT, "BR-1"), allocation.borrower_credit),
    ]
    entry = JournalEntry(
        "repay-K-1-1", datetime(2025, 3, 2, 10, tzinfo=UTC), tuple(postings), "installment 1"
    )
    ledger = Ledger().post(entry)
    assert validate_ledger(ledger.entries, ledger.balances) == []
    assert validate_escrow_identity(ledger.balances) == []
    assert ledger.balance(AccountId(AccountType.BORROWER_CREDIT, "BR-1")) == 700_000 - 656_795

    participations = {
        stake.lender_id: Participation("K-1", stake.lender_id, stake.principal_funded)
        for stake in STAKES
    }
    after = record_receipts(participations, split.lines)
    assert after["A"].outstanding_principal == 6_000_000 - 250_020
    assert after["C"].withholding_paid == 4_247
    assert sum(p.net_received for p in after.values()) == split.net_to_lenders


# --- properties --------------------------------------------------------------------

profiles = st.one_of(
    st.just(RESIDENT),
    st.builds(
        LenderTaxProfile.non_resident,
        st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal("0.3"), places=3)),
        st.booleans(),
    ),
)
stakes_lists = st.lists(
    st.builds(
        LenderStake,
        st.uuids().map(str),
        st.integers(min_value=100_000, max_value=2_000_000_000).map(Rupiah),
        profiles,
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda stake: stake.lender_id,
)
amount = st.integers(min_value=0, max_value=500_000_000).map(Rupiah)
collections = st.builds(InstallmentParts, amount, amount, amount, amount, amount)
rates = st.decimals(min_value=0, max_value=Decimal("0.5"), places=4)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(collected=collections, stakes=stakes_lists, rate=rates, on=days)
def test_the_split_always_adds_up_to_the_allocated_payment(
    collected: InstallmentParts, stakes: list[LenderStake], rate: Decimal, on: date
) -> None:
    assume(collected.principal <= sum(stake.principal_funded for stake in stakes))
    split = split_to_lenders(collected, stakes, rate, on)
    assert (
        split.net_to_lenders
        + split.lender_platform_fees
        + split.lender_fee_vat
        + split.withholding
        + collected.fee
        + collected.fee_vat
        == collected.total
    )
    assert sum(line.principal for line in split.lines) == collected.principal
    assert sum(line.interest for line in split.lines) == collected.interest
    assert sum(line.late_fee for line in split.lines) == collected.late_fee
    funded = sum(stake.principal_funded for stake in stakes)
    for stake, line in zip(stakes, split.lines, strict=True):
        assert line.lender_id == stake.lender_id
        exact_principal = Decimal(collected.principal) * stake.principal_funded / funded
        assert abs(line.principal - exact_principal) < 1
        assert line.net >= 0
        assert line.platform_fee + line.vat + line.withholding <= line.interest + line.late_fee


@given(
    stakes=stakes_lists,
    repaid=st.lists(st.integers(min_value=0, max_value=100), min_size=12, max_size=12),
    share=st.integers(min_value=0, max_value=100),
)
def test_principal_goes_by_what_each_lender_is_still_owed(
    stakes: list[LenderStake], repaid: list[int], share: int
) -> None:
    owed = [
        replace(stake, principal_outstanding=Rupiah(stake.principal_funded * pct // 100))
        for stake, pct in zip(stakes, repaid, strict=False)
    ]
    total = sum(stake.outstanding for stake in owed)
    some = InstallmentParts(principal=Rupiah(total * share // 100))
    for stake, line in zip(
        owed, split_to_lenders(some, owed, Decimal("0.1"), date(2026, 12, 1)).lines, strict=True
    ):
        assert 0 <= line.principal <= stake.outstanding
    if total:
        everything = InstallmentParts(principal=Rupiah(total))
        split = split_to_lenders(everything, owed, Decimal("0.1"), date(2026, 12, 1))
        assert [line.principal for line in split.lines] == [stake.outstanding for stake in owed]


def test_more_principal_than_the_lenders_are_owed_is_refused() -> None:
    stakes = [LenderStake("A", Rupiah(1_000_000), RESIDENT, Rupiah(400_000))]
    with pytest.raises(ValidationFailed):
        split_to_lenders(
            InstallmentParts(principal=Rupiah(400_001)), stakes, Decimal("0.1"), date(2026, 12, 1)
        )
