"""VAT on platform fees and withholding on lenders' interest, as the tax rules state them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.errors import ValidationFailed
from shared.domain.tax import (
    VAT_RULES,
    LenderTaxProfile,
    VatRule,
    WithholdingArticle,
    vat_on,
    vat_rule_on,
    withholding_on,
    withholding_rule_for,
)

# --- VAT ---------------------------------------------------------------------------


def test_every_vat_rule_cites_its_source_and_the_table_is_in_date_order() -> None:
    assert all(rule.source for rule in VAT_RULES)
    starts = [rule.effective_from for rule in VAT_RULES]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)


def test_vat_in_2024_is_11_percent_of_the_full_fee() -> None:
    rule = vat_rule_on(date(2024, 12, 31))
    assert (rule.rate, rule.base_numerator, rule.base_denominator) == (Decimal("0.11"), 1, 1)
    assert vat_on(100_000, date(2024, 12, 31)) == 11_000


def test_vat_from_2025_is_12_percent_on_a_base_of_eleven_twelfths() -> None:
    """Fee 100,000 → base 100,000 × 11/12 = 91,666.67 → × 12% = 11,000."""
    rule = vat_rule_on(date(2025, 1, 1))
    assert (rule.rate, rule.base_numerator, rule.base_denominator) == (Decimal("0.12"), 11, 12)
    assert rule.effective_rate == Decimal("0.11")
    assert vat_on(100_000, date(2025, 1, 1)) == 11_000


def test_vat_rounds_half_up_to_the_rupiah() -> None:
    """Fee 18,005 × 11/12 × 12% = 1,980.55 → 1,981; fee 50 → 5.5 → 6; fee 4 → 0.44 → 0."""
    day = date(2025, 6, 1)
    assert vat_on(18_005, day) == 1_981
    assert vat_on(50, day) == 6
    assert vat_on(4, day) == 0
    assert vat_on(0, day) == 0


def test_vat_before_april_2022_is_10_percent() -> None:
    assert vat_rule_on(date(2022, 3, 31)).rate == Decimal("0.10")
    assert vat_on(100_000, date(2014, 7, 2)) == 10_000
    assert vat_rule_on(date(2022, 4, 1)).rate == Decimal("0.11")


def test_a_date_before_a_custom_table_starts_is_refused() -> None:
    table = (VatRule(date(2030, 1, 1), Decimal("0.15"), 1, 1, "hypothetical future law"),)
    assert vat_on(1_000, date(2030, 1, 1), table) == 150
    with pytest.raises(ValidationFailed, match="no VAT rule"):
        vat_rule_on(date(2029, 12, 31), table)


def test_vat_on_a_negative_or_non_integer_fee_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        vat_on(-1, date(2025, 1, 1))
    with pytest.raises(TypeError):
        vat_on(1.5, date(2025, 1, 1))  # type: ignore[arg-type]


@given(fee=st.integers(min_value=0, max_value=10**13))
def test_vat_from_2025_equals_11_percent_of_the_fee_rounded_half_up(fee: int) -> None:
    """12% × 11/12 is exactly 11%, so the 2025 rule charges what the 2024 rule did."""
    assert vat_on(fee, date(2025, 1, 1)) == vat_on(fee, date(2024, 12, 31))
    assert vat_on(fee, date(2025, 1, 1)) == (fee * 11 + 50) // 100


# --- withholding -------------------------------------------------------------------


def test_a_resident_lender_is_withheld_pph_23_at_15_percent() -> None:
    rule = withholding_rule_for(LenderTaxProfile.resident_taxpayer())
    assert rule.article is WithholdingArticle.PPH_23
    assert rule.rate == Decimal("0.15")
    assert "PMK 69/PMK.03/2022" in rule.source
    assert withholding_on(127_407, LenderTaxProfile.resident_taxpayer()) == 19_111  # 19,111.05


def test_a_non_resident_without_a_treaty_is_withheld_pph_26_at_20_percent() -> None:
    profile = LenderTaxProfile.non_resident()
    assert withholding_rule_for(profile).article is WithholdingArticle.PPH_26
    assert withholding_on(21_234, profile) == 4_247  # 4,246.8


def test_the_treaty_rate_applies_only_with_a_certificate_of_domicile_on_file() -> None:
    with_certificate = LenderTaxProfile.non_resident(Decimal("0.10"), certificate_on_file=True)
    without_certificate = LenderTaxProfile.non_resident(Decimal("0.10"), certificate_on_file=False)
    assert withholding_rule_for(with_certificate).article is WithholdingArticle.PPH_26_TREATY
    assert withholding_on(63_704, with_certificate) == 6_370  # 6,370.4
    assert withholding_rule_for(without_certificate).article is WithholdingArticle.PPH_26
    assert withholding_on(63_704, without_certificate) == 12_741  # 12,740.8


def test_a_certificate_without_a_treaty_rate_leaves_the_domestic_rate() -> None:
    profile = LenderTaxProfile.non_resident(None, certificate_on_file=True)
    assert withholding_rule_for(profile).rate == Decimal("0.20")


def test_a_treaty_never_raises_the_tax_above_the_domestic_rate() -> None:
    profile = LenderTaxProfile.non_resident(Decimal("0.25"), certificate_on_file=True)
    assert withholding_rule_for(profile).rate == Decimal("0.20")


def test_withholding_rounds_half_up() -> None:
    """15% of 10 = 1.5 → 2; 15% of 3 = 0.45 → 0."""
    assert withholding_on(10, LenderTaxProfile.resident_taxpayer()) == 2
    assert withholding_on(3, LenderTaxProfile.resident_taxpayer()) == 0


def test_withholding_on_negative_income_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        withholding_on(-5, LenderTaxProfile.resident_taxpayer())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"resident": True, "treaty_rate": Decimal("0.10")}, "treaty_rate"),
        (
            {"resident": True, "certificate_of_domicile_on_file": True},
            "certificate_of_domicile_on_file",
        ),
        ({"resident": False, "treaty_rate": Decimal("-0.01")}, "treaty_rate"),
        ({"resident": False, "treaty_rate": Decimal("1.5")}, "treaty_rate"),
    ],
)
def test_inconsistent_tax_profiles_are_refused_with_the_field_named(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        LenderTaxProfile(**kwargs)  # type: ignore[arg-type]
    assert field in refused.value.field_errors


@given(
    income=st.integers(min_value=0, max_value=10**12),
    treaty=st.decimals(min_value=0, max_value=1, places=4),
    certificate=st.booleans(),
)
def test_a_non_resident_is_never_withheld_more_than_20_percent_nor_less_than_the_treaty(
    income: int, treaty: Decimal, certificate: bool
) -> None:
    profile = LenderTaxProfile.non_resident(treaty, certificate_on_file=certificate)
    withheld = withholding_on(income, profile)
    assert withheld <= withholding_on(income, LenderTaxProfile.non_resident())
    expected_rate = min(treaty, Decimal("0.20")) if certificate else Decimal("0.20")
    assert abs(Decimal(withheld) - income * expected_rate) <= Decimal("0.5")
