"""The champion/challenger routing in force until an `admin.credit` promotes one
(`ScorecardRoutingSettings`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, ValidationError, model_validator

from shared.domain.scoring.routing import ScorecardRouting
from shared.settings.base import PlatformSettings


class ScorecardRoutingSettings(PlatformSettings):
    """Adds the champion/challenger routing in force until an `admin.credit` promotes one
    (docs/lending-rules.md#champion-and-challenger): the champion `scorecard_version`, and
    optionally a challenger version with the share of borrowers it scores (0 to 0.5)."""

    scorecard_version: str = Field(default="v1", pattern=r"^v\d+$")
    scorecard_challenger_version: str | None = Field(default=None, pattern=r"^v\d+$")
    scorecard_challenger_share: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("0.5"))

    @model_validator(mode="after")
    def _routing_is_coherent(self) -> ScorecardRoutingSettings:
        self.default_scorecard_routing()  # raises ValueError, named by load_settings
        return self

    def default_scorecard_routing(self) -> ScorecardRouting:
        """The routing scoring uses while none was promoted."""
        try:
            return ScorecardRouting(
                champion=self.scorecard_version,
                challenger=self.scorecard_challenger_version,
                challenger_share=self.scorecard_challenger_share,
            )
        except ValidationError as exc:
            raise ValueError(
                "PATUNGAN_SCORECARD_CHALLENGER_VERSION and _SHARE: "
                + "; ".join(e["msg"] for e in exc.errors())
            ) from None
