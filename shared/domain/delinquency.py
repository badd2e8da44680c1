"""Overdue loans: days past due, quality buckets, SLIK collectability, late fees, TWP90, reminders.

What the daily overdue job (run on the Asia/Jakarta calendar) needs, as pure
functions of dates and amounts passed in:

- `days_past_due(oldest_unpaid_due_date, on)`: 0 until the day after the due date.
- `quality_bucket(dpd)`: the platform's quality buckets as OJK's P2P lending
  statistics report them: current (up to 30 days past due), 31–90, over 90.
- `delinquent_since(on, dpd)`: the day the loan reached 31 days past due (out of `current`).
- `slik_collectability(dpd)`: the collectability reported to the credit bureau
  (SLIK): 1 current (0 days), 2 = 1–90, 3 = 91–120, 4 = 121–180, 5 = over 180.
- `accrue_late_fee(...)`: late fee per day = daily late-fee rate × outstanding
  balance, the rate held to the regulatory cap passed in (the caps table lives
  in `caps.py`; this module takes the cap as a rate so it depends on no table),
  and accrual stops at the total-cost cap: interest + fees + late fees never
  exceed 100% of the funded principal.
- `portfolio_quality(loans)`: TWP90 (outstanding more than 90 days past due ÷
  total outstanding) and TKB90 = 100% − TWP90.
- `reminder_date` / `reminders_due`: a reminder three days before each due date.

Rates are `Decimal` fractions per calendar day (0.001 = 0.1% a day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum, IntEnum

from shared.domain.errors import ValidationFailed
from shared.domain.money import Rupiah, rupiah

REMINDER_DAYS_BEFORE_DUE = 3


def days_past_due(oldest_unpaid_due_date: date | None, on: date) -> int:
    """Whole days since the oldest unpaid installment fell due; 0 when nothing is overdue."""
    if oldest_unpaid_due_date is None:
        return 0
    return max(0, (on - oldest_unpaid_due_date).days)


def _checked_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValidationFailed(
            "days past due is a whole number of days, never negative",
            {"days_past_due": f"got {days!r}"},
        )
    return days


class QualityBucket(Enum):
    """The platform's loan quality buckets (OJK P2P lending statistics)."""

    CURRENT = "current"  # up to 30 days past due
    PAST_DUE_31_90 = "31-90"
    PAST_DUE_OVER_90 = "over-90"


DELINQUENT_DAYS = 31  # the first day past due outside the `current` bucket


def delinquent_since(on: date, days: int) -> date | None:
    """The day a loan `days` past due on `on` reached 31 days past due (left the `current`
    bucket), or None while it is under them."""
    if _checked_days(days) < DELINQUENT_DAYS:
        return None
    return on - timedelta(days=days - DELINQUENT_DAYS)


def quality_bucket(days: int) -> QualityBucket:
    """current ≤ 30 days past due, then 31–90, then over 90."""
    days = _checked_days(days)
    if days <= 30:
        return QualityBucket.CURRENT
    if days <= 90:
        return QualityBucket.PAST_DUE_31_90
    return QualityBucket.PAST_DUE_OVER_90


class Collectability(IntEnum):
    """SLIK collectability (kolektibilitas) as reported to the credit bureau."""

    CURRENT = 1  # lancar
    SPECIAL_MENTION = 2  # dalam perhatian khusus: 1–90 days
    SUBSTANDARD = 3  # kurang lancar: 91–120 days
    DOUBTFUL = 4  # diragukan: 121–180 days
    LOSS = 5  # macet: over 180 days


def slik_collectability(days: int) -> Collectability:
    """1 current (0 days), 2 = 1–90, 3 = 91–120, 4 = 121–180, 5 = over 180 days past due."""
    days = _checked_days(days)
    if days == 0:
        return Collectability.CURRENT
    if days <= 90:
        return Collectability.SPECIAL_MENTION
    if days <= 120:
        return Collectability.SUBSTANDARD
    if days <= 180:
        return Collectability.DOUBTFUL
    return Collectability.LOSS


def late_fee_accrues(days: int, grace_days: int) -> bool:
    """A late fee accrues for a day only once the product's grace days have passed."""
    return _checked_days(days) > _checked_days(grace_days)


@dataclass(frozen=True)
class LateFeeAccrual:
    """A late fee accrued for some days, and which cap (if any) held it back."""

    amount: Rupiah
    days: int
    daily_rate: Decimal  # the rate charged: the product's, or the cap when lower
    held_to_rate_cap: bool
    stopped_at_total_cost_cap: bool
    total_cost_headroom: Rupiah  # what may still accrue before the 100% cap, after this


