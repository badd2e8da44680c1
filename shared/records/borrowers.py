"""What the store keeps about a borrower's position across their applications.

`borrower_positions/<borrower id>` is read and written by every submission, so two
concurrent submissions of one borrower conflict and cannot both pass the
one-open-application rule. It also remembers what the application rules need
(docs/lending-rules.md#loan-lifecycle): when the borrower was last rejected (the
cooling-off period runs from there) and when they cancelled applications lately (a
borrower who keeps cancelling and resubmitting waits too).
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import AwareDatetime, ConfigDict

from shared.domain.products import CANCELLATION_WINDOW_DAYS
from shared.model import Model
from shared.platform.store import Repository

BORROWER_POSITIONS = "borrower_positions"


class BorrowerPosition(Model):
    """`borrower_positions/<borrower id>`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    borrower_id: str
    last_application_id: str | None = None
    last_rejected_on: date | None = None
    cancelled_on: tuple[date, ...] = ()  # within the last CANCELLATION_WINDOW_DAYS
    updated_at: AwareDatetime | None = None

    def rejected(self, on: date) -> BorrowerPosition:
        return self.model_copy(update={"last_rejected_on": on})

    def cancelled(self, on: date) -> BorrowerPosition:
        recent = self.recent_cancellations(on)
        return self.model_copy(update={"cancelled_on": (*recent, on)})

    def recent_cancellations(self, on: date) -> tuple[date, ...]:
        since = on - timedelta(days=CANCELLATION_WINDOW_DAYS)
        return tuple(day for day in self.cancelled_on if day > since)


class BorrowerPositions(Repository[BorrowerPosition]):
    collection = BORROWER_POSITIONS
    model = BorrowerPosition
    key_field = "borrower_id"

    def of(self, borrower_id: str) -> BorrowerPosition:
        """The borrower's position (an empty one before their first application)."""
        return self.get(borrower_id) or BorrowerPosition(borrower_id=borrower_id)
