"""What the store keeps about the entity's loan products.

`products/<product id>` holds the product itself and whether new applications may use it:

    {"id": ..., "active": true, "published_at": ..., "product": <LoanProduct as JSON>}
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared.domain.products import LoanProduct
from shared.platform.store import Repository

PRODUCTS = "products"


class CatalogueEntry(BaseModel):
    """One stored product: the product itself and whether new applications may use it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    product: LoanProduct
    active: bool = True
    published_at: AwareDatetime


class Products(Repository[CatalogueEntry]):
    collection = PRODUCTS
    model = CatalogueEntry
