"""How much the harness fuzzes, read from the environment once.

- `PATUNGAN_FUZZ_EXAMPLES`: examples of the fuzzing phase per operation and caller (default
  3: the bounded run of `python3 dev.py test`; `nox -s fuzz` sets a generous count);
- `PATUNGAN_FUZZ_SEED`: the seed (default fixed, so the bounded run sends the same requests
  every time; `nox -s fuzz` draws one and prints it in the report to replay a run);
- `PATUNGAN_FUZZ_REPORT`: where to write the report (unset: no report).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EXAMPLES = 3
DEFAULT_SEED = 20_260_101


@dataclass(frozen=True)
class FuzzBudget:
    examples: int
    seed: int
    report: Path | None

    @classmethod
    def from_environment(cls) -> FuzzBudget:
        report = os.environ.get("PATUNGAN_FUZZ_REPORT")
        return cls(
            examples=int(os.environ.get("PATUNGAN_FUZZ_EXAMPLES", DEFAULT_EXAMPLES)),
            seed=int(os.environ.get("PATUNGAN_FUZZ_SEED", DEFAULT_SEED)),
            report=Path(report) if report else None,
        )


BUDGET = FuzzBudget.from_environment()
