"""The fitting method: deterministic, monotonic, readable, and honest about what it drops."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.scoring.engine import score_features
from shared.domain.scoring.features import FEATURES
from shared.domain.scoring.scorecard import load_scorecard, parse_scorecard
from tests.trainer.conftest import Scored, Trained
from trainer.fitting import (
    Candidate,
    TrainingFailed,
    TrainingSettings,
    fit_scorecard,
    readable_cut,
)
from trainer.scorecard_file import build_document, platform_candidates
from trainer.table import feature_vector


def test_the_same_seed_fits_the_same_card(synthetic: Scored, trained: Trained) -> None:
    rows = slice(0, 3000)
    candidates = platform_candidates(trained.v1)
    first = fit_scorecard(synthetic.frame.iloc[rows], synthetic.bad[rows], candidates, seed=3)
    second = fit_scorecard(synthetic.frame.iloc[rows], synthetic.bad[rows], candidates, seed=3)
    assert first.characteristics == second.characteristics
    assert first.base_points == second.base_points
    assert first.dropped == second.dropped
    assert (first.score(synthetic.frame) == second.score(synthetic.frame)).all()


def test_numeric_points_move_in_the_declared_direction_and_v1s_direction(trained: Trained) -> None:
    previous = {
        ch.feature: ch.direction
        for _, group in trained.v1.characteristics.by_c()
        for ch in group
        if ch.kind == "numeric"
    }
    numeric = [
        ch
        for _, group in trained.card.characteristics.by_c()
        for ch in group
        if ch.kind == "numeric"
    ]
    assert numeric
    for ch in numeric:
        points = [b.points for b in ch.bins]
        if ch.direction == "higher_is_better":
            assert points == sorted(points), ch.name
        else:
            assert points == sorted(points, reverse=True), ch.name
        if len(set(points)) > 1:  # a single-bin C placeholder has no direction of its own
            assert ch.direction == previous[ch.feature], ch.name


def test_missing_values_never_earn_more_than_the_best_bin(trained: Trained) -> None:
    for ch in trained.model.characteristics:
        assert ch.missing_points <= ch.max_points, ch.name
    # A characteristic missing for many loans gets points learned from them.
    bureau = next(
        c for c in trained.model.characteristics if c.name == "bureau_worst_collectability"
    )
    assert bureau.missing.count > 500
    assert "own bin" in bureau.missing_rule


def test_the_true_drivers_are_kept_and_the_noise_is_dropped(trained: Trained) -> None:
    kept = {ch.name for ch in trained.model.characteristics}
    assert {"debt_service_ratio", "bureau_worst_collectability", "sector"} <= kept
    dropped = {d.name: d.reason for d in trained.model.dropped}
    for noise in ("province", "business_review_count", "inventory_to_principal"):
        assert noise in dropped, noise
        assert "information value" in dropped[noise]
    assert len(kept) + len(dropped) == 17


def test_at_most_max_characteristics_are_kept_and_the_rest_say_why(synthetic: Scored) -> None:
    rows = slice(0, 3000)
    candidates = [Candidate(name, spec.kind) for name, spec in FEATURES.items()]
    model = fit_scorecard(
        synthetic.frame.iloc[rows],
        synthetic.bad[rows],
        candidates,
        TrainingSettings(max_characteristics=2, min_iv=0.0),
        seed=0,
    )
    assert len(model.characteristics) == 2
    capped = [d for d in model.dropped if "keeps 2 characteristics" in d.reason]
    assert capped
    kept_iv = min(ch.iv for ch in model.characteristics)
    assert kept_iv >= 0.05


def test_unknown_categories_score_the_other_points(trained: Trained) -> None:
    frame = trained.population.frame.iloc[[0, 0]].copy()
    frame.loc[:, "sector"] = ["space_mining", frame["sector"].iloc[0]]
    scores = trained.model.score(frame.reset_index(drop=True))
    sector = next(c for c in trained.model.characteristics if c.name == "sector")
    known = next(g.points for g in sector.categories if frame["sector"].iloc[1] in g.values)
    assert scores[0] - scores[1] == sector.other_points - known


def test_too_little_data_is_refused_with_the_reason() -> None:
    frame = pd.DataFrame({"x": [str(i) for i in range(50)]})
    with pytest.raises(TrainingFailed, match="at least 100 loans"):
        fit_scorecard(frame, np.zeros(50), [Candidate("x", "numeric")])


def test_nothing_predictive_is_refused_with_each_reason() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"noise": [str(v) for v in rng.normal(size=2000)]})
    with pytest.raises(TrainingFailed, match="noise: "):
        fit_scorecard(frame, rng.integers(0, 2, 2000), [Candidate("noise", "numeric")])


def test_numeric_pre_bins_are_quantiles_of_the_values_not_fitted_to_the_outcomes() -> None:
    """Only the merge into monotonic bins reads the outcomes: every cut falls on a pre-bin
    edge at a quantile of the values, even where the bad rate changes between two of them
    (at 333 here; a tree fitted to the outcomes would cut there)."""
    settings = TrainingSettings()
    rng = np.random.default_rng(0)
    values = rng.permutation(np.arange(1000, dtype=float))
    bad = ((values < 333) & (rng.random(1000) < 0.6)) | (rng.random(1000) < 0.1)
    model = fit_scorecard(
        pd.DataFrame({"x": values}), bad.astype(int), [Candidate("x", "numeric")], settings
    )
    (x,) = model.characteristics
    shares = np.arange(1, settings.max_prebins) / settings.max_prebins
    # Whole values: the shortest decimal above a quantile between two of them is the next one.
    edges = {math.ceil(q) for q in np.quantile(values, shares)}
    cuts = [int(b.lower) for b in x.bins if b.lower is not None]
    assert cuts
    assert set(cuts) <= edges, (cuts, sorted(edges))


@pytest.mark.parametrize(
    ("below", "above", "cut"),
    [
        (0.1499, 0.1512, Decimal("0.15")),
        (4_999_999.0, 5_000_001.0, Decimal(5_000_000)),
        (12.5, 40.0, Decimal(20)),
        (-0.21, -0.19, Decimal("-0.2")),
        (0.30171, 0.30172, Decimal("0.30172")),
        (2.0, 3.0, Decimal(3)),
    ],
)
def test_cut_points_are_the_shortest_decimal_between_the_neighbours(
    below: float, above: float, cut: Decimal
) -> None:
    assert readable_cut(below, above) == cut


@given(st.floats(-1e9, 1e9), st.floats(1e-9, 1e9))
def test_a_readable_cut_keeps_every_training_value_on_its_side(low: float, gap: float) -> None:
    high = low + gap
    if not low < high:
        return
    cut = readable_cut(low, high)
    assert low < float(cut) <= high


def test_a_cut_needs_two_distinct_neighbours() -> None:
    with pytest.raises(ValueError, match="no cut point"):
        readable_cut(1.0, 1.0)


def test_rare_categories_pooled_into_one_bin_score_alike_in_the_runtime(synthetic: Scored) -> None:
    rows = slice(0, 3000)
    frame = synthetic.frame.iloc[rows].copy()
    rare = np.random.default_rng(5).choice(len(frame), 120, replace=False)
    frame.iloc[rare[:60], frame.columns.get_loc("sector")] = "livestock"
    frame.iloc[rare[60:], frame.columns.get_loc("sector")] = "education"
    v1 = load_scorecard("v1")
    model = fit_scorecard(
        frame,
        synthetic.bad[rows],
        platform_candidates(v1),
        TrainingSettings(rare_category_shares=(0.05,)),
        seed=0,
    )
    assert model.chosen.rare_category_share == 0.05
    sector = next(ch for ch in model.characteristics if ch.name == "sector")
    pooled = next(g for g in sector.categories if "livestock" in g.values)
    assert "education" in pooled.values  # 2% each: pooled, not judged on their own
    assert all(g.stats.count >= 0.05 * len(frame) for g in sector.categories if g is not pooled)

    document = build_document(
        model, v1, version=2, effective_from=date(2026, 7, 1), description="pooled",
        previous_scores=np.arange(len(frame)), new_scores=model.score(frame),
    )  # fmt: skip
    card = parse_scorecard(document)
    runtime = [
        score_features(
            feature_vector(row), card, principal=1, unavailable={}, knockouts=()
        ).total_score
        for row in frame.to_dict("records")
    ]
    assert (np.array(runtime) == model.score(frame)).all()


def test_a_near_copy_of_a_kept_characteristic_is_left_out_and_says_why(synthetic: Scored) -> None:
    rows = slice(0, 3000)
    frame = synthetic.frame.iloc[rows].copy()
    # The same ratio, a hair larger: it bins alike, so it would add nothing to the card.
    frame["debt_service_copy"] = pd.to_numeric(frame["debt_service_ratio"]) * 1.001
    candidates = [Candidate(name, spec.kind) for name, spec in FEATURES.items()]
    copy = Candidate("debt_service_copy", "numeric")
    model = fit_scorecard(frame, synthetic.bad[rows], [*candidates, copy], seed=0)
    kept = {ch.name for ch in model.characteristics}
    assert len(kept & {"debt_service_ratio", "debt_service_copy"}) == 1
    reasons = {d.name: d.reason for d in model.dropped}
    left_out = ({"debt_service_ratio", "debt_service_copy"} - kept).pop()
    assert "near copy" in reasons[left_out]
    assert (kept & {"debt_service_ratio", "debt_service_copy"}).pop() in reasons[left_out]
