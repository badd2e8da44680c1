"""Benchmark the borrower journey on the local platform; writes benchmarks/platform.md.

    python -m scripts.bench.platform [--applications 200] [--rate 10] [--import-runs 7]
                                     [--ramp 5:40:5] [--step-seconds 12]
                                     [--confirmations 100] [--confirm-clients 10]
                                     [--ledger-entries 100000] [--only money,...]
                                     [--output benchmarks/platform.md]

(`nox -s bench_platform` runs it.) Measured against the targets of
docs/architecture.md#performance (submit → scored p99 under 1 s; each function imports in
under 300 ms). Each scenario is a function that adds its headline rows and its section
to one `Report`; the ones on the platform share one `PlatformBench` (the platform on
free ports, a client, an observer of `loan.scored`, the CPU meter of every process):

1. Cold import of each function: `--import-runs` fresh interpreters per function, each
   timing `import functions.<name>.main`, whole and after `functions_framework` (the
   function's own share); `python -X importtime` names the slowest one's heaviest modules.
2. The scoring computation alone: `score` on the three reference personas, in process.
3. The platform at rest: CPU each process spends per second with nothing to do.
4. Submit → `loan.scored` at a steady `--rate` (`--applications` borrowers, a mix of
   sandbox records so every decision occurs): latency percentiles, the submit request
   alone, the scoring function's own `scoring_ms`, and CPU milliseconds per application
   of every process (`scripts/bench/cpu.py`).
5. Submit versus read in `loan_applications`: the function's CPU per request for each,
   one request at a time, side by side in the same run.
6. The sustainable rate: a ramp of offered rates (`--ramp START:MAX:STEP`), each step
   `--step-seconds` long with borrowers of its own, stopping at the first step whose p99
   is over 1 s or which cannot keep up (`scripts/bench/ramp.py`); every step's figures.
7-9. Money (`scripts/bench/money.py`): a deposit confirmation's Firestore reads and writes,
   `--confirmations` confirmations at once and through `--confirm-clients` clients, and
   reconciliation of `--ledger-entries` entries. `--ledger-entries 10000 --confirmations 20`
   is a quick run; `--only money` runs just these.

A loan's latency runs from the instant its submission was due (so a client falling
behind counts) to the publish time of its `loan.scored` event, pulled from a
subscription the benchmark creates (the emulator and the benchmark share the clock).
Progress goes to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts.bench.cpu import CpuMeter, CpuSnapshot, CpuUse, cpu_use
from scripts.bench.money import (
    MoneyBench,
    concurrent_confirmations,
    confirmation_cost,
    reconciliation_at_scale,
)
from scripts.bench.ramp import StepResult, percentile, ramp_rates, run_ramp, step_failure
from scripts.bench.report import Report, cpu_table, log, ms, table, verdict
from scripts.platform_client import Applicant, PlatformClient, SandboxRecord, sandbox_applicant
from scripts.platform_runner import ROOT, LocalPlatform, PlatformConfig
from shared.topology import FUNCTIONS

DEFAULT_OUTPUT = ROOT / "benchmarks" / "platform.md"
SCORED_TARGET_P99_S = 1.0
IMPORT_TARGET_MS = 300.0
WARM_UP = 5
DRAIN_S = 10.0  # after the last submission, how long the last loans may take to be scored
SENDERS = 64  # concurrent submissions at most: enough that the client is never the limit
# The borrowers: mostly clean bureau records, some thin files, late payers and defaulters,
# with growing, new, declining or ordinary stores (emulators/sandboxes/providers/README.md).
MIX: tuple[tuple[SandboxRecord, str, int], ...] = (
    ("clean", "grow", 10),
    ("clean", "shop", 4),
    ("clean", "decline", 2),
    ("thin_file", "new", 2),
    ("late_payer", "grow", 1),
    ("defaulted", "shop", 1),
)


# --- 1. cold imports ------------------------------------------------------------------------


def _timed_import(name: str, preload: str | None) -> float:
    script = (
        "import time\n"
        + (f"import {preload}\n" if preload else "")
        + "started = time.perf_counter()\n"
        + f"import functions.{name}.main\n"
        + "print(time.perf_counter() - started)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip()) * 1000


def heaviest_imports(name: str) -> list[tuple[str, float]]:
    """Every module's own import time (`-X importtime` "self"), in ms, largest first."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import functions.{name}.main"],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, module = line.removeprefix("import time:").split("|")
        rows.append((module.strip(), int(self_us) / 1000))
    return sorted(rows, key=lambda row: -row[1])


