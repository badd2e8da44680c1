"""Fit a points scorecard: optimal WOE binning, logistic regression, scaling to integers.

The method, step by step (every step is optbinning's or scikit-learn's; this
module only chooses the settings and reads the results):

0. Stratified k-fold cross-validation on the training rows picks the two
   settings the data should decide (`cross_validate`): whether categories
   rarer than a share of the loans are pooled into one bin before grouping
   (`rare_category_shares`; a rare category's own bad rate is mostly noise),
   and the regression's L2 strength (`regularization_grid`). Each fold runs
   steps 1, 2 and 4 on the other folds and is judged by the Gini on its own
   rows; the setting with the best mean wins.
1. Each candidate characteristic is binned on the training rows with
   optbinning's `OptimalBinning`: numeric ones with a monotonic bad-rate trend
   (the one the caller declares, or the better of ascending and descending)
   merged from quantile pre-bins (`max_prebins`, each at least `min_prebin_share`;
   quantiles of the values, blind to the outcomes, rather than optbinning's
   default decision-tree pre-bins fitted to them),
   categorical ones by grouping categories of similar bad rate (at most
   `max_bins` groups, plus the pooled rare categories).
2. Characteristics are dropped when their binning cannot separate anything
   (one bin), when their information value is below `min_iv`, when their WOE
   values correlate (|r| >= `max_correlation`, on the same training rows) with
   those of a characteristic of higher information value already kept -- a
   near copy adds little ranking and would take one of the card's few places --
   or when they rank beyond `max_characteristics`. Each drop is kept with its
   reason.
3. Numeric cut points are replaced by the shortest decimal that puts every
   training value in the same bin (0.15 rather than 0.1499873), and the bins
   are refitted with those cut points fixed, so that the bounds written to the
   scorecard file are the ones the model was fitted with.
4. optbinning's `Scorecard` fits a logistic regression on the WOE values (L2,
   at the strength step 0 chose) and scales it to points: `score_at_odds`
   points at `odds` good:bad, `pdo` more for each doubling of the odds,
   rounded to integers, every characteristic's lowest points at 0 and the
   rest in the base points.
5. A characteristic whose coefficient has the wrong sign (its points would
   reward the riskier bins, a symptom of collinearity) is dropped and the
   regression refitted.
6. Missing values get the points of their own bin when at least
   `min_missing_count` training rows were missing, capped at the best bin;
   otherwise the worst bin's points. Withholding data never pays.

`TrainedScorecard.score` is the trainer's own scorer: optbinning assigns the
bins, the final points table gives the points. The runtime engine, reading the
file written from the same table, must agree with it to the point.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from optbinning import BinningProcess, OptimalBinning, Scorecard
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

Kind = Literal["numeric", "categorical"]
Trend = Literal["ascending", "descending"]  # how the bad rate moves as the value grows
Direction = Literal["higher_is_better", "lower_is_better"]


class TrainingFailed(Exception):
    """The data cannot give a scorecard (too few rows or outcomes, nothing predictive...)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A column the trainer may turn into a characteristic.

    `trend` fixes the direction of the bad rate for a numeric column (from the
    previous scorecard or domain knowledge); None lets the data choose.
    """

    name: str
    kind: Kind
    trend: Trend | None = None


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    max_characteristics: int = 12
    min_iv: float = 0.02
    # A candidate whose WOE values correlate at least this much (in absolute value) with a
    # characteristic already kept is left out as redundant; 1.0 or more never leaves one out.
    max_correlation: float = 0.5
    max_bins: int = 6
    # Numeric pre-binning (quantile pre-bins, before the monotonic merge): finer than
    # optbinning's defaults (20 bins, 5% each), which raised the cross-validated Gini on German
    # Credit. Quantiles of the values alone, not optbinning's default (a decision tree on the
    # outcomes): only the merge looks at the outcomes, so the cut points have fewer places to
    # follow the training rows' noise.
    max_prebins: int = 40
    min_prebin_share: float = 0.02
    # The cross-validation on the training rows picks one of each:
    # categories rarer than this share of the loans are pooled into one bin (None: never);
    rare_category_shares: tuple[float | None, ...] = (None, 0.05)
    # and the regression's inverse L2 weight.
    regularization_grid: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)
    cv_folds: int = 5
    min_missing_count: int = 30
    score_at_odds: int = 600
    odds: int = 50
    pdo: int = 20
    min_rows: int = 100
    min_bads: int = 20


@dataclass(frozen=True, slots=True)
class BinStats:
    count: int
    bads: int

    @property
    def bad_rate(self) -> float:
        return self.bads / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True)
class NumericBin:
    """Values from `lower` (inclusive) to `upper` (exclusive); None is an open end."""

    lower: Decimal | None
    upper: Decimal | None
    points: int
    stats: BinStats
    woe: float


@dataclass(frozen=True, slots=True)
class CategoryGroup:
    values: tuple[str, ...]
    points: int
    stats: BinStats
    woe: float


@dataclass(frozen=True, slots=True)
class TrainedCharacteristic:
    """One characteristic of the fitted card, as the scorecard file and model card show it."""

    name: str
    kind: Kind
    bins: tuple[NumericBin, ...] = ()
    categories: tuple[CategoryGroup, ...] = ()
    other_points: int = 0  # categorical: a category the training rows never had
    missing_points: int = 0
    missing: BinStats = BinStats(0, 0)
    missing_rule: str = ""
    iv: float = 0.0
    coefficient: float = 0.0

    @property
    def direction(self) -> Direction:
        points = [b.points for b in self.bins]
        return "lower_is_better" if points and points[-1] < points[0] else "higher_is_better"

    @property
    def max_points(self) -> int:
        rows = [b.points for b in self.bins] + [g.points for g in self.categories]
        if self.kind == "categorical":
            rows.append(self.other_points)
        return max(rows)


@dataclass(frozen=True, slots=True)
class Trial:
    """One setting the cross-validation tried, and its mean Gini on the held-back folds."""

    rare_category_share: float | None
    regularization: float
    gini: float


@dataclass(frozen=True, slots=True)
class Dropped:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Lookup:
    """Points by optbinning bin index: bins, then special, then missing; -1 is unknown."""

    points: npt.NDArray[np.int64]
    unknown: int


@dataclass(slots=True)
class TrainedScorecard:
    base_points: int
    characteristics: tuple[TrainedCharacteristic, ...]
    dropped: tuple[Dropped, ...]
    chosen: Trial  # the setting the cross-validation picked
    trials: tuple[Trial, ...]
    settings: TrainingSettings
    candidates: tuple[Candidate, ...]
    _binning: Any = field(repr=False)
    _lookups: dict[str, _Lookup] = field(repr=False)
    _infinity_as: dict[str, float] = field(repr=False)

    def score(self, frame: pd.DataFrame) -> npt.NDArray[np.int64]:
        """Total points per row; `frame` holds the candidates' columns as `prepare_frame` reads."""
        x = _model_matrix(frame, self.candidates, self._infinity_as)
        with quiet_optbinning():
            indices = self._binning.transform(
                x, metric="indices", metric_special="empirical", metric_missing="empirical"
            )
        total = np.full(len(frame), self.base_points, dtype=np.int64)
        for ch in self.characteristics:
            lookup = self._lookups[ch.name]
            index = indices[ch.name].to_numpy(dtype=np.int64)
            known = index >= 0
            points = np.full(len(frame), lookup.unknown, dtype=np.int64)
            points[known] = lookup.points[index[known]]
            total += points
        return total

    @property
    def max_score(self) -> int:
        return self.base_points + sum(ch.max_points for ch in self.characteristics)


