"""Time, passed in: the clock port, the system clock, and the Jakarta calendar.

Due dates, deadlines and offer dates are Jakarta calendar dates; instants are aware
datetimes in UTC. Nothing reads the clock except through a `Clock` it was given.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


def jakarta_date(instant: datetime) -> date:
    """The calendar date in Jakarta at `instant` (due dates and deadlines are Jakarta dates)."""
    return instant.astimezone(JAKARTA).date()
