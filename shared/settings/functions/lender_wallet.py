"""The settings of `lender_wallet`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.money import EscrowSettings
from shared.settings.pii import PiiSettings


class WalletSettings(HttpSettings, PiiSettings, EscrowSettings):
    """`lender_wallet`: auth, the PII key (a sender account is compared by its hash), and the
    escrow account deposits go to."""
