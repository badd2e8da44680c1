"""The exporter against the Firestore emulator: pages, outcomes, and what it leaves out."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from google.cloud import firestore

from shared.domain.scoring.features import FEATURES
from trainer.firestore_export import export_training_table
from trainer.table import feature_vector, read_table

pytestmark = pytest.mark.emulator
AS_OF = date(2026, 6, 30)


def _features(dsr: str | None = "0.21") -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(FEATURES)
    values.update(
        years_in_business="3.5", collateral_coverage="0", sector="groceries", province="31",
        purpose="inventory", tenor_months="12", debt_service_ratio=dsr,
        sales_volatility="Infinity",
    )  # fmt: skip
    return values


def _seed(client: firestore.Client) -> None:
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


def test_export_writes_known_outcomes_and_counts_the_rest(
    firestore_client: firestore.Client, tmp_path: Any
) -> None:
    _seed(firestore_client)
    out = io.StringIO()
    summary = export_training_table(firestore_client, out, AS_OF, page_size=4)

    path = tmp_path / "table.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    table = read_table(path)
    outcomes = dict(zip(table["loan_id"], table["bad"], strict=True))
    assert outcomes.pop("a-bad") == 1
    assert outcomes.pop("b-good") == 0
    assert outcomes.pop("c-late-bad") == 0  # 90+ days past due after month 12
    assert outcomes.pop("d-edge") == 1  # window closed on the export date, bad inside it
    assert set(outcomes) == {f"z-{i:02d}" for i in range(12)}
    assert not any(outcomes.values())

    assert summary.rows == 16 and summary.bad == 2
    assert summary.window_open == 1  # e-open, although already bad
    assert summary.not_disbursed == 2  # f-undisbursed, g-no-loan
    assert summary.malformed == 2
    assert [e.split(":")[0] for e in summary.malformed_examples] == ["h-malformed", "i-bad-date"]
    assert summary.decisions == 21
    assert summary.first_disbursed == date(2024, 5, 5)
    assert summary.last_disbursed == date(2025, 6, 30)

    row = table[table["loan_id"] == "b-good"].iloc[0]
    features = feature_vector(row.to_dict())
    assert features["debt_service_ratio"] is None
    assert str(features["sales_volatility"]) == "Infinity"
    assert features["province"] == "31"
    assert row["as_of.credit_bureau"] == "2024-12-20"
    assert row["decided_at"].startswith("2024-12-20T03:00")


def test_an_empty_platform_gives_an_empty_table(firestore_client: firestore.Client) -> None:
    out = io.StringIO()
    summary = export_training_table(firestore_client, out, AS_OF)
    assert summary.decisions == 0
    assert pd.read_csv(io.StringIO(out.getvalue())).empty


def test_a_page_size_below_one_is_refused(firestore_client: firestore.Client) -> None:
    with pytest.raises(ValueError, match="page_size"):
        export_training_table(firestore_client, io.StringIO(), AS_OF, page_size=0)
