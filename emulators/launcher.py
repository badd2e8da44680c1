"""Start an emulator as a child process and wait until it says it is ready.

Every Patungan emulator, started as `python -m emulators.<name> --host H --port P`,
prints one line beginning with `READY ` to stdout once it accepts connections,
for example `READY firestore grpc=127.0.0.1:8080 admin=http://127.0.0.1:8081`.
The local-cloud command and the pytest fixtures both start emulators through
`EmulatorProcess`, so a test suite never depends on fixed ports being free.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from emulators.supervisor import StartStop, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "READY "


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port P such that P and P + 1 were both free (gRPC on P, admin HTTP on P + 1)."""
    for _ in range(50):
        port = free_port(host)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no pair of adjacent free ports found")


class EmulatorProcess(StartStop):
    """A child process running one emulator; a context manager that stops it on exit."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        ready_timeout: float = 30.0,
        echo: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(env or {})}
        self.ready_timeout = ready_timeout
        self.echo = echo
        self.ready_line = ""
        self.output: list[str] = []
        self._proc: subprocess.Popen[str] | None = None

    @classmethod
    def python_module(cls, name: str, module: str, *args: str, **kwargs: object) -> EmulatorProcess:
        return cls(name, [sys.executable, "-m", module, *args], **kwargs)  # type: ignore[arg-type]

    def start(self) -> EmulatorProcess:
        self._proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, we stop children
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        deadline = time.monotonic() + self.ready_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(
                    f"{self.name} did not report ready within {self.ready_timeout:.0f}s; "
                    f"output:\n{self.tail()}"
                )
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self._proc.wait()
                raise RuntimeError(f"{self.name} exited with {code} before ready:\n{self.tail()}")
            if line.startswith(READY_PREFIX):
                self.ready_line = line
                return self

    def _pump(self, lines: queue.Queue[str | None]) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip("\n")
            self.output.append(line)
            del self.output[:-500]  # keep the tail only
            if self.echo:
                print(f"[{self.name}] {line}", flush=True)
            lines.put(line)
        self._proc.stdout.close()  # EOF: the process (group) is gone
        lines.put(None)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output[-lines:])

    @property
    def pid(self) -> int | None:
        """The child's process id (also its process group's), once started."""
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
        if self._proc is None:
            return None
        return stop_process_group(self._proc, timeout)
