"""Local processes (emulators, the sandbox, functions) are started, waited for, and stopped
the same way everywhere: a READY line or a probe, a clean environment, their output kept."""

import sys
import time

import pytest

from emulators.launcher import EmulatorProcess, HttpProbe, free_port, free_port_pair
from emulators.supervisor import tcp_open

SERVE = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
    "print('starting up'); print('READY fake grpc=127.0.0.1:1', flush=True)\n"
    "time.sleep(60)\n"
)


def test_waits_for_the_ready_line_and_stops_cleanly():
    proc = EmulatorProcess("fake", [sys.executable, "-c", SERVE])
    with proc:
        assert proc.ready_line == "READY fake grpc=127.0.0.1:1"
        assert proc.running
        assert "starting up" in proc.tail()
    assert not proc.running
    assert proc.stop() == 0


def test_a_process_that_dies_before_ready_reports_its_output():
    crash = "import sys; print('bad flag --nope'); sys.exit(3)"
    with pytest.raises(RuntimeError, match=r"exited with 3 before ready:\nbad flag --nope"):
        EmulatorProcess("crashy", [sys.executable, "-c", crash]).start()


def test_a_process_that_never_gets_ready_is_killed_after_the_timeout():
    silent = "import time; print('thinking'); time.sleep(60)"
    proc = EmulatorProcess("slow", [sys.executable, "-c", silent], ready_timeout=1)
    with pytest.raises(RuntimeError, match="did not report ready within 1s"):
        proc.start()
    assert not proc.running


def test_free_ports_are_bindable():
    assert 0 < free_port() < 65536
    port = free_port_pair()
    assert port + 1 < 65536


def test_the_supervisor_command_says_ready_once_the_port_opens_and_stops_its_program():
    port = free_port()
    listen = (
        "import socket, time\n"
        f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n"
        "time.sleep(60)\n"
    )
    supervised = EmulatorProcess.python_module(
        "supervisor",
        "emulators.supervisor",
        "listener",
        "--ready-tcp",
        f"127.0.0.1:{port}",
        "--",
        sys.executable,
        "-c",
        listen,
    )
    with supervised:
        assert supervised.ready_line == f"READY listener 127.0.0.1:{port}"
        assert tcp_open("127.0.0.1", port)()
        assert supervised.stop() == 0
    assert not tcp_open("127.0.0.1", port)()  # the program went with its supervisor


def test_the_supervisor_command_refuses_to_start_without_a_program():
    with pytest.raises(RuntimeError, match="no program to run"):
        EmulatorProcess.python_module(
            "supervisor", "emulators.supervisor", "nothing", "--ready-tcp", "127.0.0.1:1"
        ).start()


def http_server(port: int, status: int) -> str:
    return (
        "import http.server\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        f"        self.send_response({status}); self.end_headers()\n"
        "    def log_message(self, *a): pass\n"
        "print('serving', flush=True)\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )


def test_a_program_without_a_ready_line_is_supervised_and_ready_once_it_answers_http():
    port = free_port()
    seen: list[tuple[str, str]] = []
    proc = EmulatorProcess(
        "plain-http",
        [sys.executable, "-c", http_server(port, 405)],
        probe=HttpProbe("127.0.0.1", port),
        listeners=[lambda name, line: seen.append((name, line))],
    )
    with proc:
        assert proc.ready_line == f"READY plain-http 127.0.0.1:{port}"  # said by the supervisor
        assert ("plain-http", "serving") in seen
        assert proc.command[:3] == [sys.executable, "-m", "emulators.supervisor"]
    assert not tcp_open("127.0.0.1", port)()  # the program went with its supervisor


def test_a_5xx_to_the_first_request_is_a_failed_start_reported_with_the_output():
    port = free_port()
    proc = EmulatorProcess(
        "broken-settings",
        [sys.executable, "-c", http_server(port, 500)],
        probe=HttpProbe("127.0.0.1", port),
    )
    with pytest.raises(RuntimeError, match=r"answered 500 to its first request.*\n.*serving"):
        proc.start()
    assert not proc.running
    assert not tcp_open("127.0.0.1", port)()


def test_the_given_environment_replaces_inherited_variables_it_names(monkeypatch):
    monkeypatch.setenv("PATUNGAN_ENTITY", "from-the-shell")
    monkeypatch.setenv("PATUNGAN_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("UNRELATED_SETTING", "kept")
    show = (
        "import os\n"
        "print('READY env', flush=True)\n"
        "print(sorted((k, v) for k, v in os.environ.items() "
        "if k.startswith(('PATUNGAN_', 'UNRELATED'))), flush=True)\n"
        "import time; time.sleep(30)\n"
    )
    proc = EmulatorProcess(
        "env",
        [sys.executable, "-c", show],
        env={"PATUNGAN_ENTITY": "p2p-lending"},
        replaces=("PATUNGAN_",),
    )
    with proc:
        deadline = time.monotonic() + 10
        while "UNRELATED" not in proc.tail() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.output[-1] == str(
            [("PATUNGAN_ENTITY", "p2p-lending"), ("UNRELATED_SETTING", "kept")]
        )
    assert proc.environment == {"PATUNGAN_ENTITY": "p2p-lending"}
