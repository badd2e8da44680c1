"""Indonesian taxes on platform money: VAT on platform fees, withholding on lenders' interest.

Two rules live here, both as data with their legal source next to the number:

- **VAT (PPN)** on the platform's fees (the borrower fees and the platform fee it
  takes from lenders' interest). The rate is effective-dated: 10% before
  2022-04-01, 11% on the full price from 2022-04-01, and from 2025-01-01 the
  nominal 12% charged on a tax base of 11/12 of the price (so 11% of the price
  in effect). `vat_rule_on(day)` answers which row applies, `vat_on(amount, day)`
  the tax in whole rupiah, rounded half-up.
- **Withholding (PPh 23 / PPh 26)** on what lenders earn (interest and late fees),
  by the lender's tax profile: 15% for Indonesian tax residents (PPh 23), 20% for
  non-residents (PPh 26), or the treaty rate when a tax treaty lowers it *and*
  the lender's certificate of domicile is on file (PMK 69/PMK.03/2022 for P2P
  lending interest). Without the certificate the domestic 20% applies whatever
  the treaty says. A resident the law exempts (PPh 23(4): interest paid to a bank,
  say) is withheld nothing, on the basis recorded and verified.

Contract: amounts are integer rupiah, rates `Decimal` fractions (0.12 = 12%),
days are passed in (no clock is read here). To amend a rate, add a row to the
table with its source and effective date; never edit a row that has been used,
because past fees were taxed by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import Enum

from shared.domain.errors import ValidationFailed
from shared.domain.money import Rounding, Rupiah, round_rupiah, rupiah


@dataclass(frozen=True)
class VatRule:
    """One row of the VAT table: from `effective_from`, VAT = amount × base fraction × rate.

    `base_numerator / base_denominator` is the share of the price that is taxed
    (the DPP, *dasar pengenaan pajak*); `rate` is the nominal PPN rate on it.
    """

    effective_from: date
    rate: Decimal
    base_numerator: int
    base_denominator: int
    source: str

    @property
    def effective_rate(self) -> Decimal:
        """The share of the price that ends up as VAT (12% × 11/12 = 11%)."""
        with localcontext() as context:
            context.prec = 50
            return self.rate * self.base_numerator / self.base_denominator


VAT_RULES: tuple[VatRule, ...] = (
    VatRule(
        effective_from=date.min,
        rate=Decimal("0.10"),
        base_numerator=1,
        base_denominator=1,
        source="UU 8/1983 art. 7(1) as amended by UU 42/2009: PPN 10%",
    ),
    VatRule(
        effective_from=date(2022, 4, 1),
        rate=Decimal("0.11"),
        base_numerator=1,
        base_denominator=1,
        source="UU 7/2021 (HPP) art. 7(1)a: PPN 11% from 1 April 2022",
    ),
    VatRule(
        effective_from=date(2025, 1, 1),
        rate=Decimal("0.12"),
        base_numerator=11,
        base_denominator=12,
        source=(
            "UU 7/2021 (HPP) art. 7(1)b: PPN 12% from 1 January 2025; PMK 131/2024: "
            "for goods and services other than luxury goods the tax base is 11/12 of the price"
        ),
    ),
)


def vat_rule_on(day: date, rules: tuple[VatRule, ...] = VAT_RULES) -> VatRule:
    """The VAT rule in force on `day`: the latest row whose `effective_from` is on or before it."""
    in_force = [rule for rule in rules if rule.effective_from <= day]
    if not in_force:
        raise ValidationFailed(
            f"no VAT rule is in force on {day.isoformat()}", {"day": "before the VAT table"}
        )
    return max(in_force, key=lambda rule: rule.effective_from)


def vat_on(amount: int, day: date, rules: tuple[VatRule, ...] = VAT_RULES) -> Rupiah:
    """VAT on a fee of `amount` rupiah charged on `day`, rounded half-up to the rupiah.

    Multiplying before dividing keeps the 11/12 base exact: `fee × 11 × 12% / 12`
    never becomes a repeating decimal before the single rounding step.
    """
    amount = rupiah(amount)
    if amount < 0:
        raise ValidationFailed(
            "VAT is charged on a fee, which is never negative", {"amount": "< 0"}
        )
    rule = vat_rule_on(day, rules)
    with localcontext() as context:
        context.prec = 50
        exact = Decimal(amount) * rule.base_numerator * rule.rate / rule.base_denominator
    return round_rupiah(exact, Rounding.HALF_UP)


class WithholdingArticle(Enum):
    """Which income-tax article a lender's interest is withheld under."""

    PPH_23 = "pph23"  # Indonesian tax residents
    PPH_26 = "pph26"  # non-residents, domestic rate
    PPH_26_TREATY = "pph26_treaty"  # non-residents with a certificate of domicile on file
    EXEMPT = "exempt"  # residents the law exempts (PPh 23(4)), on a verified basis


