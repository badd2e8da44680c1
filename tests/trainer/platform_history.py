"""A small loan history in Firestore, as scoring and servicing leave it, for the exporter's tests.

On `AS_OF` it holds 16 loans with a known outcome (2 bad: `a-bad`, `d-edge`),
one whose 12-month window is still open, two never disbursed and two malformed
documents: 21 decisions in all.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from google.cloud import firestore

from shared.domain.scoring.features import FEATURES

AS_OF = date(2026, 6, 30)


def _features(dsr: str | None = "0.21") -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(FEATURES)
    values.update(
        years_in_business="3.5", collateral_coverage="0", sector="groceries", province="31",
        purpose="inventory", tenor_months="12", debt_service_ratio=dsr,
        sales_volatility="Infinity",
    )  # fmt: skip
    return values


def seed_platform_history(client: firestore.Client) -> None:
    decisions, loans = client.collection("credit_decisions"), client.collection("loans")
    cases: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {
        # loan id: (loan document or None, decision overrides)
        "a-bad": ({"disbursed_on": "2025-01-10", "first_90dpd_on": "2025-09-01"}, {}),
        "b-good": ({"disbursed_on": "2025-02-01", "first_90dpd_on": None}, {"dsr": None}),
        "c-late-bad": ({"disbursed_on": "2025-03-01", "first_90dpd_on": "2026-03-01"}, {}),
        "d-edge": ({"disbursed_on": "2025-06-30", "first_90dpd_on": "2026-06-29"}, {}),
        "e-open": ({"disbursed_on": "2025-07-01", "first_90dpd_on": "2025-12-01"}, {}),
        "f-undisbursed": ({"first_90dpd_on": None}, {}),
        "g-no-loan": (None, {}),
        "h-malformed": ({"disbursed_on": "2024-01-01"}, {"drop": "sector"}),
        "i-bad-date": ({"disbursed_on": "last spring"}, {}),
    }
    for i in range(12):  # enough plain good loans to need several pages
        cases[f"z-{i:02d}"] = ({"disbursed_on": "2024-05-05", "first_90dpd_on": None}, {})
    for loan_id, (loan, overrides) in cases.items():
        features = _features(overrides.get("dsr", "0.21"))
        if "drop" in overrides:
            del features[overrides["drop"]]
        decisions.document(loan_id).set(
            {
                "features": features,
                "features_as_of": {"credit_bureau": "2024-12-20"},
                "model_version": "five-c-v1",
                "decided_at": datetime(2024, 12, 20, 3, 0, tzinfo=UTC),
            }
        )
        if loan is not None:
            loans.document(loan_id).set({"state": "active", **loan})
