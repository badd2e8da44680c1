"""What the store keeps about lenders' withdrawals (docs/lending-rules.md#deposits-and-withdrawals).

`withdrawals/<withdrawal id>`: a lender's request to be paid out to their verified bank
account. The request moves the amount from available to reserved at once; one
`admin.finance` approves it for transfer and a different one confirms the bank transfer
(reserved leaves the platform with the escrow cash, with the bank's reference and value
date). A rejection returns reserved to available; a transfer the bank returns is recorded
as `returned`: the payout and the reservation are both reversed, so the money is
available again.

    requested ──approve──▶ approved ──confirm──▶ confirmed ──return──▶ returned
        └─────reject─────────┴──▶ rejected
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict

from shared.domain.maker_checker import Checked, Made
from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository
from shared.records.deposits import BankAccountRef

WITHDRAWALS = "withdrawals"

WithdrawalState = Literal["requested", "approved", "confirmed", "rejected", "returned"]


class WithdrawalRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    lender_id: str
    amount: int
    to_account: BankAccountRef
    state: WithdrawalState = "requested"
    requested: Made
    requested_at: Instant
    updated_at: Instant
    approved: Made | None = None  # the maker of the transfer; the confirmer must differ
    confirmed: Checked | None = None
    bank_reference: str | None = None
    value_date: date | None = None  # the day the bank sent it
    rejected: Checked | None = None
    returned: Checked | None = None
    returned_on: date | None = None
    line_id: str | None = None  # the statement line showing the transfer
    return_line_id: str | None = None  # the statement line showing the money come back
    reason: str | None = None  # why it was rejected or returned


class Withdrawals(Repository[WithdrawalRecord]):
    collection = WITHDRAWALS
    model = WithdrawalRecord
