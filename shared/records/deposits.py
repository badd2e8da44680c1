"""What the store keeps about lenders' deposits (docs/lending-rules.md#deposits-and-withdrawals).

`deposits/<deposit id>`: a top-up a lender declared (a bank transfer to the escrow account,
from their own bank account, with the reference they wrote on it), its match to a line of
the escrow account's bank statement by one `admin.finance`, and its confirmation by a
different one, which credits the lender's available balance from suspense, where the
imported line put the money. A rejected deposit credits nothing.

A top-up paid into the lender's virtual account at the payment gateway is a deposit too
(`via="virtual_account"`): the gateway's signed notice created it confirmed, so it has no
sender account, no statement line and no admin behind it (`payment_id` names the notice).

    declared ──match──▶ matched ──confirm──▶ confirmed
        │   ◀──unmatch──   │
        └──────reject──────┴──▶ rejected
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from shared.domain.maker_checker import Checked, Made
from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository

DEPOSITS = "deposits"

DepositState = Literal["declared", "matched", "confirmed", "rejected"]


class BankAccountRef(Model):
    """A bank account as money records keep it: the number only masked and as its keyed
    hash (to compare with a statement line), never in clear."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    bank_code: str
    account_number_masked: str
    account_number_hash: str
    account_holder: str


class DepositRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    lender_id: str
    amount: int
    sender: BankAccountRef | None  # None for a virtual-account top-up
    transfer_reference: str
    state: DepositState = "declared"
    declared_at: Instant
    updated_at: Instant
    line_id: str | None = None  # the statement line it is matched to
    matched: Made | None = None
    confirmed: Checked | None = None
    entry_id: str | None = None  # the ledger entry crediting the lender
    rejected: Checked | None = None
    reason: str | None = None  # why it was rejected or unmatched
    via: Literal["bank_transfer", "virtual_account"] = "bank_transfer"
    payment_id: str | None = None  # a virtual-account top-up: the gateway's notice

    def declared_sender(self) -> BankAccountRef:
        """The account a declared transfer comes from (every bank-transfer deposit has one)."""
        if self.sender is None:
            raise ValueError(f"deposit {self.id} came through a virtual account: no sender")
        return self.sender


class Deposits(Repository[DepositRecord]):
    collection = DEPOSITS
    model = DepositRecord
