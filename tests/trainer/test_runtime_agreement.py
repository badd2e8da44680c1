"""The runtime engine, reading the written file, scores exactly as the trainer does."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shared.domain.scoring.engine import score
from shared.domain.scoring.features import ScoringApplication, compute_features
from shared.domain.scoring.providers import ProviderData
from tests.trainer.conftest import Trained
from trainer.synthetic import generate_population
from trainer.table import feature_text

# The card's arithmetic, compared with every declared figure counting in full: at decision
# time the runtime also caps unverified declarations (a policy on top of the card, which the
# trainer neither learns nor applies).
ALL_VERIFIED = ("inventory_value", "account_balances", "owner_equity", "collateral_value")


def test_runtime_scores_equal_the_trainers_for_held_out_applicants(trained: Trained) -> None:
    inputs = trained.population.inputs[trained.holdout]
    runtime = np.array(
        [score(a, d, trained.card, verified=ALL_VERIFIED).total_score for a, d in inputs]
    )
    own = trained.model.score(trained.population.frame.iloc[trained.holdout])
    assert len(runtime) == 3000
    assert (runtime == own).all(), np.flatnonzero(runtime != own)[:10]


def test_they_agree_on_the_edges_too(trained: Trained) -> None:
    """No revenue (infinite ratios), an unseen sector, and values exactly on cut points."""
    applicants = generate_population(40, seed=99)
    edges = []
    for i, a in enumerate(applicants):
        app, data = dict(a.application), dict(a.provider_data)
        if i % 4 == 0 and data["ecommerce_sales"]:
            store = data["ecommerce_sales"][0]
            data["ecommerce_sales"] = [{**store, "months": [
                {**m, "net_revenue": 0} for m in store["months"]
            ]}]  # fmt: skip
        if i % 4 == 1:
            app["sector"] = "space_mining"
        if i % 4 == 2:
            app["years_in_business"] = str(_cut(trained, "years_in_business", i))
        edges.append((ScoringApplication.model_validate(app), ProviderData.model_validate(data)))
    rows = [
        {k: (None if v is None else feature_text(v)) for k, v in compute_features(*e).items()}
        for e in edges
    ]
    assert any(r["debt_service_ratio"] == "Infinity" for r in rows)
    runtime = np.array(
        [score(a, d, trained.card, verified=ALL_VERIFIED).total_score for a, d in edges]
    )
    own = trained.model.score(pd.DataFrame(rows))
    assert (runtime == own).all()


def _cut(trained: Trained, feature: str, i: int) -> object:
    ch = next(c for c in trained.model.characteristics if c.name == feature)
    cuts = [b.lower for b in ch.bins if b.lower is not None]
    return cuts[i % len(cuts)]
