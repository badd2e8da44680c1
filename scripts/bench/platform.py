"""Benchmark the borrower journey on the local platform; writes benchmarks/platform.md.

    python -m scripts.bench.platform [--applications 200] [--rate 10] [--import-runs 7]
                                     [--output benchmarks/platform.md]

(`nox -s bench_platform` runs it.) Three measurements, against the targets of
docs/architecture.md#performance (submit → scored p99 under 1 s; each function imports in under
300 ms):

1. Cold import of each function, first and on a quiet platform: `--import-runs`
   fresh interpreters per function, each timing `import functions.<name>.main`
   (median and worst). Reported twice: the whole import in a bare interpreter, and
   the function's own share — with `functions_framework` (which the Cloud Functions
   runtime has loaded before it imports `main.py`) imported first. `python -X
   importtime` names the heaviest modules of the slowest function.
2. The scoring computation alone: `shared.domain.scoring.score` on the three
   reference personas, in this process, and the `scoring_ms` the scoring function
   logs for every decision it made during step 3.
3. Submit → `loan.scored`: the whole platform on free ports (`LocalPlatform`), then
   `--applications` applications from as many distinct borrowers (registered first,
   a mix of sandbox records so every decision occurs), submitted through the
   `loan_applications` function at a steady `--rate` per second so the figure is
   latency, not queueing. `loan.scored` is observed on a pull subscription the
   benchmark creates on the `loan.scored` topic; the latency of a loan is the
   event's Pub/Sub publish time minus the wall-clock instant just before its
   submit request was sent (the emulator and this process share the clock). A few
   warm-up submissions go first and are reported apart: the first delivery builds
   the scoring function's clients.

Progress goes to stdout; the report records the machine and its load, since this
machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as host_platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scripts.bench.pubsub_emulator import cpu_model, load_average, percentile
from scripts.platform_client import Applicant, PlatformClient, SandboxRecord, sandbox_applicant
from scripts.platform_runner import ROOT, LocalPlatform, PlatformConfig
from shared.topology import FUNCTIONS

DEFAULT_OUTPUT = ROOT / "benchmarks" / "platform.md"
SCORED_TARGET_P99_S = 1.0
IMPORT_TARGET_MS = 300.0
WARM_UP = 5
# The borrowers: mostly clean bureau records, some thin files, late payers and defaulters,
# with growing, new, declining or ordinary stores (emulators/providers/README.md).
MIX: tuple[tuple[SandboxRecord, str, int], ...] = (
    ("clean", "grow", 10),
    ("clean", "shop", 4),
    ("clean", "decline", 2),
    ("thin_file", "new", 2),
    ("late_payer", "grow", 1),
    ("defaulted", "shop", 1),
)


def log(message: str) -> None:
    print(f"[bench platform] {message}", flush=True)


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


def heaviest_imports(name: str, top: int = 8) -> list[tuple[str, float]]:
    """The modules whose own import time (`-X importtime` "self") is largest, in ms."""
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
    return sorted(rows, key=lambda row: -row[1])[:top]


def group_by_package(rows: list[tuple[str, float]]) -> dict[str, float]:
    groups: dict[str, float] = {}
    for module, ms in rows:
        top = module.split(".")[0]
        key = ".".join(module.split(".")[:2]) if top == "shared" else top
        groups[key] = groups.get(key, 0.0) + ms
    return dict(sorted(groups.items(), key=lambda item: -item[1]))


@dataclass
class ImportTimes:
    total_ms: dict[str, list[float]] = field(default_factory=dict)
    own_ms: dict[str, list[float]] = field(default_factory=dict)
    heaviest: list[tuple[str, float]] = field(default_factory=list)
    packages: dict[str, float] = field(default_factory=dict)
    slowest: str = ""


def measure_imports(runs: int) -> ImportTimes:
    times = ImportTimes()
    for fn in FUNCTIONS:
        times.total_ms[fn.name] = [_timed_import(fn.name, None) for _ in range(runs)]
        times.own_ms[fn.name] = [_timed_import(fn.name, "functions_framework") for _ in range(runs)]
        log(
            f"import functions.{fn.name}.main: median "
            f"{statistics.median(times.total_ms[fn.name]):.0f} ms "
            f"(own share {statistics.median(times.own_ms[fn.name]):.0f} ms)"
        )
    times.slowest = max(times.total_ms, key=lambda n: statistics.median(times.total_ms[n]))
    everything = heaviest_imports(times.slowest, top=10_000)
    times.heaviest = everything[:10]
    times.packages = group_by_package(everything)
    return times


# --- 2. the scoring computation ---------------------------------------------------------------


def measure_scoring(runs: int) -> dict[str, list[float]]:
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
    return timings


# --- 3. submit -> loan.scored -------------------------------------------------------------------


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

    def wait_for(self, loan_ids: list[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while any(loan_id not in self.published_at for loan_id in loan_ids):
            if time.monotonic() > deadline:
                missing = [i for i in loan_ids if i not in self.published_at]
                raise TimeoutError(f"{len(missing)} loans were not scored in {timeout_s:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


@dataclass
class Submission:
    loan_id: str
    sent_at: float  # wall clock, just before the request
    request_s: float  # the submit request itself (answered 202)


def applicants(count: int, seed: int) -> list[Applicant]:
    rng = random.Random(seed)  # noqa: S311 - sample borrowers, not secrets
    plan = [(record, store) for record, store, weight in MIX for _ in range(weight)]
    return [
        sandbox_applicant(rng, record=record, store_prefix=store)
        for record, store in (plan[i % len(plan)] for i in range(count))
    ]


def register_all(client: PlatformClient, people: list[Applicant]) -> list[tuple[str, Applicant]]:
    borrowers = [(f"bench-{i:04d}", applicant) for i, applicant in enumerate(people)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda pair: client.register(*pair), borrowers))
    return borrowers


def submit(client: PlatformClient, sub: str, applicant: Applicant) -> Submission:
    sent_at = time.time()
    started = time.perf_counter()
    loan_id = client.submit(sub, applicant)["loan_id"]
    return Submission(loan_id, sent_at, time.perf_counter() - started)


def submit_at_rate(
    client: PlatformClient, borrowers: list[tuple[str, Applicant]], rate: float
) -> list[Submission]:
    """One submission every 1/rate s (from a pool, so a slow answer delays no other)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        start = time.monotonic()
        futures = []
        for i, (sub, applicant) in enumerate(borrowers):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(submit, client, sub, applicant))
            if (i + 1) % 50 == 0:
                log(f"submitted {i + 1}/{len(borrowers)}")
        return [future.result() for future in futures]


