"""Production's limits and injected commit faults, through the real google-cloud-firestore client.

Every limit is refused with production's gRPC code and message (emulators/firestore/limits.py),
at the boundary: the largest document that fits is stored, one byte more is refused, and a
refused commit writes nothing. Commit faults (emulators/firestore/faults.py) fail the next N
commits, optionally only under a path prefix, with a chosen code.
"""

from __future__ import annotations

import time

import httpx
import pytest
from google.api_core import exceptions
from google.cloud import firestore

from emulators.firestore.limits import MAX_VALUE_BYTES
from emulators.launcher import EmulatorProcess, free_port_pair
from tests.fixtures.firestore_emulator import FirestoreEmulator

pytestmark = pytest.mark.emulator

MIB = 1024 * 1024


def nested(levels: int) -> dict:
    """`levels` maps, each inside the previous one, with a number at the bottom."""
    value: object = 1
    for _ in range(levels):
        value = {"m": value}
    assert isinstance(value, dict)
    return value


# --- Request size: 10 MiB, and no cap on the number of writes --------------------------------


def test_a_commit_over_10_mib_is_refused_whole_and_one_under_it_is_stored(firestore_client):
    chunk = b"x" * 900_000  # each document is well under 1 MiB
    under, over = firestore_client.batch(), firestore_client.batch()
    for index in range(11):  # 9.9 MB
        under.set(firestore_client.document(f"under/d{index}"), {"blob": chunk})
    for index in range(12):  # 10.8 MB
        over.set(firestore_client.document(f"over/d{index}"), {"blob": chunk})

    under.commit()
    with pytest.raises(exceptions.InvalidArgument) as refused:
        over.commit()

    assert refused.value.message == "Request payload size exceeds the limit: 10485760 bytes."
    assert len(list(firestore_client.collection("under").list_documents())) == 11
    assert list(firestore_client.collection("over").list_documents()) == []


def test_a_commit_may_carry_more_than_500_writes(firestore_client):
    batch = firestore_client.batch()
    for index in range(750):
        batch.set(firestore_client.document(f"many/d{index}"), {"n": index})

    assert len(batch.commit()) == 750
    assert firestore_client.collection("many").count().get()[0][0].value == 750


# --- Documents: 1 MiB, field values, depth, index entries -------------------------------------


def test_a_document_of_exactly_1_mib_is_stored_and_one_byte_more_is_refused(firestore_client):
    # Size = name ("limits" 7 + "doc" 4 + 16) + fields ("a" 2 + 1,000,000; "b" 2 + x) + 32
    # = 1,000,063 + x, so x = 48,513 makes exactly 1,048,576 bytes.
    fits = {"a": b"a" * 1_000_000, "b": b"b" * 48_513}
    too_big = {"a": b"a" * 1_000_000, "b": b"b" * 48_514}
    ref = firestore_client.document("limits/doc")

    ref.set(fits)
    with pytest.raises(exceptions.InvalidArgument) as refused:
        ref.set(too_big)

    name = f"projects/{firestore_client.project}/databases/(default)/documents/limits/doc"
    assert refused.value.message == (
        f"Document '{name}' cannot be written because its size (1,048,577 bytes) exceeds the "
        "maximum allowed size of 1,048,576 bytes."
    )
    assert len(ref.get().get("b")) == 48_513  # the refused write changed nothing


def test_an_update_that_grows_a_document_past_1_mib_is_refused(firestore_client):
    ref = firestore_client.document("limits/growing")
    ref.set({"a": b"a" * 600_000})

    with pytest.raises(exceptions.InvalidArgument, match=r"size \(1,200,0\d\d bytes\)"):
        ref.update({"b": b"b" * 600_000})

    assert ref.get().to_dict().keys() == {"a"}


def test_a_field_value_over_1_mib_minus_89_bytes_is_refused(firestore_client):
    ref = firestore_client.document("limits/value")
    ref.set({"a": b"a" * MAX_VALUE_BYTES})

    with pytest.raises(exceptions.InvalidArgument) as refused:
        ref.set({"a": b"a" * (MAX_VALUE_BYTES + 1)})

    assert refused.value.message == 'The value of property "a" is longer than 1048487 bytes.'


