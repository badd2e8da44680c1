"""The public benchmark: the trainer's method on German Credit, under a leak-free protocol.

Protocol: a stratified 70/30 split for each seed 0-4; everything (binning,
selection, regression) fitted on the 70% only; Gini = 2·AUC − 1 of the
integer scores on the held-out 30%; the mean over the five seeds. The same
protocol with shuffled outcomes must give a mean Gini near 0 (a leak would
show there). References, measured in the same run: optbinning's default
`Scorecard`, and the scorecardpy README pipeline (in its own virtualenv),
both as it is written (bins fitted on all rows) and under the protocol.

    python -m trainer.benchmark --data germancredit.csv --report benchmarks/trainer.md \
        [--scorecardpy-python PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from trainer import german_credit
from trainer.fitting import Candidate, fit_scorecard, quiet_optbinning
from trainer.metrics import gini

SEEDS = (0, 1, 2, 3, 4)
HELD_OUT = 0.3
TARGET_GINI = 0.60
MAX_CHARACTERISTICS = 12


@dataclass(frozen=True, slots=True)
class SeedResult:
    seed: int
    gini: float
    characteristics: int
    monotonic: bool


def split(
    frame: pd.DataFrame, bad: npt.NDArray[np.int64], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    train, test, y_train, y_test = train_test_split(
        frame, bad, test_size=HELD_OUT, stratify=bad, random_state=seed
    )
    return train, test, np.asarray(y_train), np.asarray(y_test)


def run_protocol(
    frame: pd.DataFrame,
    bad: npt.NDArray[np.int64],
    candidates: Sequence[Candidate],
    seeds: Sequence[int] = SEEDS,
    shuffle_labels: bool = False,
) -> list[SeedResult]:
    """The trainer under the protocol; `shuffle_labels` permutes the outcomes first (per seed)."""
    results = []
    for seed in seeds:
        outcome = np.random.default_rng(seed).permutation(bad) if shuffle_labels else bad
        train, test, y_train, y_test = split(frame, outcome, seed)
        model = fit_scorecard(train, y_train, candidates, seed=seed)
        monotonic = all(
            _monotonic([b.points for b in ch.bins])
            for ch in model.characteristics
            if ch.kind == "numeric"
        )
        results.append(
            SeedResult(seed, gini(y_test, model.score(test)), len(model.characteristics), monotonic)
        )
    return results


def _monotonic(points: Sequence[int]) -> bool:
    pairs = list(itertools.pairwise(points))
    return all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs)


def optbinning_default(
    frame: pd.DataFrame, bad: npt.NDArray[np.int64], seeds: Sequence[int] = SEEDS
) -> list[float]:
    """optbinning's `Scorecard` with every default, under the protocol."""
    out = []
    for seed in seeds:
        train, test, y_train, y_test = split(frame, bad, seed)
        with quiet_optbinning():
            card = Scorecard(
                binning_process=BinningProcess(list(frame.columns)),
                estimator=LogisticRegression(),
            ).fit(train, y_train)
            # Unscaled points grow with risk: the sign puts "higher is safer" like ours.
            out.append(gini(y_test, -card.score(test)))
    return out


def scorecardpy_readme(python: Path, data: Path) -> dict[str, list[float]]:
    script = Path(__file__).parent / "references" / "scorecardpy_readme.py"
    result = subprocess.run(  # noqa: S603 - our own script, in the benchmark's own venv
        [str(python), str(script), str(data)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    parsed: dict[str, list[float]] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values))


