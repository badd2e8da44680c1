"""The closed vocabularies a loan product is described in: what it finances (`Purpose`),
whom it lends to (`BorrowerSegment`), the unit its tenors count (`TenorUnit`) and how early
settlement charges interest (`SettlementInterest`).

They live apart from the product model (shared/domain/products.py, which re-exports
them) because every stored loan and offer names them: reading one needs these words, not
the product's pricing rules (docs/architecture.md#cold-start).
"""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """OJK's purpose class of a loan; it selects the cap table's rows."""

    PRODUCTIVE = "productive"
    CONSUMER = "consumer"


class BorrowerSegment(StrEnum):
    """Who a product lends to (business size follows UU 20/2008 and PP 7/2021)."""

    ULTRA_MICRO = "ultra_micro"
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    COOPERATIVE = "cooperative"
    INDIVIDUAL = "individual"


class TenorUnit(StrEnum):
    MONTH = "month"
    DAY = "day"


# The rules are shared/domain/payoff.py's.
class SettlementInterest(StrEnum):
    """How a product charges interest for the running period when a loan is settled early."""

    ACCRUED_DAILY = "accrued_daily"
    NEXT_INSTALLMENT = "next_installment"
    NONE = "none"