@contextlib.contextmanager
def quiet_optbinning() -> Iterator[None]:
    """optbinning's own deprecation noise (pandas inplace=...) is not the caller's to fix, nor
    is scikit-learn's note, under optbinning's quantile pre-binning, that repeated values
    (whole months, amounts) make some quantiles coincide and their empty pre-bins go."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"optbinning(\..*)?")
        warnings.filterwarnings(
            "ignore", message="Bins whose width are too small", category=UserWarning
        )
        yield


def prepare_frame(frame: pd.DataFrame, candidates: Sequence[Candidate]) -> pd.DataFrame:
    """Numeric columns as floats (text such as "0.15" or "Infinity"), categoricals as text.

    Empty cells and None are missing values (NaN).
    """
    out: dict[str, pd.Series] = {}
    for candidate in candidates:
        column = frame[candidate.name]
        if candidate.kind == "numeric":
            out[candidate.name] = pd.to_numeric(column, errors="raise").astype(float)
        else:
            text = column.astype(object).where(column.notna(), None)
            out[candidate.name] = text.map(lambda v: None if v in (None, "") else str(v))
    return pd.DataFrame(out, index=frame.index)


def _model_matrix(
    frame: pd.DataFrame, candidates: Sequence[Candidate], infinity_as: Mapping[str, float]
) -> pd.DataFrame:
    """Rows as optbinning takes them: +inf (no revenue) lands with the largest training value.

    The scorecard's last bin is open above, so at run time an infinite ratio
    falls in it too; the largest training value lies in that bin by definition.
    """
    x = prepare_frame(frame, candidates)
    for name, value in infinity_as.items():
        column = x[name]
        if np.isneginf(column).any():
            raise TrainingFailed(f"{name}: -Infinity is not a value the engine computes")
        x[name] = column.where(~np.isposinf(column), value)
    return x


def readable_cut(below: float, at_or_above: float) -> Decimal:
    """The decimal with the fewest significant digits in (below, at_or_above].

    Every value that was below the original cut stays below it, every other
    value stays at or above: the bins keep their training rows.
    """
    if not below < at_or_above:
        raise ValueError(f"no cut point between {below} and {at_or_above}")
    low, high = Decimal(repr(below)), Decimal(repr(at_or_above))
    exponent = max(abs(low), abs(high), Decimal(1)).adjusted() + 1
    while True:
        step = Decimal(1).scaleb(exponent)
        candidate = ((low / step).to_integral_value(rounding=ROUND_FLOOR) + 1) * step
        if candidate <= high and below < float(candidate) <= at_or_above:
            return Decimal(format(candidate, "f")) if exponent < 0 else Decimal(int(candidate))
        exponent -= 1


def _readable_cuts(values: npt.NDArray[np.float64], cuts: Sequence[float]) -> list[Decimal]:
    clean = np.unique(values[~np.isnan(values)])
    out: list[Decimal] = []
    for cut in cuts:
        below = clean[clean < cut]
        above = clean[clean >= cut]
        out.append(readable_cut(float(below[-1]), float(above[0])))
    return out


def _binning_options(
    candidate: Candidate,
    settings: TrainingSettings,
    rare_category_share: float | None,
    splits: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """optbinning's options for one candidate; `splits` fixes the bins instead of fitting them."""
    options: dict[str, Any] = {"max_n_bins": settings.max_bins}
    if candidate.kind == "numeric":
        options["monotonic_trend"] = candidate.trend or "auto_asc_desc"
        if splits is None:
            options["prebinning_method"] = "quantile"
            options["max_n_prebins"] = settings.max_prebins
            options["min_prebin_size"] = settings.min_prebin_share
    elif rare_category_share is not None and splits is None:
        options["cat_cutoff"] = rare_category_share
    if splits is not None:
        # The pooled rare categories are a group of their own, beyond max_bins.
        options["max_n_bins"] = max(settings.max_bins, len(splits))
        options["user_splits"] = splits
        options["user_splits_fixed"] = [True] * len(splits)
    return options


