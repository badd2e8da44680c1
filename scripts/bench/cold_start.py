"""Cold first response of every client-facing HTTP function, against a naive baseline.

    python -m scripts.bench.cold_start [--runs 11] [--output benchmarks/cold-start.md]

(`nox -s bench_cold_start` runs it.) What a user waits for on a cold instance is not the
import of `main.py` but the whole of it: the process starting, functions-framework
serving, the function's module loading, its settings and clients being built, and the
first real answer. So each sample is one fresh `functions-framework` process, timed from
the moment it is spawned until its first real request has been answered: a 200 to a
registered caller, read from Firestore on the local platform's emulators (`candidates` says
what each function is asked). A refusal (401, 403, 404) would skip the work a user waits
for, so the run stops on any answer but 200.

Three references run in the same session, interleaved with the functions in a shuffled
order every round (so a busy moment of this shared machine hits every candidate alike),
and each figure is the median of `--runs` rounds:

- `baseline`: a naive function (`scripts/bench/baseline_function/main.py`) that imports
  the Firestore, Pub/Sub and Storage clients eagerly and builds all three before its
  first answer. The target is every HTTP function at or below 1.0× its time.
- `framework`: functions-framework alone with a trivial function.
- `floor`: the least any function of ours pays (`scripts/bench/floor_function/main.py`):
  pydantic and the platform's Firestore RPCs, one read. What separates it from the baseline is all
  a function's own code may spend and still meet the target.

Then, for each function, where the time goes: its module import, the first request
(settings, clients, handling) and the heaviest modules loaded on the way, measured in
one interpreter through functions-framework's test client; and the function's own cost,
the CPU its module import and first request spend beyond what the floor already paid
(functions-framework, pydantic and the Firestore RPCs loaded first), the median of three
interpreters.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.bench.pubsub_emulator import cpu_model, load_average
from scripts.local_staff import GRANTED
from scripts.platform_client import PlatformClient, persona_applicant, sandbox_applicant
from scripts.platform_runner import ROOT, LocalPlatform, PlatformConfig, functions_framework_command

DEFAULT_OUTPUT = ROOT / "benchmarks" / "cold-start.md"
BASELINE_SOURCE = ROOT / "scripts" / "bench" / "baseline_function" / "main.py"
FLOOR_SOURCE = ROOT / "scripts" / "bench" / "floor_function" / "main.py"
TRIVIAL = """import functions_framework


@functions_framework.http
def trivial(request):
    return {}
