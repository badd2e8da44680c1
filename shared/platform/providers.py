"""The providers ports: who the credit-data providers are asked about, and the answers
scoring reads; and the bank's account inquiry, which names an account's holder before a
payout (docs/lending-rules.md#disbursement).

Implemented by `shared.adapters.providers.ProvidersClient` (civil registry, credit bureau,
marketplace sales, business profiles, account inquiry over HTTP), faked by its
`InMemoryProviders` and `InMemoryBankAccounts`.
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


@dataclass(frozen=True)
class AccountHolder:
    """The bank's answer to an account inquiry: the name the account is held in."""

    account_holder: str = field(repr=False)


@dataclass(frozen=True)
class InquiryUnavailable:
    """The account inquiry could not be answered now (timed out, 5xx, a bad key), and why."""

    reason: str


class BankAccountInquiry(Protocol):
    """The bank's account inquiry (a name check before money is sent to an account)."""

    def inquire_bank_account(
        self, bank_code: str, account_number: str
    ) -> AccountHolder | InquiryUnavailable | None:
        """The account's holder; None when the bank has no such account; never raises for
        the bank's failure."""
        ...