def test_maps_nested_20_deep_are_stored_and_21_deep_are_refused(firestore_client):
    ref = firestore_client.document("limits/deep")

    ref.set({"deep": nested(20)})
    with pytest.raises(exceptions.InvalidArgument) as refused:
        ref.set({"ok": 1, "deep": nested(21)})
    with pytest.raises(exceptions.InvalidArgument):
        ref.set({"deep": [nested(20)]})  # an array is a level too

    assert refused.value.message == "Property deep contains an invalid nested entity."
    assert ref.get().get("deep") == nested(20)


def test_an_update_is_refused_for_what_it_nests_too_deep_beside_fields_kept(firestore_client):
    # The fields an update keeps were checked when stored; what it changes is checked now.
    ref = firestore_client.document("limits/deeper")
    ref.set({"deep": nested(20), "n": 1})

    ref.update({"n": 2, "other": nested(20)})
    with pytest.raises(exceptions.InvalidArgument) as refused:
        ref.update({"n": 3, "other": nested(21)})
    with pytest.raises(exceptions.InvalidArgument):
        ref.update({"deep.level": nested(20)})  # 21 deep under a kept map

    assert refused.value.message == "Property other contains an invalid nested entity."
    assert ref.get().to_dict() == {"deep": nested(20), "n": 2, "other": nested(20)}


def test_more_than_40000_index_entries_are_refused(firestore_client):
    ref = firestore_client.document("limits/indexed")
    # Every scalar has an ascending and a descending entry; every distinct array element one.
    ref.set({"fields": {f"f{i}": i for i in range(20_000)}})  # exactly 40,000

    with pytest.raises(exceptions.FailedPrecondition) as too_many_fields:
        ref.set({"fields": {f"f{i}": i for i in range(20_000)}, "one_more": 1})
    with pytest.raises(exceptions.FailedPrecondition):
        firestore_client.document("limits/array").set({"tags": list(range(40_001))})
    firestore_client.document("limits/repeats").set({"tags": [1, 2] * 30_000})  # 2 distinct

    assert too_many_fields.value.message == "too many index entries for entity"


# --- Transaction time limits: 60 s idle, 270 s in all -------------------------------------------


@pytest.fixture(scope="module")
def impatient_emulator():
    """An emulator whose transactions expire after 0.5 s idle or 1.5 s in all."""
    port = free_port_pair()
    process = EmulatorProcess.python_module(
        "firestore-impatient",
        "emulators.firestore",
        "--port",
        str(port),
        "--transaction-idle-seconds",
        "0.5",
        "--transaction-max-seconds",
        "1.5",
    )
    with process:
        handle = FirestoreEmulator(f"127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}")
        client = handle.client(handle.unique_project())
        yield client
        client.close()
        handle.close()


EXPIRED = "The referenced transaction has expired or is no longer valid."


def test_an_idle_transaction_expires_with_production_s_error(impatient_emulator):
    ref = impatient_emulator.document("accounts/a")
    ref.set({"balance": 100})

    @firestore.transactional
    def slow_debit(transaction):
        balance = ref.get(transaction=transaction).get("balance")
        time.sleep(0.8)  # idle past the limit between the read and the commit
        transaction.update(ref, {"balance": balance - 10})

    with pytest.raises(exceptions.InvalidArgument) as expired:
        slow_debit(impatient_emulator.transaction())

    assert expired.value.message == EXPIRED  # not ABORTED: the client does not retry it
    assert ref.get().get("balance") == 100


def test_a_busy_transaction_expires_at_the_time_limit(impatient_emulator):
    ref = impatient_emulator.document("accounts/b")
    ref.set({"balance": 100})
    transaction = impatient_emulator.transaction()
    transaction._begin()

    with pytest.raises(exceptions.InvalidArgument) as expired:
        for _ in range(8):  # reads every 0.25 s, never idle for 0.5 s, for 2 s in all
            ref.get(transaction=transaction)
            time.sleep(0.25)

    assert expired.value.message == EXPIRED


# --- Commit faults ------------------------------------------------------------------------


@pytest.fixture
def project(firestore_emulator, firestore_client):
    yield firestore_client.project
    firestore_emulator.clear_commit_faults()


