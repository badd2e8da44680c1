"""The entity's loan product catalogue: versions proposed, activated, retired, and read.

Products are data, not code (docs/lending-rules.md#loan-products). Each change of a
product's terms is a new immutable version (`shared/records/products.py`); the catalogue
entry names the version new applications use, and each loan keeps the version it was
priced with, so no change of a product ever reaches a loan that used an older version.

- `propose_product_version`: an `admin.super` proposes new terms; they are checked against
  every cap in force (`shared.domain.caps.check_product`) and refused with the failing
  rules, or stored as the product's next version, `proposed`.
- `activate_product_version`: a second `admin.super` activates it (maker-checker); the
  caps are checked again on the day, the previous active version is `superseded`.
- `retire_product`: new applications are refused; loans already using it are untouched.
- `load_product` / `open_product`: how a use case reads the active product; an unknown or
  retired one is a `ValidationFailed` on the request's `product_id` field (a 422).
- `product_of`: the version a loan was priced with.
- `publish_catalogue`: seeding, for the local platform and an entity's first catalogue:
  every product of a catalogue file active at once, recorded as made and checked by
  `seeded_by` (an ops ticket or the local runner), bypassing maker-checker by design. The
  local runner seeds `shared/domain/data/products.json` (`sample_catalogue()`) this way.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from pydantic import ConfigDict

from shared.domain.caps import check_product
from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.maker_checker import Checked, Made, checked
from shared.domain.products import LoanProduct, ProductCatalogue, parse_catalogue
from shared.model import Model
from shared.platform.clock import Clock, jakarta_date
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, JsonDict, OrderBy, UnitOfWork, Where
from shared.records.products import (
    PRODUCTS,
    CatalogueEntry,
    Products,
    ProductVersionRecord,
    ProductVersions,
    version_key,
)


def load_product(tx: DocumentTransaction, product_id: str) -> LoanProduct:
    """The active product `product_id`, or `ValidationFailed` on the `product_id` field."""
    return open_product(tx.get(PRODUCTS, product_id), product_id).product


def open_product(stored: JsonDict | None, product_id: str) -> CatalogueEntry:
    """The catalogue entry stored as `stored` if its product is open for applications, or
    `ValidationFailed` on the `product_id` field (for a use case that read it with other
    documents)."""
    entry = None if stored is None else CatalogueEntry.model_validate(stored)
    if entry is None or not entry.active:
        raise ValidationFailed(
            f"there is no product {product_id!r} open for applications",
            {"product_id": f"unknown or retired product {product_id!r}"},
        )
    return entry


def product_of(tx: DocumentTransaction, product_id: str, version: int | None) -> LoanProduct:
    """The terms a loan was priced with: its version, or the catalogue entry for a loan
    priced before versions were recorded. `NotFound` when neither exists."""
    if version is not None:
        recorded = ProductVersions(tx).get(version_key(product_id, version))
        if recorded is not None:
            return recorded.product
    entry = Products(tx).get(product_id)
    if entry is None:
        raise NotFound(f"product {product_id!r} does not exist")
    return entry.product


# --- versions: proposed by one admin.super, activated by another -----------------------------


class ProductProposal(Model):
    """`POST /products`: the terms of a product's next version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product: LoanProduct


class ProductHistory(Model):
    """A product's catalogue entry (if any version was activated) and all its versions."""

    model_config = ConfigDict(frozen=True)

    entry: CatalogueEntry | None
    versions: tuple[ProductVersionRecord, ...]


class Catalogue(Model):
    model_config = ConfigDict(frozen=True)

    products: tuple[CatalogueEntry, ...]


MAX_VERSIONS_READ = 100


def _versions(tx: DocumentTransaction, product_id: str) -> list[ProductVersionRecord]:
    return ProductVersions(tx).find(
        Where("product_id", "==", product_id),
        order_by=(OrderBy("version", descending=True),),
        limit=MAX_VERSIONS_READ,
    )


def propose_product_version(
    uow: UnitOfWork, proposal: ProductProposal, *, admin_id: str, clock: Clock
) -> ProductVersionRecord:
    """The next version of `proposal.product`, `proposed`, if it meets every cap today."""
    now = clock.now()
    product = proposal.product
    check_product(product, on=jakarta_date(now)).raise_if_violated()

    def propose(tx: DocumentTransaction) -> ProductVersionRecord:
        latest = _versions(tx, product.id)
        version = (latest[0].version if latest else 0) + 1
        record = ProductVersionRecord(
            key=version_key(product.id, version),
            product_id=product.id,
            version=version,
            product=product,
            state="proposed",
            proposed=Made(by=admin_id, at=now),
        )
        ProductVersions(tx).add(record)
        return record

    return uow.run(propose)


