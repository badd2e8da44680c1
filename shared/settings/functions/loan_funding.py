"""The settings of `loan_funding`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.money import FundingRulesSettings


class FundingSettings(HttpSettings, FundingRulesSettings):
    """`loan_funding`: auth and the entity's funding rules."""