def group_by_package(rows: list[tuple[str, float]]) -> dict[str, float]:
    groups: dict[str, float] = {}
    for module, spent in rows:
        top = module.split(".")[0]
        key = ".".join(module.split(".")[:2]) if top == "shared" else top
        groups[key] = groups.get(key, 0.0) + spent
    return dict(sorted(groups.items(), key=lambda item: -item[1]))


def cold_imports(report: Report, runs: int) -> None:
    whole: dict[str, list[float]] = {}
    own: dict[str, list[float]] = {}
    for fn in FUNCTIONS:
        whole[fn.name] = [_timed_import(fn.name, None) for _ in range(runs)]
        own[fn.name] = [_timed_import(fn.name, "functions_framework") for _ in range(runs)]
        log(
            f"import functions.{fn.name}.main: median {statistics.median(whole[fn.name]):.0f} ms "
            f"(own share {statistics.median(own[fn.name]):.0f} ms)"
        )
    slowest = max(whole, key=lambda name: statistics.median(whole[name]))
    modules = heaviest_imports(slowest)
    worst = statistics.median(whole[slowest])
    report.headline(
        f"slowest function import, fresh interpreter (median of {runs})",
        f"**{worst:.0f} ms** (`{slowest}`)",
        f"< 300 ms: {verdict(worst < IMPORT_TARGET_MS)}",
    )
    report.headline(
        "slowest function's own import share (after `functions_framework`)",
        f"**{max(statistics.median(v) for v in own.values()):.0f} ms**",
    )
    lines = [
        f"Each figure is the median (and worst) of {runs} fresh interpreters timing "
        "`import functions.<name>.main`. *Whole* starts from a bare interpreter; *own share* "
        "imports `functions_framework` first, as the Cloud Functions runtime does before it "
        "loads `main.py`, so it is what the function's code adds.",
        "",
        *table(
            ("function", "whole: median", "whole: worst", "own share: median", "< 300 ms"),
            (
                (
                    f"`{name}`",
                    f"{statistics.median(samples):.0f} ms",
                    f"{max(samples):.0f} ms",
                    f"{statistics.median(own[name]):.0f} ms",
                    verdict(statistics.median(samples) < IMPORT_TARGET_MS),
                )
                for name, samples in whole.items()
            ),
        ),
        "",
        f"Where `{slowest}`'s import time goes (`python -X importtime`, self time summed by "
        "package):",
        "",
        *table(
            ("package", "self time"),
            ((f"`{p}`", f"{t:.1f} ms") for p, t in list(group_by_package(modules).items())[:10]),
        ),
        "",
        "Heaviest single modules (self time): "
        + ", ".join(f"`{module}` {t:.1f} ms" for module, t in modules[:6])
        + ".",
    ]
    report.section("Cold import of each function", lines)


# --- 2. the scoring computation ---------------------------------------------------------------


def scoring_alone(report: Report, runs: int) -> None:
    from shared.domain.scorecards.personas import load_personas
    from shared.domain.scoring.engine import score
    from shared.domain.scoring.scorecard import load_scorecard

    scorecard = load_scorecard("v1")
    timings: dict[str, list[float]] = {}
    for key, persona in load_personas().items():
        application, data = persona.scoring_application(), persona.provider_data()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            score(application, data, scorecard)
            samples.append((time.perf_counter() - started) * 1000)
        timings[key] = samples
    every = [v for samples in timings.values() for v in samples]
    report.headline(
        f"scoring computation (`score`, in process, {len(every):,} runs)",
        f"p50 **{percentile(every, 0.5):.2f} ms**, p99 **{percentile(every, 0.99):.2f} ms**",
        "milliseconds",
    )
    report.section(
        "Scoring computation alone",
        [
            "`shared.domain.scoring.score` on each reference persona "
            f"({runs:,} runs each, this process, scorecard v1 loaded once):",
            "",
            *table(
                ("persona", "p50", "p99"),
                (
                    (key, f"{percentile(s, 0.5):.3f} ms", f"{percentile(s, 0.99):.3f} ms")
                    for key, s in timings.items()
                ),
            ),
        ],
    )


