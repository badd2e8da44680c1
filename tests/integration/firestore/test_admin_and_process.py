"""The emulator as a process and its admin endpoint: ready line, shutdown, data dir, stats."""

from __future__ import annotations

import time

import grpc
import httpx
import pytest
from google.api_core import exceptions
from google.cloud import firestore

from emulators.launcher import EmulatorProcess, free_port_pair
from tests.fixtures.firestore_emulator import FirestoreEmulator

pytestmark = pytest.mark.emulator


def _start(*extra: str) -> tuple[EmulatorProcess, FirestoreEmulator]:
    port = free_port_pair()
    process = EmulatorProcess.python_module(
        "firestore", "emulators.firestore", "--host", "127.0.0.1", "--port", str(port), *extra
    ).start()
    return process, FirestoreEmulator(f"127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}")


def test_ready_line_names_both_ports_and_sigterm_exits_cleanly():
    process, handle = _start()
    try:
        assert process.ready_line == (
            f"READY firestore grpc={handle.host} admin={handle.admin_url}"
        )
        assert httpx.get(handle.admin_url + "/").text == "Ok\n"
    finally:
        handle.close()
        assert process.stop() == 0


def test_data_dir_survives_a_restart_and_post_shutdown_exits_cleanly(tmp_path):
    process, handle = _start("--data-dir", str(tmp_path))
    client = handle.client("persisted")
    try:
        written = client.document("loans/L1").set({"amount": 5_000_000, "lenders": ["ani"]})
        client.document("loans/L2").set({"amount": 1})
        client.document("loans/L2").delete()
    finally:
        client.close()
    httpx.post(handle.admin_url + "/shutdown").raise_for_status()
    handle.close()
    # It exits on its own (a SIGTERM now could land in its own clean exit on a busy machine).
    deadline = time.monotonic() + 60
    while process.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.returncode == 0

    process, handle = _start("--data-dir", str(tmp_path))
    client = handle.client("persisted")
    try:
        snapshot = client.document("loans/L1").get()
        assert snapshot.to_dict() == {"amount": 5_000_000, "lenders": ["ani"]}
        assert snapshot.update_time == written.update_time
        assert not client.document("loans/L2").get().exists
        assert client.document("loans/L1").set({"amount": 1}).update_time > written.update_time
    finally:
        client.close()
        handle.close()
        assert process.stop() == 0


def test_stats_count_writes_per_document_and_flag_hot_ones(firestore_emulator):
    project = firestore_emulator.unique_project("stats")
    client = firestore_emulator.client(project)
    try:
        hot, cool = client.document("accounts/escrow"), client.document("accounts/lender-1")
        for amount in range(30):
            hot.set({"balance": amount})
        for amount in range(3):
            cool.set({"balance": amount})
        batch = client.batch()
        batch.update(hot, {"balance": firestore.Increment(1)})
        batch.delete(cool)
        batch.commit()

        stats = firestore_emulator.stats(project)
    finally:
        client.close()

    rows = {row["document"]: row for row in stats["documents"]}
    assert rows["accounts/escrow"]["writes"] == 31
    assert rows["accounts/lender-1"]["writes"] == 4
    assert rows["accounts/escrow"]["hot"] is True
    assert rows["accounts/escrow"]["peak_sustained_writes_per_second"] > 1
    assert rows["accounts/lender-1"]["hot"] is False
    assert stats["hot_documents"] == [rows["accounts/escrow"]["name"]]
    assert stats["limit_writes_per_second"] == 1


def test_reset_aborts_transactions_open_on_that_database(firestore_emulator):
    project = firestore_emulator.unique_project("reset")
    client = firestore_emulator.client(project)
    try:
        account = client.document("accounts/a")
        account.set({"balance": 1})
        transaction = client.transaction()
        transaction._begin()
        (snapshot,) = transaction.get(account)

        firestore_emulator.reset(project)

        transaction.update(account, {"balance": snapshot.get("balance") + 1})
        with pytest.raises(exceptions.Aborted):
            transaction._commit()
        assert not account.get().exists
    finally:
        client.close()


@pytest.mark.parametrize("method", ["Write", "PartitionQuery", "NoSuchMethod"])
def test_methods_that_are_not_emulated_answer_unimplemented_at_once(firestore_emulator, method):
    with grpc.insecure_channel(firestore_emulator.host) as channel:
        call = channel.stream_stream(f"/google.firestore.v1.Firestore/{method}")
        with pytest.raises(grpc.RpcError) as raised:
            list(call(iter([b""]), timeout=10))

    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "not implemented by the Patungan Firestore emulator" in raised.value.details()


def test_unknown_admin_paths_are_404(firestore_emulator):
    assert httpx.get(firestore_emulator.admin_url + "/nope").status_code == 404
