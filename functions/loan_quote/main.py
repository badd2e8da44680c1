"""`loan_quote`: the public loan calculator (HTTP, no token needed, creates nothing).

`POST /` with `principal`, `tenor`, `disbursement_date` and either explicit
`terms` or a `product_id` answers the installments, totals, daily cost rate
and cap check (contract: shared/services/quotes.py). Explicit terms need no
configuration, network or database; a `product_id` reads the entity's
catalogue from Firestore, built on the first such request.

A bearer token is optional. When one is sent it is verified like everywhere
else (PATUNGAN_AUTH_* settings); a deployment without them answers such a
request 401 and asks for it without a token.

Configuration: none for explicit terms; product quotes and verifying a token read
`shared.settings.QuoteSettings` (its `PlatformSettings` part for the catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.http.errors import Unauthenticated
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.log import configure_logging
from shared.platform.callers import Caller, TokenVerifier
from shared.platform.store import UnitOfWork
from shared.records.quotes import QuoteResponse
from shared.services.quotes import QuoteRequest, quote_loan

router: Router[QuoteServices] = Router(
    "loan_quote", description="Public loan calculator: schedule, totals and cap check."
)


@router.post("/", body=QuoteRequest, response=QuoteResponse, public=True)
def quote(call: Call[QuoteRequest, QuoteServices]) -> QuoteResponse:
    """Quote a loan.

    Either `product_id` (priced at the product's maximum rate) or explicit `terms`.
    A quote that breaches a cap is still answered, with `cap_check.compliant` false.
    """
    catalogue = call.services.catalogue.get() if call.body.product_id else None
    return quote_loan(call.body, catalogue)


# --- dependencies, built on first use -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class QuoteServices(HttpServices):
    catalogue: Lazy[UnitOfWork]  # the product store, built on the first product quote


class _VerifierWhenConfigured(TokenVerifier):
    """Verifies a token only if one is sent, with the settings built at that moment."""

    def __init__(self) -> None:
        self._verifier = Lazy(self._build)

    @staticmethod
    def _build() -> TokenVerifier | None:
        from shared.adapters.auth import token_verifier
        from shared.settings import ConfigurationError, QuoteSettings, load_settings

        try:
            return token_verifier(load_settings(QuoteSettings))
        except ConfigurationError:
            return None

    def verify(self, token: str) -> Caller:
        verifier = self._verifier.get()
        if verifier is None:
            raise Unauthenticated("this calculator is public: send the request without a token")
        return verifier.verify(token)


def _catalogue() -> UnitOfWork:
    from shared.http.wiring import unit_of_work
    from shared.settings import PlatformSettings, load_settings

    return unit_of_work(load_settings(PlatformSettings))


def _services() -> QuoteServices:
    configure_logging()
    return QuoteServices(verifier=_VerifierWhenConfigured(), catalogue=Lazy(_catalogue))


services: Lazy[QuoteServices] = Lazy(_services)


@functions_framework.http
def loan_quote(request: Any) -> Any:
    return router.handle(request, services.get())