@dataclass
class JourneyFigures:
    applications: int
    rate: float
    latencies_s: list[float]
    observed_s: list[float]
    request_s: list[float]
    warm_up_s: list[float]
    decisions: Counter[str]
    function_scoring_ms: list[float]
    startup_s: float


def measure_journey(applications: int, rate: float, seed: int) -> JourneyFigures:
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
                    people = applicants(WARM_UP + applications, seed)
                    log(f"registering {len(people)} borrowers")
                    borrowers = register_all(client, people)
                    log(f"{WARM_UP} warm-up submissions (the first builds scoring's clients)")
                    warm = [submit(client, sub, a) for sub, a in borrowers[:WARM_UP]]
                    observer.wait_for([w.loan_id for w in warm], timeout_s=60)
                    warm_up_s = [observer.published_at[w.loan_id] - w.sent_at for w in warm]
                    scoring_ms.clear()
                    log(f"submitting {applications} applications at {rate:g}/s")
                    runs = submit_at_rate(client, borrowers[WARM_UP:], rate)
                    observer.wait_for([r.loan_id for r in runs], timeout_s=120)
            finally:
                observer.stop()
    return JourneyFigures(
        applications=applications,
        rate=rate,
        latencies_s=[observer.published_at[r.loan_id] - r.sent_at for r in runs],
        observed_s=[observer.received_at[r.loan_id] - r.sent_at for r in runs],
        request_s=[r.request_s for r in runs],
        warm_up_s=warm_up_s,
        decisions=Counter(observer.decisions[r.loan_id] for r in runs),
        function_scoring_ms=list(scoring_ms),
        startup_s=startup_s,
    )


