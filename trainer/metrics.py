"""Ranking and stability measures for scores where higher means safer."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score, roc_curve


def gini(bad: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """2·AUC − 1 of the score at telling good from bad (1: perfect, 0: chance)."""
    return float(2 * roc_auc_score(np.asarray(bad), -np.asarray(score, dtype=float)) - 1)


def ks(bad: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Kolmogorov-Smirnov: the widest gap between the bad and good score distributions."""
    false_positive, true_positive, _ = roc_curve(np.asarray(bad), -np.asarray(score, dtype=float))
    return float(np.max(true_positive - false_positive))


def psi(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """Population stability index between two shares over the same bands.

    An empty band is given 0.0001 of the population, the usual convention, so
    the index stays finite. Under 0.1 is read as stable, over 0.25 as a shift.
    """
    floor = 1e-4
    total = 0.0
    for band in expected:
        e, a = max(expected[band], floor), max(actual.get(band, 0.0), floor)
        total += (a - e) * math.log(a / e)
    return total


@dataclass(frozen=True, slots=True)
class ScoreBand:
    """Scores from `lower` (inclusive) to `upper` (exclusive); None is an open end."""

    lower: int | None
    upper: int | None
    reference_share: float
    other_share: float

    @property
    def label(self) -> str:
        if self.lower is None:
            return f"< {self.upper}"
        if self.upper is None:
            return f">= {self.lower}"
        return f"{self.lower} to {self.upper - 1}"


def psi_in_reference_deciles(
    reference: npt.ArrayLike, other: npt.ArrayLike
) -> tuple[float, list[ScoreBand]]:
    """The PSI of `other` against `reference`, in bands cut at the reference's deciles.

    Both are integer scores of the same applicants (the previous card's and the
    new card's), so a band holds the same score range under either card. Tied
    scores at a decile keep some bands off an exact tenth.
    """
    ref = np.asarray(reference, dtype=np.int64)
    new = np.asarray(other, dtype=np.int64)
    if not len(ref) or not len(new):
        raise ValueError("the PSI needs scores on both sides")
    cuts = sorted({int(q) for q in np.quantile(ref, np.arange(1, 10) / 10, method="higher")})
    cuts = [c for c in cuts if c > ref.min()]
    edges: list[int | None] = [None, *cuts, None]
    bands = [
        ScoreBand(
            lower,
            upper,
            float(in_band(ref, lower, upper).mean()),
            float(in_band(new, lower, upper).mean()),
        )
        for lower, upper in itertools.pairwise(edges)
    ]
    index = psi(
        {b.label: b.reference_share for b in bands}, {b.label: b.other_share for b in bands}
    )
    return index, bands


def in_band(
    scores: npt.NDArray[np.int64], lower: int | None, upper: int | None
) -> npt.NDArray[np.bool_]:
    """Which scores lie from `lower` (inclusive) to `upper` (exclusive); None is an open end."""
    inside = np.ones(len(scores), dtype=bool)
    if lower is not None:
        inside &= scores >= lower
    if upper is not None:
        inside &= scores < upper
    return inside