def decide_product_version(
    uow: UnitOfWork,
    product_id: str,
    version: int,
    *,
    activate: bool,
    admin_id: str,
    clock: Clock,
) -> ProductVersionRecord:
    """A second `admin.super` activates a proposed version (checked against the caps again,
    on the day) or rejects it; whoever proposed it cannot."""
    require_document_id(product_id, "product")
    now = clock.now()

    def decide(tx: DocumentTransaction) -> ProductVersionRecord:
        versions, products = ProductVersions(tx), Products(tx)
        record = versions.get(version_key(product_id, version))
        entry = products.get(product_id)
        if record is None:
            raise NotFound(f"product {product_id!r} has no version {version}")
        if record.state != "proposed":
            raise Conflict(f"version {version} of {product_id} is {record.state}")
        action = "activate this product version" if activate else "reject this product version"
        decision = checked(admin_id, record.proposed, now, action=action)
        if not activate:
            rejected = record.model_copy(update={"state": "rejected", "activated": decision})
            versions.put(rejected)
            return rejected
        check_product(record.product, on=jakarta_date(now)).raise_if_violated()
        if entry is not None and entry.version != version:
            previous = versions.get(version_key(product_id, entry.version))
            if previous is not None:
                versions.put(previous.model_copy(update={"state": "superseded"}))
        active = record.model_copy(update={"state": "active", "activated": decision})
        versions.put(active)
        products.put(
            CatalogueEntry(
                id=product_id,
                product=record.product,
                active=True,
                published_at=now,
                version=version,
            )
        )
        return active

    return uow.run(decide)


def retire_product(uow: UnitOfWork, product_id: str, *, clock: Clock) -> CatalogueEntry:
    """New applications for `product_id` are refused; its loans keep their version."""
    require_document_id(product_id, "product")
    now = clock.now()

    def retire(tx: DocumentTransaction) -> CatalogueEntry:
        products = Products(tx)
        entry = products.get(product_id)
        if entry is None:
            raise NotFound(f"there is no product {product_id!r} in the catalogue")
        if not entry.active:
            raise Conflict(f"product {product_id} is already retired")
        retired = entry.model_copy(update={"active": False, "published_at": now})
        products.put(retired)
        return retired

    return uow.run(retire)


def list_catalogue(uow: UnitOfWork) -> Catalogue:
    entries = uow.run(lambda tx: Products(tx).find(limit=MAX_VERSIONS_READ), read_only=True)
    return Catalogue(products=tuple(sorted(entries, key=lambda e: e.id)))


def product_history(uow: UnitOfWork, product_id: str) -> ProductHistory:
    require_document_id(product_id, "product")

    def read(tx: DocumentTransaction) -> ProductHistory:
        entry = Products(tx).get(product_id)
        versions = _versions(tx, product_id)
        if entry is None and not versions:
            raise NotFound(f"there is no product {product_id!r}")
        return ProductHistory(entry=entry, versions=tuple(versions))

    return uow.run(read, read_only=True)


# --- seeding ----------------------------------------------------------------------------------


def publish_catalogue(
    uow: UnitOfWork, catalogue: ProductCatalogue, now: datetime, *, seeded_by: str = "seed"
) -> tuple[str, ...]:
    """Activate every product of `catalogue` at once (see the module docstring); a product
    whose active terms are already these is left as it is. Returns the products' ids."""

    def publish(tx: DocumentTransaction) -> tuple[str, ...]:
        products, versions = Products(tx), ProductVersions(tx)
        current = products.get_many([product.id for product in catalogue.products])
        for product in catalogue.products:
            entry = current[product.id]
            if entry is not None and entry.product == product and entry.active:
                continue
            version = (entry.version + 1) if entry is not None else 1
            versions.put(
                ProductVersionRecord(
                    key=version_key(product.id, version),
                    product_id=product.id,
                    version=version,
                    product=product,
                    state="active",
                    proposed=Made(by=seeded_by, at=now),
                    activated=Checked(by=seeded_by, at=now),
                )
            )
            products.put(
                CatalogueEntry(
                    id=product.id, product=product, active=True, published_at=now, version=version
                )
            )
        return tuple(product.id for product in catalogue.products)

    return uow.run(publish)


def sample_catalogue() -> ProductCatalogue:
    """The sample catalogue shipped with the code (priced within the 2026 OJK caps)."""
    text = resources.files("shared.domain").joinpath("data", "products.json").read_text("utf-8")
    return parse_catalogue(text)