# --- the report -------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(
    imports: ImportTimes,
    scoring: dict[str, list[float]],
    journey: JourneyFigures,
    *,
    import_runs: int,
    scoring_runs: int,
    load_before: str,
    load_after: str,
) -> str:
    lat = journey.latencies_s
    p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)
    all_scoring = [v for samples in scoring.values() for v in samples]
    fn_scoring = journey.function_scoring_ms
    worst_import = max(statistics.median(v) for v in imports.total_ms.values())
    worst_own = max(statistics.median(v) for v in imports.own_ms.values())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Local platform benchmark",
        "",
        f"Written by `python -m scripts.bench.platform` (`nox -s bench_platform`) on {now}.",
        "",
        "| measurement | result | target |",
        "|---|---|---|",
        f"| submit → `loan.scored`, {journey.applications} applications at "
        f"{journey.rate:g}/s | p50 **{_ms(p50)}**, p99 **{_ms(p99)}** "
        f"(max {_ms(max(lat))}) | p99 < 1 s: {_verdict(p99 < SCORED_TARGET_P99_S)} |",
        f"| scoring computation (`score`, in process, {len(all_scoring):,} runs) | p50 "
        f"**{percentile(all_scoring, 0.5):.2f} ms**, p99 **{percentile(all_scoring, 0.99):.2f} "
        "ms** | milliseconds |",
    ]
    if fn_scoring:
        lines.append(
            f"| scoring computation inside the function (`scoring_ms`, {len(fn_scoring)} "
            f"decisions) | p50 **{percentile(fn_scoring, 0.5):.2f} ms**, p99 "
            f"**{percentile(fn_scoring, 0.99):.2f} ms** | milliseconds |"
        )
    lines += [
        f"| slowest function import, fresh interpreter (median of {import_runs}) | "
        f"**{worst_import:.0f} ms** (`{imports.slowest}`) | < 300 ms: "
        f"{_verdict(worst_import < IMPORT_TARGET_MS)} |",
        f"| slowest function's own import share (after `functions_framework`) | "
        f"**{worst_own:.0f} ms** | — |",
        "",
        "## Submit → `loan.scored`",
        "",
        f"{journey.applications} applications from {journey.applications} distinct borrowers "
        f"(registered beforehand through `users`), submitted through `loan_applications` one "
        f"every {1000 / journey.rate:.0f} ms; each was scored by the `scoring` function "
        "through the real `push.scoring` subscription (four provider calls to the sandbox, "
        "the five-C scorecard, one Firestore transaction, `loan.scored` published from the "
        "outbox).",
        "",
        "| | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|",
    ]
    for label, values in (
        ("submit → `loan.scored` published (the figure above)", lat),
        ("submit → `loan.scored` pulled by the benchmark", journey.observed_s),
        ("the submit request alone (answered 202)", journey.request_s),
    ):
        lines.append(
            f"| {label} | {_ms(percentile(values, 0.5))} | {_ms(percentile(values, 0.9))} | "
            f"{_ms(percentile(values, 0.99))} | {_ms(max(values))} |"
        )
    decisions = ", ".join(f"{n} {d}" for d, n in sorted(journey.decisions.items()))
    request_p50 = percentile(journey.request_s, 0.5)
    lines += [
        "",
        f"Of the p50, the submit request takes {_ms(request_p50)} (its transaction and the "
        "outbox publish, answered 202 once Pub/Sub has the event); the other "
        f"{_ms(max(0.0, p50 - request_p50))} are the push delivery, the four provider calls, "
        "the scorecard, the decision's transaction and the `loan.scored` publish.",
        "",
        f"Decisions: {decisions}. Not counted above: {WARM_UP} warm-up applications "
        "submitted back to back right after the start, "
        f"{', '.join(_ms(s) for s in journey.warm_up_s)}: the first delivery builds the "
        "scoring instance's Firestore, Pub/Sub and provider clients (once per instance, "
        "lazily) and the others wait for it, so they finish together. The platform started "
        f"in {journey.startup_s:.1f} s.",
        "",
        "`loan.scored` is observed on a pull subscription the benchmark creates on the "
        "`loan.scored` topic; a loan's latency is the event's Pub/Sub publish time minus the "
        "wall-clock instant just before its submit request was sent (the emulator and the "
        "benchmark read the same clock, to the millisecond). The pulled figure adds the "
        "benchmark's own pull loop.",
        "",
        "## Scoring computation alone",
        "",
        "`shared.domain.scoring.score` on each reference persona "
        f"({scoring_runs:,} runs each, this process, scorecard v1 loaded once):",
        "",
        "| persona | p50 | p99 |",
        "|---|---|---|",
    ]
    for key, samples in scoring.items():
        lines.append(
            f"| {key} | {percentile(samples, 0.5):.3f} ms | {percentile(samples, 0.99):.3f} ms |"
        )
    lines += [
        "",
        "## Cold import of each function",
        "",
        f"Each figure is the median (and worst) of {import_runs} fresh interpreters timing "
        "`import functions.<name>.main`. *Whole* starts from a bare interpreter; *own share* "
        "imports `functions_framework` first, as the Cloud Functions runtime does before it "
        "loads `main.py`, so it is what the function's code adds.",
        "",
        "| function | whole: median | whole: worst | own share: median | target < 300 ms |",
        "|---|---|---|---|---|",
    ]
    for name, samples in imports.total_ms.items():
        median = statistics.median(samples)
        lines.append(
            f"| `{name}` | {median:.0f} ms | {max(samples):.0f} ms | "
            f"{statistics.median(imports.own_ms[name]):.0f} ms | "
            f"{_verdict(median < IMPORT_TARGET_MS)} |"
        )
    lines += [
        "",
        f"Where `{imports.slowest}`'s import time goes (`python -X importtime`, self time "
        "summed by package):",
        "",
        "| package | self time |",
        "|---|---|",
    ]
    for package, ms in list(imports.packages.items())[:10]:
        lines.append(f"| `{package}` | {ms:.1f} ms |")
    lines += [
        "",
        "Heaviest single modules (self time): "
        + ", ".join(f"`{module}` {ms:.1f} ms" for module, ms in imports.heaviest[:6])
        + ".",
        "",
        f"Machine: {os.cpu_count()} CPU(s), {cpu_model()}, Python "
        f"{host_platform.python_version()}, {host_platform.system()} "
        f"{host_platform.release()}. Load average (1/5/15 min) before the run: {load_before}; "
        f"after: {load_after}.",
        "",
        "The machine was shared with other engineers' builds and test runs while this ran, so "
        "read the figures as a floor rather than a ceiling, and rerun on a quiet machine before "
        "comparing two versions.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.platform", description=__doc__)
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="submissions per second")
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--scoring-runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261120)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    load_before = load_average()
    log("cold imports (fresh interpreters, before anything else runs)")
    imports = measure_imports(args.import_runs)
    log("scoring computation alone")
    scoring = measure_scoring(args.scoring_runs)
    log("submit -> loan.scored on the whole platform")
    journey = measure_journey(args.applications, args.rate, args.seed)
    report = render(
        imports,
        scoring,
        journey,
        import_runs=args.import_runs,
        scoring_runs=args.scoring_runs,
        load_before=load_before,
        load_after=load_average(),
    )
    args.output.write_text(report, encoding="utf-8")
    lat = journey.latencies_s
    log(
        f"submit -> loan.scored p50 {_ms(percentile(lat, 0.5))}, p99 {_ms(percentile(lat, 0.99))}; "
        f"report written to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
