"""Champion/challenger: which scorecard version scores a borrower's application.

The active configuration names a champion version and, optionally, a challenger version
with the share of borrowers routed to it (0 to 50%). A borrower's place is a stable hash
of their id (SHA-256, never Python's `hash`, which changes from process to process), so
a borrower always meets the same card while the configuration stands, and raising the
share keeps everyone already on the challenger there
(docs/lending-rules.md#champion-and-challenger).

Pure: no I/O. The stored configuration is `shared/records/scorecards.py`; who may change
it is `shared/services/scorecards.py`.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from shared.model import Model

MAX_CHALLENGER_SHARE = Decimal("0.5")
HASH_SPACE = 2**64  # a borrower's place: the first 8 bytes of the SHA-256 of their id

ScorecardVersion = Annotated[str, StringConstraints(pattern=r"^v\d{1,4}$")]
"""A scorecard file's name without `.json`: `v1` is `shared/domain/scorecards/v1.json`."""

ChallengerShare = Annotated[Decimal, Field(ge=0, le=MAX_CHALLENGER_SHARE, decimal_places=4)]
"""The fraction of borrowers a challenger scores, 0 to 0.5 (`"0.1"` = 10%)."""


class ScorecardRouting(Model):
    """Which versions score applications: the champion, and a challenger with its share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    champion: ScorecardVersion
    challenger: ScorecardVersion | None = None
    challenger_share: ChallengerShare = Decimal(0)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.challenger is None and self.challenger_share != 0:
            raise ValueError("a challenger share needs a challenger version")
        if self.challenger is not None and self.challenger == self.champion:
            raise ValueError("the challenger must be another version than the champion")
        return self

    @property
    def versions(self) -> tuple[str, ...]:
        """The champion, then the challenger when there is one."""
        return (self.champion,) if self.challenger is None else (self.champion, self.challenger)


def routing_position(borrower_id: str) -> Decimal:
    """Where a borrower falls in [0, 1): the same on every process, every day."""
    digest = hashlib.sha256(borrower_id.encode("utf-8")).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / HASH_SPACE


def version_for(borrower_id: str, routing: ScorecardRouting) -> str:
    """The scorecard version that scores this borrower: the challenger when their
    position falls below its share, else the champion."""
    if routing.challenger is not None and routing_position(borrower_id) < routing.challenger_share:
        return routing.challenger
    return routing.champion
