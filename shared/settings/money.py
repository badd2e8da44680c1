"""The entity's escrow account, money limits and funding rules (`EscrowSettings`,
`FundingRulesSettings`), as `shared.platform.escrow` models them."""

from __future__ import annotations

from pydantic import Field

from shared.domain.caps import CapTableName
from shared.fields import MAX_RUPIAH
from shared.platform.escrow import EscrowAccount, FundingRules, MoneyLimits
from shared.settings.base import PlatformSettings


class EscrowSettings(PlatformSettings):
    """Adds the entity's escrow account and its smallest deposit and withdrawal.

    `PATUNGAN_ESCROW_ACCOUNT` is JSON (`{"bank_code": "014", "bank_name": "BCA",
    "account_number": "...", "account_name": "..."}`), from the entity's manifest.
    """

    escrow_account: EscrowAccount
    min_deposit: int = Field(default=MoneyLimits().min_deposit, gt=0, le=MAX_RUPIAH)
    min_withdrawal: int = Field(default=MoneyLimits().min_withdrawal, gt=0, le=MAX_RUPIAH)

    @property
    def money_limits(self) -> MoneyLimits:
        return MoneyLimits(min_deposit=self.min_deposit, min_withdrawal=self.min_withdrawal)


class FundingRulesSettings(PlatformSettings):
    """Adds the entity's funding rules (`shared.platform.escrow.FundingRules`)."""

    min_commitment: int = Field(default=FundingRules().min_commitment, gt=0, le=MAX_RUPIAH)
    max_lenders_per_loan: int = Field(default=FundingRules().max_lenders_per_loan, gt=0, le=10_000)
    concentration_floor: int = Field(
        default=FundingRules().concentration_floor, ge=0, le=MAX_RUPIAH
    )
    members_only: bool = FundingRules().members_only
    cap_table: CapTableName = FundingRules().cap_table

    @property
    def funding_rules(self) -> FundingRules:
        return FundingRules(
            min_commitment=self.min_commitment,
            max_lenders_per_loan=self.max_lenders_per_loan,
            concentration_floor=self.concentration_floor,
            members_only=self.members_only,
            cap_table=self.cap_table,
        )
