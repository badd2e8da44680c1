"""Documents through the real client: create, read, update, delete, listings, databases."""

from __future__ import annotations

import datetime

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1 import GeoPoint

pytestmark = pytest.mark.emulator


def test_set_then_get_returns_every_value_type_unchanged(firestore_client):
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)
    borrower = firestore_client.document("borrowers/b-1")
    data = {
        "null": None,
        "active": True,
        "principal": 5_000_000,
        "rate": 0.0125,
        "disbursed_at": when,
        "name": "Warung Bu Sri",
        "ktp_scan": b"\x00\x01binary",
        "borrower": borrower,
        "location": GeoPoint(-6.2, 106.8),
        "tenors": [3, 6, 12],
        "address": {"city": "Jakarta", "rt": {"no": 5}},
    }
    ref = firestore_client.document("loans/L-1")
    ref.set(data)

    snapshot = ref.get()

    assert snapshot.exists
    assert snapshot.to_dict() == data
    assert snapshot.create_time == snapshot.update_time


def test_get_of_a_missing_document_is_not_an_error(firestore_client):
    snapshot = firestore_client.document("loans/never-written").get()

    assert not snapshot.exists
    assert snapshot.to_dict() is None


def test_update_changes_only_the_named_fields_including_nested_and_quoted_paths(
    firestore_client,
):
    ref = firestore_client.document("loans/L-2")
    ref.set({"status": "funding", "terms": {"tenor": 6, "rate": 0.02}, "odd.key": 1, "keep": 1})

    ref.update(
        {
            "status": "funded",
            "terms.tenor": 12,
            "`odd.key`": 2,
            firestore.Client.field_path("with`backtick", "x"): "y",
            "keep": firestore.DELETE_FIELD,
        }
    )

    assert ref.get().to_dict() == {
        "status": "funded",
        "terms": {"tenor": 12, "rate": 0.02},
        "odd.key": 2,
        "with`backtick": {"x": "y"},
    }


def test_set_with_merge_keeps_fields_it_does_not_mention(firestore_client):
    ref = firestore_client.document("lenders/len-1")
    ref.set({"name": "Ani", "balance": {"available": 100, "reserved": 0}})

    ref.set({"balance": {"reserved": 40}}, merge=True)

    assert ref.get().to_dict() == {"name": "Ani", "balance": {"available": 100, "reserved": 40}}


def test_set_without_merge_replaces_the_whole_document(firestore_client):
    ref = firestore_client.document("lenders/len-2")
    ref.set({"name": "Budi", "balance": 100})

    ref.set({"balance": 50})

    assert ref.get().to_dict() == {"balance": 50}


def test_create_on_an_existing_document_is_already_exists(firestore_client):
    ref = firestore_client.document("loans/L-3")
    ref.create({"amount": 1})

    with pytest.raises(exceptions.AlreadyExists):
        ref.create({"amount": 2})
    assert ref.get().to_dict() == {"amount": 1}


def test_update_of_a_missing_document_is_not_found(firestore_client):
    with pytest.raises(exceptions.NotFound):
        firestore_client.document("loans/missing").update({"status": "funded"})
    assert not firestore_client.document("loans/missing").get().exists


def test_delete_removes_the_document_and_deleting_again_is_fine(firestore_client):
    ref = firestore_client.document("loans/L-4")
    ref.set({"amount": 1})

    ref.delete()
    ref.delete()

    assert not ref.get().exists


def test_commit_times_strictly_increase_with_microsecond_precision(firestore_client):
    ref = firestore_client.document("counters/c")
    times = [ref.set({"n": n}).update_time for n in range(20)]

    assert times == sorted(times)
    assert len(set(times)) == len(times)
    created = ref.get()
    assert created.create_time == times[0]
    assert created.update_time == times[-1]


def test_a_commit_that_creates_and_changes_a_document_stamps_it_with_its_commit_time(
    firestore_client,
):
    created, kept = firestore_client.document("loans/L-8"), firestore_client.document("loans/L-9")
    kept.set({"n": 0})
    before = kept.get()
    batch = firestore_client.batch()
    batch.set(created, {"n": 1})
    batch.update(created, {"n": 2, "counted": firestore.Increment(3)})
    batch.update(kept, {"n": 1})
    [first, second, third] = batch.commit()

    assert first.update_time == second.update_time == third.update_time > before.update_time
    assert created.get().to_dict() == {"n": 2, "counted": 3}
    assert created.get().create_time == created.get().update_time == first.update_time
    assert kept.get().create_time == before.create_time
    assert kept.get().update_time == third.update_time


def test_a_write_that_changes_nothing_keeps_the_update_time(firestore_client):
    ref = firestore_client.document("loans/L-5")
    first = ref.set({"amount": 1, "tags": ["a"]}).update_time

    again = ref.set({"amount": 1, "tags": ["a"]}).update_time

    assert again == first
    assert ref.get().update_time == first
    assert ref.set({"amount": 1.0, "tags": ["a"]}).update_time > first  # 1.0 is a different value


def test_an_update_that_changes_nothing_keeps_the_update_time(firestore_client):
    ref = firestore_client.document("loans/L-7")
    created = ref.set({"amount": 1, "terms": {"tenor": 6}, "tags": ["a"]})

    same = ref.update({"terms": {"tenor": 6}, "amount": 1}).update_time
    changed = ref.update({"terms.tenor": 7}).update_time

    assert same == created.update_time
    assert changed > same
    snapshot = ref.get()
    assert snapshot.create_time == created.update_time
    assert snapshot.update_time == changed
    assert snapshot.to_dict() == {"amount": 1, "terms": {"tenor": 7}, "tags": ["a"]}