# --- the platform every scenario below runs on -----------------------------------------------


@dataclass
class ScoredObserver:
    """Pulls `loan.scored` from a subscription of its own, recording publish times per loan."""

    platform: LocalPlatform
    published_at: dict[str, float] = field(default_factory=dict)
    received_at: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        _, self._subscriber = self.platform.pubsub_clients()
        self.subscription = self.platform.subscription_path("bench.loan.scored")
        self._subscriber.create_subscription(
            name=self.subscription,
            topic=self.platform.topic_path("loan.scored"),
            ack_deadline_seconds=60,
            timeout=10,
        )
        self._thread = threading.Thread(target=self._run, name="scored-observer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            response = self._subscriber.pull(
                request={"subscription": self.subscription, "max_messages": 100}, timeout=5
            )
            now = time.time()
            messages = list(response.received_messages)
            if not messages:
                continue
            self._subscriber.acknowledge(
                subscription=self.subscription, ack_ids=[m.ack_id for m in messages], timeout=10
            )
            for received in messages:
                event = json.loads(received.message.data)
                loan_id = event["data"]["loan_id"]
                self.published_at[loan_id] = received.message.publish_time.timestamp()
                self.received_at[loan_id] = now
                self.decisions[loan_id] = event["data"]["decision"]

    def wait_for(self, loan_ids: list[str], timeout_s: float) -> int:
        """Wait until every loan is scored or `timeout_s` passes; how many are still missing."""
        deadline = time.monotonic() + timeout_s
        while True:
            missing = sum(1 for loan_id in loan_ids if loan_id not in self.published_at)
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


@dataclass(frozen=True)
class Borrower:
    sub: str
    applicant: Applicant
    token: str  # issued once, so the client signs no token while it measures


@dataclass(frozen=True)
class Submission:
    due_at: float  # wall clock: when the submission was due
    sent_at: float  # wall clock: just before the request
    request_s: float  # the submit request itself (answered 202)
    loan_id: str | None  # None: the request failed (an error, or not a 202)


@dataclass
class PlatformBench:
    """The platform, its client, the `loan.scored` observer and the CPU meter, started once."""

    platform: LocalPlatform
    client: PlatformClient
    observer: ScoredObserver
    meter: CpuMeter
    seed: int
    scoring_ms: list[float] = field(default_factory=list)  # what `scoring` logs per decision
    startup_s: float = 0.0
    _registered: int = 0

    def snapshot(self) -> CpuSnapshot:
        return self.meter.snapshot()

    def new_borrowers(self, count: int) -> list[Borrower]:
        """`count` borrowers registered through `users`, never seen before (one open
        application per borrower), each with a borrower token."""
        rng = random.Random(self.seed + self._registered)  # noqa: S311 - sample borrowers
        plan = [(record, store) for record, store, weight in MIX for _ in range(weight)]
        first = self._registered
        self._registered += count
        people = [
            sandbox_applicant(rng, record=record, store_prefix=store)
            for record, store in (plan[(first + i) % len(plan)] for i in range(count))
        ]
        subs = [f"bench-{first + i:05d}" for i in range(count)]
        borrowers = [
            Borrower(sub, applicant, self.client.keys.issue(sub, "borrower"))
            for sub, applicant in zip(subs, people, strict=True)
        ]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda b: self.client.register(b.sub, b.applicant), borrowers))
        log(f"registered {count} borrowers in {time.perf_counter() - started:.1f} s")
        return borrowers

    def submit(self, borrower: Borrower, due_at: float) -> Submission:
        sent_at = time.time()
        started = time.perf_counter()
        try:
            response = self.client.call(
                "loan_applications",
                "POST",
                sub=None,
                json=borrower.applicant.application,
                idempotency_key=f"submit-{uuid.uuid4()}",
                headers={"Authorization": f"Bearer {borrower.token}"},
            )
            loan_id = response.json()["loan_id"] if response.status_code == 202 else None
        except httpx.HTTPError as exc:  # a failed submission is a figure, not a crash
            log(f"submit failed: {exc!r}")
            loan_id = None
        return Submission(due_at, sent_at, time.perf_counter() - started, loan_id)


