"""What the store keeps about money the platform takes out of escrow for itself and for the
tax office (docs/lending-rules.md#fee-sweep-and-tax-remittance).

`remittances/<id>`: one proposal by an `admin.finance`, approved by a different one with the
bank's reference and value date, and only then posted as `remittance-<id>`:

- a fee sweep (`kind="fee_sweep"`): fee income net of the gateway's fees (`fee_amount`) and
  the VAT on the platform's fees (`vat_amount`) leave escrow for the operating account;
  `expenses_closed` is the gateway's fees closed against fee income when it was posted.
- a tax payment (`kind="tax_payment"`): withholding (`withholding_amount`) paid to the state
  under a billing code (kode billing) for one article and tax period.

      proposed ──approve (another admin)──▶ posted
          └─────reject──────────────────────▶ rejected
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict

from shared.domain.maker_checker import Checked, Made
from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository

REMITTANCES = "remittances"

RemittanceKind = Literal["fee_sweep", "tax_payment"]
RemittanceState = Literal["proposed", "posted", "rejected"]
TaxArticle = Literal["pph23", "pph26"]


class RemittanceRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: RemittanceKind
    state: RemittanceState = "proposed"
    fee_amount: int = 0  # a sweep: fee income net of the gateway's fees
    vat_amount: int = 0  # a sweep: VAT payable
    withholding_amount: int = 0  # a tax payment: withholding payable
    article: TaxArticle | None = None  # a tax payment: the article its billing code is for
    tax_period: str | None = None  # a tax payment: YYYY-MM
    billing_code: str | None = None  # a tax payment: the kode billing it pays
    reason: str
    proposed: Made
    proposed_at: Instant
    decided: Checked | None = None
    decision_note: str | None = None
    bank_reference: str | None = None
    value_date: date | None = None
    expenses_closed: int = 0  # a sweep: payment_fees_expense closed against fee income
    entry_id: str | None = None
    updated_at: Instant

    @property
    def total(self) -> int:
        """What leaves escrow when it is posted."""
        return self.fee_amount + self.vat_amount + self.withholding_amount


class Remittances(Repository[RemittanceRecord]):
    collection = REMITTANCES
    model = RemittanceRecord
