"""What the store keeps about lenders' stakes in loans (docs/lending-rules.md#funding).

`participations/<loan id>~<lender id>`: one per lender per loan. Each commitment adds to
`committed` (moved from the lender's available to committed balance in the same
transaction); a second commitment by the same lender adds to the same stake. When the loan
is disbursed the stake becomes the lender's `principal_funded` and the participation is
`active`; when the loan expires or is cancelled it is `released` (committed back to
available).

    committed ──disburse──▶ active
        └──────release─────▶ released
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, ConfigDict

from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository

PARTICIPATIONS = "participations"

ParticipationState = Literal["committed", "active", "released"]


def participation_id(loan_id: str, lender_id: str) -> str:
    return f"{loan_id}~{lender_id}"


class Commitment(Model):
    """One commitment to the stake: its id (the ledger entry is `commitment-<id>`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    amount: int
    at: AwareDatetime
    via: Literal["manual", "auto_invest"]


class ParticipationRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    loan_id: str
    lender_id: str
    affiliate_group_id: str | None = None
    professional: bool = False
    state: ParticipationState = "committed"
    committed: int
    commitments: tuple[Commitment, ...] = ()
    principal_funded: int = 0  # set at disbursement
    # What repayments paid the lender so far (docs/lending-rules.md#billing-split).
    principal_received: int = 0
    interest_received: int = 0
    late_fee_received: int = 0
    platform_fee_paid: int = 0
    vat_paid: int = 0
    withholding_paid: int = 0
    net_received: int = 0
    # The lender's loss when the loan was written off: their outstanding principal then
    # (docs/lending-rules.md#write-off). Recoveries afterwards add to `principal_received`.
    principal_written_off: int = 0

    @property
    def outstanding_principal(self) -> int:
        return self.principal_funded - self.principal_received if self.state == "active" else 0

    created_at: Instant
    updated_at: Instant


class Participations(Repository[ParticipationRecord]):
    collection = PARTICIPATIONS
    model = ParticipationRecord
