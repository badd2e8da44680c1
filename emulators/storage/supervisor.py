"""Run a foreign emulator binary under the Patungan emulator conventions.

fake-gcs-server (and the official gcloud emulators) print their own output and
know nothing of our `READY ` line. `supervise()` starts such a program as a
child, waits until a readiness probe succeeds, prints the READY line, forwards
SIGINT/SIGTERM to the child's process group as SIGTERM, and exits 0 when it was asked to stop
(or with the child's code, and a message, if the child died on its own). The
child's output passes through to ours, so `EmulatorProcess` keeps its tail for
error messages.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

READY_POLL_S = 0.05


def http_ok(url: str) -> Callable[[], bool]:
    """A probe that passes once GET `url` answers 2xx."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - local URL
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, OSError):
            return False

    return probe


def tcp_open(host: str, port: int) -> Callable[[], bool]:
    """A probe that passes once `host:port` accepts a TCP connection."""

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False

    return probe


def supervise(
    name: str,
    argv: Sequence[str],
    *,
    ready: Callable[[], bool],
    ready_line: str,
    env: Mapping[str, str] | None = None,
    ready_timeout_s: float = 60.0,
    stop_timeout_s: float = 10.0,
) -> int:
    """Run `argv` until SIGINT/SIGTERM, printing `ready_line` ("READY ...") once it is ready."""
    if not ready_line.startswith("READY "):
        raise ValueError("ready_line must start with 'READY '")
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        # Own process group: gcloud starts a JVM below itself, and stopping must reach it too.
        child = subprocess.Popen(
            list(argv), env=dict(env) if env is not None else None, start_new_session=True
        )
    except OSError as exc:
        print(f"{name}: cannot start {argv[0]}: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        deadline = time.monotonic() + ready_timeout_s
        while not ready():
            if stop.is_set():
                return 0
            if child.poll() is not None:
                print(
                    f"{name}: exited with {child.returncode} before it was ready",
                    file=sys.stderr,
                    flush=True,
                )
                return child.returncode or 1
            if time.monotonic() > deadline:
                print(
                    f"{name}: not ready after {ready_timeout_s:.0f}s", file=sys.stderr, flush=True
                )
                return 1
            time.sleep(READY_POLL_S)
        print(ready_line, flush=True)
        while not stop.wait(0.2):
            if child.poll() is not None:
                print(
                    f"{name}: exited unexpectedly with {child.returncode}",
                    file=sys.stderr,
                    flush=True,
                )
                return child.returncode or 1
        return 0
    finally:
        _terminate(child, stop_timeout_s)


def _terminate(child: subprocess.Popen[bytes], timeout_s: float) -> None:
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
