"""Turn a fitted model into a scorecard file that `parse_scorecard` accepts.

What the file takes from where:
- bins, categories, missing and other points, base points: the fitted model;
- each characteristic's C: `FEATURES` (the engine's own table); its name and
  description: the previous version's characteristic on the same feature,
  when there is one;
- knock-outs, the thin-file rule, `top_reasons`, and each grade's name, rate
  and maximum amount: the previous version, unchanged (they are policy, not
  something repayment data can learn);
- grade and decision thresholds: carried from the previous version at the
  same share of the training population. A threshold that put 30% of the
  loans at or above it in the previous version puts (as near as integer
  scores allow) 30% at or above it in the new one, so grades keep their mix
  and the approval rate does not jump when a version is promoted; the better
  ranking shows as lower bad rates inside the approved grades;
- a C the model kept no characteristic for (the format wants one in each)
  gets the previous version's first characteristic there, with 0 points in
  a single bin, so the card says in its own terms that this C earns nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from shared.domain.scoring.decision import FIVE_CS
from shared.domain.scoring.features import FEATURES, FeatureValue
from shared.domain.scoring.scorecard import (
    CategoricalCharacteristic,
    NumericCharacteristic,
    Scorecard,
    parse_scorecard,
)
from trainer.fitting import Candidate, TrainedCharacteristic, TrainedScorecard


def platform_candidates(previous: Scorecard) -> list[Candidate]:
    """Every feature the engine computes; numeric ones keep the previous card's direction."""
    trends: dict[str, Any] = {}
    for _, group in previous.characteristics.by_c():
        for ch in group:
            if isinstance(ch, NumericCharacteristic):
                trends[ch.feature] = (
                    "descending" if ch.direction == "higher_is_better" else "ascending"
                )
    return [Candidate(name, spec.kind, trends.get(name)) for name, spec in FEATURES.items()]


def card_points(card: Scorecard, features: Mapping[str, FeatureValue]) -> int:
    """A card's total points for a stored feature vector (no knock-outs, no decision)."""
    total = card.base_points
    for _, group in card.characteristics.by_c():
        for ch in group:
            value = features.get(ch.feature)
            if value is None:
                total += ch.missing_points or 0
            elif isinstance(ch, NumericCharacteristic):
                number = Decimal(value)
                total += next(b.points for b in ch.bins if b.contains(number))
            else:
                total += next(
                    (c.points for c in ch.categories if value in c.values), ch.other_points
                )
    return total


def build_document(
    trained: TrainedScorecard,
    previous: Scorecard,
    *,
    version: int,
    effective_from: date,
    description: str,
    previous_scores: npt.ArrayLike,
    new_scores: npt.ArrayLike,
) -> dict[str, Any]:
    """The scorecard document for `trained`, validated by `parse_scorecard`.

    `previous_scores` and `new_scores` are both cards' totals for the same
    (training) loans: the thresholds are carried between them.
    """
    old = np.asarray(previous_scores, dtype=np.int64)
    new = np.asarray(new_scores, dtype=np.int64)
    if len(old) != len(new) or not len(old):
        raise ValueError("both cards must be scored on the same, non-empty set of loans")
    trained_by_feature = {ch.name: ch for ch in trained.characteristics}
    previous_by_feature = {
        ch.feature: ch for _, group in previous.characteristics.by_c() for ch in group
    }
    characteristics: dict[str, list[dict[str, Any]]] = {c: [] for c in FIVE_CS}
    for feature, spec in FEATURES.items():
        ch = trained_by_feature.get(feature)
        if ch is not None:
            characteristics[spec.c].append(_characteristic(ch, previous_by_feature.get(feature)))
    for c in FIVE_CS:
        if not characteristics[c]:
            characteristics[c].append(_no_points(c, previous))

    grades, decision = carry_thresholds(previous, old, new)
    document: dict[str, Any] = {
        "format": 1,
        "model_version": f"five-c-v{version}",
        "effective_from": effective_from.isoformat(),
        "description": description,
        "base_points": trained.base_points,
        "knockouts": previous.knockouts.model_dump(),
        "thin_file": previous.thin_file.model_dump(),
        "characteristics": characteristics,
        "grades": grades,
        "decision": decision,
        "top_reasons": previous.top_reasons,
    }
    parse_scorecard(document)
    return document


