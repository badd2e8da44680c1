"""Comparing scorecard versions: approval rate and early-delinquency rate per version.

Early delinquency is the platform's first step out of the `current` quality bucket: a
loan that reached 31 days past due (`delinquency.delinquent_since`, current up to 30 days;
docs/lending-rules.md#overdue-and-collection) within the first N months after its
disbursement. The overdue sweep keeps the day a loan first reached them, also once the loan
is brought back under them (see docs/lending-rules.md#champion-and-challenger).

The rate is taken over the loans whose N months have passed (`observed`): a loan disbursed
last week has not had the time to go bad, and counting it would flatter the version whose
loans are youngest, which is the challenger's.

Pure: the service (shared/services/scorecards.py) reads the decisions and loans and feeds
each pair to `VersionTally.add`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from shared.domain.delinquency import DELINQUENT_DAYS
from shared.domain.schedule import add_months

EARLY_DELINQUENCY_DAYS = DELINQUENT_DAYS

RATE_PLACES = Decimal("0.0001")


def early_delinquent(
    disbursed_on: date | None, delinquent_since: date | None, *, months: int
) -> bool:
    """Whether a disbursed loan reached 31 days past due within `months` of disbursement."""
    if disbursed_on is None or delinquent_since is None:
        return False
    return delinquent_since <= add_months(disbursed_on, months)


def observed(disbursed_on: date, *, months: int, today: date) -> bool:
    """Whether a loan's `months` after disbursement have passed: its last day was before
    `today`, so that day's sweep has run."""
    return add_months(disbursed_on, months) < today


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
    today: date
    decisions: int = 0
    approvals: int = 0
    disbursed: int = 0
    observed: int = 0  # disbursed, and their `months` have passed
    early_delinquent: int = 0  # of the observed

    def add(
        self,
        verdict: Literal["approve", "review", "reject"],
        *,
        disbursed_on: date | None,
        delinquent_since: date | None,
    ) -> None:
        """Count one decision of this version and what became of its loan."""
        self.decisions += 1
        self.approvals += verdict == "approve"
        if disbursed_on is None:
            return
        self.disbursed += 1
        if not observed(disbursed_on, months=self.months, today=self.today):
            return
        self.observed += 1
        self.early_delinquent += early_delinquent(
            disbursed_on, delinquent_since, months=self.months
        )

    @property
    def approval_rate(self) -> Decimal | None:
        return rate(self.approvals, self.decisions)

    @property
    def early_delinquency_rate(self) -> Decimal | None:
        return rate(self.early_delinquent, self.observed)
