"""The model card: what a credit committee reads before it promotes a trained version.

Markdown, written beside the scorecard file by `python -m trainer train`: the
data, how well the card ranks held-out loans next to the previous version,
how much the score distribution moves, what each grade and decision would
hold, every characteristic's bins, and every characteristic left out and why.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain.scoring.features import FEATURES
from trainer.fitting import (
    CategoryGroup,
    NumericBin,
    TrainedCharacteristic,
    TrainedScorecard,
    TrainingSettings,
    describe_bins,
)
from trainer.metrics import ScoreBand
from trainer.train_version import NewVersion, Sample, Segment

PSI_STABLE = 0.1
PSI_SHIFT = 0.25


def render_model_card(new: NewVersion, *, table: str, scorecard_file: str) -> str:
    model, settings = new.model, new.model.settings
    previous, version = new.previous_version, new.model_version
    lines = [
        f"# Model card: {version}",
        "",
        f"Scorecard file `{scorecard_file}`, trained by `python -m trainer train` on the "
        f"training table `{table}` against the previous version {previous}. Written by the "
        "trainer; do not edit by hand.",
        "",
        "## Data",
        "",
        f"- Decisions from {new.decided[0]} to {new.decided[1]}; loans disbursed from "
        f"{new.disbursed[0]} to {new.disbursed[1]}.",
        "- Outcome: bad when the loan reached 90+ days past due within 12 months of disbursement.",
        "",
        "| sample | loans | bad | bad rate |",
        "|---|---|---|---|",
        _sample_row("all", new.whole),
        _sample_row("training (fitted on)", new.training),
        _sample_row("held out (figures below)", new.held_out),
        "",
        f"The held-out {new.held_out_share:.0%} is a stratified random sample (seed {new.seed}); "
        "binning, selection and regression saw only the training loans. The card in the file "
        "is the one fitted on them, so the held-out figures describe it exactly.",
        "",
        "## Ranking on held-out loans",
        "",
        "| card | Gini | KS |",
        "|---|---|---|",
        f"| {version} (this card) | {new.new_ranking.gini:.3f} | {new.new_ranking.ks:.3f} |",
        f"| {previous} (previous) | {new.previous_ranking.gini:.3f} | "
        f"{new.previous_ranking.ks:.3f} |",
        "",
        "Gini is 2·AUC − 1 of the integer scores (1 separates perfectly, 0 is chance); KS is "
        "the widest gap between the good and bad loans' score distributions.",
        "",
        "## Population stability against the previous version",
        "",
        f"**PSI {new.psi:.3f}** ({_psi_reading(new.psi)}): the held-out loans' scores under "
        f"{version} against their scores under {previous}, in bands cut at the deciles of "
        f"{previous}'s scores. Grades are not compared this way: their thresholds are carried "
        "at the previous version's shares of the training loans, so they match by design "
        "(see the grades below).",
        "",
        f"| score band | {previous} | {version} |",
        "|---|---|---|",
        *_band_rows(new.psi_bands),
        "",
        "## Grades and decisions on held-out loans",
        "",
        f"Thresholds carried from {previous} at the same share of training loans. Scores "
        "alone: knock-outs, the thin-file rule and the caps on unverified declarations apply "
        "on top at decision time.",
        "",
        *_segment_table("grade", previous, version, new.grades),
        "",
        *_segment_table("decision", previous, version, new.decisions),
        "",
        "## Characteristics",
        "",
        f"Base points {model.base_points}; maximum score {model.max_score}. Points scale: "
        f"{settings.score_at_odds} at {settings.odds}:1 good to bad, {settings.pdo} more for "
        "each doubling of the odds, every characteristic's lowest points at 0. Counts, bad "
        "rates and WOE are the training loans'; WOE is ln(good share / bad share) of the bin, "
        "so positive is safer.",
        "",
    ]
    for ch in model.characteristics:
        lines += _characteristic(ch)
    lines += ["## Left out", ""]
    if model.dropped:
        lines += ["| characteristic | why |", "|---|---|"]
        lines += [f"| {d.name} | {d.reason} |" for d in model.dropped]
    else:
        lines.append("Every candidate characteristic is in the card.")
    placeholders = _empty_cs(new)
    if placeholders:
        lines += [
            "",
            "A C without any kept characteristic carries the previous version's first "
            "characteristic there at 0 points (the file format wants each C): "
            + ", ".join(placeholders)
            + ".",
        ]
    lines += ["", "## Method", "", *_method(settings, model), ""]
    return "\n".join(lines)


def _sample_row(name: str, sample: Sample) -> str:
    return f"| {name} | {sample.loans:,} | {sample.bad:,} | {sample.bad_rate:.1%} |"


def _psi_reading(value: float) -> str:
    if value < PSI_STABLE:
        return f"under {PSI_STABLE}: stable"
    if value < PSI_SHIFT:
        return f"{PSI_STABLE} to {PSI_SHIFT}: a moderate shift"
    return f"over {PSI_SHIFT}: a large shift, the scores mean something else now"


def _band_rows(bands: Sequence[ScoreBand]) -> list[str]:
    return [f"| {b.label} | {b.reference_share:.1%} | {b.other_share:.1%} |" for b in bands]


def _segment_table(
    kind: str, previous: str, version: str, segments: Sequence[Segment]
) -> list[str]:
    lines = [
        f"| {kind} | {previous} from | share | bad rate | {version} from | share | bad rate |",
        "|---|---|---|---|---|---|---|",
    ]
    total = sum(s.new.loans for s in segments) or 1
    for s in segments:
        lines.append(
            f"| {s.name} | {_minimum(s.previous_min_score)} | {s.previous.loans / total:.1%} | "
            f"{_rate(s.previous)} | {_minimum(s.new_min_score)} | {s.new.loans / total:.1%} | "
            f"{_rate(s.new)} |"
        )
    return lines


def _minimum(score: int | None) -> str:
    return "any score" if score is None else str(score)


def _rate(sample: Sample) -> str:
    return f"{sample.bad_rate:.1%}" if sample.loans else "no loans"


def _characteristic(ch: TrainedCharacteristic) -> list[str]:
    heading = (
        f"### {ch.name} ({ch.kind}, information value {ch.iv:.3f}, "
        f"coefficient {ch.coefficient:.3f})"
    )
    lines = [heading, "", "| bin | loans | bad rate | WOE | points |", "|---|---|---|---|---|"]
    bins: Sequence[NumericBin | CategoryGroup] = ch.bins if ch.kind == "numeric" else ch.categories
    for label, b in zip(describe_bins(ch), bins, strict=True):
        lines.append(
            f"| {label} | {b.stats.count:,} | {b.stats.bad_rate:.1%} | {b.woe:+.3f} | {b.points} |"
        )
    if ch.kind == "categorical":
        lines.append(f"| any other value | 0 | - | - | {ch.other_points} |")
    if ch.missing.count or FEATURES[ch.name].may_be_missing:
        rate = f"{ch.missing.bad_rate:.1%}" if ch.missing.count else "-"
        lines += [
            f"| missing | {ch.missing.count:,} | {rate} | - | {ch.missing_points} |",
            "",
            f"Missing values: {ch.missing_rule}.",
        ]
    return [*lines, ""]


def _empty_cs(new: NewVersion) -> list[str]:
    kept = {ch.name for ch in new.model.characteristics}
    out = []
    for c, group in new.document["characteristics"].items():
        if not any(ch["feature"] in kept for ch in group):
            out.append(f"{c} ({group[0]['feature']})")
    return out


def _method(settings: TrainingSettings, model: TrainedScorecard) -> list[str]:
    pooled = model.chosen.rare_category_share
    lines = [
        "optbinning: WOE bins with a monotonic bad rate for numeric characteristics "
        f"(at most {settings.max_bins} bins, merged from up to {settings.max_prebins} quantile "
        f"pre-bins of at least {settings.min_prebin_share:.0%} of the loans), categories "
        "grouped by bad rate"
        + (f" after pooling those under {pooled:.0%} of the loans" if pooled else "")
        + f"; characteristics kept by information value (at least {settings.min_iv}, at most "
        f"{settings.max_characteristics}), passing over one whose WOE values correlate |r| >= "
        f"{settings.max_correlation:g} with those of one already kept, a characteristic whose "
        "coefficient turns against "
        f"its bins dropped; L2 logistic regression on the WOE values (C = "
        f"{model.chosen.regularization:g}); points rounded to integers; missing values earn "
        f"their own bin's points (capped at the best bin) when at least "
        f"{settings.min_missing_count} training loans were missing, else the worst bin's.",
        "",
        f"The pooling of rare categories and C were chosen by {settings.cv_folds}-fold "
        "cross-validation on the training loans (mean Gini on the held-back folds):",
        "",
        "| rare categories pooled under | C | cross-validated Gini |",
        "|---|---|---|",
    ]
    for trial in sorted(model.trials, key=lambda t: -t.gini):
        share = "never" if trial.rare_category_share is None else f"{trial.rare_category_share:.0%}"
        mark = " (chosen)" if trial == model.chosen else ""
        lines.append(f"| {share} | {trial.regularization:g} | {trial.gini:.3f}{mark} |")
    return lines
