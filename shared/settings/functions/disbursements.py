"""The settings of `disbursements`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.pii import PiiSettings
from shared.settings.providers import ProviderSettings


class DisbursementSettings(HttpSettings, PiiSettings, ProviderSettings):
    """`disbursements`: auth, the PII key (to read the borrower's account number) and the
    bank's account inquiry the payout account is verified with."""