def accrue_late_fee(
    *,
    outstanding: int,
    product_daily_rate: Decimal,
    cap_daily_rate: Decimal,
    funded_principal: int,
    interest_and_fees: int,
    late_fees_so_far: int,
    days: int = 1,
    balance: int | None = None,
    total_cost_limit: Decimal = Decimal(1),
) -> LateFeeAccrual:
    """The late fee for `days` days on `outstanding` rupiah, within both caps.

    Each day's fee is the product's rate on `outstanding` (the unpaid principal and
    interest of the past-due installments), never more than the cap rate on the loan's
    `balance` (its baki debet; `outstanding` unless given), each rounded *down*, so the
    fee charged never exceeds either rate by even a fraction of a rupiah. The total is
    then cut to the headroom left under the total-cost cap (`total_cost_limit` × the
    funded principal − `interest_and_fees` − `late_fees_so_far`; the caps table's row,
    100% today), and is zero once the cap is reached.
    """
    errors: dict[str, str] = {}
    for name, value in (
        ("outstanding", outstanding),
        ("interest_and_fees", interest_and_fees),
        ("late_fees_so_far", late_fees_so_far),
    ):
        if rupiah(value) < 0:
            errors[name] = "must not be negative"
    if rupiah(funded_principal) <= 0:
        errors["funded_principal"] = "must be > 0"
    for name, rate in (
        ("product_daily_rate", product_daily_rate),
        ("cap_daily_rate", cap_daily_rate),
    ):
        if rate < 0:
            errors[name] = "must not be negative"
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        errors["days"] = "must be a whole number of days, not negative"
    if errors:
        raise ValidationFailed("cannot accrue a late fee", errors)
    if balance is not None and rupiah(balance) < 0:
        raise ValidationFailed("cannot accrue a late fee", {"balance": "must not be negative"})
    base = outstanding if balance is None else balance
    charged = int(Decimal(outstanding) * product_daily_rate)  # non-negative: int() rounds down
    allowed = int(Decimal(base) * cap_daily_rate)
    per_day = min(charged, allowed)
    daily_rate = min(product_daily_rate, cap_daily_rate)
    uncapped = per_day * days
    limit = int(total_cost_limit * funded_principal)
    headroom = max(0, limit - interest_and_fees - late_fees_so_far)
    amount = min(uncapped, headroom)
    return LateFeeAccrual(
        amount=Rupiah(amount),
        days=days,
        daily_rate=daily_rate,
        held_to_rate_cap=allowed < charged,
        stopped_at_total_cost_cap=amount < uncapped,
        total_cost_headroom=Rupiah(headroom - amount),
    )


@dataclass(frozen=True)
class PortfolioLoan:
    """One loan as portfolio quality sees it: what is outstanding and how late it is."""

    outstanding: Rupiah
    days_past_due: int

    def __post_init__(self) -> None:
        if rupiah(self.outstanding) < 0:
            raise ValidationFailed(
                "outstanding must not be negative", {"outstanding": "must not be negative"}
            )
        _checked_days(self.days_past_due)


_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class PortfolioQuality:
    """TWP90 and TKB90 of a portfolio, with the outstanding per quality bucket.

    With nothing outstanding no funding is in default: TWP90 is 0 and TKB90 100%
    (`has_outstanding` tells a dashboard to say "no loans yet" instead).
    """

    total_outstanding: Rupiah
    outstanding_current: Rupiah
    outstanding_31_90: Rupiah
    outstanding_over_90: Rupiah

    @property
    def has_outstanding(self) -> bool:
        return self.total_outstanding > 0

    @property
    def twp90(self) -> Decimal:
        """Share of outstanding more than 90 days past due (a fraction, exact to 28 digits)."""
        if not self.has_outstanding:
            return Decimal(0)
        return Decimal(self.outstanding_over_90) / Decimal(self.total_outstanding)

    @property
    def tkb90(self) -> Decimal:
        """Tingkat keberhasilan bayar 90: 1 − TWP90."""
        return 1 - self.twp90

    def twp90_percent(self) -> Decimal:
        """TWP90 in percent to two decimals, rounded half-up (as published)."""
        return (self.twp90 * _HUNDRED).quantize(_CENT, rounding=ROUND_HALF_UP)

    def tkb90_percent(self) -> Decimal:
        """TKB90 in percent: 100 − the published TWP90, so the two always add up to 100."""
        return _HUNDRED - self.twp90_percent()


def portfolio_quality(loans: Iterable[PortfolioLoan]) -> PortfolioQuality:
    """Outstanding per quality bucket, TWP90 and TKB90 over `loans`."""
    by_bucket = dict.fromkeys(QualityBucket, 0)
    for loan in loans:
        by_bucket[quality_bucket(loan.days_past_due)] += loan.outstanding
    return PortfolioQuality(
        total_outstanding=Rupiah(sum(by_bucket.values())),
        outstanding_current=Rupiah(by_bucket[QualityBucket.CURRENT]),
        outstanding_31_90=Rupiah(by_bucket[QualityBucket.PAST_DUE_31_90]),
        outstanding_over_90=Rupiah(by_bucket[QualityBucket.PAST_DUE_OVER_90]),
    )


def reminder_date(due_date: date, days_before: int = REMINDER_DAYS_BEFORE_DUE) -> date:
    """The day a borrower is reminded of an installment: three days before it is due."""
    return due_date - timedelta(days=days_before)


def reminders_due(
    on: date, due_dates: Iterable[date], days_before: int = REMINDER_DAYS_BEFORE_DUE
) -> list[date]:
    """The due dates (sorted, once each) whose reminder goes out on `on`."""
    return sorted({due for due in due_dates if reminder_date(due, days_before) == on})
