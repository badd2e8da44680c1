"""The local cloud: one call or one command starts every emulator, clients reach them, all stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from google.api_core import exceptions

from emulators.launcher import ROOT, EmulatorProcess, free_port, free_port_pair
from emulators.local_cloud import LocalCloud, LocalCloudConfig, LocalCloudError, firestore_available

pytestmark = pytest.mark.emulator


def accepts_connections(address: str) -> bool:
    host, port = address.removeprefix("http://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def test_local_cloud_serves_firestore_pubsub_and_storage_then_stops(monkeypatch):
    notify_topic = "projects/patungan-local/topics/document-uploaded"
    config = LocalCloudConfig(
        firestore_port=0, pubsub_port=0, storage_port=0, storage_notify_topic=notify_topic
    )
    with LocalCloud(config) as cloud:
        for name, value in cloud.env.items():
            monkeypatch.setenv(name, value)
        from google.cloud import firestore, pubsub_v1, storage

        # Pub/Sub: the notification topic was created; defaults are production's.
        subscriber = pubsub_v1.SubscriberClient()
        subscription = "projects/patungan-local/subscriptions/document-uploaded-audit"
        subscriber.create_subscription(name=subscription, topic=notify_topic)
        with pytest.raises(exceptions.InvalidArgument):  # under 10 s, as in production
            subscriber.create_subscription(
                name=subscription + "-hasty", topic=notify_topic, ack_deadline_seconds=5
            )

        # Storage: Jakarta buckets, and uploads announced on the topic.
        bucket = storage.Client(project="patungan-local").create_bucket("kyc-documents")
        bucket.blob("borrowers/B-1/ktp.jpg").upload_from_string(b"jpeg", content_type="image/jpeg")
        [note] = subscriber.pull(
            request={"subscription": subscription, "max_messages": 1}, timeout=15
        ).received_messages
        subscriber.close()

        # Firestore, when this checkout has its emulator.
        if firestore_available():
            db = firestore.Client(project="patungan-local")
            db.collection("loans").document("L-1").set({"principal": 5_000_000})
            stored = db.collection("loans").document("L-1").get().to_dict()
        else:
            stored = None
        addresses = [e.address for e in cloud.emulators.values()]
        env = dict(cloud.env)

    assert bucket.location == "ASIA-SOUTHEAST2"
    assert note.message.attributes["objectId"] == "borrowers/B-1/ktp.jpg"
    assert env["GOOGLE_CLOUD_PROJECT"] == "patungan-local"
    assert env["STORAGE_EMULATOR_HOST"].startswith("http://127.0.0.1:")
    if firestore_available():
        assert stored == {"principal": 5_000_000}
        assert set(env) >= {"FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"}
    else:
        assert "FIRESTORE_EMULATOR_HOST" not in env
    assert not any(accepts_connections(address) for address in addresses)


def test_the_command_prints_exports_and_stops_cleanly_on_ctrl_c():
    command = [
        sys.executable, "-m", "emulators",
        "--only", "pubsub,storage", "--pubsub-port", "0", "--storage-port", "0",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    exports = {}
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("export "):
                name, value = line.removeprefix("export ").strip().split("=", 1)
                exports[name] = value
            if "STORAGE_EMULATOR_HOST" in exports and "PUBSUB_EMULATOR_HOST" in exports:
                break
        reachable = [
            accepts_connections(exports[n])
            for n in ("PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST")
        ]
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert reachable == [True, True]
    assert exports["GOOGLE_CLOUD_PROJECT"] == "patungan-local"
    assert process.returncode == 0, output
    assert not accepts_connections(exports["PUBSUB_EMULATOR_HOST"])


def test_gcloud_mode_without_gcloud_says_how_to_get_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "emulators", "--gcloud", "--only", "pubsub", "--pubsub-port", "0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "gcloud is not on PATH" in result.stderr
    assert "gcloud components install" in result.stderr


FAKE_GCLOUD = """\
    import json, signal, socket, sys
    # Stands in for `gcloud beta emulators SERVICE start --host-port=H:P ...`:
    # records its arguments and listens on H:P until SIGTERM, like the real one.
    args = sys.argv[1:]
    host, port = next(a for a in args if a.startswith("--host-port=")).split("=")[1].split(":")
    with open(f"{sys.argv[0]}.{args[2]}.json", "w") as record:
        json.dump(args, record)
    server = socket.create_server((host, int(port)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        server.accept()[0].close()
"""


def test_gcloud_mode_runs_the_official_emulators_through_gcloud(tmp_path, monkeypatch):
    script = tmp_path / "fake_gcloud.py"
    script.write_text(textwrap.dedent(FAKE_GCLOUD))
    gcloud = tmp_path / "gcloud"
    gcloud.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    gcloud.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    config = LocalCloudConfig(
        services=("firestore", "pubsub"), firestore_port=0, pubsub_port=0, use_gcloud=True
    )

    with LocalCloud(config) as cloud:
        pubsub = cloud.emulators["pubsub"]
        firestore = cloud.emulators["firestore"]
        serving = accepts_connections(pubsub.address) and accepts_connections(firestore.address)

    recorded = json.loads(Path(f"{script}.pubsub.json").read_text())
    assert serving
    assert recorded == [
        "beta", "emulators", "pubsub", "start",
        f"--host-port={pubsub.address}", "--project=patungan-local", "--quiet",
    ]  # fmt: skip
    assert json.loads(Path(f"{script}.firestore.json").read_text())[:4] == [
        "beta", "emulators", "firestore", "start",
    ]  # fmt: skip
    assert (pubsub.admin_url, firestore.admin_url) == (None, None)  # gcloud has no admin API
    assert "source=gcloud" in pubsub.ready_line
    assert not accepts_connections(pubsub.address)


def test_gcloud_mode_needs_gcloud(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(LocalCloudError, match="gcloud is not on PATH"):
        LocalCloud(LocalCloudConfig(use_gcloud=True, services=("pubsub",))).start()


def test_notifications_need_pubsub():
    with pytest.raises(ValueError, match="pubsub"):
        LocalCloudConfig(services=("storage",), storage_notify_topic="projects/p/topics/t")


@pytest.mark.parametrize("module", ["emulators.pubsub", "emulators.storage"])
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_each_emulator_prints_one_ready_line_and_exits_0_when_signalled(module, stop_signal):
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(free_port_pair())],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = next(line for line in process.stdout if line.startswith("READY "))
        process.send_signal(stop_signal)
        rest = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert ready.split()[1] == module.split(".")[1]
    assert "READY " not in rest
    assert process.returncode == 0, rest


def closes_within(address: str, seconds: float) -> bool:
    """Whether `address` stops accepting connections before `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while accepts_connections(address):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_killing_whatever_started_the_local_cloud_leaves_no_emulator_serving():
    # A crashed test run or a `kill -9` gives the emulators, each in its own session,
    # no signal: they notice that their parent has gone and stop, fake-gcs-server too.
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "emulators"),
            *("--firestore-port", "0", "--pubsub-port", "0", "--storage-port", "0"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wanted = {"PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"}
    if firestore_available():
        wanted.add("FIRESTORE_EMULATOR_HOST")
    exports: dict[str, str] = {}
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("export "):
                name, value = line.removeprefix("export ").strip().split("=", 1)
                exports[name] = value
            if wanted <= exports.keys():
                break
        serving_before = sorted(name for name in wanted if accepts_connections(exports[name]))
    finally:
        process.kill()
        process.wait()

    still_serving = sorted(name for name in wanted if not closes_within(exports[name], 20))
    assert serving_before == sorted(wanted)
    assert still_serving == []


def test_killing_the_storage_emulator_kills_its_fake_gcs_server():
    port = free_port()
    storage = EmulatorProcess.python_module("storage", "emulators.storage", "--port", str(port))
    with storage:
        assert storage.pid is not None
        os.kill(storage.pid, signal.SIGKILL)  # no chance to stop its child itself
        assert closes_within(f"127.0.0.1:{port}", 20)
