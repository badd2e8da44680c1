"""The entity's escrow account, money limits and funding rules: configuration the money
services are given.

Every lender's money sits in one escrow bank account of the entity (docs/lending-rules.md#ledger);
lenders transfer to it and are paid from it. Its details come from the entity's manifest
(`infra/entities/<entity>.json`, `escrow`) through `shared.settings.EscrowSettings`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.caps import CAP_TABLES, CapTable, CapTableName
from shared.fields import MAX_RUPIAH, Name
from shared.model import Model


class EscrowAccount(Model):
    """Where lenders transfer their deposits: the bank, the account and its name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_code: Annotated[str, Field(pattern=r"^\d{3}$")]
    bank_name: Name
    account_number: Annotated[str, Field(pattern=r"^\d{6,20}$")]
    account_name: Name


class FundingRules(Model):
    """How the entity's loans are funded (docs/lending-rules.md#funding): the smallest
    commitment, the most lenders one loan may have, the platform outstanding below which
    the lender concentration and non-professional share caps are not yet enforced, whether
    only members lend and borrow (a cooperative, docs/lending-rules.md#cooperative), and
    which cap table the lenders' limits come from (`shared.domain.caps.CAP_TABLES`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_commitment: Annotated[int, Field(gt=0, le=MAX_RUPIAH)] = 100_000
    max_lenders_per_loan: Annotated[int, Field(gt=0, le=10_000)] = 1_000
    concentration_floor: Annotated[int, Field(ge=0, le=MAX_RUPIAH)] = 10_000_000_000
    members_only: bool = False
    cap_table: CapTableName = "lpbbti"

    @property
    def caps(self) -> CapTable:
        """The cap table the entity's funding is checked against."""
        return CAP_TABLES[self.cap_table]


class MoneyLimits(Model):
    """The entity's smallest deposit and withdrawal, in rupiah."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_deposit: Annotated[int, Field(gt=0, le=MAX_RUPIAH)] = 100_000
    min_withdrawal: Annotated[int, Field(gt=0, le=MAX_RUPIAH)] = 50_000
