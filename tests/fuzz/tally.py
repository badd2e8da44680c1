"""What the harness sent and what came back, per operation, and the report made of it.

Fuzzing (`fuzz`) and the targeted requests that produce each documented status (`probe`)
record every response; failed checks are recorded with the check's own words. `render_report`
turns the tally into the Markdown of benchmarks/fuzz.md (`nox -s fuzz`).
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tests.fuzz.spec import STATUSES_NOT_PROBED, Operation

FUZZ = "fuzz"
PROBE = "probe"


@dataclass(frozen=True)
class Failure:
    operation: str
    caller: str
    summary: str


@dataclass
class Tally:
    responses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    callers: dict[str, set[str]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def record(self, operation: str, source: str, status: int, caller: str) -> None:
        self.responses[(operation, source, status)] += 1
        if source == FUZZ:
            self.callers.setdefault(operation, set()).add(caller)

    def failed(self, operation: str, caller: str, summary: str) -> None:
        self.failures.append(Failure(operation, caller, summary))

    def statuses(self, operation: str, source: str) -> Counter[int]:
        return Counter(
            {
                s: n
                for (op, src, s), n in self.responses.items()
                if op == operation and src == source
            }
        )

    def total(self, source: str) -> int:
        return sum(n for (_, src, _), n in self.responses.items() if src == source)


@dataclass(frozen=True)
class RunSettings:
    """How the run was made, for the report's header."""

    examples: int
    seed: str
    elapsed_s: float
    schemathesis_version: str
    outcome: str  # e.g. "124 passed"


def _counts(statuses: Counter[int]) -> str:
    return ", ".join(f"{s}×{n:,}" for s, n in sorted(statuses.items())) or "—"


def _statuses(values: Iterable[int]) -> str:
    return ", ".join(str(s) for s in sorted(values)) or "—"


def render_report(tally: Tally, operations: Sequence[Operation], run: RunSettings) -> str:
    """benchmarks/fuzz.md: totals, then one row per operation, then every failure."""
    fuzzed = tally.total(FUZZ)
    probed = tally.total(PROBE)
    server_errors = sum(
        n for (_, _, status), n in tally.responses.items() if status >= 500 and status != 503
    )
    succeeded = sum(
        1 for op in operations if any(200 <= s < 300 for s in tally.statuses(op.label, FUZZ))
    )
    lines = [
        "# API fuzzing",
        "",
        "Written by `nox -s fuzz` (tests/fuzz/ with a generous example count): schemathesis "
        f"{run.schemathesis_version} over every operation of `docs/openapi.json`, on the whole "
        "local platform (emulators, providers sandbox, every function), as every caller each "
        "operation admits. The same harness runs in `python3 dev.py test` with a few examples.",
        "",
        "| | |",
        "|---|---|",
        f"| operations | {len(operations)} |",
        f"| fuzzing examples per operation and caller | {run.examples} (plus the explicit "
        "and coverage phases' cases) |",
        f"| seed | `{run.seed}` |",
        f"| requests from fuzzing | {fuzzed:,} |",
        f"| requests from targeted probes | {probed:,} |",
        f"| operations that answered 2xx to fuzzing | {succeeded} |",
        f"| 5xx answers other than 503 | {server_errors} |",
        f"| failed checks | {len(tally.failures)} |",
        f"| pytest | {run.outcome} in {run.elapsed_s:,.0f} s |",
        f"| machine | {platform.machine()}, Python {platform.python_version()}; 2 shared cores, "
        "so time varies with the other work on it |",
        "",
        "Every response is checked: no 5xx; its status is documented for the operation; its "
        "content type is the documented one (`application/problem+json` for every error); its "
        "body is valid against the documented schema; a request the schema forbids is refused "
        "with a 4xx; a required header left out is refused; an undeclared method gets 405 with "
        "`Allow`. A targeted probe then produces each documented 4xx that the probe table knows "
        "how to cause (tests/fuzz/test_documented_statuses.py); 503 is produced by the "
        "contention tests instead (commit faults), so it is not probed.",
        "",
        "## Per operation",
        "",
        "Statuses are *status×count*; 405s in the fuzzing column answer the coverage phase's "
        "undeclared methods on the operation's path. An operation on an id (`{loan_id}`, "
        "`{deposit_id}`...) rarely answers 2xx here: a generated id names nothing, so fuzzing "
        "reaches its validation, authorization and 404, and the journey and money tests "
        "cover its success path.",
        "",
        "| operation | fuzzed as | fuzzing: statuses | documented 4xx from fuzzing | "
        "documented 4xx only from probes | documented 4xx never produced |",
        "|---|---|---|---|---|---|",
    ]
    for operation in operations:
        label = operation.label
        from_fuzz = tally.statuses(label, FUZZ)
        from_probes = tally.statuses(label, PROBE)
        wanted = set(operation.documented_4xx) - STATUSES_NOT_PROBED
        by_fuzz = wanted & set(from_fuzz)
        by_probe_only = (wanted & set(from_probes)) - by_fuzz
        never = wanted - by_fuzz - by_probe_only
        lines.append(
            f"| `{label}` | {', '.join(sorted(tally.callers.get(label, ()))) or '—'} | "
            f"{_counts(from_fuzz)} | {_statuses(by_fuzz)} | {_statuses(by_probe_only)} | "
            f"{_statuses(never)} |"
        )
    lines += ["", "## Failures", ""]
    if not tally.failures:
        lines.append("None.")
    for failure in tally.failures:
        summary = failure.summary.strip().replace("\n", "\n    ")
        lines.append(f"- `{failure.operation}` as {failure.caller}:\n\n    {summary}\n")
    return "\n".join(lines) + "\n"
