"""Ranking and stability measures for scores where higher means safer."""

from __future__ import annotations

import math
from collections.abc import Mapping

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