def _characteristic(ch: TrainedCharacteristic, before: Any) -> dict[str, Any]:
    spec = FEATURES[ch.name]
    out: dict[str, Any] = {
        "kind": spec.kind,
        "name": before.name if before is not None else ch.name,
        "feature": ch.name,
        "description": before.description if before is not None else spec.description,
    }
    if ch.kind == "numeric":
        out["direction"] = ch.direction
        bins = []
        for b in ch.bins:
            row: dict[str, Any] = {}
            if b.lower is not None:
                row["from"] = str(b.lower)
            if b.upper is not None:
                row["to"] = str(b.upper)
            row["points"] = b.points
            bins.append(row)
        out["bins"] = bins
    else:
        out["categories"] = [{"values": list(g.values), "points": g.points} for g in ch.categories]
        out["other_points"] = ch.other_points
    if spec.may_be_missing:
        out["missing_points"] = ch.missing_points
    return out


def _no_points(c: str, previous: Scorecard) -> dict[str, Any]:
    before = getattr(previous.characteristics, c)[0]
    spec = FEATURES[before.feature]
    out: dict[str, Any] = {
        "kind": before.kind,
        "name": before.name,
        "feature": before.feature,
        "description": (
            f"{before.description} Not predictive in the training data (see the model "
            "card): no points."
        ),
    }
    if isinstance(before, NumericCharacteristic):
        out["direction"] = before.direction
        out["bins"] = [{"points": 0}]
    elif isinstance(before, CategoricalCharacteristic):
        out["categories"] = [{"values": [before.categories[0].values[0]], "points": 0}]
        out["other_points"] = 0
    if spec.may_be_missing:
        out["missing_points"] = 0
    return out


def carry_threshold(threshold: int, old: npt.NDArray[np.int64], new: npt.NDArray[np.int64]) -> int:
    """The new score with (as near as possible) the same share of loans at or above it."""
    share = float(np.mean(old >= threshold))
    if share == 0.0:
        return int(new.max()) + 1
    ranked = np.sort(new)[::-1]
    at = ranked[max(math.ceil(share * len(new)), 1) - 1]
    options = (int(at), int(at) + 1)
    return min(options, key=lambda t: (abs(float(np.mean(new >= t)) - share), -t))


def carry_thresholds(
    previous: Scorecard, old: npt.NDArray[np.int64], new: npt.NDArray[np.int64]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Grades and decision thresholds for the new card (see the module docstring)."""
    carried: dict[int, int] = {}

    def carry(threshold: int) -> int:
        if threshold not in carried:
            carried[threshold] = carry_threshold(threshold, old, new)
        return carried[threshold]

    grades: list[dict[str, Any]] = []
    floor: int | None = None
    for grade in previous.grades:
        minimum: int | None = None
        if grade.min_score is not None:
            minimum = carry(grade.min_score)
            if floor is not None and minimum >= floor:
                minimum = floor - 1  # grades stay strictly ordered when shares tie
            carried[grade.min_score] = minimum
            floor = minimum
        grades.append(
            {
                "grade": grade.grade,
                "min_score": minimum,
                "rate_per_month": str(grade.rate_per_month),
                "max_amount": grade.max_amount,
            }
        )
    approve = carry(previous.decision.approve_min_score)
    review = carry(previous.decision.review_min_score)
    if review >= approve:
        review = approve - 1
    return grades, {"approve_min_score": approve, "review_min_score": review}


def grade_shares(grades: Sequence[Mapping[str, Any]], scores: Iterable[int]) -> dict[str, float]:
    """Share of `scores` in each grade (grades best first, as in the file)."""
    values = np.asarray(list(scores), dtype=np.int64)
    counts = dict.fromkeys((str(g["grade"]) for g in grades), 0)
    for score in values:
        for g in grades:
            if g["min_score"] is None or score >= g["min_score"]:
                counts[str(g["grade"])] += 1
                break
    total = max(len(values), 1)
    return {name: count / total for name, count in counts.items()}
