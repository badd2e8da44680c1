"""The settings of `treasury`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings


class TreasurySettings(HttpSettings):
    """`treasury`: auth."""
