"""`credit_decisions/<loan id>`: the scorecard's full decision on a loan, kept for audit and review.

One document per loan — the scorecard version that scored it (champion or
challenger, docs/lending-rules.md#champion-and-challenger), the model version,
each C's points, every characteristic with its value and points, the reasons,
and which providers were unavailable — written by the scoring use case in the transaction that
moves the loan, and read by `admin.credit` reviewers. Keyed by the loan id, so
a loan has at most one automated decision.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field

from shared.domain.scoring.decision import CharacteristicScore, FiveCPoints, GradeOffer, Reason
from shared.model import Model
from shared.platform.store import Repository

CREDIT_DECISIONS = "credit_decisions"


class CreditDecisionRecord(Model):
    """`credit_decisions/<loan id>`: the scorecard's full decision, kept for audit and review."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    loan_id: str
    borrower_id: str
    # The scorecard file that scored it (`v1`); None on decisions made before routing.
    scorecard_version: str | None = None
    model_version: str
    total_score: int
    max_score: int
    grade: str
    decision: Literal["approve", "review", "reject"]
    points: FiveCPoints
    characteristics: tuple[CharacteristicScore, ...]
    reasons: tuple[Reason, ...]
    offer: GradeOffer
    providers_unavailable: dict[str, str] = Field(default_factory=dict)
    decided_at: AwareDatetime
    event_id: str  # the loan.submitted event the decision answers
    # Every feature the engine computed, as text (not only those the card uses), and the
    # day each provider answered: what was known at decision time, for the next scorecard.
    features: dict[str, str | None] = Field(default_factory=dict)
    features_as_of: dict[str, date] = Field(default_factory=dict)
    verified_figures: tuple[str, ...] = ()  # declared figures admin.credit verified since
    rescored_at: AwareDatetime | None = None


class CreditDecisions(Repository[CreditDecisionRecord]):
    collection = CREDIT_DECISIONS
    model = CreditDecisionRecord
    key_field = "loan_id"
