"""The exporter against the Firestore emulator: pages, outcomes, and what it leaves out."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pandas as pd
import pytest
from google.cloud import firestore

from tests.trainer.platform_history import AS_OF, seed_platform_history
from trainer.firestore_export import export_training_table
from trainer.table import feature_vector, read_table

pytestmark = pytest.mark.emulator


def test_export_writes_known_outcomes_and_counts_the_rest(
    firestore_client: firestore.Client, tmp_path: Any
) -> None:
    seed_platform_history(firestore_client)
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
