"""The billing split: who gets which rupiah of an allocated repayment.

`split_to_lenders(collected, stakes, platform_fee_rate, on)` takes what
`allocation.allocate_repayment` collected from the borrower and divides it:

- Borrower fees and their VAT go to the platform as they are.
- The lenders' part, principal, interest and late fee, is split among the
  loan's lenders, each component on its own with `money.allocate` (largest
  remainder, ties to the earlier lender in `stakes` order), so every component
  adds up exactly to the rupiah: interest and late fee in proportion to the
  principal each funded, principal in proportion to what each is still owed of
  it (`LenderStake.principal_outstanding`). Rounding each payment by the funded
  shares would drift a rupiah here and there over the life of a loan; by the
  outstanding shares, each lender's principal received never passes what they
  funded and equals it once the loan is repaid.
- Per lender, each rounded half-up:
  platform fee = platform fee rate × the lender's gross interest;
  VAT on it = fee × 11/12 × 12% (the rule in force `on` that day, `tax.vat_on`);
  withholding = the lender's rate × (interest + late fee) (`tax.withholding_on`);
  net = principal + interest + late fee − fee − VAT − withholding.

Invariant, exact for any input: Σ nets + Σ lender platform fees + Σ their VAT +
Σ withholding + borrower fees + their VAT = the allocated payment. It holds by
construction (each lender's net is what is left of the lender's gross) and is
asserted on every split. The platform fee rate is at most 50%, which keeps
every lender's net at or above zero under any tax profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.domain.allocation import InstallmentParts
from shared.domain.errors import ValidationFailed
from shared.domain.money import Rounding, Rupiah, allocate, apply_rate, rupiah
from shared.domain.tax import (
    LenderTaxProfile,
    WithholdingArticle,
    vat_on,
    withholding_on,
    withholding_rule_for,
)

MAX_PLATFORM_FEE_RATE = Decimal("0.5")


@dataclass(frozen=True)
class LenderStake:
    """A lender in a loan: the principal they funded (the weight of interest and late fees),
    what of it is still outstanding (the weight of principal; all of it unless given), and
    their tax profile."""

    lender_id: str
    principal_funded: Rupiah
    tax_profile: LenderTaxProfile
    principal_outstanding: Rupiah | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.lender_id, str) or not self.lender_id:
            raise ValidationFailed("a stake names its lender", {"lender_id": "must not be empty"})
        if rupiah(self.principal_funded) <= 0:
            raise ValidationFailed(
                f"{self.lender_id!r} funded nothing", {"principal_funded": "must be > 0"}
            )
        if not 0 <= self.outstanding <= self.principal_funded:
            raise ValidationFailed(
                f"{self.lender_id!r} cannot have Rp {self.outstanding:,} outstanding of the "
                f"Rp {self.principal_funded:,} funded",
                {"principal_outstanding": "must be within 0 and principal_funded"},
            )

    @property
    def outstanding(self) -> Rupiah:
        funded, left = self.principal_funded, self.principal_outstanding
        return funded if left is None else rupiah(left)


@dataclass(frozen=True)
class LenderLine:
    """One lender's part of a repayment: gross, the platform's deductions, the tax, the net."""

    lender_id: str
    principal: Rupiah
    interest: Rupiah
    late_fee: Rupiah
    platform_fee: Rupiah
    vat: Rupiah
    withholding: Rupiah
    withholding_article: WithholdingArticle
    net: Rupiah

    @property
    def gross(self) -> Rupiah:
        return Rupiah(self.principal + self.interest + self.late_fee)


@dataclass(frozen=True)
class RepaymentSplit:
    """A repayment split to the rupiah between the platform, the tax office and the lenders."""

    on: date
    platform_fee_rate: Decimal
    collected: InstallmentParts
    lines: tuple[LenderLine, ...]

    def __post_init__(self) -> None:
        # The rulebook's invariant; a failure here is a bug, never bad input.
        assert (
            self.net_to_lenders
            + self.lender_platform_fees
            + self.lender_fee_vat
            + self.withholding
            + self.collected.fee
            + self.collected.fee_vat
            == self.collected.total
        )

    def _sum(self, part: str) -> Rupiah:
        return Rupiah(sum(getattr(line, part) for line in self.lines))

    @property
    def net_to_lenders(self) -> Rupiah:
        return self._sum("net")

    @property
    def lender_platform_fees(self) -> Rupiah:
        return self._sum("platform_fee")

    @property
    def lender_fee_vat(self) -> Rupiah:
        return self._sum("vat")

    @property
    def withholding(self) -> Rupiah:
        return self._sum("withholding")

    @property
    def platform_fee_income(self) -> Rupiah:
        """Every fee the platform earns from this repayment: the borrower's and the lenders'."""
        return Rupiah(self.collected.fee + self.lender_platform_fees)

    @property
    def vat_payable(self) -> Rupiah:
        return Rupiah(self.collected.fee_vat + self.lender_fee_vat)

    @property
    def total(self) -> Rupiah:
        """Everything split, which is always the allocated payment."""
        return Rupiah(
            self.net_to_lenders + self.platform_fee_income + self.vat_payable + self.withholding
        )


def split_to_lenders(
    collected: InstallmentParts,
    stakes: Sequence[LenderStake],
    platform_fee_rate: Decimal,
    on: date,
) -> RepaymentSplit:
    """Split what a repayment collected between the platform and the loan's lenders."""
    if not stakes:
        raise ValidationFailed("a loan has at least one lender", {"stakes": "empty"})
    lender_ids = [stake.lender_id for stake in stakes]
    if len(set(lender_ids)) != len(lender_ids):
        raise ValidationFailed(
            "each lender holds one stake per loan", {"stakes": "duplicate lender"}
        )
    if not Decimal(0) <= platform_fee_rate <= MAX_PLATFORM_FEE_RATE:
        raise ValidationFailed(
            "the platform fee rate is a fraction of interest between 0 and 0.5",
            {"platform_fee_rate": f"got {platform_fee_rate}"},
        )
    weights = [stake.principal_funded for stake in stakes]
    outstanding = [stake.outstanding for stake in stakes]
    if collected.principal > sum(outstanding):
        raise ValidationFailed(
            f"Rp {collected.principal:,} of principal collected, Rp {sum(outstanding):,} owed",
            {"collected.principal": "exceeds the lenders' outstanding principal"},
        )
    # Principal by what each lender is still owed: no lender is ever paid more principal than
    # they are owed, and the payment that clears the loan pays each exactly the rest.
    principals = (
        allocate(collected.principal, outstanding)
        if collected.principal
        else [Rupiah(0)] * len(stakes)
    )
    interests = allocate(collected.interest, weights)
    late_fees = allocate(collected.late_fee, weights)
    lines = []
    for stake, principal, interest, late_fee in zip(
        stakes, principals, interests, late_fees, strict=True
    ):
        platform_fee = apply_rate(interest, platform_fee_rate, Rounding.HALF_UP)
        vat = vat_on(platform_fee, on)
        withholding = withholding_on(interest + late_fee, stake.tax_profile)
        net = principal + interest + late_fee - platform_fee - vat - withholding
        lines.append(
            LenderLine(
                lender_id=stake.lender_id,
                principal=principal,
                interest=interest,
                late_fee=late_fee,
                platform_fee=platform_fee,
                vat=vat,
                withholding=withholding,
                withholding_article=withholding_rule_for(stake.tax_profile).article,
                net=Rupiah(net),
            )
        )
    return RepaymentSplit(on, platform_fee_rate, collected, tuple(lines))
