"""The settings of `scoring`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import PushSettings
from shared.settings.pii import PiiSettings
from shared.settings.providers import ProviderSettings
from shared.settings.scoring import ScorecardRoutingSettings


class ScoringSettings(PushSettings, PiiSettings, ProviderSettings, ScorecardRoutingSettings):
    """`scoring`: its pushes' tokens, the PII key (the providers are asked about the NIK),
    the providers, and the default champion/challenger routing."""
