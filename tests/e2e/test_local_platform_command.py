"""`python -m scripts.local_platform` (what `python3 dev.py up` runs), as a developer uses it:
it starts everything, prints URLs and tokens that work, stops everything on Ctrl-C; `--check`
smoke-tests a fresh platform; a taken port stops the start before anything runs; a runner
killed with SIGKILL leaves nothing serving."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from infra.manifest import load_manifest
from scripts.platform_runner import LOCAL_ENTITY, LocalPlatform, PlatformConfig, PlatformError
from shared.deployment import platform_plan

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "scripts.local_platform"]
FUNCTION_ROW = re.compile(r"^\s+(\w+)\s+(http|event)\s+(http://\S+)\s+(.+)$")
# "  firestore 127.0.0.1:57847 … ready (0.7 s)", "  providers http://127.0.0.1:34117 … ready"
SERVICE_ROW = re.compile(
    r"^\s+(firestore|pubsub|storage|providers|payment_gateway)\s+(?:http://)?([\d.]+):(\d+) "
)
WITH_ADMIN_PORT = {"firestore", "pubsub"}  # gRPC on P, admin HTTP on P + 1
PLANNED = {p.name for p in platform_plan(load_manifest(LOCAL_ENTITY).ojk_licence.value).functions}


def read_until(process: subprocess.Popen, marker: str, timeout_s: float = 90.0) -> list[str]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, "the command exited early:\n" + "\n".join(seen)
        seen.append(line)
        if marker in line:
            return seen


def answers(url: str) -> bool:
    try:
        httpx.get(url, trust_env=False, timeout=2.0)
    except httpx.TransportError:
        return False
    return True


def test_up_prints_working_urls_and_tokens_and_ctrl_c_stops_everything(tmp_path):
    process = subprocess.Popen(
        [*COMMAND, "--ports", "free", "--keys", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = read_until(process, "Ctrl-C stops everything.")
        rows = {m[1]: m for line in output if (m := FUNCTION_ROW.match(line))}
        tokens = dict(re.findall(r"export (TOKEN_\w+)=(\S+)", "\n".join(output)))

        assert set(rows) == PLANNED  # every function the p2p entity's licence deploys
        assert rows["scoring"][2] == "event"
        assert "Pub/Sub push" in rows["scoring"][4]
        assert rows["loan_review"][4] == "admin.credit"
        assert set(tokens) == {
            "TOKEN_BORROWER",
            "TOKEN_LENDER",
            "TOKEN_ADMIN_CREDIT",
            "TOKEN_ADMIN_FINANCE",
            "TOKEN_ADMIN_SUPER",
        }
        me = httpx.get(
            f"{rows['users'][3]}/me",
            headers={"Authorization": f"Bearer {tokens['TOKEN_BORROWER']}"},
            trust_env=False,
        )
        assert me.status_code == 404  # the token is accepted; that user has not registered
        queue_ = httpx.get(
            f"{rows['loan_review'][3]}/",
            headers={"Authorization": f"Bearer {tokens['TOKEN_ADMIN_CREDIT']}"},
            trust_env=False,
        )
        assert queue_.status_code == 200
        # The admin tokens name the local staff, founded as an entity founds its own.
        super_me = httpx.get(
            f"{rows['users'][3]}/me",
            headers={"Authorization": f"Bearer {tokens['TOKEN_ADMIN_SUPER']}"},
            trust_env=False,
        )
        assert (super_me.status_code, super_me.json()["role"]) == (200, "admin.super")
        assert "export FIRESTORE_EMULATOR_HOST=" in "\n".join(output)

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not any(answers(row[3]) for row in rows.values())  # every function is gone


def test_check_starts_a_platform_smoke_tests_it_and_exits_0(tmp_path):
    result = subprocess.run(
        [*COMMAND, "--check", "--keys", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Smoke check passed." in result.stdout
    assert "scored through the push subscription" in result.stdout
    assert "FAIL" not in result.stdout


def test_a_taken_port_stops_the_start_before_anything_runs_and_names_it(tmp_path):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            holder.bind(("127.0.0.1", 8090))
            holder.listen()
        except OSError:
            pass  # already taken by someone else: the start must refuse all the same
        platform = LocalPlatform(
            PlatformConfig(ports="default", keys_dir=tmp_path, progress=lambda _: None)
        )

        with pytest.raises(PlatformError, match=r"8090 \(providers sandbox\).*--ports free"):
            platform.start()
        assert platform.cloud is None and platform.functions == {}
    finally:
        holder.close()


def serving(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_a_runner_killed_with_sigkill_leaves_no_function_or_emulator_serving(tmp_path):
    process = subprocess.Popen(
        [*COMMAND, "--ports", "free", "--keys", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = read_until(process, "Ctrl-C stops everything.")
    finally:
        process.kill()  # SIGKILL: the runner gets no chance to stop anything
        process.wait()
    functions = [httpx.URL(m[3]) for line in output if (m := FUNCTION_ROW.match(line))]
    services = [m for line in output if (m := SERVICE_ROW.match(line))]
    addresses = [(url.host, url.port) for url in functions]
    for service in services:
        host, port = service[2], int(service[3])
        addresses.append((host, port))
        if service[1] in WITH_ADMIN_PORT:
            addresses.append((host, port + 1))
    assert len(functions) == len(PLANNED) and {s[1] for s in services} == {
        "firestore",
        "pubsub",
        "storage",
        "providers",
        "payment_gateway",
    }

    # The orphans notice within a second or so; the deadline only bounds a failing run.
    deadline = time.monotonic() + 30
    still_serving = addresses
    while still_serving and time.monotonic() < deadline:
        time.sleep(0.2)
        still_serving = [address for address in still_serving if serving(*address)]
    assert still_serving == []
