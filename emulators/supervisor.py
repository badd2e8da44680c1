"""How every local process is stopped, and how a foreign emulator binary is run.

Four pieces, shared by the emulators, the local cloud and the platform runner:

- `stop_process_group(proc)`: SIGTERM to the child's process group, SIGKILL after a
  grace period. Every child we start runs in its own session (so Ctrl-C in a
  terminal reaches only the parent, which then stops its children in order), so
  stopping must address the group: gcloud, for one, starts a JVM below itself.
- `stop_requested()`: the event a long-running emulator waits on. It is set on
  SIGINT or SIGTERM, and also once the process that started us has gone: a child
  in its own session receives no signal when its parent is killed (SIGKILL, a
  crashed test run), and would otherwise serve on, orphaned, forever.
- `supervise(...)`: run a program that knows nothing of our `READY ` line
  (fake-gcs-server, the official gcloud emulators) as a child, wait until a
  readiness probe passes, print the READY line, and stop the child's group when
  asked to stop or orphaned. On Linux the child is also bound to us with
  PR_SET_PDEATHSIG, so it is killed even if we are (SIGKILL). The child's output
  passes through to ours, so `EmulatorProcess` keeps its tail for error messages.
  `python -m emulators.supervisor NAME --ready-tcp HOST:PORT -- ARGV...` is the same
  from the command line: the platform runner starts every function through it, so
  a function dies with the runner (SIGKILL included) although the runner forks
  from whichever thread it likes.
- `StartStop`: the `with` block of everything that starts and stops (an emulator
  process, the local cloud, the local platform): enter starts, exit stops, also
  when the block raises.
"""

from __future__ import annotations

import abc
import argparse
import contextlib
import ctypes
import ctypes.util
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
from types import FrameType, TracebackType
from typing import Any, Self

READY_POLL_S = 0.05
PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


class StartStop(abc.ABC):
    """`with thing:` starts `thing` and stops it on the way out, also when the block raises."""

    @abc.abstractmethod
    def start(self) -> Self:
        """Start, and return self once ready (stopping whatever started if it fails)."""

    @abc.abstractmethod
    def stop(self) -> object:
        """Stop whatever was started; safe to call twice."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process_group(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> int | None:
    """SIGTERM `proc`'s process group, SIGKILL it after `grace_s`; returns the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def stop_requested(on_stop: Callable[[], None] | None = None) -> threading.Event:
    """An event set on SIGINT/SIGTERM or when our parent process exits (call from the main thread).

    `on_stop`, if given, is called once as well, from the signal handler or the watchdog.
    """
    stop = threading.Event()
    parent = os.getppid()

    def _stop() -> None:
        if not stop.is_set():
            stop.set()
            if on_stop is not None:
                on_stop()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        _stop()

    def _watch_parent() -> None:
        # Orphans are re-parented (to init or a subreaper), so a changed parent id means ours died.
        while not stop.wait(PARENT_POLL_S):
            if os.getppid() != parent:
                _stop()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    threading.Thread(target=_watch_parent, name="parent-watchdog", daemon=True).start()
    return stop


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


def _die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` asking Linux to SIGKILL the child when its parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return preexec


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
    """Run `argv` until stopped, printing `ready_line` ("READY ...") once it is ready.

    Returns 0 when asked to stop (a signal, or our parent gone), or the child's exit
    code, with a message, if it died on its own or never became ready.
    """
    if not ready_line.startswith("READY "):
        raise ValueError("ready_line must start with 'READY '")
    try:
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits: this is the main
        # thread, which lives exactly as long as we do. A preexec_fn is only safe while
        # no other thread runs, so the watchdog of stop_requested() starts after the fork;
        # a signal arriving before its handler is set kills us, and with us the child.
        child = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    except OSError as exc:
        print(f"{name}: cannot start {argv[0]}: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        stop = stop_requested()
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
        stop_process_group(child, stop_timeout_s)


def main(argv: Sequence[str]) -> int:
    """The command line: `NAME --ready-tcp HOST:PORT [--ready-timeout S] -- ARGV...`."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.supervisor",
        description="Run a program until stopped or orphaned; print READY once its port opens.",
    )
    parser.add_argument("name", help="named in the READY line and in error messages")
    parser.add_argument("--ready-tcp", required=True, metavar="HOST:PORT")
    parser.add_argument("--ready-timeout", type=float, default=60.0, metavar="SECONDS")
    argv = list(argv)
    at = argv.index("--") if "--" in argv else len(argv)
    args, program = parser.parse_args(argv[:at]), argv[at + 1 :]
    if not program:
        parser.error("no program to run (give it after --)")
    host, _, port = args.ready_tcp.rpartition(":")
    return supervise(
        args.name,
        program,
        ready=tcp_open(host, int(port)),
        ready_line=f"READY {args.name} {args.ready_tcp}",
        ready_timeout_s=args.ready_timeout,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
