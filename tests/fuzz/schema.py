"""The schemathesis schema of docs/openapi.json, and how much the harness fuzzes.

How much is read from the environment once:

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

import schemathesis

from tests.fuzz.gateway import GATEWAY_URL
from tests.fuzz.spec import OPENAPI

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

# A request the document allows may still break a lending rule (422), meet a state (409),
# name nothing that exists (404) or be another's (403).
ACCEPTED_OR_REFUSED_BY_RULE = ["2xx", "403", "404", "409", "422"]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": BUDGET.seed,
        "base-url": GATEWAY_URL,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {"max-examples": BUDGET.examples, "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # Sent outside the gateway's session; tests/fuzz/probes.py sends those requests.
            "ignored_auth": {"enabled": False},
            "positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_REFUSED_BY_RULE},
        },
    }
)
SCHEMA = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)
