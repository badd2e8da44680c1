"""The cold-start report: each function's ratio to the baseline and to the floor, the verdict
against the target, and our own code's cost beyond the floor (benchmarks/cold-start.md)."""

from __future__ import annotations

from scripts.bench.cold_start import report

SAMPLES = {
    "framework": [0.30, 0.31, 0.29],
    "baseline": [0.80, 0.82, 0.78],
    "floor": [0.84, 0.86, 0.82],
    "users": [0.78, 0.79, 0.77],
    "loan_review": [0.92, 0.90, 0.94],
}
PHASES = {"framework": 0.2, "module": 0.15, "first_request": 0.45}
ROWS = [("google.cloud.firestore_v1", 0.08), ("shared.records", 0.01)]
DETAILS = {
    "baseline": (PHASES, ROWS, None),
    "floor": (PHASES, ROWS, None),
    "users": (PHASES, ROWS, {"module": 0.055, "first_request": 0.030}),
    "loan_review": (PHASES, ROWS, {"module": 0.085, "first_request": 0.050}),
}


def rows(text: str, name: str) -> list[list[str]]:
    """`name`'s row in each table: the cold first response, then where the time goes."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith(f"| `{name}` |")
    ]


def test_each_function_is_judged_against_the_baseline_and_placed_against_the_floor():
    text = report(SAMPLES, DETAILS, 3, ("0.1", "0.2"))

    assert rows(text, "users")[0][4:] == ["0.97×", "0.93×", "met"]
    assert rows(text, "loan_review")[0][4:] == ["1.15×", "1.10×", "not met"]
    assert rows(text, "floor")[0][4:] == ["1.05×", "1.00×", "—"]
    assert "the floor is 1.05× the baseline" in text


def test_where_the_time_goes_names_our_own_cost_beyond_the_floor():
    text = report(SAMPLES, DETAILS, 3, ("0.1", "0.2"))

    assert rows(text, "users")[1][-1] == "55 + 30 ms"
    assert rows(text, "loan_review")[1][-1] == "85 + 50 ms"
    assert rows(text, "baseline")[1][-1] == "—"  # a reference has no code of ours
