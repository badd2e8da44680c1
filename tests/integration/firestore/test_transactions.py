"""Serializable transactions: locks, wound-wait, retries, snapshots, and the anomalies they stop.

Some tests drive transactions step by step through the client's own
`Transaction._begin/_commit` (what `@firestore.transactional` calls) to force
an exact interleaving; the concurrency tests use `@firestore.transactional`
with the client's default retry settings, exactly as application code does.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from emulators.firestore.engine import EngineSettings
from emulators.firestore.server import FirestoreEmulator, ServerOptions
from emulators.firestore.transactions import TransactionSettings
from emulators.launcher import free_port_pair
from tests.fixtures.firestore_emulator import FirestoreEmulator as FirestoreEmulatorHandle

pytestmark = pytest.mark.emulator


def begin(client, retry_of=None):
    transaction = client.transaction()
    transaction._begin(retry_id=retry_of)
    return transaction


def read(transaction, ref):
    (snapshot,) = transaction.get(ref)
    return snapshot


# ---------------------------------------------------------------- locks and wound-wait


def test_a_younger_transaction_waits_for_an_older_one_and_reads_its_write(firestore_client):
    account = firestore_client.document("accounts/a")
    account.set({"balance": 10})
    older, younger = begin(firestore_client), begin(firestore_client)
    read(older, account)
    seen = {}

    def younger_adds_one():
        balance = read(younger, account).get("balance")  # blocks while `older` holds the lock
        seen["balance"] = balance
        younger.update(account, {"balance": balance + 1})
        younger._commit()

    thread = threading.Thread(target=younger_adds_one)
    thread.start()
    time.sleep(0.2)  # let the younger transaction's read reach the emulator
    older.update(account, {"balance": 20})
    older._commit()
    thread.join(timeout=30)

    assert seen == {"balance": 20}
    assert account.get().get("balance") == 21


def test_an_older_transaction_wounds_a_younger_one_which_learns_it_at_commit(firestore_client):
    a, b = firestore_client.document("accounts/a"), firestore_client.document("accounts/b")
    a.set({"balance": 1})
    b.set({"balance": 2})
    older, younger = begin(firestore_client), begin(firestore_client)
    read(younger, a)

    read(older, a)  # takes the lock from the younger transaction at once

    assert read(younger, b).get("balance") == 2  # reads never fail with ABORTED
    younger.update(b, {"balance": 0})
    with pytest.raises(exceptions.Aborted, match="Too much contention"):
        younger._commit()
    older.update(a, {"balance": 5})
    older._commit()
    assert (a.get().get("balance"), b.get().get("balance")) == (5, 2)


def test_a_retried_transaction_keeps_the_age_of_its_first_attempt(firestore_client):
    a, b = firestore_client.document("accounts/a"), firestore_client.document("accounts/b")
    a.set({"balance": 1})
    b.set({"balance": 1})
    oldest = begin(firestore_client)
    first_attempt = begin(firestore_client)
    read(first_attempt, a)
    read(oldest, a)  # wounds the first attempt
    first_attempt.update(a, {"balance": 9})
    with pytest.raises(exceptions.Aborted):
        first_attempt._commit()
    first_id = first_attempt._id
    oldest.update(a, {"balance": 5})
    oldest._commit()
    newcomer = begin(firestore_client)  # began after the first attempt: younger than it
    read(newcomer, b)

    retry = begin(firestore_client, retry_of=first_id)
    read(retry, b)  # as old as the first attempt, so the newcomer yields

    newcomer.update(b, {"balance": 100})
    with pytest.raises(exceptions.Aborted):
        newcomer._commit()
    retry.update(b, {"balance": 2})
    retry._commit()
    assert (a.get().get("balance"), b.get().get("balance")) == (5, 2)


def test_rollback_releases_the_locks(firestore_client):
    account = firestore_client.document("accounts/a")
    account.set({"balance": 1})
    first = begin(firestore_client)
    read(first, account)
    first._rollback()

    second = begin(firestore_client)
    read(second, account)
    second.update(account, {"balance": 2})
    second._commit()

    assert account.get().get("balance") == 2


def test_a_plain_write_waits_for_the_transaction_holding_the_document(firestore_client):
    account = firestore_client.document("accounts/a")
    account.set({"balance": 10})
    transaction = begin(firestore_client)
    balance = read(transaction, account).get("balance")

    writer = threading.Thread(target=lambda: account.update({"frozen": True}))
    writer.start()
    time.sleep(0.2)  # let the plain write reach the emulator and wait
    transaction.update(account, {"balance": balance - 3})
    transaction._commit()  # not aborted: the plain write waited for it
    writer.join(timeout=30)

    assert account.get().to_dict() == {"balance": 7, "frozen": True}


def test_reads_in_a_read_only_transaction_see_one_snapshot(firestore_client):
    a, b = firestore_client.document("accounts/a"), firestore_client.document("accounts/b")
    a.set({"balance": 50})
    b.set({"balance": 50})

    @firestore.transactional
    def audit(transaction):
        first = read(transaction, a).get("balance")
        batch = firestore_client.batch()  # a transfer lands between the two reads
        batch.update(a, {"balance": 20})
        batch.update(b, {"balance": 80})
        batch.commit()
        second = read(transaction, b).get("balance")
        accounts = firestore_client.collection("accounts").stream(transaction=transaction)
        listed = [s.get("balance") for s in accounts]
        return first, second, listed

    assert audit(firestore_client.transaction(read_only=True)) == (50, 50, [50, 50])
    assert (a.get().get("balance"), b.get().get("balance")) == (20, 80)


def test_a_read_only_transaction_cannot_write(firestore_client):
    transaction = firestore_client.transaction(read_only=True)
    transaction._begin()
    request = {
        "database": firestore_client._database_string,
        "transaction": transaction.id,
        "writes": [{"delete": f"{firestore_client._database_string}/documents/accounts/a"}],
    }

    with pytest.raises(exceptions.InvalidArgument):
        firestore_client._firestore_api.commit(request=request)


def test_an_abandoned_transaction_expires_and_releases_its_locks():
    settings = EngineSettings(transactions=TransactionSettings(idle_timeout_seconds=0.2))
    port = free_port_pair()
    emulator = FirestoreEmulator(ServerOptions(port=port, housekeeping_seconds=0.05), settings)
    emulator.start()
    handle = FirestoreEmulatorHandle(f"127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}")
    client = handle.client("expiry")
    try:
        account = client.document("accounts/a")
        account.set({"balance": 1})
        abandoned = begin(client)
        read(abandoned, account)
        time.sleep(1.0)  # well past the idle timeout

        abandoned.update(account, {"balance": 3})
        with pytest.raises(exceptions.InvalidArgument, match="has expired or is no longer valid"):
            abandoned._commit()
        account.update({"balance": 2})
        assert account.get().get("balance") == 2
    finally:
        client.close()
        handle.close()
        emulator.stop()


# ---------------------------------------------------------------- anomalies under concurrency


@pytest.mark.slow
def test_concurrent_transfers_between_two_hot_documents_keep_the_total_exact(firestore_emulator):
    threads, transfers_per_thread, opening = 8, 100, 1_000_000
    project = firestore_emulator.unique_project("transfers")
    clients = [firestore_emulator.client(project) for _ in range(threads)]
    a, b = clients[0].document("wallets/a"), clients[0].document("wallets/b")
    a.set({"balance": opening})
    b.set({"balance": opening})

    def run(worker: int) -> int:
        client = clients[worker]
        source_target = [client.document("wallets/a"), client.document("wallets/b")]
        rng = random.Random(worker)
        net_to_b = 0

        @firestore.transactional
        def transfer(transaction, source, target, amount):
            source_balance = source.get(transaction=transaction).get("balance")
            target_balance = target.get(transaction=transaction).get("balance")
            transaction.update(source, {"balance": source_balance - amount})
            transaction.update(target, {"balance": target_balance + amount})

        for _ in range(transfers_per_thread):
            amount = rng.randint(1, 1000)
            if rng.random() < 0.5:
                transfer(client.transaction(), source_target[0], source_target[1], amount)
                net_to_b += amount
            else:
                transfer(client.transaction(), source_target[1], source_target[0], amount)
                net_to_b -= amount
        return net_to_b

    try:
        with ThreadPoolExecutor(threads) as pool:
            net_to_b = sum(pool.map(run, range(threads)))  # re-raises any failed transfer

        balance_a, balance_b = a.get().get("balance"), b.get().get("balance")
        assert balance_a + balance_b == 2 * opening
        assert balance_b == opening + net_to_b
        writes = {
            row["document"]: row["writes"] for row in firestore_emulator.stats(project)["documents"]
        }
        expected = threads * transfers_per_thread + 1  # every transfer, plus the opening set
        assert writes == {"wallets/a": expected, "wallets/b": expected}
    finally:
        for client in clients:
            client.close()


def test_write_skew_is_prevented(firestore_client):
    """Two doctors on call; each may leave only if the other stays. Both try at once."""
    alice, bob = (
        firestore_client.document("doctors/alice"),
        firestore_client.document("doctors/bob"),
    )
    alice.set({"on_call": True})
    bob.set({"on_call": True})
    alice_has_read, bob_is_reading = threading.Event(), threading.Event()

    def leave(me, other, pause_before_commit):
        @firestore.transactional
        def go_off_call(transaction):
            mine = me.get(transaction=transaction).get("on_call")
            theirs = other.get(transaction=transaction).get("on_call")
            if not (mine and theirs):
                return False
            pause_before_commit()
            transaction.update(me, {"on_call": False})
            return True

        return go_off_call(firestore_client.transaction())

    def alice_pause():
        if not alice_has_read.is_set():
            alice_has_read.set()
            bob_is_reading.wait(10)
            time.sleep(0.2)  # let Bob's reads reach the emulator before Alice commits

    def bob_leaves():
        alice_has_read.wait(10)
        bob_is_reading.set()
        return leave(bob, alice, lambda: None)

    with ThreadPoolExecutor(2) as pool:
        alice_left = pool.submit(leave, alice, bob, alice_pause)
        bob_left = pool.submit(bob_leaves)
        outcomes = (alice_left.result(timeout=60), bob_left.result(timeout=60))

    assert outcomes == (True, False)
    assert (alice.get().get("on_call"), bob.get().get("on_call")) == (False, True)


@pytest.mark.slow
def test_count_then_insert_admits_exactly_the_cap(firestore_emulator):
    """A loan takes at most three lenders; eight lenders try to join at once (phantoms)."""
    cap, lenders = 3, 8
    project = firestore_emulator.unique_project("phantom")
    clients = [firestore_emulator.client(project) for _ in range(lenders)]
    start = threading.Barrier(lenders)

    def join(lender: int) -> bool:
        client = clients[lender]
        commitments = client.collection("commitments")

        @firestore.transactional
        def join_if_room(transaction):
            query = commitments.where(filter=FieldFilter("loan", "==", "L1"))
            (count,) = query.count(alias="n").get(transaction=transaction)
            if count[0].value >= cap:
                return False
            transaction.create(
                commitments.document(uuid.uuid4().hex), {"loan": "L1", "lender": lender}
            )
            return True

        start.wait(30)
        return join_if_room(client.transaction())

    try:
        with ThreadPoolExecutor(lenders) as pool:
            joined = list(pool.map(join, range(lenders)))

        assert joined.count(True) == cap
        stored = list(clients[0].collection("commitments").stream())
        assert sorted(s.get("lender") for s in stored) == sorted(
            lender for lender, ok in enumerate(joined) if ok
        )
    finally:
        for client in clients:
            client.close()