@contextlib.contextmanager
def platform_bench(seed: int) -> Iterator[PlatformBench]:
    """Start the whole platform on free ports, with everything the scenarios share."""
    scoring_ms: list[float] = []

    def collect_scoring_ms(function_name: str, line: str) -> None:
        if function_name == "scoring" and '"scoring_ms"' in line:
            scoring_ms.append(float(json.loads(line)["scoring_ms"]))

    with tempfile.TemporaryDirectory(prefix="patungan-bench-keys-") as keys_dir:
        config = PlatformConfig(
            ports="free", keys_dir=Path(keys_dir), progress=lambda m: log(m.strip())
        )
        started = time.perf_counter()
        with LocalPlatform(config, output_listeners=[collect_scoring_ms]) as platform:
            startup_s = time.perf_counter() - started
            observer = ScoredObserver(platform)
            observer.start()
            try:
                with PlatformClient(platform.urls, platform.keys) as client:
                    yield PlatformBench(
                        platform,
                        client,
                        observer,
                        CpuMeter(platform.process_ids()),
                        seed,
                        scoring_ms,
                        startup_s,
                    )
            finally:
                observer.stop()


@dataclass(frozen=True)
class RateRun:
    """Applications submitted at a steady rate, and what became of them."""

    rate: float
    submissions: list[Submission]
    started_at: float  # wall clock: the first submission's due instant
    published_at: dict[str, float]  # loan id -> `loan.scored` publish time
    received_at: dict[str, float]  # loan id -> when the benchmark pulled it
    cpu: CpuUse | None  # None when nothing was scored

    @property
    def scored(self) -> list[Submission]:
        return [s for s in self.submissions if s.loan_id in self.published_at]

    @property
    def latencies_s(self) -> list[float]:
        return [self.published_at[str(s.loan_id)] - s.due_at for s in self.scored]

    def as_step(self, duration_s: float) -> StepResult:
        last_sent = max(s.sent_at for s in self.submissions)
        return StepResult(
            offered_rate=self.rate,
            duration_s=duration_s,
            offered=len(self.submissions),
            send_span_s=last_sent - self.started_at,
            latencies_s=tuple(self.latencies_s),
            failed=sum(1 for s in self.submissions if s.loan_id is None),
            cpu=self.cpu,
        )


def submit_at_rate(bench: PlatformBench, borrowers: list[Borrower], rate: float) -> RateRun:
    """One submission due every 1/rate s (from a pool, so a slow answer delays no other);
    then waits up to `DRAIN_S` for the last to be scored. CPU is metered from the first
    submission until the last is scored."""
    before = bench.snapshot()
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        start, wall_start = time.monotonic(), time.time()
        futures = []
        for i, borrower in enumerate(borrowers):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(bench.submit, borrower, wall_start + i / rate))
        submissions = [future.result() for future in futures]
    loan_ids = [s.loan_id for s in submissions if s.loan_id is not None]
    missing = bench.observer.wait_for(loan_ids, DRAIN_S)
    if missing:
        log(f"{missing} of {len(loan_ids)} loans were not scored {DRAIN_S:.0f} s after the last")
    after = bench.snapshot()
    scored = len(loan_ids) - missing
    return RateRun(
        rate=rate,
        submissions=submissions,
        started_at=wall_start,
        published_at={
            i: bench.observer.published_at[i] for i in loan_ids if i in bench.observer.published_at
        },
        received_at={
            i: bench.observer.received_at[i] for i in loan_ids if i in bench.observer.received_at
        },
        cpu=cpu_use(before, after, scored) if scored else None,
    )


# --- 3. the platform at rest ------------------------------------------------------------------


def platform_at_rest(bench: PlatformBench, seconds: float) -> CpuUse:
    """CPU the platform spends doing nothing, per second (counted as one "operation" a second)."""
    log(f"the platform at rest for {seconds:g} s")
    before = bench.snapshot()
    time.sleep(seconds)
    return cpu_use(before, bench.snapshot(), operations=max(1, round(seconds)))


# --- 4. submit -> loan.scored at a steady rate -------------------------------------------------