def test_get_with_field_mask_returns_only_those_fields(firestore_client):
    ref = firestore_client.document("loans/L-6")
    ref.set({"amount": 1, "terms": {"tenor": 6, "rate": 0.02}, "status": "funding"})

    snapshot = ref.get(field_paths=["terms.tenor", "status"])

    assert snapshot.to_dict() == {"terms": {"tenor": 6}, "status": "funding"}


def test_get_all_returns_found_and_missing_documents(firestore_client):
    firestore_client.document("loans/a").set({"n": 1})
    refs = [firestore_client.document("loans/a"), firestore_client.document("loans/b")]

    snapshots = {snap.id: snap for snap in firestore_client.get_all(refs)}

    assert snapshots["a"].to_dict() == {"n": 1}
    assert not snapshots["b"].exists


def test_list_documents_includes_parents_that_only_have_subcollections(firestore_client):
    loans = firestore_client.collection("loans")
    loans.document("L-1").set({"n": 1})
    loans.document("L-2").collection("installments").document("1").set({"due": 1})
    firestore_client.document("other/x").set({"n": 1})

    listed = sorted(ref.id for ref in loans.list_documents())

    assert listed == ["L-1", "L-2"]
    assert not loans.document("L-2").get().exists


def test_list_documents_pages_through_everything(firestore_client):
    loans = firestore_client.collection("loans")
    for index in range(7):
        loans.document(f"L-{index}").set({"n": index})

    listed = sorted(ref.id for ref in loans.list_documents(page_size=3))

    assert listed == [f"L-{index}" for index in range(7)]


def test_collections_lists_collection_ids_at_the_root_and_under_a_document(firestore_client):
    firestore_client.document("loans/L-1").set({"n": 1})
    firestore_client.document("lenders/x/commitments/c1").set({"n": 1})
    firestore_client.document("lenders/x/statements/s1").set({"n": 1})

    root = sorted(collection.id for collection in firestore_client.collections())
    nested = sorted(c.id for c in firestore_client.document("lenders/x").collections())

    assert root == ["lenders", "loans"]
    assert nested == ["commitments", "statements"]


def test_add_creates_a_document_with_a_generated_id(firestore_client):
    _, ref = firestore_client.collection("repayments").add({"amount": 10})

    assert len(ref.id) == 20
    assert ref.get().to_dict() == {"amount": 10}


def test_batch_writes_all_or_nothing(firestore_client):
    firestore_client.document("loans/exists").set({"n": 1})
    batch = firestore_client.batch()
    batch.set(firestore_client.document("loans/new"), {"n": 1})
    batch.create(firestore_client.document("loans/exists"), {"n": 2})

    with pytest.raises(exceptions.AlreadyExists):
        batch.commit()

    assert not firestore_client.document("loans/new").get().exists
    assert firestore_client.document("loans/exists").get().to_dict() == {"n": 1}


def test_a_batch_may_write_one_document_several_times_in_order(firestore_client):
    ref = firestore_client.document("loans/twice")
    batch = firestore_client.batch()
    batch.set(ref, {"status": "submitted", "amount": 1})
    batch.update(ref, {"status": "scored"})

    batch.commit()

    assert ref.get().to_dict() == {"status": "scored", "amount": 1}


def test_projects_and_named_databases_are_isolated(firestore_emulator):
    project = firestore_emulator.unique_project()
    other_project = firestore_emulator.unique_project()
    default = firestore_emulator.client(project)
    named = firestore_emulator.client(project, database="ledger")
    elsewhere = firestore_emulator.client(other_project)
    try:
        default.document("loans/L").set({"db": "default"})
        named.document("loans/L").set({"db": "ledger"})

        assert default.document("loans/L").get().to_dict() == {"db": "default"}
        assert named.document("loans/L").get().to_dict() == {"db": "ledger"}
        assert not elsewhere.document("loans/L").get().exists
        assert [doc.id for doc in named.collection("loans").stream()] == ["L"]
    finally:
        for client in (default, named, elsewhere):
            client.close()


def test_reset_clears_one_database_only(firestore_emulator):
    project = firestore_emulator.unique_project()
    default = firestore_emulator.client(project)
    named = firestore_emulator.client(project, database="ledger")
    try:
        default.document("loans/L").set({"n": 1})
        named.document("loans/L").set({"n": 1})

        firestore_emulator.reset(project)

        assert not default.document("loans/L").get().exists
        assert list(default.collections()) == []
        assert named.document("loans/L").get().exists
    finally:
        default.close()
        named.close()


def test_reading_a_past_read_time_sees_the_old_version(firestore_client):
    ref = firestore_client.document("loans/L-7")
    before = ref.set({"status": "funding"}).update_time
    ref.set({"status": "funded"})
    ref.delete()

    assert ref.get(read_time=before).to_dict() == {"status": "funding"}
    assert not ref.get().exists
    later = list(firestore_client.collection("loans").stream(read_time=before))
    assert [snap.to_dict() for snap in later] == [{"status": "funding"}]


def test_invalid_document_ids_are_rejected(firestore_client):
    with pytest.raises(exceptions.InvalidArgument):
        firestore_client.document("loans/__reserved__").set({"n": 1})
