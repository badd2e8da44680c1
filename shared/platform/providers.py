"""The credit-data providers port: who is asked about, and the answers scoring reads.

Implemented by `shared.adapters.providers.ProvidersClient` (civil registry, credit bureau,
marketplace sales, business profiles over HTTP), faked by its `InMemoryProviders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from shared.domain.identity import mask_nik

if TYPE_CHECKING:  # the provider answer models are imported only where they are used
    from shared.domain.scoring.providers import ProviderData


@dataclass(frozen=True)
class ProviderQuery:
    """Who the credit data providers are asked about: the applicant and when they applied."""

    nik: str = field(repr=False)
    full_name: str = field(repr=False)
    birth_date: date
    store_ids: tuple[str, ...]
    applied_on: date

    def __repr__(self) -> str:
        return f"ProviderQuery(nik={mask_nik(self.nik)}, stores={self.store_ids!r})"


class ProviderDataSource(Protocol):
    """The providers port the scorer reads (civil registry, credit bureau, sales, profiles)."""

    def gather(self, query: ProviderQuery) -> ProviderData:
        """Every provider's answer, or `ProviderUnavailable` with the reason; never raises
        for a provider's failure."""
        ...