def _binning_process(
    names: Sequence[str],
    candidates: Mapping[str, Candidate],
    settings: TrainingSettings,
    fixed_splits: Mapping[str, Any],
) -> BinningProcess:
    """The chosen characteristics with their bins fixed, as optbinning's `Scorecard` takes them."""
    params = {
        name: _binning_options(candidates[name], settings, None, fixed_splits[name])
        for name in names
    }
    categorical = [n for n in names if candidates[n].kind == "categorical"]
    return BinningProcess(list(names), categorical_variables=categorical, binning_fit_params=params)


@dataclass(frozen=True, slots=True)
class _Binned:
    """One candidate binned on some rows, with what selection reads of it."""

    binning: OptimalBinning
    iv: float
    bins: int

    def woe(self, column: pd.Series) -> npt.NDArray[np.float64]:
        with quiet_optbinning():
            return np.asarray(self.binning.transform(column, metric="woe"), dtype=float)


def _bin(
    column: pd.Series,
    y: npt.NDArray[np.int64],
    candidate: Candidate,
    settings: TrainingSettings,
    rare_category_share: float | None,
) -> _Binned:
    """`candidate` binned on these rows, as `BinningProcess` would bin it (without the
    selection statistics it computes for every variable, which the trainer does not read)."""
    dtype = "categorical" if candidate.kind == "categorical" else "numerical"
    options = _binning_options(candidate, settings, rare_category_share)
    with quiet_optbinning():
        binning = OptimalBinning(name=candidate.name, dtype=dtype, **options).fit(column, y)
        table = binning.binning_table
        table.build()
    bins = len(binning.splits) + (1 if dtype == "numerical" else 0)
    return _Binned(binning, float(table.iv), bins)