def steady_journey(
    bench: PlatformBench, report: Report, applications: int, rate: float, at_rest: CpuUse
) -> None:
    borrowers = bench.new_borrowers(WARM_UP + applications)
    log(f"{WARM_UP} warm-up submissions (the first builds scoring's clients)")
    warm = [bench.submit(b, time.time()) for b in borrowers[:WARM_UP]]
    bench.observer.wait_for([str(w.loan_id) for w in warm], timeout_s=60)
    warm_up_s = [bench.observer.published_at[str(w.loan_id)] - w.sent_at for w in warm]
    bench.scoring_ms.clear()
    log(f"submitting {applications} applications at {rate:g}/s")
    run = submit_at_rate(bench, borrowers[WARM_UP:], rate)
    if run.cpu is None or len(run.scored) < applications:
        raise RuntimeError(f"only {len(run.scored)} of {applications} applications were scored")
    lat = run.latencies_s
    p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)
    request_s = [s.request_s for s in run.submissions]
    observed = [run.received_at[str(s.loan_id)] - s.due_at for s in run.scored]
    report.headline(
        f"submit → `loan.scored`, {applications} applications at {rate:g}/s",
        f"p50 **{ms(p50)}**, p99 **{ms(p99)}** (max {ms(max(lat))})",
        f"p99 < 1 s: {verdict(p99 < SCORED_TARGET_P99_S)}",
    )
    report.headline(
        f"CPU per application at {rate:g}/s, every process of the platform",
        f"**{run.cpu.platform_ms_per_operation:.0f} ms** "
        f"(`loan_applications` {run.cpu.ms_per_operation('loan_applications'):.0f} ms, "
        f"`scoring` {run.cpu.ms_per_operation('scoring'):.0f} ms)",
    )
    fn_scoring = list(bench.scoring_ms)
    if fn_scoring:
        report.headline(
            f"scoring computation inside the function (`scoring_ms`, {len(fn_scoring)} decisions)",
            f"p50 **{percentile(fn_scoring, 0.5):.2f} ms**, p99 "
            f"**{percentile(fn_scoring, 0.99):.2f} ms**",
            "milliseconds",
        )
    decisions = Counter(bench.observer.decisions[str(s.loan_id)] for s in run.scored)
    request_p50 = percentile(request_s, 0.5)
    lines = [
        f"{applications} applications from {applications} distinct borrowers (registered "
        "beforehand through `users`), submitted through `loan_applications` one every "
        f"{1000 / rate:.0f} ms; each was scored by the `scoring` function through the real "
        "`push.scoring` subscription (four provider calls to the sandbox, the five-C "
        "scorecard, one Firestore transaction, `loan.scored` published from the outbox).",
        "",
        *table(
            ("", "p50", "p90", "p99", "max"),
            (
                (
                    label,
                    ms(percentile(values, 0.5)),
                    ms(percentile(values, 0.9)),
                    ms(percentile(values, 0.99)),
                    ms(max(values)),
                )
                for label, values in (
                    ("submit → `loan.scored` published (the figure above)", lat),
                    ("submit → `loan.scored` pulled by the benchmark", observed),
                    ("the submit request alone (answered 202)", request_s),
                )
            ),
        ),
        "",
        f"Of the p50, the submit request takes {ms(request_p50)} (its transaction and the "
        "outbox publish, answered 202 once Pub/Sub has the event); the other "
        f"{ms(max(0.0, p50 - request_p50))} are the push delivery, the four provider calls, "
        "the scorecard, the decision's transaction and the `loan.scored` publish.",
        "",
        f"Decisions: {', '.join(f'{n} {d}' for d, n in sorted(decisions.items()))}. Not "
        f"counted above: {WARM_UP} warm-up applications submitted back to back right after "
        f"the start, {', '.join(ms(s) for s in warm_up_s)}: the first delivery builds the "
        "scoring instance's Firestore, Pub/Sub and provider clients (once per instance, "
        "lazily) and the others wait for it, so they finish together. The platform started "
        f"in {bench.startup_s:.1f} s.",
        "",
        "### CPU per application",
        "",
        "Each process's own CPU accounting (user + system time of its process tree: a "
        "function is the supervisor, functions-framework's gunicorn arbiter and its worker), "
        f"from the first submission until the last loan was scored ({run.cpu.wall_s:.1f} s), "
        f"divided by the {run.cpu.operations} applications scored. The first column is the "
        f"platform at rest, per second ({at_rest.wall_s:.0f} s with nothing to do): part of "
        "every other column is this background.",
        "",
        *cpu_table(
            [("at rest (ms per s)", at_rest), (f"{rate:g}/s (ms per application)", run.cpu)]
        ),
        "",
        f"At {run.cpu.platform_ms_per_operation:.0f} ms of CPU per application, the two cores "
        f"of this machine could at best carry about {2000 / run.cpu.platform_ms_per_operation:.0f} "
        "applications per second if nothing else ran on it.",
    ]
    report.section("Submit → `loan.scored`", lines)


