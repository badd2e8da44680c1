"""The settings of `loan_quote`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings


class QuoteSettings(HttpSettings):
    """`loan_quote`: a token is optional; product quotes read the catalogue (Firestore)."""
