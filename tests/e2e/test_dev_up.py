"""`python3 dev.py up`, the README's first command: Ctrl-C in the terminal stops everything it
started. A terminal's Ctrl-C sends SIGINT to the whole foreground process group — dev.py and
the platform runner it starts; the runner then stops the emulators, the sandbox and the
functions, which run in process groups of their own. Nothing may be left listening."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_local_platform_command import read_until

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_leftovers(ports: set[int]) -> None:
    """Stop processes this test started that outlived the command (found by their ports)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            text = " ".join(part.decode(errors="replace") for part in argv)
            if any(re.search(rf"--port[ =]{port}\b", text) for port in ports):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(entry.name), signal.SIGTERM)


def test_ctrl_c_stops_everything_dev_py_up_started(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "dev.py", "up", "--ports", "free", "--keys", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    ports: set[int] = set()
    try:
        output = "\n".join(read_until(process, "Ctrl-C stops everything."))
        ports = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", output)}
        assert len(ports) >= 9  # three emulators, the sandbox, five functions
        assert all(listening(port) for port in ports)

        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        process.wait(timeout=60)
        deadline = time.monotonic() + 10
        while (still := sorted(p for p in ports if listening(p))) and time.monotonic() < deadline:
            time.sleep(0.2)

        assert still == [], f"still listening after Ctrl-C: {still}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        stop_leftovers(ports)