def test_aborted_commits_are_retried_by_transactional_and_counted(
    firestore_emulator, firestore_client, project
):
    ref = firestore_client.document("accounts/c")
    ref.set({"balance": 100})
    attempts = []

    @firestore.transactional
    def debit(transaction):
        attempts.append(1)
        balance = ref.get(transaction=transaction).get("balance")
        transaction.update(ref, {"balance": balance - 10})

    faults = firestore_emulator.fail_commits(project, count=2, code="ABORTED")
    debit(firestore_client.transaction())

    assert faults == [
        {
            "code": "ABORTED",
            "count": 2,
            "remaining": 2,
            "refused": 0,
            "project": project,
            "database": None,
            "path_prefix": None,
        }
    ]
    assert len(attempts) == 3
    assert ref.get().get("balance") == 90  # debited once
    assert firestore_emulator.stats(project)["refused_commits"] == 2
    assert httpx.get(f"{firestore_emulator.admin_url}/faults").json() == {"commit": []}  # spent


def test_a_fault_under_a_path_prefix_refuses_only_commits_writing_there(
    firestore_emulator, firestore_client, project
):
    firestore_emulator.fail_commits(
        project, count=None, code="PERMISSION_DENIED", path_prefix="ledger/"
    )
    elsewhere = firestore_client.batch()
    elsewhere.set(firestore_client.document("accounts/d"), {"balance": 1})
    mixed = firestore_client.batch()
    mixed.set(firestore_client.document("accounts/e"), {"balance": 1})
    mixed.set(firestore_client.document("ledger/e1"), {"amount": 1})

    elsewhere.commit()
    for _ in range(3):
        with pytest.raises(exceptions.PermissionDenied):
            mixed.commit()

    assert firestore_client.document("accounts/d").get().exists
    assert not firestore_client.document("accounts/e").get().exists  # refused whole
    assert firestore_emulator.stats(project)["refused_commits"] == 3


def test_a_non_retried_code_reaches_the_caller_of_a_transaction(
    firestore_emulator, firestore_client, project
):
    ref = firestore_client.document("accounts/f")
    ref.set({"balance": 100})

    @firestore.transactional
    def debit(transaction):
        transaction.update(ref, {"balance": ref.get(transaction=transaction).get("balance") - 1})

    with (
        firestore_emulator.commits_refused(project, code="DEADLINE_EXCEEDED"),
        pytest.raises(exceptions.DeadlineExceeded),
    ):
        debit(firestore_client.transaction())
    debit(firestore_client.transaction())  # the fault is gone, and so are the locks

    assert ref.get().get("balance") == 99


def test_other_projects_are_untouched_and_delete_or_reset_clears_faults(
    firestore_emulator, firestore_client, project
):
    other = firestore_emulator.client(firestore_emulator.unique_project())
    firestore_emulator.fail_commits(project, count=None, code="UNAUTHENTICATED")
    try:
        other.document("accounts/g").set({"balance": 1})
        with pytest.raises(exceptions.Unauthenticated):
            firestore_client.document("accounts/g").set({"balance": 1})

        firestore_emulator.reset(project)
        firestore_client.document("accounts/g").set({"balance": 2})
        firestore_emulator.fail_commits(None, count=None, code="UNAUTHENTICATED")
        firestore_emulator.clear_commit_faults()
        other.document("accounts/h").set({"balance": 3})
    finally:
        other.close()

    assert firestore_client.document("accounts/g").get().get("balance") == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"code": "NOPE"}, "commit fault code must be one of"),
        ({"code": "OK"}, "commit fault code must be one of"),
        ({"count": 0}, "commit fault count must be an integer from 1 to 1000000, or null"),
        ({"count": True}, "commit fault count must be an integer from 1 to 1000000, or null"),
        ({"path": "x"}, "unknown commit fault fields: ['path']"),
        ({"database": "d"}, "a commit fault with a database names its project too"),
        ({"project": 5}, "commit fault project must be a string"),
    ],
)
def test_a_bad_fault_is_a_400(firestore_emulator, fault, error):
    response = httpx.put(f"{firestore_emulator.admin_url}/faults", json={"commit": fault})

    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert httpx.get(f"{firestore_emulator.admin_url}/faults").json() == {"commit": []}