@dataclass(frozen=True)
class WithholdingRule:
    """The rate withheld from a lender's interest and late fees, and why."""

    article: WithholdingArticle
    rate: Decimal
    source: str


PPH_23_RATE = Decimal("0.15")
PPH_26_RATE = Decimal("0.20")
_PMK_69 = "PMK 69/PMK.03/2022 (income tax on P2P lending interest)"


@dataclass(frozen=True)
class LenderTaxProfile:
    """What the platform knows about a lender's tax position.

    `exemption_basis` names why a resident lender's interest is exempt from withholding
    under PPh 23(4) (interest paid to a bank, say), once verified; without it a resident is
    withheld 15%.

    `treaty_rate` is the rate the tax treaty between Indonesia and the lender's
    country of residence sets on interest; it applies only to non-residents and
    only while `certificate_of_domicile_on_file` is true (the DGT form the lender
    files). A treaty never raises the tax: a treaty rate above the domestic 20%
    is treated as 20%.
    """

    resident: bool
    treaty_rate: Decimal | None = None
    certificate_of_domicile_on_file: bool = False
    exemption_basis: str | None = None  # a verified PPh 23(4) exemption (banks, ...)

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if self.resident and self.treaty_rate is not None:
            errors["treaty_rate"] = "a tax treaty rate applies only to non-residents"
        if self.resident and self.certificate_of_domicile_on_file:
            errors["certificate_of_domicile_on_file"] = (
                "a certificate of domicile is filed only by non-residents"
            )
        if self.exemption_basis is not None and not self.resident:
            errors["exemption_basis"] = "PPh 23(4) exempts residents only"
        if self.treaty_rate is not None and not Decimal(0) <= self.treaty_rate <= Decimal(1):
            errors["treaty_rate"] = "must be a fraction between 0 and 1"
        if errors:
            raise ValidationFailed("inconsistent lender tax profile", errors)

    @classmethod
    def resident_taxpayer(cls) -> LenderTaxProfile:
        """An Indonesian tax resident (individual or entity)."""
        return cls(resident=True)

    @classmethod
    def non_resident(
        cls, treaty_rate: Decimal | None = None, certificate_on_file: bool = False
    ) -> LenderTaxProfile:
        """A foreign lender, with the treaty rate and certificate status if any."""
        return cls(
            resident=False,
            treaty_rate=treaty_rate,
            certificate_of_domicile_on_file=certificate_on_file,
        )


def withholding_rule_for(profile: LenderTaxProfile) -> WithholdingRule:
    """The withholding that applies to a lender with this tax profile."""
    if profile.resident and profile.exemption_basis is not None:
        return WithholdingRule(
            WithholdingArticle.EXEMPT,
            Decimal(0),
            f"exempt from PPh 23 under art. 23(4) UU PPh: {profile.exemption_basis}",
        )
    if profile.resident:
        return WithholdingRule(
            WithholdingArticle.PPH_23, PPH_23_RATE, f"PPh 23 15% for residents; {_PMK_69}"
        )
    if profile.treaty_rate is not None and profile.certificate_of_domicile_on_file:
        return WithholdingRule(
            WithholdingArticle.PPH_26_TREATY,
            min(profile.treaty_rate, PPH_26_RATE),
            f"tax treaty rate, certificate of domicile on file; {_PMK_69}",
        )
    return WithholdingRule(
        WithholdingArticle.PPH_26, PPH_26_RATE, f"PPh 26 20% for non-residents; {_PMK_69}"
    )


def withholding_on(amount: int, profile: LenderTaxProfile) -> Rupiah:
    """Tax withheld from `amount` rupiah of a lender's interest and late fees, rounded half-up."""
    amount = rupiah(amount)
    if amount < 0:
        raise ValidationFailed(
            "withholding is taken on income, which is never negative", {"amount": "< 0"}
        )
    return round_rupiah(Decimal(amount) * withholding_rule_for(profile).rate, Rounding.HALF_UP)
