"""Start a local process (an emulator, a sandbox, a function), wait until it is ready, stop it.

`EmulatorProcess` is the one wrapper every local process goes through: the
local cloud's emulators, the providers sandbox, and the platform runner's
functions. It decides readiness one of two ways:

- the process's own READY line: every Patungan emulator, started as
  `python -m emulators.<name> --host H --port P`, prints one line beginning with
  `READY ` to stdout once it accepts connections, for example
  `READY firestore grpc=127.0.0.1:8080 admin=http://127.0.0.1:8081`;
- a probe (`TcpProbe`, `HttpProbe`) for a program that prints no such line
  (functions-framework): the program then runs under `python -m
  emulators.supervisor`, which prints the READY line once the port accepts
  connections and takes the program down with it when we are gone (SIGKILL
  included). An `HttpProbe` waits further, for an answer below 500 from its URL:
  a 5xx there is a start-up failure, reported with the process's output.

The child's environment is ours plus `env`; variables whose names start with one
of `replaces` are not inherited, so the child sees exactly the values given for
them (the runner gives each function its whole configuration this way).
Output lines are kept (`tail`), optionally echoed with the process's name, and
handed to `listeners`. Every child runs in its own session, so Ctrl-C in a
terminal reaches only us, and `stop()` stops its whole process group. The test
fixtures start emulators the same way, so a test suite never depends on fixed
ports being free.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from emulators.supervisor import StartStop, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "READY "
HTTP_POLL_S = 0.05
KEPT_LINES = 500
Listener = Callable[[str, str], None]  # (process name, output line)


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


@dataclass(frozen=True)
class TcpProbe:
    """Ready once `host:port` accepts a TCP connection."""

    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class HttpProbe(TcpProbe):
    """Ready once GET `http://host:port/path` answers below 500 (the port open is not enough)."""

    path: str = "/"

    @property
    def url(self) -> str:
        return f"http://{self.address}{self.path}"


class EmulatorProcess(StartStop):
    """A supervised child process; a context manager that stops it on exit."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        replaces: Sequence[str] = (),
        probe: TcpProbe | None = None,
        ready_timeout: float = 30.0,
        echo: bool = False,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.environment = dict(env or {})  # what we were asked to set, as given
        self.replaces = tuple(replaces)
        self.probe = probe
        self.ready_timeout = ready_timeout
        self.echo = echo
        self.listeners = list(listeners)
        self.ready_line = ""
        self.output: deque[str] = deque(maxlen=KEPT_LINES)
        self._proc: subprocess.Popen[str] | None = None

    @classmethod
    def python_module(cls, name: str, module: str, *args: str, **kwargs: object) -> EmulatorProcess:
        return cls(name, [sys.executable, "-m", module, *args], **kwargs)  # type: ignore[arg-type]

    @property
    def env(self) -> dict[str, str]:
        """The child's whole environment: ours, less what `replaces` names, plus `environment`."""
        inherited = {
            name: value for name, value in os.environ.items() if not name.startswith(self.replaces)
        }
        return {**inherited, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **self.environment}

    @property
    def command(self) -> list[str]:
        """What is run: the program itself, or the supervisor running it when a probe decides."""
        if self.probe is None:
            return self.argv
        return [
            sys.executable, "-m", "emulators.supervisor", self.name,
            "--ready-tcp", self.probe.address,
            "--ready-timeout", str(self.ready_timeout),
            "--", *self.argv,
        ]  # fmt: skip

    def start(self) -> EmulatorProcess:
        self._proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, we stop children
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(
            target=self._pump, args=(lines,), name=f"{self.name}-output", daemon=True
        ).start()
        deadline = time.monotonic() + self.ready_timeout
        try:
            self._wait_for_ready_line(lines, deadline)
            if isinstance(self.probe, HttpProbe):
                self._wait_for_http(self.probe, deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_ready_line(self, lines: queue.Queue[str | None], deadline: float) -> None:
        assert self._proc is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
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
                return

    def _wait_for_http(self, probe: HttpProbe, deadline: float) -> None:
        """Until the process answers HTTP below 500 (a 5xx is a start-up failure: settings...)."""
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while True:
            if not self.running:
                raise RuntimeError(
                    f"{self.name} exited with {self.returncode} before ready:\n{self.tail()}"
                )
            try:
                with no_proxy.open(probe.url, timeout=10) as response:
                    status = int(response.status)
            except urllib.error.HTTPError as answer:
                status = answer.code
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} did not answer on {probe.url} within "
                        f"{self.ready_timeout:.0f}s:\n{self.tail()}"
                    ) from None
                time.sleep(HTTP_POLL_S)
                continue
            if status >= 500:
                raise RuntimeError(
                    f"{self.name} answered {status} to its first request "
                    f"(usually its settings: see below):\n{self.tail()}"
                )
            return

    def _pump(self, lines: queue.Queue[str | None]) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip("\n")
            self.output.append(line)
            if self.echo:
                print(f"[{self.name}] {line}", flush=True)
            for listener in self.listeners:
                listener(self.name, line)
            lines.put(line)
        self._proc.stdout.close()  # EOF: the process (group) is gone
        lines.put(None)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.output)[-lines:])

    @property
    def pid(self) -> int | None:
        """The child's process id (also its process group's), once started."""
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
        if self._proc is None:
            return None
        return stop_process_group(self._proc, timeout)
