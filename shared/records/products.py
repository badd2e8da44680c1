"""What the store keeps about the entity's loan products: immutable versions, and the
catalogue entry that names the one new applications use.

- `product_versions/<product id>@v<n>`: one version of a product, never edited once
  written (a change is a new version): its terms, who proposed it and who activated it.
  A loan records the version it was priced with (`LoanRecord.product_version`), so its
  terms are read from here for the rest of its life.
- `products/<product id>`: the catalogue entry: the active version's terms and number,
  and whether new applications may use the product (`active`; a retired product keeps
  pricing the loans that already use it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, ConfigDict

from shared.domain.maker_checker import Checked, Made
from shared.domain.products import LoanProduct
from shared.model import Model
from shared.platform.store import Repository

PRODUCTS = "products"
PRODUCT_VERSIONS = "product_versions"


class CatalogueEntry(Model):
    """`products/<id>`: the product's active version and whether new applications may use it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    product: LoanProduct
    active: bool = True
    published_at: AwareDatetime
    version: int = 1


class Products(Repository[CatalogueEntry]):
    collection = PRODUCTS
    model = CatalogueEntry


def version_key(product_id: str, version: int) -> str:
    return f"{product_id}@v{version}"


class ProductVersionRecord(Model):
    """`product_versions/<id>@v<n>`: one version of a product's terms, never edited."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key: str
    product_id: str
    version: int
    product: LoanProduct
    state: Literal["proposed", "active", "superseded", "rejected"]
    proposed: Made
    activated: Checked | None = None


class ProductVersions(Repository[ProductVersionRecord]):
    collection = PRODUCT_VERSIONS
    model = ProductVersionRecord
    key_field = "key"
