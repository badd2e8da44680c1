"""`python -m trainer export` and `python -m trainer train`, as an analyst runs them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from google.cloud import firestore

from shared.domain.scoring.engine import score_features
from shared.domain.scoring.scorecard import Scorecard, load_scorecard, parse_scorecard
from tests.fixtures.firestore_emulator import FirestoreEmulator
from tests.trainer.conftest import POPULATION, Scored
from tests.trainer.platform_history import AS_OF, seed_platform_history
from trainer.__main__ import main
from trainer.holdout import split_held_out
from trainer.metrics import gini, ks, psi_in_reference_deciles
from trainer.table import BAD, feature_vector, read_table

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str


def run(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return Run(status, out.getvalue(), err.getvalue())


# --- export ---------------------------------------------------------------------------------


@pytest.mark.emulator
def test_export_writes_the_table_from_firestore_with_progress_lines(
    firestore_emulator: FirestoreEmulator, firestore_client: firestore.Client, tmp_path: Path
) -> None:
    seed_platform_history(firestore_client)
    table = tmp_path / "history" / "table.csv"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "PATUNGAN_ENV": "local",
        "PATUNGAN_ENTITY": "p2p-lending",
        "PATUNGAN_GCP_PROJECT": firestore_client.project,
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
    }
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "export", "--out", str(table),
         "--as-of", AS_OF.isoformat(), "--page-size", "4", "--progress-seconds", "0"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    rows = read_table(table)
    assert len(rows) == 16 and rows[BAD].sum() == 2
    summary = json.loads(result.stdout)
    assert summary["rows"] == 16 and summary["decisions_read"] == 21
    assert summary["left_out"] == {"not_disbursed": 2, "window_open": 1, "malformed": 2}
    progress = [line for line in result.stderr.splitlines() if "decisions read" in line]
    assert len(progress) == 6  # 21 decisions, 4 to a page
    assert "21 decisions read, 16 rows (2 bad)" in progress[-1]
    assert [p.name for p in table.parent.iterdir()] == ["table.csv"]  # no temporary left


def test_export_without_configuration_says_what_is_missing_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PATUNGAN_ENV", "PATUNGAN_ENTITY", "PATUNGAN_GCP_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    result = run("export", "--out", str(tmp_path / "table.csv"))
    assert result.status == 1
    assert "PATUNGAN_GCP_PROJECT" in result.stderr
    assert not list(tmp_path.iterdir())


# --- train ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    table: Path
    scorecard: Path
    model_card: str
    result: Run


@pytest.fixture(scope="module")
def trained_by_command(synthetic: Scored, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    folder = tmp_path_factory.mktemp("train")
    table = folder / "table.csv"
    synthetic.write_table(table)
    out = folder / "scorecards" / "v2.json"
    result = run("train", "--table", str(table), "--previous", "v1", "--out", str(out),
                 "--effective-from", "2026-07-01")  # fmt: skip
    assert result.status == 0, result.stderr
    return Trained(table, out, out.with_suffix(".md").read_text(encoding="utf-8"), result)


def _figure(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, pattern
    return float(found[1])


def _runtime_scores(card: Scorecard, rows: list[dict[str, object]]) -> np.ndarray:
    return np.array(
        [
            score_features(
                feature_vector(row), card, principal=1, unavailable={}, knockouts=()
            ).total_score
            for row in rows
        ]
    )


def test_train_writes_a_scorecard_the_runtime_loads(trained_by_command: Trained) -> None:
    card = parse_scorecard(trained_by_command.scorecard.read_text(encoding="utf-8"))
    assert card.model_version == "five-c-v2"
    assert card.effective_from.isoformat() == "2026-07-01"
    assert card.knockouts == load_scorecard("v1").knockouts
    assert "9,000 loans" in card.description


def test_the_model_card_reports_the_held_out_figures_of_the_file_itself(
    trained_by_command: Trained,
) -> None:
    """Recomputed from the written file by the runtime engine, on the same held-out loans."""
    text = trained_by_command.model_card
    table = read_table(trained_by_command.table)
    _, test, _, bad = split_held_out(table, table[BAD], 0.3, seed=0)
    rows = test.to_dict("records")
    new = _runtime_scores(parse_scorecard(trained_by_command.scorecard.read_bytes()), rows)
    old = _runtime_scores(load_scorecard("v1"), rows)

    assert f"| all | {POPULATION:,} |" in text
    assert "| training (fitted on) | 6,300 |" in text
    assert f"| held out (figures below) | 2,700 | {bad.sum():,} | {bad.mean():.1%} |" in text
    assert _figure(r"\(this card\) \| ([\d.]+) \|", text) == round(gini(bad, new), 3)
    assert _figure(r"\(this card\) \| [\d.]+ \| ([\d.]+) \|", text) == round(ks(bad, new), 3)
    assert _figure(r"\(previous\) \| ([\d.]+) \|", text) == round(gini(bad, old), 3)
    assert _figure(r"\*\*PSI ([\d.]+)\*\*", text) == round(psi_in_reference_deciles(old, new)[0], 3)
    assert gini(bad, new) > gini(bad, old) + 0.05  # the synthetic default model is learnable


def test_the_model_card_shows_every_bin_and_every_dropped_characteristic(
    trained_by_command: Trained,
) -> None:
    text = trained_by_command.model_card
    card = parse_scorecard(trained_by_command.scorecard.read_bytes())
    kept = [ch for _, group in card.characteristics.by_c() for ch in group if ch.max_points > 0]
    assert kept
    for ch in kept:
        section = text.split(f"### {ch.feature} (")[1].split("\n#")[0]
        points = [int(line.rsplit("|", 2)[1]) for line in section.splitlines()
                  if line.startswith("| ") and not line.startswith(("| bin", "| missing",
                                                                   "| any other"))]  # fmt: skip
        expected = (
            [b.points for b in ch.bins] if ch.kind == "numeric" else
            [c.points for c in ch.categories]
        )  # fmt: skip
        assert points == expected, ch.feature
    left_out = text.split("## Left out")[1]
    for noise in ("province", "business_review_count", "inventory_to_principal"):
        assert re.search(rf"\| {noise} \| information value 0\.\d+ below", left_out), noise
    assert "Decisions from 2025-01-" in text and "loans disbursed from 2025-01-" in text


def test_train_refuses_to_rewrite_a_version(trained_by_command: Trained) -> None:
    before = trained_by_command.scorecard.read_bytes()
    result = run("train", "--table", str(trained_by_command.table), "--previous", "v1",
                 "--out", str(trained_by_command.scorecard))  # fmt: skip
    assert result.status == 1
    assert "never rewritten" in result.stderr
    assert trained_by_command.scorecard.read_bytes() == before


@pytest.mark.parametrize(
    ("out", "previous", "message"),
    [
        ("scorecard.json", "v1", "v<N>.json"),
        ("v1.json", "v1", "must come after"),
        ("v10.json", "v9", "no shipped scorecard v9"),
    ],
)
def test_train_refuses_a_wrong_version_name(
    trained_by_command: Trained, tmp_path: Path, out: str, previous: str, message: str
) -> None:
    result = run("train", "--table", str(trained_by_command.table), "--previous", previous,
                 "--out", str(tmp_path / out))  # fmt: skip
    assert result.status in (1, 2)
    assert message in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("loans", [60, 3, 0])
def test_train_on_too_little_history_says_why_and_writes_nothing(
    trained_by_command: Trained, tmp_path: Path, loans: int
) -> None:
    small = tmp_path / "small.csv"
    lines = trained_by_command.table.read_text(encoding="utf-8").splitlines()[: loans + 1]
    small.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("train", "--table", str(small), "--previous", "v1",
                 "--out", str(tmp_path / "v2.json"))  # fmt: skip
    assert result.status == 1
    assert "no card" in result.stderr and "at least 100 loans" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.csv"]
