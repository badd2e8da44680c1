#!/usr/bin/env python3
"""Patungan developer entry point: `python3 dev.py up` and `python3 dev.py test`.

Needs only python3 (>= 3.11) with its venv module. On first run (and whenever
requirements.lock changes) it builds `.venv/` from the pinned lock, then hands
over to the project's own tools inside it:

    python3 dev.py up      start the whole platform locally on the emulators
    python3 dev.py test    lint, type-check and run every test (what CI runs)
    python3 dev.py nox ... any nox session, e.g. `python3 dev.py nox -s bench_emulators`

Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".lock-sha256"
PY = VENV / "bin" / "python"


def _lock_digest() -> str:
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()


def ensure_venv() -> None:
    """Create or refresh .venv so that it matches requirements.lock exactly."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3
        sys.exit(f"Patungan needs Python >= 3.11; this is {sys.version.split()[0]}")
    digest = _lock_digest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    if not PY.exists():
        print(f"[dev] creating {VENV.relative_to(ROOT)} with {sys.executable}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except Exception as exc:  # ensurepip missing on a bare Debian python3
            sys.exit(
                f"[dev] could not create the virtualenv ({exc}); "
                "install your Python's venv module (Debian: apt-get install python3-venv)"
            )
    print(
        "[dev] installing pinned dependencies from requirements.lock (first run: a few minutes)",
        flush=True,
    )
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-r", str(LOCK)], check=True)
    STAMP.write_text(digest + "\n")
    print("[dev] environment ready", flush=True)


def run_in_venv(*args: str) -> int:
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONPATH", str(ROOT))
    child = subprocess.Popen(list(args), cwd=ROOT, env=env)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            # The child got the same Ctrl-C and is stopping what it started; wait for it,
            # or its emulators and functions would outlive us and keep their ports.
            continue


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    if command not in {"up", "test", "nox"}:
        print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
        return 2
    ensure_venv()
    if command == "up":
        return run_in_venv(str(PY), "-m", "scripts.local_platform", *rest)
    if command == "test":
        return run_in_venv(str(PY), "-m", "nox", "-s", "lint", "typecheck", "tests", *rest)
    return run_in_venv(str(PY), "-m", "nox", *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
