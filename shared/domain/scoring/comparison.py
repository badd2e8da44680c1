"""Comparing scorecard versions: approval rate and early-delinquency rate per version.

Early delinquency is the platform's first step out of the `current` quality bucket: a
loan that reached 31 days past due (`delinquency.quality_bucket`, current up to 30 days;
docs/lending-rules.md#overdue-and-collection) within the first N months after its
disbursement. The loan keeps only its latest days past due (`overdue.days_past_due`, as of
`overdue.last_swept_on`), so the day it reached 31 is that day minus the days beyond 31:
a loan that reached 31 days and was brought back under them since is not seen (see
docs/lending-rules.md#champion-and-challenger).

Pure: the service (shared/services/scorecards.py) reads the decisions and loans and feeds
each pair to `VersionTally.add`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from shared.domain.schedule import add_months

EARLY_DELINQUENCY_DAYS = 31  # the first day past due outside the `current` bucket

RATE_PLACES = Decimal("0.0001")


def reached_early_delinquency_on(last_swept_on: date, days_past_due: int) -> date | None:
    """The day a loan now `days_past_due` (as of `last_swept_on`) reached 31 days past due,
    or None while it is under them."""
    if days_past_due < EARLY_DELINQUENCY_DAYS:
        return None
    return last_swept_on - timedelta(days=days_past_due - EARLY_DELINQUENCY_DAYS)


def early_delinquent(
    disbursed_on: date | None,
    last_swept_on: date | None,
    days_past_due: int,
    *,
    months: int,
) -> bool:
    """Whether a disbursed loan reached 31 days past due within `months` of disbursement."""
    if disbursed_on is None or last_swept_on is None:
        return False
    reached = reached_early_delinquency_on(last_swept_on, days_past_due)
    return reached is not None and reached <= add_months(disbursed_on, months)


def rate(part: int, whole: int) -> Decimal | None:
    """`part / whole` to four places (half-up); None when there is no whole."""
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class VersionTally:
    """One version's counts, added to decision by decision."""

    version: str
    months: int
    decisions: int = 0
    approvals: int = 0
    disbursed: int = 0
    early_delinquent: int = 0

    def add(
        self,
        verdict: Literal["approve", "review", "reject"],
        *,
        disbursed_on: date | None,
        last_swept_on: date | None,
        days_past_due: int,
    ) -> None:
        """Count one decision of this version and what became of its loan."""
        self.decisions += 1
        self.approvals += verdict == "approve"
        if disbursed_on is None:
            return
        self.disbursed += 1
        self.early_delinquent += early_delinquent(
            disbursed_on, last_swept_on, days_past_due, months=self.months
        )

    @property
    def approval_rate(self) -> Decimal | None:
        return rate(self.approvals, self.decisions)

    @property
    def early_delinquency_rate(self) -> Decimal | None:
        return rate(self.early_delinquent, self.disbursed)
