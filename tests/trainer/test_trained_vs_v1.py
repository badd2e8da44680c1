"""A card trained on the synthetic history ranks it better than v1, scored by the runtime."""

from __future__ import annotations

import numpy as np

from shared.domain.scoring.engine import score
from tests.trainer.conftest import Trained
from trainer.metrics import gini


def test_the_trained_card_ranks_held_out_loans_better_than_v1(trained: Trained) -> None:
    inputs = trained.population.inputs[trained.holdout]
    bad = trained.population.bad[trained.holdout]
    new = np.array([score(a, d, trained.card).total_score for a, d in inputs])
    old = np.array([score(a, d, trained.v1).total_score for a, d in inputs])
    new_gini, old_gini = gini(bad, new), gini(bad, old)
    assert old_gini > 0.1  # v1 is not useless here; the trained card is better
    assert new_gini > old_gini + 0.05, (new_gini, old_gini)