# --- 5. submit versus read in loan_applications -------------------------------------------------


def submit_versus_read(bench: PlatformBench, report: Report, requests: int) -> None:
    """The function's CPU for a submit and for a read, one request at a time."""
    log(f"submit versus read: {requests} of each through loan_applications, one at a time")
    borrowers = bench.new_borrowers(requests)
    meter = CpuMeter({"loan_applications": bench.meter.pids["loan_applications"]})
    figures: dict[str, tuple[CpuUse, list[float]]] = {}
    loan_ids: list[str] = []
    for what in ("submit", "read"):
        before, latencies = meter.snapshot(), []
        for borrower in borrowers:
            started = time.perf_counter()
            if what == "submit":
                submission = bench.submit(borrower, time.time())
                if submission.loan_id is None:
                    raise RuntimeError(f"a submission of {borrower.sub} failed")
                loan_ids.append(submission.loan_id)
            else:
                response = bench.client.call(
                    "loan_applications",
                    "GET",
                    headers={"Authorization": f"Bearer {borrower.token}"},
                    sub=None,
                )
                response.raise_for_status()
            latencies.append(time.perf_counter() - started)
        figures[what] = (cpu_use(before, meter.snapshot(), requests), latencies)
        # Scoring follows the submits: let it finish, so the reads do not share the cores.
        bench.observer.wait_for(loan_ids, DRAIN_S)
    submit_ms = figures["submit"][0].ms_per_operation("loan_applications")
    read_ms = figures["read"][0].ms_per_operation("loan_applications")
    report.headline(
        "`loan_applications` CPU per submit vs per read (one at a time)",
        f"**{submit_ms:.1f} ms** vs **{read_ms:.1f} ms** ({submit_ms / read_ms:.1f}×)",
    )
    rows = [
        (
            label,
            f"{figures[what][0].ms_per_operation('loan_applications'):.1f} ms",
            ms(statistics.median(figures[what][1])),
        )
        for what, label in (
            ("submit", "`POST /` submit (answered 202)"),
            ("read", "`GET /` the borrower's applications (one)"),
        )
    ]
    report.section(
        "Submit versus read in `loan_applications`",
        [
            f"{requests} borrowers each submit an application, one request at a time, then "
            "each lists their applications. CPU is the function's own process tree; latency "
            "is the client's round trip.",
            "",
            *table(("request", "function CPU per request", "latency p50"), rows),
        ],
    )


# --- 6. the sustainable rate --------------------------------------------------------------------


