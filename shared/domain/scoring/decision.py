"""What a five-C decision is: the points per C, each characteristic's line, the reasons
and the grade's offer. Light on purpose: records and reviewers read decisions without
importing the engine that makes them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field

from shared.model import Model

FiveC = Literal["character", "capacity", "capital", "collateral", "condition"]
FIVE_CS: tuple[FiveC, ...] = ("character", "capacity", "capital", "collateral", "condition")
Decision = Literal["approve", "review", "reject"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class FiveCPoints(Model):
    model_config = _FROZEN

    character: int
    capacity: int
    capital: int
    collateral: int
    condition: int


class CharacteristicScore(Model):
    """One line of the breakdown a reviewer reads."""

    model_config = _FROZEN

    c: FiveC
    name: str
    value: str | None  # None: no data
    points: int
    max_points: int


class Reason(Model):
    """Why the decision is what it is: a stable `code` and a sentence."""

    model_config = _FROZEN

    code: str
    message: str
    points_lost: int = 0


class GradeOffer(Model):
    model_config = _FROZEN

    grade: str
    rate_per_month: Decimal
    max_amount: int


class ScoreDecision(Model):
    """Everything a decision keeps: model version, score, grade, each C, reasons, offer."""

    model_config = _FROZEN

    model_version: str
    total_score: int
    max_score: int
    grade: str
    decision: Decision
    points: FiveCPoints
    characteristics: tuple[CharacteristicScore, ...]
    reasons: tuple[Reason, ...]
    offer: GradeOffer
    # Every feature the engine computed (not only the card's), as text: what a future
    # scorecard is trained on, and what a reviewer's verification re-scores.
    features: dict[str, str | None] = Field(default_factory=dict)

    @property
    def knocked_out(self) -> bool:
        return any(r.code.startswith("knockout.") for r in self.reasons)
