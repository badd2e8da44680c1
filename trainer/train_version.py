"""Train the next scorecard version from the training table: the file, and its model card's figures.

1. A stratified share of the loans (30% by default, fixed by a seed) is held
   out; the card is fitted on the rest (`fit_scorecard`).
2. The held-out loans are scored by the new card and by the previous version:
   Gini and KS for each, the population stability index of the new card's
   scores against the previous card's (in the previous card's deciles), and
   the share and bad rate of each grade and decision under both.
3. Grade and decision thresholds are carried on the training loans
   (`build_document`), so the held-out loans judge them too.

The file is the card fitted on the training part: every held-out figure
describes exactly the card that ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shared.domain.scoring.scorecard import Scorecard
from trainer.fitting import (
    TrainedScorecard,
    TrainingSettings,
    fit_scorecard,
    require_enough_loans,
)
from trainer.holdout import split_held_out
from trainer.metrics import ScoreBand, gini, in_band, ks, psi_in_reference_deciles
from trainer.scorecard_file import build_document, card_points, platform_candidates
from trainer.table import BAD, feature_vector

DECISIONS = ("approve", "review", "reject")


@dataclass(frozen=True, slots=True)
class Sample:
    loans: int
    bad: int

    @property
    def bad_rate(self) -> float:
        return self.bad / self.loans if self.loans else 0.0

    @classmethod
    def of(cls, bad: npt.NDArray[np.int64]) -> Sample:
        return cls(len(bad), int(bad.sum()))


@dataclass(frozen=True, slots=True)
class Ranking:
    """How well one card's scores separate the held-out loans."""

    gini: float
    ks: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A grade or a decision on the held-out loans, under the previous card and the new one."""

    name: str
    previous_min_score: int | None
    new_min_score: int | None
    previous: Sample
    new: Sample


@dataclass(frozen=True, slots=True)
class NewVersion:
    document: dict[str, Any]
    model: TrainedScorecard
    previous_version: str
    seed: int
    held_out_share: float
    decided: tuple[str, str]
    disbursed: tuple[str, str]
    whole: Sample
    training: Sample
    held_out: Sample
    new_ranking: Ranking
    previous_ranking: Ranking
    psi: float
    psi_bands: tuple[ScoreBand, ...]
    grades: tuple[Segment, ...]
    decisions: tuple[Segment, ...]

    @property
    def model_version(self) -> str:
        return str(self.document["model_version"])


def previous_card_scores(previous: Scorecard, rows: pd.DataFrame) -> npt.NDArray[np.int64]:
    """The previous card's totals for table rows (the card's points, before any policy)."""
    return np.array(
        [card_points(previous, feature_vector(row)) for row in rows.to_dict("records")],
        dtype=np.int64,
    )


def train_version(
    table: pd.DataFrame,
    previous: Scorecard,
    *,
    version: int,
    effective_from: date,
    description: str | None = None,
    seed: int = 0,
    held_out_share: float = 0.3,
    settings: TrainingSettings | None = None,
) -> NewVersion:
    """Fit version `version` on `table` (as `read_table` gives it) against `previous`."""
    bad = table[BAD].to_numpy(dtype=np.int64)
    require_enough_loans(bad, settings or TrainingSettings())  # before splitting them
    train, test, y_train, y_test = split_held_out(table, bad, held_out_share, seed)
    model = fit_scorecard(train, y_train, platform_candidates(previous), settings, seed=seed)

    decided = _span(table["decided_at"].map(lambda v: str(v)[:10]))
    disbursed = _span(table["disbursed_on"])
    document = build_document(
        model,
        previous,
        version=version,
        effective_from=effective_from,
        description=description
        or (
            f"Trained on {len(table):,} loans disbursed {disbursed[0]} to {disbursed[1]} "
            f"({bad.mean():.1%} went 90+ days past due within 12 months); see the model card."
        ),
        previous_scores=previous_card_scores(previous, train),
        new_scores=model.score(train),
    )
    old_scores, new_scores = previous_card_scores(previous, test), model.score(test)
    index, bands = psi_in_reference_deciles(old_scores, new_scores)
    return NewVersion(
        document=document,
        model=model,
        previous_version=previous.model_version,
        seed=seed,
        held_out_share=held_out_share,
        decided=decided,
        disbursed=disbursed,
        whole=Sample.of(bad),
        training=Sample.of(y_train),
        held_out=Sample.of(y_test),
        new_ranking=Ranking(gini(y_test, new_scores), ks(y_test, new_scores)),
        previous_ranking=Ranking(gini(y_test, old_scores), ks(y_test, old_scores)),
        psi=index,
        psi_bands=tuple(bands),
        grades=_segments(
            [g.grade for g in previous.grades],
            [g.min_score for g in previous.grades],
            [g["min_score"] for g in document["grades"]],
            y_test,
            old_scores,
            new_scores,
        ),
        decisions=_segments(
            DECISIONS,
            [previous.decision.approve_min_score, previous.decision.review_min_score, None],
            [
                document["decision"]["approve_min_score"],
                document["decision"]["review_min_score"],
                None,
            ],
            y_test,
            old_scores,
            new_scores,
        ),
    )


def _span(values: pd.Series) -> tuple[str, str]:
    present = sorted(str(v) for v in values if v is not None)
    return (present[0], present[-1]) if present else ("", "")


def _segments(
    names: Sequence[str],
    old_minimums: Sequence[int | None],
    new_minimums: Sequence[int | None],
    bad: npt.NDArray[np.int64],
    old: npt.NDArray[np.int64],
    new: npt.NDArray[np.int64],
) -> tuple[Segment, ...]:
    """Grades or decisions, best first; each takes the scores from its minimum up to the
    one above's (the last has no minimum)."""
    out = []
    for i, name in enumerate(names):
        in_old = in_band(old, old_minimums[i], old_minimums[i - 1] if i else None)
        in_new = in_band(new, new_minimums[i], new_minimums[i - 1] if i else None)
        out.append(
            Segment(
                name,
                old_minimums[i],
                new_minimums[i],
                Sample.of(bad[in_old]),
                Sample.of(bad[in_new]),
            )
        )
    return tuple(out)
