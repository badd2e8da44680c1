"""`products`: the entity's loan product catalogue, managed by `admin.super`.

Routes (rules in shared/services/catalogue.py; permission `product.manage`):
- `GET /` — the catalogue: each product's active version.
- `GET /{product_id}` — one product and every version of it.
- `POST /` — propose a product's next version; refused with the failing cap rules.
- `POST /{product_id}/versions/{version}/activate`, `/reject` — a second admin.super
  decides (maker-checker); activation checks the caps again, on the day.
- `POST /{product_id}/retire` — new applications are refused; loans keep their version.

Configuration: `shared.settings.ProductsSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.records.products import CatalogueEntry, ProductVersionRecord
from shared.services.catalogue import (
    Catalogue,
    ProductHistory,
    ProductProposal,
    decide_product_version,
    list_catalogue,
    product_history,
    propose_product_version,
    retire_product,
)

router: Router[ProductServices] = Router(
    "products", description="The loan product catalogue: versions proposed, activated, retired."
)
MANAGE = Permission.PRODUCT_MANAGE


@router.get("/", response=Catalogue, permission=MANAGE)
def catalogue(call: Call[None, ProductServices]) -> Catalogue:
    """The catalogue: each product's active version and whether it takes applications."""
    return list_catalogue(call.uow)


@router.get("/{product_id}", response=ProductHistory, permission=MANAGE)
def history(call: Call[None, ProductServices]) -> ProductHistory:
    """One product and every version of it, newest first."""
    return product_history(call.uow, call.path["product_id"])


@router.post(
    "/",
    body=ProductProposal,
    response=ProductVersionRecord,
    status=201,
    permission=MANAGE,
    idempotent=True,
)
def propose(call: Call[ProductProposal, ProductServices]) -> ProductVersionRecord:
    """Propose a product's next version (checked against every cap in force today)."""
    return propose_product_version(
        call.uow, call.body, admin_id=call.caller.user_id, clock=call.services.clock
    )


def _decide(call: Call[None, ProductServices], *, activate: bool) -> ProductVersionRecord:
    version = call.path["version"]
    return decide_product_version(
        call.uow,
        call.path["product_id"],
        int(version) if version.isdigit() else -1,
        activate=activate,
        admin_id=call.caller.user_id,
        clock=call.services.clock,
    )


@router.post(
    "/{product_id}/versions/{version}/activate",
    response=ProductVersionRecord,
    permission=MANAGE,
    idempotent=True,
)
def activate(call: Call[None, ProductServices]) -> ProductVersionRecord:
    """Activate a version another admin.super proposed; new applications use it."""
    return _decide(call, activate=True)


@router.post(
    "/{product_id}/versions/{version}/reject",
    response=ProductVersionRecord,
    permission=MANAGE,
    idempotent=True,
)
def reject(call: Call[None, ProductServices]) -> ProductVersionRecord:
    """Reject a version another admin.super proposed."""
    return _decide(call, activate=False)


@router.post("/{product_id}/retire", response=CatalogueEntry, permission=MANAGE, idempotent=True)
def retire(call: Call[None, ProductServices]) -> CatalogueEntry:
    """Retire a product: new applications are refused, its loans keep their terms."""
    return retire_product(call.uow, call.path["product_id"], clock=call.services.clock)


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProductServices(HttpServices):
    pass


def _services() -> ProductServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import ProductsSettings, load_settings

    settings = load_settings(ProductsSettings)
    uow = unit_of_work(settings)
    return http_services(settings, ProductServices, uow=uow, callers=UserDirectory(uow))


services: Lazy[ProductServices] = Lazy(_services)


@functions_framework.http
def products(request: Any) -> Any:
    return router.handle(request, services.get())
