"""The entity's loan product catalogue in the document store, and how it is seeded.

Products are data, not code (docs/lending-rules.md#loan-products): each entity's catalogue lives
in the
`products` collection, one document per product, keyed by the product id:

    products/<product id> = {"id": ..., "active": true, "published_at": ...,
                             "product": <LoanProduct as JSON>}

`load_product(tx, product_id)` is how a use case reads one: an unknown or
retired product is a `ValidationFailed` on the request's `product_id` field
(a 422 naming the field), never a 500. `publish_catalogue(uow, catalogue, now)`
writes a whole catalogue in one transaction (products not in it are left as
they are: retire one by publishing it with `active=False`). It is what the
local runner calls to seed the sample catalogue shipped in
`shared/domain/data/products.json` (`sample_catalogue()`), and what an ops
script would call with an entity's own file.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from shared.domain.errors import ValidationFailed
from shared.domain.products import LoanProduct, ProductCatalogue, parse_catalogue
from shared.platform.store import DocumentTransaction, JsonDict, UnitOfWork
from shared.records.products import PRODUCTS, CatalogueEntry, Products


def load_product(tx: DocumentTransaction, product_id: str) -> LoanProduct:
    """The active product `product_id`, or `ValidationFailed` on the `product_id` field."""
    return open_product(tx.get(PRODUCTS, product_id), product_id)


def open_product(stored: JsonDict | None, product_id: str) -> LoanProduct:
    """The product stored as `stored` if it is open for applications, or `ValidationFailed`
    on the `product_id` field (for a use case that read it with other documents)."""
    entry = None if stored is None else CatalogueEntry.model_validate(stored)
    if entry is None or not entry.active:
        raise ValidationFailed(
            f"there is no product {product_id!r} open for applications",
            {"product_id": f"unknown or retired product {product_id!r}"},
        )
    return entry.product


def publish_catalogue(
    uow: UnitOfWork, catalogue: ProductCatalogue, now: datetime, *, active: bool = True
) -> tuple[str, ...]:
    """Store every product of `catalogue` (replacing same-id products); returns their ids."""

    def publish(tx: DocumentTransaction) -> tuple[str, ...]:
        products = Products(tx)
        for product in catalogue.products:
            products.put(
                CatalogueEntry(id=product.id, product=product, active=active, published_at=now)
            )
        return tuple(product.id for product in catalogue.products)

    return uow.run(publish)


def sample_catalogue() -> ProductCatalogue:
    """The sample catalogue shipped with the code (priced within the 2026 OJK caps)."""
    text = resources.files("shared.domain").joinpath("data", "products.json").read_text("utf-8")
    return parse_catalogue(text)
