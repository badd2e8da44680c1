"""The Firestore unit of work on the emulator, over its own gRPC calls: the same contract as
the in-memory fake, real transactions, and contention that ends in TransactionContended."""

from __future__ import annotations

import uuid

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork, firestore_client
from shared.adapters.memory import FixedClock, RecordingPublisher
from shared.domain.errors import Conflict
from shared.platform.errors import TransactionContended
from shared.platform.store import DocumentTransaction, Where
from shared.settings import ConfigurationError, PlatformSettings, load_settings
from tests.unit.plumbing.uow_contract import CHECKS

pytestmark = pytest.mark.emulator


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def uow(firestore_client, publisher) -> FirestoreUnitOfWork:
    return FirestoreUnitOfWork(
        firestore_client, publisher, FixedClock(), max_attempts=5, retry_after_s=2
    )


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_firestore_unit_of_work_keeps_the_contract(name, uow, publisher):
    CHECKS[name](uow, publisher, f"accounts-{uuid.uuid4().hex[:8]}")


def test_a_transaction_aborted_on_every_commit_is_contended_and_writes_nothing(
    firestore_emulator, firestore_client, publisher
):
    uow = FirestoreUnitOfWork(firestore_client, publisher, max_attempts=3, retry_after_s=2)
    attempts = []

    def work(tx: DocumentTransaction) -> None:
        attempts.append(tx.get("loans", "loan-1"))
        tx.set("loans", "loan-1", {"state": "submitted"})
        # The emulator aborts every transaction open on a database that is reset.
        firestore_emulator.reset(firestore_client.project)

    with pytest.raises(TransactionContended) as error:
        uow.run(work)

    assert len(attempts) == 3
    assert error.value.retry_after_s == 2
    assert uow.run(lambda tx: tx.get("loans", "loan-1"), read_only=True) is None


def test_creating_inside_a_transaction_what_a_concurrent_one_created_is_a_conflict(uow):
    uow.run(lambda tx: tx.create("loans", "loan-1", {"state": "submitted"}))

    def blind_create(tx: DocumentTransaction) -> None:
        tx.create("loans", "loan-1", {"state": "submitted"})

    with pytest.raises(Conflict, match="already exists"):
        uow.run(blind_create)


def test_the_client_factory_refuses_settings_that_disagree_with_the_environment(
    firestore_emulator, monkeypatch
):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host)
    settings = load_settings(
        PlatformSettings, env="test", entity="p2p", gcp_project="patungan-test"
    )
    assert settings.firestore_emulator_host == firestore_emulator.host
    client = firestore_client(settings)
    try:
        assert client.project == "patungan-test"
    finally:
        client.close()

    mismatched = settings.model_copy(update={"firestore_emulator_host": "127.0.0.1:1"})
    with pytest.raises(ConfigurationError, match="FIRESTORE_EMULATOR_HOST"):
        firestore_client(mismatched)


def test_reads_decode_every_stored_kind_as_the_client_library_does(firestore_client):
    """The unit of work speaks gRPC without the client library
    (`shared/adapters/firestore_rpc.py`) and decodes values itself: every kind the platform
    stores must come back as `DocumentSnapshot.to_dict()` gives it, whether read by id or by
    query, in a transaction, outside one, or at a point in time."""
    from datetime import UTC, datetime, timedelta

    data = {
        "text": "Rp 1.000",
        "whole": -9_007_199_254_740_993,
        "fraction": 0.25,
        "yes": False,
        "nothing": None,
        "when": datetime(2026, 12, 3, 1, 2, 3, 456789, tzinfo=UTC),
        "raw": b"\x00\xff",
        "postings": [{"account": "escrow_cash", "side": "debit", "amount": 100}],
        "history": [{"at": datetime(2027, 1, 1, tzinfo=UTC), "by": None}],
        "nested": {"a": {"b": [1, "two", None, {"c": False}]}, "empty": {}},
        "empty": [],
    }
    firestore_client.document("things/t-1").set(data)
    expected = firestore_client.document("things/t-1").get().to_dict()
    assert expected == data
    uow = FirestoreUnitOfWork(firestore_client, RecordingPublisher(), snapshot_lag=timedelta(0))

    def read_every_way(tx: DocumentTransaction) -> list[object]:
        return [
            tx.get("things", "t-1"),
            tx.get_all("things", ["t-2", "t-1"])["t-1"],
            tx.get_documents([("things", "t-1"), ("x/y/z", "t-1")])[("things", "t-1")],
            tx.query("things")[0].data,
            tx.query("things", where=[Where("yes", "==", False)], limit=10)[0].data,
        ]

    now = uow.run(read_every_way, read_only=True)
    locked = uow.run(read_every_way)
    then, _ = uow.read_snapshot(read_every_way)
    for read in [*now, *locked, *then]:
        assert read == expected
        assert {name: type(value) for name, value in read.items()} == {
            name: datetime if isinstance(value, datetime) else type(value)
            for name, value in expected.items()
        }
        assert read["when"].tzinfo == UTC
    assert uow.run(lambda tx: tx.get_all("things", ["t-2"]), read_only=True) == {"t-2": None}


