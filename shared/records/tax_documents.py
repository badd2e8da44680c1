"""What the store keeps about a lender's tax documents.

`tax_documents/<document id>`: a certificate of domicile (a non-resident's treaty rate, with
the dates it is valid) or a withholding-exemption letter (a resident institution's PPh
23(4) basis), its uploaded file, and its verification by `admin.finance`: the platform
withholds the tax, so it applies a treaty rate or an exemption only from a document it
verified and only on days the document covers (docs/lending-rules.md#fees-and-taxes).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, ConfigDict

from shared.domain.maker_checker import Checked, Made
from shared.model import Model
from shared.platform.store import Repository

TAX_DOCUMENTS = "tax_documents"

TaxDocumentKind = Literal["certificate_of_domicile", "withholding_exemption"]


class TaxDocumentRecord(Model):
    """`tax_documents/<id>`: one document a lender filed, and what `admin.finance` decided."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    user_id: str
    kind: TaxDocumentKind
    country: str | None = None  # of residence, for a certificate of domicile
    treaty_rate: Decimal | None = None
    valid_from: date
    valid_to: date
    object_name: str
    content_type: str
    state: Literal["pending", "verified", "rejected"] = "pending"
    filed: Made
    decided: Checked | None = None
    narrative: str | None = None
    filed_at: AwareDatetime

    def in_force(self, on: date) -> bool:
        return self.state == "verified" and self.valid_from <= on <= self.valid_to


class TaxDocuments(Repository[TaxDocumentRecord]):
    collection = TAX_DOCUMENTS
    model = TaxDocumentRecord
