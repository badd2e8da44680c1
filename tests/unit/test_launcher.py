"""Emulator processes are started, waited for, and stopped the same way everywhere."""

import sys

import pytest

from emulators.launcher import EmulatorProcess, free_port, free_port_pair
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
