"""The synthetic population: reproducible, and default follows the stated model."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np

from tests.trainer.conftest import Scored
from trainer import synthetic
from trainer.synthetic import generate_population


def test_a_seed_gives_the_same_population_and_another_seed_another() -> None:
    assert generate_population(50, seed=1) == generate_population(50, seed=1)
    assert generate_population(50, seed=1) != generate_population(50, seed=2)


def test_outcomes_follow_the_stated_probabilities(synthetic: Scored) -> None:
    probability = np.array([a.default_probability for a in synthetic.applicants])
    bad = synthetic.bad
    assert abs(bad.mean() - probability.mean()) < 0.015
    riskiest = probability >= np.quantile(probability, 0.8)
    safest = probability <= np.quantile(probability, 0.2)
    assert bad[riskiest].mean() > 3 * bad[safest].mean()


def test_debt_service_drives_default_and_province_does_not(synthetic: Scored) -> None:
    frame, bad = synthetic.frame, synthetic.bad
    dsr = frame["debt_service_ratio"].astype(float)
    known = dsr.notna().to_numpy()
    high = (dsr >= dsr.quantile(0.8)).to_numpy() & known
    low = (dsr <= dsr.quantile(0.2)).to_numpy() & known
    assert bad[high].mean() > 2 * bad[low].mean()
    rates = [bad[(frame["province"] == p).to_numpy()].mean() for p in synthetic_provinces()]
    assert max(rates) - min(rates) < 0.08


def synthetic_provinces() -> tuple[str, ...]:
    return synthetic.PROVINCES


def test_the_generator_imports_nothing_from_the_lending_code() -> None:
    tree = ast.parse(Path(synthetic.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"numpy"}
