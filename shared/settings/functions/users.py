"""The settings of `users`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.pii import PiiSettings
from shared.settings.providers import ProviderSettings


class UsersSettings(HttpSettings, PiiSettings, ProviderSettings):
    """`users`: auth, the PII key, and the civil registry registrations are checked with."""
