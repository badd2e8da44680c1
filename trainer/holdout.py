"""The held-out split every evaluation uses: stratified by outcome, fixed by a seed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import train_test_split


def split_held_out(
    frame: pd.DataFrame, bad: npt.ArrayLike, share: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Training rows, held-out rows and their outcomes; `share` of the loans are held out.

    Stratified, so both parts keep the bad rate of the whole.
    """
    if not 0 < share < 1:
        raise ValueError(f"the held-out share must be between 0 and 1, not {share}")
    outcome = np.asarray(bad, dtype=np.int64)
    train, test, y_train, y_test = train_test_split(
        frame, outcome, test_size=share, stratify=outcome, random_state=seed
    )
    return train, test, np.asarray(y_train), np.asarray(y_test)
