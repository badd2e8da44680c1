"""Build the training table from the platform's Firestore, a page at a time.

Reads `credit_decisions/<loan_id>` (the feature vector scoring stored:
`features`, `features_as_of`, `model_version`, `decided_at`) in document-id
order, `page_size` at a time, and for each page fetches the matching
`loans/<loan_id>` documents in one batch (`disbursed_on`, `first_90dpd_on`
only). Rows are written as they are read, so memory holds one page whatever
the size of the history; reads are one per decision plus one per loan.

A decision becomes a row when its loan was disbursed and its 12-month window
(disbursement plus 12 months) has closed on the export date. The outcome is
bad when `first_90dpd_on` falls inside that window. Everything else is left
out and counted: no loan document or never disbursed (rejected, expired,
cancelled), a window still open, or a malformed document (named, so it can be
fixed rather than silently lost).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from google.cloud import firestore

from shared.domain.schedule import add_months
from shared.domain.scoring.features import FEATURES, FeatureValue
from shared.domain.scoring.providers import PROVIDERS
from trainer.table import TrainingRow, write_table

OUTCOME_MONTHS = 12
DECISIONS = "credit_decisions"
LOANS = "loans"
MALFORMED_SHOWN = 20


@dataclass(slots=True)
class ExportSummary:
    as_of: date
    rows: int = 0
    bad: int = 0
    not_disbursed: int = 0
    window_open: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    first_disbursed: date | None = None
    last_disbursed: date | None = None

    @property
    def decisions(self) -> int:
        return self.rows + self.not_disbursed + self.window_open + self.malformed

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "decisions_read": self.decisions,
            "rows": self.rows,
            "bad": self.bad,
            "left_out": {
                "not_disbursed": self.not_disbursed,
                "window_open": self.window_open,
                "malformed": self.malformed,
            },
            "malformed_examples": self.malformed_examples,
            "disbursed_from": self.first_disbursed.isoformat() if self.first_disbursed else None,
            "disbursed_to": self.last_disbursed.isoformat() if self.last_disbursed else None,
        }


class MalformedDocument(ValueError):
    pass


def export_training_table(
    client: firestore.Client, out: IO[str], as_of: date, page_size: int = 500
) -> ExportSummary:
    """Write the training table for loans whose outcome is known on `as_of`."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    summary = ExportSummary(as_of=as_of)
    write_table(out, _rows(client, summary, page_size))
    return summary


def _pages(client: firestore.Client, page_size: int) -> Iterator[list[Any]]:
    query = client.collection(DECISIONS).order_by("__name__").limit(page_size)
    last = None
    while True:
        page = list((query.start_after(last) if last is not None else query).stream())
        if page:
            yield page
        if len(page) < page_size:
            return
        last = page[-1]


def _rows(
    client: firestore.Client, summary: ExportSummary, page_size: int
) -> Iterator[TrainingRow]:
    loans = client.collection(LOANS)
    for page in _pages(client, page_size):
        refs = [loans.document(snapshot.id) for snapshot in page]
        outcomes = {
            s.id: s.to_dict()
            for s in client.get_all(refs, field_paths=["disbursed_on", "first_90dpd_on"])
            if s.exists
        }
        for snapshot in page:
            try:
                row = _row(
                    snapshot.id, snapshot.to_dict() or {}, outcomes.get(snapshot.id), summary
                )
            except MalformedDocument as problem:
                summary.malformed += 1
                if len(summary.malformed_examples) < MALFORMED_SHOWN:
                    summary.malformed_examples.append(f"{snapshot.id}: {problem}")
                continue
            if row is not None:
                yield row


def _row(
    loan_id: str,
    decision: Mapping[str, Any],
    loan: Mapping[str, Any] | None,
    summary: ExportSummary,
) -> TrainingRow | None:
    disbursed = _date(loan, "disbursed_on") if loan is not None else None
    if disbursed is None:
        summary.not_disbursed += 1
        return None
    window_end = add_months(disbursed, OUTCOME_MONTHS)
    if window_end > summary.as_of:
        summary.window_open += 1
        return None
    features = _features(decision.get("features"))
    as_of = decision.get("features_as_of") or {}
    if not isinstance(as_of, Mapping) or set(as_of) - set(PROVIDERS):
        raise MalformedDocument(f"features_as_of must map provider names {PROVIDERS} to dates")
    went_bad = _date(loan, "first_90dpd_on")
    bad = went_bad is not None and went_bad < window_end
    summary.rows += 1
    summary.bad += bad
    summary.first_disbursed = min(filter(None, (summary.first_disbursed, disbursed)))
    summary.last_disbursed = max(filter(None, (summary.last_disbursed, disbursed)))
    decided_at = decision.get("decided_at")
    return TrainingRow(
        loan_id=loan_id,
        decided_at=decided_at.isoformat() if isinstance(decided_at, datetime) else str(decided_at),
        model_version=str(decision.get("model_version", "")),
        disbursed_on=disbursed.isoformat(),
        bad=bad,
        features=features,
        features_as_of={str(k): str(v) for k, v in as_of.items()},
    )


def _date(document: Mapping[str, Any] | None, name: str) -> date | None:
    value = (document or {}).get(name)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise MalformedDocument(f"{LOANS}.{name} is not an ISO date: {value!r}") from None


def _features(stored: object) -> dict[str, FeatureValue]:
    if not isinstance(stored, Mapping):
        raise MalformedDocument("features is missing or not a map")
    unknown = set(stored) - set(FEATURES)
    absent = set(FEATURES) - set(stored)
    if unknown or absent:
        raise MalformedDocument(
            f"features must name every engine feature: unknown {sorted(unknown)}, "
            f"absent {sorted(absent)}"
        )
    out: dict[str, FeatureValue] = {}
    for name, spec in FEATURES.items():
        value = stored[name]
        if value is None:
            out[name] = None
        elif not isinstance(value, str):
            raise MalformedDocument(f"features.{name} must be text or null, not {value!r}")
        elif spec.kind == "numeric":
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise MalformedDocument(f"features.{name} is not a number: {value!r}") from None
            if number.is_nan():
                raise MalformedDocument(f"features.{name} is NaN")
            out[name] = number
        else:
            out[name] = value
    return out
