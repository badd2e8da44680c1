"""The settings of `loan_review`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.scoring import ScorecardRoutingSettings


class ReviewSettings(HttpSettings, ScorecardRoutingSettings):
    """`loan_review`: auth, Firestore and Pub/Sub, and the default champion/challenger
    routing (the scorecard routes show and compare it)."""