def _bin_all(
    x: pd.DataFrame,
    y: npt.NDArray[np.int64],
    candidates: Sequence[Candidate],
    settings: TrainingSettings,
    rare_category_share: float | None,
    numeric: Mapping[str, _Binned] | None = None,
) -> dict[str, _Binned]:
    """Every candidate binned on these rows. The numeric ones do not depend on the pooling of
    rare categories: `numeric` passes those already binned on the same rows."""
    out: dict[str, _Binned] = {}
    for candidate in candidates:
        if numeric is not None and candidate.name in numeric:
            out[candidate.name] = numeric[candidate.name]
        else:
            out[candidate.name] = _bin(
                x[candidate.name], y, candidate, settings, rare_category_share
            )
    return out


def _woe(binned: Mapping[str, _Binned], x: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({name: binned[name].woe(x[name]) for name in names}, index=x.index)


def fit_scorecard(
    frame: pd.DataFrame,
    bad: npt.ArrayLike,
    candidates: Sequence[Candidate],
    settings: TrainingSettings | None = None,
    seed: int = 0,
) -> TrainedScorecard:
    """Fit a scorecard on `frame` (one row per loan) and `bad` (1 = the loan went bad).

    Deterministic for a seed: the seed drives the cross-validation folds only.
    Nothing outside `frame` is seen: held-out rows stay out of every step.
    """
    settings = settings or TrainingSettings()
    y = np.asarray(bad, dtype=np.int64)
    if len(frame) != len(y):
        raise TrainingFailed(f"{len(frame)} rows but {len(y)} outcomes")
    require_enough_loans(y, settings)
    by_name = {c.name: c for c in candidates}
    raw = prepare_frame(frame, candidates)
    infinity_as = {c.name: _largest_finite(raw[c.name]) for c in candidates if c.kind == "numeric"}
    x = _model_matrix(frame, candidates, infinity_as)

    trials = cross_validate(x, y, by_name, settings, seed)
    best = max(trials, key=lambda t: t.gini)  # the first of equals: the simpler binning
    binned = _bin_all(x, y, candidates, settings, best.rare_category_share)
    woe = _woe(binned, x, list(by_name))
    chosen, dropped = _select(binned, woe, candidates, settings, with_reasons=True)

    splits: dict[str, Any] = {}
    cuts: dict[str, list[Decimal]] = {}
    for name in chosen:
        fitted = binned[name].binning
        if by_name[name].kind == "numeric":
            cuts[name] = _readable_cuts(x[name].to_numpy(dtype=float), list(fitted.splits))
            splits[name] = [float(c) for c in cuts[name]]
        else:
            splits[name] = [list(group) for group in fitted.splits]

    while True:
        if not chosen:
            raise TrainingFailed(
                "no characteristic is predictive enough: "
                + "; ".join(f"{d.name}: {d.reason}" for d in dropped)
            )
        card = _fit_points(x, y, chosen, by_name, splits, settings, best.regularization)
        coefficients = dict(zip(chosen, card.estimator_.coef_.ravel(), strict=True))
        # Positive WOE is the safer side, so a sound coefficient is negative.
        wrong = [name for name in chosen if coefficients[name] > 0]
        if not wrong:
            break
        for name in wrong:
            dropped.append(
                Dropped(
                    name,
                    "its regression coefficient turned positive next to the others "
                    "(collinear): its points would reward the riskier bins",
                )
            )
        chosen = [name for name in chosen if name not in wrong]

    fitted_model = _FittedModel(card, best, chosen, by_name, coefficients, cuts)
    return _read_card(fitted_model, dropped, settings, candidates, infinity_as, tuple(trials))


def require_enough_loans(bad: npt.NDArray[np.int64], settings: TrainingSettings) -> None:
    """Refuse, saying why, outcomes too few to fit a card on."""
    bads = int(bad.sum())
    if len(bad) < settings.min_rows or min(bads, len(bad) - bads) < settings.min_bads:
        raise TrainingFailed(
            f"{len(bad)} loans with {bads} bad: the trainer needs at least {settings.min_rows} "
            f"loans and {settings.min_bads} of each outcome"
        )


def _select(
    binned: Mapping[str, _Binned],
    woe: pd.DataFrame,
    candidates: Sequence[Candidate],
    settings: TrainingSettings,
    *,
    with_reasons: bool = False,
) -> tuple[list[str], list[Dropped]]:
    """The characteristics kept, best information value first, and (on request) why the
    others are not.

    `woe` holds the WOE values of the rows `binned` was fitted on: a candidate that
    nearly repeats a characteristic already kept (`max_correlation`) is passed over
    for the next one, so the card's places go to different information.
    """
    dropped: list[Dropped] = []
    eligible: list[str] = []
    for candidate in candidates:
        iv = binned[candidate.name].iv
        if binned[candidate.name].bins < 2:
            how = f"a {candidate.trend} bad rate" if candidate.trend else "a monotonic bad rate"
            dropped.append(Dropped(candidate.name, f"no split with {how} separates the loans"))
        elif iv < settings.min_iv:
            dropped.append(
                Dropped(candidate.name, f"information value {iv:.3f} below {settings.min_iv}")
            )
        else:
            eligible.append(candidate.name)
    eligible.sort(key=lambda name: (-binned[name].iv, name))
    kept: list[str] = []
    for rank, name in enumerate(eligible, 1):
        iv = binned[name].iv
        if len(kept) == settings.max_characteristics:
            reason = (
                f"information value {iv:.3f} ranks {rank}; the card keeps "
                f"{settings.max_characteristics} characteristics"
            )
        else:
            twin, r = _most_correlated(woe, name, kept)
            if twin is None or abs(r) < settings.max_correlation:
                kept.append(name)
                continue
            reason = (
                f"its WOE values correlate {r:.2f} with those of {twin} (information value "
                f"{binned[twin].iv:.3f}), already kept: a near copy"
            )
        if with_reasons:
            dropped.append(Dropped(name, reason))
    return kept, dropped


def _most_correlated(woe: pd.DataFrame, name: str, kept: Sequence[str]) -> tuple[str | None, float]:
    """The kept characteristic whose WOE values correlate most with `name`'s, and by how much."""
    best: tuple[str | None, float] = (None, 0.0)
    for other in kept:
        r = float(np.corrcoef(woe[name], woe[other])[0, 1])
        if abs(r) > abs(best[1]):
            best = (other, r)
    return best


def cross_validate(
    x: pd.DataFrame,
    y: npt.NDArray[np.int64],
    candidates: Mapping[str, Candidate],
    settings: TrainingSettings,
    seed: int,
) -> list[Trial]:
    """Every setting the cross-validation may pick, with its mean Gini on the held-back folds.

    Each fold repeats what `fit_scorecard` does (binning, selection, regression on the
    WOE values) on the other folds' rows only, so the rows a setting is judged on never
    helped fit it. Cut points are not rounded here: that moves no training row.
    """
    folds = StratifiedKFold(settings.cv_folds, shuffle=True, random_state=seed)
    every = list(candidates.values())
    numbers = [c for c in every if c.kind == "numeric"]
    ginis: dict[tuple[float | None, float], list[float]] = {}
    for fit_rows, judge_rows in folds.split(x, y):
        x_fit, y_fit, x_judge = x.iloc[fit_rows], y[fit_rows], x.iloc[judge_rows]
        # Pooling moves categories only: the numeric binnings serve every pooling setting.
        numeric = _bin_all(x_fit, y_fit, numbers, settings, None)
        for share in settings.rare_category_shares:
            binned = _bin_all(x_fit, y_fit, every, settings, share, numeric)
            fit_woe = _woe(binned, x_fit, list(candidates))
            chosen, _ = _select(binned, fit_woe, every, settings)
            judge_woe = _woe(binned, x_judge, chosen)
            for strength in settings.regularization_grid:
                key = (share, strength)
                if not chosen:
                    ginis.setdefault(key, []).append(0.0)
                    continue
                regression = _regression(strength).fit(fit_woe[chosen], y_fit)
                risk = regression.decision_function(judge_woe[chosen])
                ginis.setdefault(key, []).append(2 * roc_auc_score(y[judge_rows], risk) - 1)
    return [Trial(share, strength, float(np.mean(g))) for (share, strength), g in ginis.items()]


def _regression(strength: float) -> LogisticRegression:
    """L2 logistic regression; `strength` is the inverse of the penalty's weight."""
    return LogisticRegression(C=strength, solver="newton-cholesky", max_iter=1000)


def _largest_finite(column: pd.Series) -> float:
    finite = column[np.isfinite(column)]
    return float(finite.max()) if len(finite) else 0.0


def _fit_points(
    x: pd.DataFrame,
    y: npt.NDArray[np.int64],
    chosen: Sequence[str],
    by_name: Mapping[str, Candidate],
    splits: Mapping[str, Any],
    settings: TrainingSettings,
    regularization: float,
) -> Scorecard:
    card = Scorecard(
        binning_process=_binning_process(chosen, by_name, settings, splits),
        estimator=_regression(regularization),
        scaling_method="pdo_odds",
        scaling_method_params={
            "pdo": settings.pdo,
            "odds": settings.odds,
            "scorecard_points": settings.score_at_odds,
        },
        intercept_based=True,
        rounding=True,
    )
    with quiet_optbinning():
        return card.fit(x[list(chosen)], y, metric_missing="empirical")


@dataclass(frozen=True, slots=True)
class _FittedModel:
    card: Scorecard
    setting: Trial
    chosen: Sequence[str]
    by_name: Mapping[str, Candidate]
    coefficients: Mapping[str, float]
    cuts: Mapping[str, list[Decimal]]


def _read_card(
    model: _FittedModel,
    dropped: list[Dropped],
    settings: TrainingSettings,
    candidates: Sequence[Candidate],
    infinity_as: Mapping[str, float],
    trials: tuple[Trial, ...],
) -> TrainedScorecard:
    card, by_name, coefficients = model.card, model.by_name, model.coefficients
    with quiet_optbinning():
        table = card.table(style="detailed")
    base = round(float(np.asarray(card.intercept_).ravel()[0]))
    characteristics: list[TrainedCharacteristic] = []
    lookups: dict[str, _Lookup] = {}
    for name in model.chosen:
        rows = table[table["Variable"] == name].reset_index(drop=True)
        fitted = card.binning_process_.get_binned_variable(name)
        n = len(rows) - 2  # the last two rows are "Special" and "Missing"
        points = [int(p) for p in rows["Points"][:n]]
        stats = [
            BinStats(int(c), int(e))
            for c, e in zip(rows["Count"][:n], rows["Event"][:n], strict=True)
        ]
        woes = [float(w) for w in rows["WoE"][:n]]
        special_points = int(rows["Points"].iloc[n])
        missing = BinStats(int(rows["Count"].iloc[n + 1]), int(rows["Event"].iloc[n + 1]))
        if missing.count >= settings.min_missing_count:
            missing_points = min(int(rows["Points"].iloc[n + 1]), max(points))
            rule = "their own bin's points" + (
                " (capped at the best bin)" if int(rows["Points"].iloc[n + 1]) > max(points) else ""
            )
        else:
            missing_points = min(points)
            rule = (
                f"the worst bin's points: {missing.count} training loans were missing, "
                f"under {settings.min_missing_count}"
            )
        other = special_points if by_name[name].kind == "categorical" else min(points)
        # Every characteristic starts at 0 points; what it gives up goes to the base.
        floor = min([*points, missing_points, other])
        base += floor
        points = [p - floor for p in points]
        missing_points -= floor
        other -= floor
        if by_name[name].kind == "numeric":
            cuts = [_as_written(c) for c in model.cuts[name]]
            if len(fitted.splits) != len(cuts):
                raise TrainingFailed(f"{name}: optbinning did not keep the fixed cut points")
            bounds = [None, *cuts], [*cuts, None]
            bins = tuple(
                NumericBin(lower, upper, p, s, w)
                for lower, upper, p, s, w in zip(*bounds, points, stats, woes, strict=True)
            )
            trained = TrainedCharacteristic(
                name, "numeric", bins=bins, missing_points=missing_points, missing=missing,
                missing_rule=rule, iv=float(rows["IV"].sum()), coefficient=coefficients[name],
            )  # fmt: skip
            _check_monotonic(trained)
        else:
            groups = tuple(
                CategoryGroup(tuple(str(v) for v in values), p, s, w)
                for values, p, s, w in zip(fitted.splits, points, stats, woes, strict=True)
            )
            trained = TrainedCharacteristic(
                name, "categorical", categories=groups, other_points=other,
                missing_points=missing_points, missing=missing, missing_rule=rule,
                iv=float(rows["IV"].sum()), coefficient=coefficients[name],
            )  # fmt: skip
        characteristics.append(trained)
        lookups[name] = _Lookup(
            np.array([*points, other, missing_points], dtype=np.int64), unknown=other
        )
    return TrainedScorecard(
        base_points=base,
        characteristics=tuple(characteristics),
        dropped=tuple(dropped),
        chosen=model.setting,
        trials=trials,
        settings=settings,
        candidates=tuple(c for c in candidates if c.name in model.chosen),
        _binning=card.binning_process_,
        _lookups=lookups,
        _infinity_as={k: v for k, v in infinity_as.items() if k in model.chosen},
    )


def _as_written(cut: Decimal) -> Decimal:
    """A cut point as the file writes it: an integer when whole, else plain decimal text."""
    if cut == cut.to_integral_value():
        return Decimal(int(cut))
    return Decimal(format(cut.normalize(), "f"))


def _check_monotonic(ch: TrainedCharacteristic) -> None:
    points = [b.points for b in ch.bins]
    rising = all(a <= b for a, b in itertools.pairwise(points))
    falling = all(a >= b for a, b in itertools.pairwise(points))
    if not (rising or falling):
        raise TrainingFailed(f"{ch.name}: points {points} are not monotonic")


def describe_bins(ch: TrainedCharacteristic) -> list[str]:
    """Human-readable bin labels, in the file's order."""
    if ch.kind == "categorical":
        return [", ".join(g.values) for g in ch.categories]
    labels = []
    for b in ch.bins:
        if b.lower is None and b.upper is None:
            labels.append("any value")
        elif b.lower is None:
            labels.append(f"< {b.upper}")
        elif b.upper is None:
            labels.append(f">= {b.lower}")
        else:
            labels.append(f"[{b.lower}, {b.upper})")
    return labels