def render_report(
    ours: Sequence[SeedResult],
    shuffled: Sequence[SeedResult],
    default: Sequence[float],
    readme: dict[str, list[float]] | None,
    seconds: float,
) -> str:
    mean = _mean([r.gini for r in ours])
    verdict = "met" if mean >= TARGET_GINI else "NOT met"
    lines = [
        "# Scorecard trainer: public benchmark (German Credit)",
        "",
        "Written by `python3 dev.py nox -s trainer` (`trainer/benchmark.py`); do not edit by hand.",
        "",
        f"Data: `germancredit.csv` from scorecardpy {german_credit.SCORECARDPY_VERSION}'s "
        f"source distribution, SHA-256 `{german_credit.SHA256}` (1,000 applicants, 300 bad).",
        "",
        "Protocol: stratified 70/30 split per seed (scikit-learn `train_test_split`, "
        "`random_state=seed`); binning, selection and regression fitted on the 70% only; "
        "Gini = 2·AUC − 1 of the integer scores on the held-out 30%.",
        "",
        f"**Mean held-out Gini {mean:.3f}** (target ≥ {TARGET_GINI:.2f}: {verdict}), at most "
        f"{MAX_CHARACTERISTICS} characteristics, monotonic bins: "
        f"{'yes' if all(r.monotonic for r in ours) else 'NO'}. The protocol (five fits and "
        f"scores) took {seconds:.1f} s on this machine (2 shared cores; other work was running).",
        "",
    ]
    header = "| seed | trainer | characteristics | optbinning default |"
    rule = "|---|---|---|---|"
    if readme:
        header += " scorecardpy README, as written (leaks) | scorecardpy README, protocol |"
        rule += "---|---|"
    lines += [header, rule]
    for i, r in enumerate(ours):
        row = f"| {r.seed} | {r.gini:.3f} | {r.characteristics} | {default[i]:.3f} |"
        if readme:
            row += f" {readme['leaky'][i]:.3f} | {readme['protocol'][i]:.3f} |"
        lines.append(row)
    mean_row = (
        f"| **mean** | **{mean:.3f}** | {_mean([r.characteristics for r in ours]):.1f} | "
        f"{_mean(default):.3f} |"
    )
    if readme:
        mean_row += f" {_mean(readme['leaky']):.3f} | {_mean(readme['protocol']):.3f} |"
    lines += [mean_row, ""]
    lines += [
        "References as the issue quotes them: optbinning default 0.583, scorecardpy README "
        "0.632. The README fits `var_filter` and `woebin` on all 1,000 rows before it splits, "
        "so its held-out rows helped choose its bins; the last column refits both on the "
        "training split only."
        if readme
        else "The scorecardpy reference was not run (no `--scorecardpy-python`).",
        "",
        "## Leakage check",
        "",
        "The same protocol with the outcomes shuffled (a fresh permutation per seed): "
        + ", ".join(f"{r.gini:+.3f}" for r in shuffled)
        + f"; mean {_mean([r.gini for r in shuffled]):+.3f} (must stay within ±0.1).",
        "",
        "## Method (trainer/fitting.py)",
        "",
        "optbinning `BinningProcess` (numeric: monotonic bad rate, ascending or descending, "
        "at most 6 bins; categorical: grouped by bad rate), characteristics kept by "
        "information value (≥ 0.02, at most 12), cut points rounded to the shortest decimal "
        "that keeps every training row in its bin and refitted fixed, L2 logistic regression "
        "with its strength chosen by 5-fold cross-validation on the training split, scaled to "
        "integer points (600 at 50:1, 20 points to double the odds).",
        "",
        "## Environment",
        "",
        f"Python {platform.python_version()}, optbinning {version('optbinning')}, "
        f"scikit-learn {version('scikit-learn')}, pandas {version('pandas')}, "
        f"numpy {version('numpy')}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="germancredit.csv")
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--scorecardpy-python", type=Path, help="a python with scorecardpy")
    args = parser.parse_args(argv)

    frame, bad, candidates = german_credit.load(args.data)
    started = time.perf_counter()
    ours = run_protocol(frame, bad, candidates)
    seconds = time.perf_counter() - started
    shuffled = run_protocol(frame, bad, candidates, shuffle_labels=True)
    default = optbinning_default(frame, bad)
    readme = None
    if args.scorecardpy_python:
        readme = scorecardpy_readme(args.scorecardpy_python, args.data)
    report = render_report(ours, shuffled, default, readme, seconds)
    args.report.write_text(report, encoding="utf-8")
    print(report)  # noqa: T201 - a command-line report
    if _mean([r.gini for r in ours]) < TARGET_GINI:
        # Reported, not failed: the figure is the finding; below are correctness checks.
        print(f"benchmark: mean held-out Gini below the {TARGET_GINI} target", file=sys.stderr)  # noqa: T201
    failures = []
    if abs(_mean([r.gini for r in shuffled])) >= 0.1:
        failures.append("shuffled outcomes still rank: a leak")
    if any(r.characteristics > MAX_CHARACTERISTICS or not r.monotonic for r in ours):
        failures.append("more than 12 characteristics or a non-monotonic bin")
    for failure in failures:
        print(f"benchmark: {failure}", file=sys.stderr)  # noqa: T201
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