"""
TARGET_RATIO = 1.0
REFERENCES = ("framework", "baseline", "floor")
READY_POLL_S = 0.002


def log(message: str) -> None:
    print(f"[bench cold start] {message}", flush=True)


@dataclass(frozen=True)
class Candidate:
    """One thing to start cold, and the first real request to send it."""

    name: str
    target: str
    source: Path
    env: dict[str, str]
    method: str
    path: str
    headers: dict[str, str]
    body: object | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cold_first_response(candidate: Candidate) -> float:
    """Seconds from spawning a fresh process to its first real answer."""
    port = free_port()
    argv = [
        *functions_framework_command(),
        "--target", candidate.target,
        "--source", str(candidate.source),
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    env |= candidate.env
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = started + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{candidate.name} exited with {process.returncode}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{candidate.name} never listened")
            time.sleep(READY_POLL_S)
        response = httpx.request(
            candidate.method,
            f"http://127.0.0.1:{port}{candidate.path}",
            headers=candidate.headers,
            json=candidate.body,
            timeout=60,
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{candidate.name} answered {response.status_code}: {response.text}")
        return elapsed
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def candidates(platform: LocalPlatform, trivial: Path) -> list[Candidate]:
    """What each function is asked: a real answer for a real caller, never a refusal.

    A borrower is registered and submits an application first, so `users` reads their
    profile and `loan_applications` lists their loan; scorecard v1's thin-file persona's
    application waits for review, so `loan_review` answers the local platform's
    `admin.credit` (`scripts.local_staff`) a queue with a case in it; `loan_quote` prices
    the borrower's product at a tenor it offers.
    """
    keys = platform.keys
    cloud = {
        **platform.cloud_env,
        "PATUNGAN_GCP_PROJECT": platform.config.project,
        "GOOGLE_CLOUD_PROJECT": platform.config.project,
    }
    rng = random.Random(20261203)  # noqa: S311 - sample borrowers, not a secret
    applicant = sandbox_applicant(rng)
    borrower = f"bench-borrower-{uuid.uuid4().hex[:8]}"
    with PlatformClient(platform.urls, keys) as client:
        client.register(borrower, applicant)
        client.submit(borrower, applicant)
        # Scorecard v1's thin-file persona goes to a reviewer: the queue is not empty.
        thin, thin_file = f"bench-thin-{uuid.uuid4().hex[:8]}", persona_applicant("thin_file")
        client.register(thin, thin_file)
        decided = client.wait_for_decision(thin, client.submit(thin, thin_file)["loan_id"])
        if decided["state"] != "in_review":
            raise RuntimeError(f"a thin-file application was {decided['state']}, not in review")
    reviewer = next(m.sub for m in GRANTED if m.role == "admin.credit")

    def bearer(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys.issue(sub, role)}"}

    def function(name: str, method: str, path: str, headers: dict[str, str], body=None):  # type: ignore[no-untyped-def]
        return Candidate(
            name,
            name,
            ROOT / "functions" / name / "main.py",
            platform.environment_of(name),
            method,
            path,
            headers,
            body,
        )

    return [
        Candidate("framework", "trivial", trivial, cloud, "GET", "/", {}),
        Candidate("baseline", "baseline", BASELINE_SOURCE, cloud, "GET", "/", {}),
        Candidate("floor", "floor", FLOOR_SOURCE, cloud, "GET", "/", {}),
        function(
            "loan_quote",
            "POST",
            "/",
            {},
            {
                "product_id": applicant.application["product_id"],
                "principal": applicant.application["principal"],
                "tenor": applicant.application["tenor"],
                "disbursement_date": dt.datetime.now(dt.UTC).date().isoformat(),
            },
        ),
        function("loan_review", "GET", "/", bearer(reviewer, "admin.credit")),
        function("loan_applications", "GET", "/", bearer(borrower, "borrower")),
        function("users", "GET", "/me", bearer(borrower, "borrower")),
    ]


_BREAKDOWN = r"""
import json, sys, time
t0 = time.perf_counter()
import functions_framework
t1 = time.perf_counter()
app = functions_framework.create_app({name!r}, {source!r})
client = app.test_client()
t2 = time.perf_counter()
response = client.open({path!r}, method={method!r}, headers={headers!r}, json={body!r})
t3 = time.perf_counter()
assert response.status_code == 200, response.get_data(as_text=True)
print(json.dumps({{"framework": t1 - t0, "module": t2 - t1, "first_request": t3 - t2}}))
"""


def run_first_request(
    template: str, candidate: Candidate, *python_options: str
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter running `template` (a script that loads `candidate` through
    functions-framework's test client and asks its first request) in its environment."""
    script = template.format(
        name=candidate.target,
        source=str(candidate.source),
        path=candidate.path,
        method=candidate.method,
        headers=candidate.headers,
        body=candidate.body,
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    env |= candidate.env
    return subprocess.run(
        [sys.executable, *python_options, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def breakdown(candidate: Candidate) -> tuple[dict[str, float], list[tuple[str, float]]]:
    """Import, module and first-request times in one interpreter, and the heaviest modules
    (self time) imported after functions-framework."""
    result = run_first_request(_BREAKDOWN, candidate, "-X", "importtime")
    phases = json.loads(result.stdout.strip().splitlines()[-1])
    rows: list[tuple[str, float]] = []
    after_framework = False
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, module = line.removeprefix("import time:").split("|")
        if module.strip() == "functions_framework":
            after_framework = True
            continue
        if after_framework:
            rows.append((module.strip(), int(self_us) / 1000))
    return phases, rows


_OWN_COST = r"""
import json, time
import functions_framework
from pydantic import BaseModel

from shared.adapters import firestore_rpc


class Answer(BaseModel):  # the floor's model, so its validator machinery is loaded too
    exists: bool


Answer(exists=True).model_dump()
t0 = time.process_time()
app = functions_framework.create_app({name!r}, {source!r})
client = app.test_client()
t1 = time.process_time()
response = client.open({path!r}, method={method!r}, headers={headers!r}, json={body!r})
t2 = time.process_time()
assert response.status_code == 200, response.get_data(as_text=True)
print(json.dumps({{"module": t1 - t0, "first_request": t2 - t1}}))
"""
OWN_COST_RUNS = 3


def own_cost(candidate: Candidate) -> dict[str, float]:
    """CPU seconds the function's module import and first request spend beyond the floor's
    share (functions-framework, pydantic and the Firestore RPCs already loaded): the cost of
    our own code. The median of `OWN_COST_RUNS` interpreters."""
    runs = [
        json.loads(run_first_request(_OWN_COST, candidate).stdout.strip().splitlines()[-1])
        for _ in range(OWN_COST_RUNS)
    ]
    return {phase: statistics.median(run[phase] for run in runs) for phase in runs[0]}


def by_package(rows: list[tuple[str, float]], top: int = 8) -> list[tuple[str, float]]:
    groups: dict[str, float] = {}
    for module, ms in rows:
        parts = module.lstrip().split(".")
        key = ".".join(parts[:2]) if parts[0] in ("google", "shared") else parts[0]
        groups[key] = groups.get(key, 0.0) + ms
    return sorted(groups.items(), key=lambda item: -item[1])[:top]


def measure(runs: int, progress: Callable[[str], None]) -> tuple[dict[str, list[float]], dict]:  # type: ignore[type-arg]
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalPlatform(PlatformConfig(ports="free", progress=lambda _: None)) as platform,
    ):
        trivial = Path(tmp) / "main.py"
        trivial.write_text(TRIVIAL)
        pool = candidates(platform, trivial)
        samples: dict[str, list[float]] = {c.name: [] for c in pool}
        for round_ in range(1, runs + 1):
            order = random.sample(pool, len(pool))
            for candidate in order:
                samples[candidate.name].append(cold_first_response(candidate))
            progress(
                f"round {round_}/{runs}: "
                + ", ".join(f"{c.name} {samples[c.name][-1] * 1000:.0f} ms" for c in pool)
            )
        details = {
            c.name: (*breakdown(c), own_cost(c) if c.name not in REFERENCES else None)
            for c in pool
            if c.name != "framework"
        }
    return samples, details


def report(samples: dict[str, list[float]], details: dict, runs: int, load: tuple) -> str:  # type: ignore[type-arg]
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians["baseline"]
    lines = [
        "# Cold first response",
        "",
        f"Written by `python -m scripts.bench.cold_start` (`nox -s bench_cold_start`) on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "Each figure is the median of "
        f"{runs} fresh `functions-framework` processes, from spawn to the first real answer "
        "(a 200 to a registered caller, read from Firestore on the local emulators), the "
        "candidates interleaved in a "
        "new random order every round. The target: every client-facing HTTP function at or "
        f"below {TARGET_RATIO:.1f}× the naive baseline measured in the same run.",
        "",
        "| function | median | min | max | × baseline | × floor | target ≤ 1.0× |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, values in samples.items():
        ratio = medians[name] / baseline
        verdict = "—" if name in REFERENCES else ("met" if ratio <= TARGET_RATIO else "not met")
        lines.append(
            f"| `{name}` | {medians[name] * 1000:.0f} ms | {min(values) * 1000:.0f} ms | "
            f"{max(values) * 1000:.0f} ms | {ratio:.2f}× | {medians[name] / medians['floor']:.2f}× "
            f"| {verdict} |"
        )
    lines += [
        "",
        "`framework` is functions-framework alone with a trivial function; `baseline` imports "
        "the Firestore, Pub/Sub and Storage client libraries eagerly and builds all three "
        "clients before answering (`scripts/bench/baseline_function/main.py`); `floor` imports "
        "only pydantic and the platform's own Firestore RPCs (`shared/adapters/firestore_rpc.py`"
        ", which the functions use instead of the client library) and answers one read through "
        "a model (`scripts/bench/floor_function/main.py`): the least any function of ours pays. "
        f"In this run the floor is {medians['floor'] / baseline:.2f}× the baseline; what "
        "separates a function from the floor is its own code (the last column below).",
        "",
        "## Where the time goes",
        "",
        "One interpreter per function, through functions-framework's test client: "
        "functions-framework's own import, the function module's import, and the first request "
        "(settings, clients, the Firestore read, the answer). Then the packages whose modules "
        "cost the most import time (self time, `python -X importtime`) after "
        "functions-framework was loaded. Last, the function's own cost: the CPU its module "
        "import and first request spend when functions-framework, pydantic and the Firestore "
        "RPCs are already loaded (what the floor pays), the median of "
        f"{OWN_COST_RUNS} interpreters.",
        "",
        "| function | functions-framework | module import | first request | heaviest packages "
        "| own CPU beyond the floor (import + first request) |",
        "|---|---|---|---|---|---|",
    ]
    for name, (phases, rows, own) in details.items():
        heaviest = ", ".join(f"`{pkg}` {ms:.0f} ms" for pkg, ms in by_package(rows, 5))
        beyond = (
            "—"
            if own is None
            else f"{own['module'] * 1000:.0f} + {own['first_request'] * 1000:.0f} ms"
        )
        lines.append(
            f"| `{name}` | {phases['framework'] * 1000:.0f} ms | {phases['module'] * 1000:.0f} ms "
            f"| {phases['first_request'] * 1000:.0f} ms | {heaviest} | {beyond} |"
        )
    lines += [
        "",
        f"Machine: {os.cpu_count()} CPU(s), {cpu_model()}, Python {sys.version.split()[0]}. "
        f"Load average (1/5/15 min) before: {load[0]}; after: {load[1]}. The machine is "
        "shared: compare ratios measured in one run, not absolute figures across runs.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    # Stopped with SIGTERM, it unwinds as from Ctrl-C: the function being timed and the local
    # platform are stopped, not left running.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    before = load_average()
    samples, details = measure(args.runs, log)
    text = report(samples, details, args.runs, (before, load_average()))
    args.output.write_text(text)
    log(f"wrote {args.output}")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