@pytest.mark.parametrize("kind", ["geo_point_value", "reference_value", "vector"])
def test_a_read_refuses_kinds_the_platform_never_stores(firestore_client, kind):
    """Geo points, references and vectors are outside the store's contract
    (shared/platform/store.py): a read that meets one says so instead of guessing."""
    from google.cloud.firestore_v1 import GeoPoint
    from google.cloud.firestore_v1.vector import Vector

    stored = {
        "geo_point_value": GeoPoint(-6.2, 106.8),
        "reference_value": firestore_client.document("loans/l-1"),
        "vector": Vector([0.5, 1.5]),
    }[kind]
    firestore_client.document("things/t-1").set({"odd": stored})
    uow = FirestoreUnitOfWork(firestore_client, RecordingPublisher())

    for read_only in (True, False):
        with pytest.raises(ValueError, match=kind.removesuffix("_value")):
            uow.run(lambda tx: tx.get("things", "t-1"), read_only=read_only)
        with pytest.raises(ValueError, match=kind.removesuffix("_value")):
            uow.run(lambda tx: tx.query("things"), read_only=read_only)


def test_a_snapshot_reads_documents_by_id_as_they_were_then(firestore_client):
    from datetime import timedelta

    firestore_client.document("things/t-1").set({"n": 1})
    now = FirestoreUnitOfWork(firestore_client, RecordingPublisher(), snapshot_lag=timedelta(0))
    before = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), snapshot_lag=timedelta(minutes=59)
    )

    assert now.read_snapshot(lambda tx: tx.get("things", "t-1"))[0] == {"n": 1}
    assert before.read_snapshot(lambda tx: tx.get("things", "t-1"))[0] is None  # not yet written
    assert before.read_snapshot(lambda tx: tx.get_all("things", ["t-1"]))[0] == {"t-1": None}


def test_a_transaction_that_fails_releases_what_it_read_at_once(firestore_client):
    """A use case that raises after its reads rolls its transaction back, so a writer of
    the same document does not wait for Firestore to time the abandoned one out (here the
    writer gives up after 3 s; the emulator holds an abandoned lock for 10)."""
    import os

    import grpc

    from shared.adapters import firestore_rpc

    uow = FirestoreUnitOfWork(firestore_client, RecordingPublisher())
    uow.run(lambda tx: tx.create("loans", "loan-1", {"state": "submitted"}))

    def refuse(tx: DocumentTransaction) -> None:
        tx.get("loans", "loan-1")
        raise Conflict("the loan is not open")

    with pytest.raises(Conflict):
        uow.run(refuse)

    channel = grpc.insecure_channel(os.environ["FIRESTORE_EMULATOR_HOST"])
    writer = firestore_rpc.FirestoreRpc(
        channel, firestore_client.project, emulator=True, attempts=1, timeout_s=3
    )
    name = writer.document_path("loans", "loan-1")
    transaction = writer.begin_transaction()
    writer.batch_get([name], transaction=transaction)
    writer.commit([firestore_rpc.set_write(name, {"state": "listed"})], transaction)
    assert uow.run(lambda tx: tx.get("loans", "loan-1"), read_only=True) == {"state": "listed"}