def sustainable_rate(
    bench: PlatformBench, report: Report, rates: list[float], step_s: float
) -> None:
    def run_step(rate: float) -> StepResult:
        count = max(2, round(rate * step_s))
        borrowers = bench.new_borrowers(count)
        log(f"ramp: {count} applications at {rate:g}/s ({step_s:g} s)")
        return submit_at_rate(bench, borrowers, rate).as_step(step_s)

    def progress(step: StepResult, failure: str | None) -> None:
        cpu = (
            f", platform CPU {step.cpu.platform_ms_per_operation:.0f} ms/application"
            if step.cpu
            else ""
        )
        log(
            f"ramp: {step.offered_rate:g}/s: p50 {ms(step.p(0.5))}, p99 {ms(step.p(0.99))}"
            f"{cpu}: {failure or 'sustained'}"
        )

    ramp = run_ramp(rates, run_step, SCORED_TARGET_P99_S, progress)
    sustained = ramp.sustained_rate
    result = f"**{sustained:g} applications/s**" if sustained else "**none of the steps**"
    stop = (
        f"stopped at {ramp.steps[-1].offered_rate:g}/s: {ramp.stopped_by}"
        if ramp.stopped_by
        else f"every step up to {rates[-1]:g}/s passed"
    )
    report.headline(
        "highest sustained rate with submit → `loan.scored` p99 < 1 s", f"{result} ({stop})"
    )
    rows = []
    for step in ramp.steps:
        rows.append(
            (
                f"{step.offered_rate:g}/s",
                f"{step.sent_rate:.1f}/s",
                f"{step.completed}/{step.offered}",
                ms(step.p(0.5)),
                ms(step.p(0.9)),
                ms(step.p(0.99)),
                ms(max(step.latencies_s)) if step.latencies_s else "—",
                f"{step.cpu.platform_ms_per_operation:.0f} ms" if step.cpu else "—",
                f"{step.cpu.platform_cores:.2f}" if step.cpu else "—",
                step_failure(step, SCORED_TARGET_P99_S) or "sustained",
            )
        )
    lines = [
        f"Steps of rising offered rate, each {step_s:g} s long with borrowers of its own, run "
        "one after another on the same platform; the ramp stops at the first step whose p99 "
        "(submit due → `loan.scored` published) is over 1 s, or which cannot keep up (a "
        f"submission failed, a loan not scored {DRAIN_S:.0f} s after the last submission, or "
        "the client sending below 95% of the offered rate).",
        "",
        *table(
            (
                "offered",
                "sent",
                "scored",
                "p50",
                "p90",
                "p99",
                "max",
                "platform CPU per application",
                "busy cores",
                "verdict",
            ),
            rows,
        ),
        "",
        "CPU per application and process at each step:",
        "",
        *cpu_table([(f"{s.offered_rate:g}/s", s.cpu) for s in ramp.steps if s.cpu is not None]),
    ]
    report.section("Sustainable rate", lines)


# --- the run -------------------------------------------------------------------------------------


def parse_ramp(text: str) -> list[float]:
    """`START:MAX:STEP` (applications per second) as the ramp's rates."""
    try:
        start, maximum, step = (float(part) for part in text.split(":"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected START:MAX:STEP, got {text!r}") from exc
    try:
        return ramp_rates(start, step, maximum)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


SCENARIOS = ("imports", "scoring", "journey", "compare", "ramp", "money")


def parse_scenarios(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"scenarios are {', '.join(SCENARIOS)}: not {unknown}")
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.platform", description=__doc__)
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="submissions per second")
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--scoring-runs", type=int, default=2000)
    parser.add_argument("--compare-requests", type=int, default=40)
    parser.add_argument("--rest-seconds", type=float, default=5.0)
    parser.add_argument("--ramp", type=parse_ramp, default=parse_ramp("5:40:5"))
    parser.add_argument("--step-seconds", type=float, default=12.0)
    parser.add_argument("--confirmations", type=int, default=100)
    parser.add_argument("--confirm-clients", type=int, default=10)
    parser.add_argument("--ledger-entries", type=int, default=100_000)
    parser.add_argument(
        "--only", type=parse_scenarios, default=SCENARIOS, help=f"of {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--seed", type=int, default=20261120)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    only = set(args.only)

    report = Report(
        "Local platform benchmark", "`python -m scripts.bench.platform` (`nox -s bench_platform`)"
    )
    if "imports" in only:
        log("cold imports (fresh interpreters, before anything else runs)")
        cold_imports(report, args.import_runs)
    if "scoring" in only:
        log("scoring computation alone")
        scoring_alone(report, args.scoring_runs)
    if only & {"journey", "compare", "ramp", "money"}:
        log("starting the platform")
        with platform_bench(args.seed) as bench:
            if "journey" in only:
                at_rest = platform_at_rest(bench, args.rest_seconds)
                steady_journey(bench, report, args.applications, args.rate, at_rest)
            if "compare" in only:
                submit_versus_read(bench, report, args.compare_requests)
            if "ramp" in only:
                sustainable_rate(bench, report, args.ramp, args.step_seconds)
            if "money" in only:
                money = MoneyBench.on(bench)
                confirmation_cost(money, report)
                concurrent_confirmations(money, report, args.confirmations, args.confirm_clients)
                reconciliation_at_scale(bench, report, args.ledger_entries)
    report.write(args.output)
    log(f"report written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
