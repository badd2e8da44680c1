"""`python -m scripts.demo` against the running platform: the three reference personas of
scorecard v1 reach their expected decisions — Siti approved and her offer accepted, Rudi
reviewed and approved by admin.credit, Dedi rejected — and a second run works too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PERSONAS = ("strong_msme", "thin_file", "risky")


def run_demo(platform) -> subprocess.CompletedProcess[str]:
    urls = [
        f"--url={name}={platform.url(name)}"
        for name in ("users", "loan_applications", "loan_review")
    ]
    return subprocess.run(
        [sys.executable, "-m", "scripts.demo", *urls, "--keys", str(platform.config.keys_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def summary(stdout: str) -> dict[str, tuple[str, ...]]:
    """persona -> (expected, decision, state now), from the table the demo ends with."""
    rows = [line.split() for line in stdout.splitlines()]
    # persona, borrower's name (two words), expected, decision, state, seconds, "s", verdict
    return {row[0]: tuple(row[-6:-3]) for row in rows if row and row[0] in PERSONAS}


def test_the_three_personas_reach_their_expected_decisions(local_platform):
    first = run_demo(local_platform)

    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first.stdout) == {
        # persona: (expected, decision, state at the end)
        "strong_msme": ("approve", "approve", "funding"),
        "thin_file": ("review", "review", "funding"),
        "risky": ("reject", "reject", "rejected"),
    }
    assert "identity verified with the civil registry" in first.stdout
    assert "approved by" in first.stdout  # the reviewer's narrative for the thin file

    again = run_demo(local_platform)  # same persona users; their open loans are cancelled first

    assert again.returncode == 0, again.stdout + again.stderr
    assert "by an earlier run" in again.stdout
    assert summary(again.stdout) == summary(first.stdout)
