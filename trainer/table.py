"""The training table: one row per disbursed loan whose 12-month outcome is known.

CSV, one header line, UTF-8. Columns, in order:

- `loan_id`: the loan (and its `credit_decisions` document);
- `decided_at`: when scoring decided, ISO 8601; `model_version`: the card that decided;
- `disbursed_on`: ISO date;
- `bad`: 1 when the loan reached 90+ days past due within 12 months of
  disbursement, else 0;
- one column per feature of `shared.domain.scoring.features.FEATURES`: the value scoring
  stored, as decimal text, a category, `Infinity` (a ratio over no revenue),
  or empty when it could not be computed;
- `as_of.<provider>`: the date of the provider answer the features came from.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

import pandas as pd

from shared.domain.scoring.features import FEATURES, FeatureValue
from shared.domain.scoring.providers import PROVIDERS

BAD = "bad"
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURES)
AS_OF_COLUMNS: tuple[str, ...] = tuple(f"as_of.{p}" for p in PROVIDERS)
COLUMNS: tuple[str, ...] = (
    "loan_id",
    "decided_at",
    "model_version",
    "disbursed_on",
    BAD,
    *FEATURE_COLUMNS,
    *AS_OF_COLUMNS,
)


@dataclass(frozen=True, slots=True)
class TrainingRow:
    loan_id: str
    decided_at: str
    model_version: str
    disbursed_on: str
    bad: bool
    features: Mapping[str, FeatureValue]
    features_as_of: Mapping[str, str]

    def cells(self) -> list[str]:
        return [
            self.loan_id,
            self.decided_at,
            self.model_version,
            self.disbursed_on,
            "1" if self.bad else "0",
            *(feature_text(self.features.get(name)) for name in FEATURE_COLUMNS),
            *(self.features_as_of.get(p, "") for p in PROVIDERS),
        ]


def feature_text(value: FeatureValue) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def write_table(stream: IO[str], rows: Iterable[TrainingRow]) -> int:
    """Write the header and `rows` (consumed lazily); returns how many rows were written."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row.cells())
        count += 1
    return count


def read_table(path: Path | str) -> pd.DataFrame:
    """The table as text columns (empty cells become None) with `bad` as 0/1 integers."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in (*COLUMNS[:5], *FEATURE_COLUMNS) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a training table, missing columns {missing}")
    frame = frame.astype(object).where(frame != "", None)
    bad = frame[BAD]
    if not bad.isin(["0", "1"]).all():
        raise ValueError(f"{path}: column 'bad' must hold 0 or 1")
    frame[BAD] = bad.astype(int)
    return frame


def feature_vector(row: Mapping[str, object]) -> dict[str, FeatureValue]:
    """A table row's features as the engine computes them (Decimal, str or None)."""
    out: dict[str, FeatureValue] = {}
    for name, spec in FEATURES.items():
        cell = row.get(name)
        if cell is None or cell == "":
            out[name] = None
        elif spec.kind == "numeric":
            out[name] = Decimal(str(cell))
        else:
            out[name] = str(cell)
    return out
