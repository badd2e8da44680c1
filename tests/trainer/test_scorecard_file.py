"""The file the trainer writes: what parse_scorecard accepts, with v1's policy carried over."""

from __future__ import annotations

import numpy as np

from shared.domain.scoring.scorecard import parse_scorecard
from tests.trainer.conftest import TRAINING, Trained
from trainer.scorecard_file import card_points, carry_threshold, grade_shares


def test_the_written_document_is_a_valid_scorecard_as_json(trained: Trained) -> None:
    import json

    card = parse_scorecard(json.dumps(trained.document))
    assert card.model_version == "five-c-v2"
    assert card.base_points == trained.model.base_points


def test_policy_is_copied_from_the_previous_version(trained: Trained) -> None:
    card, v1 = trained.card, trained.v1
    assert card.knockouts == v1.knockouts
    assert card.thin_file == v1.thin_file
    assert card.top_reasons == v1.top_reasons
    offers = [(g.grade, g.rate_per_month, g.max_amount) for g in card.grades]
    assert offers == [(g.grade, g.rate_per_month, g.max_amount) for g in v1.grades]


def test_every_c_has_a_characteristic_and_a_dropped_c_earns_nothing(trained: Trained) -> None:
    kept = {ch.name for ch in trained.model.characteristics}
    assert "collateral_coverage" not in kept  # no effect in the synthetic population
    (collateral,) = trained.card.characteristics.collateral
    assert collateral.max_points == 0
    assert "no points" in collateral.description


def test_the_grade_mix_of_the_training_loans_is_kept(trained: Trained) -> None:
    grades = trained.document["grades"]
    assert isinstance(grades, list)
    v1_grades = [g.model_dump() for g in trained.v1.grades]
    old = [card_points(trained.v1, trained.population.features(i)) for i in range(TRAINING)]
    new = trained.model.score(trained.population.frame.iloc[:TRAINING])
    before, after = grade_shares(v1_grades, old), grade_shares(grades, new)
    for grade, share in before.items():
        assert abs(after[grade] - share) < 0.02, (grade, share, after[grade])


def test_the_approval_threshold_lands_on_the_same_grade_boundary(trained: Trained) -> None:
    c = next(g for g in trained.card.grades if g.grade == "C")
    d = next(g for g in trained.card.grades if g.grade == "D")
    assert trained.card.decision.approve_min_score == c.min_score
    assert trained.card.decision.review_min_score == d.min_score


def test_a_threshold_keeps_its_share_of_loans() -> None:
    old = np.array([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000])
    new = np.arange(10) * 3 + 400  # 400, 403, ..., 427
    assert carry_threshold(800, old, new) == 421  # 30% at or above in both
    assert carry_threshold(2000, old, new) == 428  # nobody, before or after
    assert carry_threshold(0, old, new) == 400  # everybody
