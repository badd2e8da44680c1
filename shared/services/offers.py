"""Approving (with a priced offer) and rejecting a loan — one code path for the scorecard
and for an `admin.credit` reviewer, so an automated approval is exactly a manual one.

Pricing (`price_offer`): the credit grade's monthly rate (×12 for bullet
products, whose rates are per year) is clamped into the product's rate bounds
and the offer is quoted as if disbursed today (Jakarta). The quote must pass
every cap in force (`shared.domain.caps.check_offer`); when the grade's price
does not, the product's minimum rate is tried; when nothing complies the
approval is refused with `CapExceeded` naming the violated rules (the scoring
use case then sends the loan to review instead). A reviewer may set the rate
explicitly; it must lie within the product's bounds and pass the caps.

The offer carries the agreement version the borrower accepts
(`AGREEMENT_VERSION`): bump it whenever the agreement's text changes, and
accepting an offer priced under an older version is refused.

Both functions are pure: they take the loan and return the changed loan and
the event payload, and the caller writes and emits them in its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.domain.caps import OJK_CAPS, CapCheck, CapTable, check_offer
from shared.domain.events import LoanApproved, LoanRejected
from shared.domain.loan import LoanTransition
from shared.domain.products import LoanProduct, quote
from shared.platform.clock import jakarta_date
from shared.records.loans import LoanRecord, OfferRecord, ReviewNote
from shared.records.quotes import quote_response

AGREEMENT_VERSION = "patungan-pinjaman-produktif-2026-01"
MAX_REASON_LENGTH = 500


def grade_price(product: LoanProduct, grade_rate_per_month: Decimal) -> Decimal:
    """The grade's rate in the product's period (per year for bullet), within its bounds."""
    rate = grade_rate_per_month if product.interest_method.is_monthly else grade_rate_per_month * 12
    return min(max(rate, product.min_rate), product.max_rate)


def price_offer(
    product: LoanProduct,
    loan: LoanRecord,
    *,
    grade: str,
    grade_rate_per_month: Decimal,
    priced_at: datetime,
    priced_by: str | None,
    rate: Decimal | None = None,
) -> OfferRecord:
    """The offer for `loan` at its grade's price, or `CapExceeded` if no price complies."""
    on = jakarta_date(priced_at)
    if rate is not None:
        candidates: Sequence[Decimal] = (rate,)
    else:
        graded = grade_price(product, grade_rate_per_month)
        candidates = tuple(dict.fromkeys((graded, product.min_rate)))
    failed: CapCheck | None = None
    for candidate in candidates:
        priced = quote(product, loan.principal, loan.tenor, on, candidate)
        check = check_offer(priced, offered_on=on)
        if check.compliant:
            return OfferRecord(
                grade=grade,
                rate=candidate,
                rate_period=product.rate_period,
                agreement_version=AGREEMENT_VERSION,
                priced_on=on,
                priced_by=priced_by,
                funding_window_days=product.funding_window_days,
                valid_until=on + timedelta(days=product.offer_validity_days),
                terms=quote_response(priced, check, product_id=product.id),
            )
        failed = check
    assert failed is not None
    failed.raise_if_violated()
    raise AssertionError("a failed cap check always raises")


def recheck_offer(
    product: LoanProduct,
    loan: LoanRecord,
    offer: OfferRecord,
    on: date,
    caps: CapTable = OJK_CAPS,
) -> CapCheck:
    """The accepted offer's terms checked against the caps in force `on` (the acceptance)."""
    priced = quote(product, loan.principal, loan.tenor, on, offer.rate)
    return check_offer(priced, offered_on=on, table=caps)


def approve_loan(
    loan: LoanRecord,
    product: LoanProduct,
    *,
    grade: str,
    grade_rate_per_month: Decimal,
    at: datetime,
    by: str | None,
    rate: Decimal | None = None,
    review: ReviewNote | None = None,
) -> tuple[LoanRecord, LoanApproved]:
    """`loan` approved (from scored or in_review) with its priced offer, and `loan.approved`."""
    offer = price_offer(
        product,
        loan,
        grade=grade,
        grade_rate_per_month=grade_rate_per_month,
        priced_at=at,
        priced_by=by,
        rate=rate,
    )
    changes = {"offer": offer} if review is None else {"offer": offer, "review": review}
    approved = loan.moved(LoanTransition.APPROVE, at=at, by=by, **changes)
    event = LoanApproved(
        loan_id=loan.id,
        grade=grade,
        principal=loan.principal,
        tenor=loan.tenor,
        rate=offer.rate,
        approved_by=by,
    )
    return approved, event


def reject_loan(
    loan: LoanRecord,
    reasons: Sequence[str],
    *,
    at: datetime,
    by: str | None,
    review: ReviewNote | None = None,
) -> tuple[LoanRecord, LoanRejected]:
    """`loan` rejected (from scored or in_review) with its reasons, and `loan.rejected`."""
    shown = tuple(_fit(reason) for reason in reasons if reason.strip()) or ("rejected",)
    changes = {} if review is None else {"review": review}
    rejected = loan.moved(LoanTransition.REJECT, at=at, by=by, **changes)
    return rejected, LoanRejected(loan_id=loan.id, reasons=shown, rejected_by=by)


def _fit(reason: str) -> str:
    text = reason.strip()
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"
