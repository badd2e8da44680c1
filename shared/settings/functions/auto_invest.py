"""The settings of `auto_invest`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import PushSettings
from shared.settings.money import FundingRulesSettings


class AutoInvestSettings(PushSettings, FundingRulesSettings):
    """`auto_invest`: its pushes' tokens and the entity's funding rules."""
