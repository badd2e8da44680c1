"""Shared, expensive fixtures: one synthetic population, scored and trained once per session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from shared.domain.scoring.features import FeatureValue, ScoringApplication, compute_features
from shared.domain.scoring.providers import ProviderData
from shared.domain.scoring.scorecard import Scorecard, load_scorecard, parse_scorecard
from trainer.fitting import TrainedScorecard, fit_scorecard
from trainer.scorecard_file import build_document, card_points, platform_candidates
from trainer.synthetic import SyntheticApplicant, generate_population
from trainer.table import feature_text

POPULATION = 9000
TRAINING = 6000


@dataclass(frozen=True)
class Scored:
    """A synthetic population as the platform would see it."""

    applicants: list[SyntheticApplicant]
    inputs: list[tuple[ScoringApplication, ProviderData]]
    frame: pd.DataFrame  # one row of stored features per applicant, as text
    bad: npt.NDArray[np.int64]

    def features(self, i: int) -> dict[str, FeatureValue]:
        return compute_features(*self.inputs[i])


def score_population(applicants: list[SyntheticApplicant]) -> Scored:
    inputs = [
        (
            ScoringApplication.model_validate(a.application),
            ProviderData.model_validate(a.provider_data),
        )
        for a in applicants
    ]
    rows = [
        {name: (None if v is None else feature_text(v)) for name, v in compute_features(*i).items()}
        for i in inputs
    ]
    bad = np.array([a.bad for a in applicants], dtype=np.int64)
    return Scored(applicants, inputs, pd.DataFrame(rows), bad)


@dataclass(frozen=True)
class Trained:
    population: Scored
    model: TrainedScorecard
    document: dict[str, object]
    card: Scorecard
    v1: Scorecard

    @property
    def training(self) -> slice:
        return slice(0, TRAINING)

    @property
    def holdout(self) -> slice:
        return slice(TRAINING, POPULATION)


@pytest.fixture(scope="session")
def synthetic() -> Scored:
    return score_population(generate_population(POPULATION, seed=7))


@pytest.fixture(scope="session")
def trained(synthetic: Scored) -> Trained:
    v1 = load_scorecard("v1")
    rows = slice(0, TRAINING)
    model = fit_scorecard(
        synthetic.frame.iloc[rows], synthetic.bad[rows], platform_candidates(v1), seed=0
    )
    old = np.array([card_points(v1, synthetic.features(i)) for i in range(TRAINING)])
    document = build_document(
        model,
        v1,
        version=2,
        effective_from=date(2026, 7, 1),
        description="trained on a synthetic population (tests)",
        previous_scores=old,
        new_scores=model.score(synthetic.frame.iloc[rows]),
    )
    return Trained(synthetic, model, document, parse_scorecard(document), v1)
