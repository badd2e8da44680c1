"""Write preconditions (with production's error codes) and server-side field transforms."""

from __future__ import annotations

import datetime
import math

import pytest
from google.api_core import exceptions
from google.cloud import firestore

pytestmark = pytest.mark.emulator

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


# ---------------------------------------------------------------- preconditions


def name_of(ref) -> str:
    return f"projects/{ref._client.project}/databases/(default)/documents/{ref.path}"


def test_exists_true_on_a_missing_document_is_not_found(firestore_client):
    ref = firestore_client.document("loans/missing")

    with pytest.raises(exceptions.NotFound) as update:
        ref.update({"status": "funded"})
    with pytest.raises(exceptions.NotFound):
        ref.delete(option=firestore_client.write_option(exists=True))

    assert update.value.message == f"No document to update: {name_of(ref)}"


def test_exists_false_on_an_existing_document_is_already_exists(firestore_client):
    ref = firestore_client.document("loans/L")
    ref.set({"status": "funding"})

    with pytest.raises(exceptions.AlreadyExists) as create:
        ref.create({"status": "other"})

    assert create.value.message == f"Document already exists: {name_of(ref)}"
    assert ref.get().to_dict() == {"status": "funding"}


def test_matching_update_time_allows_the_write(firestore_client):
    ref = firestore_client.document("loans/L")
    stamp = ref.set({"status": "funding"}).update_time

    ref.update({"status": "funded"}, option=firestore_client.write_option(last_update_time=stamp))

    assert ref.get().to_dict() == {"status": "funded"}


def test_stale_update_time_is_failed_precondition(firestore_client):
    ref = firestore_client.document("loans/L")
    stale = ref.set({"status": "funding"}).update_time
    ref.update({"status": "funded"})

    stored = ref.get().update_time

    with pytest.raises(exceptions.FailedPrecondition):
        ref.update(
            {"status": "repaid"}, option=firestore_client.write_option(last_update_time=stale)
        )
    with pytest.raises(exceptions.FailedPrecondition) as delete:
        ref.delete(option=firestore_client.write_option(last_update_time=stale))

    # Production's words, both versions in microseconds since the epoch.
    assert delete.value.message == (
        f"the stored version ({micros(stored)}) does not match the required base version "
        f"({micros(stale)})"
    )
    assert ref.get().to_dict() == {"status": "funded"}


def micros(stamp: datetime.datetime) -> int:
    return int(stamp.timestamp()) * 1_000_000 + stamp.microsecond


def test_update_time_precondition_on_a_missing_document_is_failed_precondition(firestore_client):
    stamp = firestore_client.document("loans/other").set({"n": 1}).update_time

    with pytest.raises(exceptions.FailedPrecondition) as delete:
        firestore_client.document("loans/missing").delete(
            option=firestore_client.write_option(last_update_time=stamp)
        )

    assert delete.value.message == (
        f"the stored version (0) does not match the required base version ({micros(stamp)})"
    )


def test_a_failed_precondition_in_a_transaction_fails_it_without_retrying(firestore_client):
    firestore_client.document("loans/L").set({"n": 1})
    attempts = []

    @firestore.transactional
    def create_twice(transaction):
        attempts.append(1)
        transaction.create(firestore_client.document("loans/L"), {"n": 2})

    with pytest.raises(exceptions.AlreadyExists):
        create_twice(firestore_client.transaction())
    assert attempts == [1]
    assert firestore_client.document("loans/L").get().to_dict() == {"n": 1}


# ---------------------------------------------------------------- transforms


def test_server_timestamp_is_the_commit_time(firestore_client):
    ref = firestore_client.document("loans/L")

    result = ref.set({"created_at": firestore.SERVER_TIMESTAMP, "n": 1})

    stored = ref.get()
    assert stored.get("created_at") == result.update_time == stored.update_time
    assert isinstance(stored.get("created_at"), datetime.datetime)


@pytest.mark.parametrize(
    ("start", "step", "expected"),
    [
        (5, 3, 8),
        (5, -7, -2),
        (5, 0.5, 5.5),
        (1.5, 2, 3.5),
        (INT64_MAX - 1, 10, INT64_MAX),  # integer overflow saturates
        (INT64_MIN + 1, -10, INT64_MIN),
        ("not a number", 4, 4),  # a non-number is replaced by the operand
    ],
)
def test_increment(firestore_client, start, step, expected):
    ref = firestore_client.document("counters/c")
    ref.set({"value": start})

    ref.update({"value": firestore.Increment(step)})

    value = ref.get().get("value")
    assert value == expected
    assert type(value) is type(expected)


def test_increment_of_a_missing_field_or_document_sets_the_operand(firestore_client):
    ref = firestore_client.document("counters/new")

    ref.set({"hits": firestore.Increment(2)}, merge=True)
    ref.set({"misses": firestore.Increment(1.5)}, merge=True)

    assert ref.get().to_dict() == {"hits": 2, "misses": 1.5}


def test_concurrent_increments_are_never_lost(firestore_client):
    ref = firestore_client.document("counters/shared")
    ref.set({"value": 0})
    batch = firestore_client.batch()
    batch.update(ref, {"value": firestore.Increment(1)})
    batch.update(ref, {"value": firestore.Increment(1)})
    batch.commit()
    for _ in range(3):
        ref.update({"value": firestore.Increment(1)})

    assert ref.get().get("value") == 5


@pytest.mark.parametrize(
    ("transform", "start", "operand", "expected"),
    [
        ("max", 3, 7, 7),
        ("max", 7, 3, 7),
        ("max", 3, 3.0, 3),  # equivalent operands keep the stored value and its type
        ("max", 2, 2.5, 2.5),  # mixed types take the larger operand's type
        ("max", 0.0, -0.0, 0.0),
        ("max", "text", 4, 4),
        ("min", 3, 7, 3),
        ("min", 7, 3, 3),
        ("min", 3.0, 3, 3.0),
        ("min", 2.5, 2, 2),
    ],
)
def test_maximum_and_minimum(firestore_client, transform, start, operand, expected):
    ref = firestore_client.document("limits/l")
    ref.set({"value": start})
    sentinel = firestore.Maximum if transform == "max" else firestore.Minimum

    ref.update({"value": sentinel(operand)})

    value = ref.get().get("value")
    assert value == expected
    assert type(value) is type(expected)


def test_maximum_with_nan_is_nan(firestore_client):
    ref = firestore_client.document("limits/nan")
    ref.set({"value": 3})

    ref.update({"value": firestore.Maximum(math.nan)})

    assert math.isnan(ref.get().get("value"))


def test_array_union_appends_only_missing_elements(firestore_client):
    ref = firestore_client.document("loans/L")
    ref.set({"lenders": ["ani", "budi", 1]})

    ref.update({"lenders": firestore.ArrayUnion(["budi", "citra", 1.0, "citra"])})

    assert ref.get().get("lenders") == ["ani", "budi", 1, "citra"]


def test_array_remove_removes_every_equal_element(firestore_client):
    ref = firestore_client.document("loans/L")
    ref.set({"lenders": ["ani", "budi", "ani", 2, {"k": 1}]})

    ref.update({"lenders": firestore.ArrayRemove(["ani", 2.0, {"k": 1}, "nobody"])})

    assert ref.get().get("lenders") == ["budi"]


def test_array_transforms_on_a_non_array_start_from_empty(firestore_client):
    ref = firestore_client.document("loans/L")
    ref.set({"a": "text", "b": 5})

    ref.update({"a": firestore.ArrayUnion(["x"]), "b": firestore.ArrayRemove(["x"])})

    assert ref.get().to_dict() == {"a": ["x"], "b": []}


def test_transform_results_are_reported_in_the_write_result(firestore_emulator):
    from google.cloud.firestore_v1.types import common, document, write

    project = firestore_emulator.unique_project()
    client = firestore_emulator.client(project)
    try:
        name = f"{client._database_string}/documents/counters/c"
        transforms = [
            write.DocumentTransform.FieldTransform(
                field_path="n", increment=document.Value(integer_value=5)
            ),
            write.DocumentTransform.FieldTransform(
                field_path="at",
                set_to_server_value=write.DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME,
            ),
            write.DocumentTransform.FieldTransform(
                field_path="tags",
                append_missing_elements=document.ArrayValue(
                    values=[document.Value(string_value="a")]
                ),
            ),
        ]
        response = client._firestore_api.commit(
            request={
                "database": client._database_string,
                "writes": [
                    write.Write(
                        update=document.Document(name=name),
                        update_mask=common.DocumentMask(field_paths=[]),
                        update_transforms=transforms,
                    )
                ],
            }
        )
        (result,) = response.write_results
        assert result.transform_results[0].integer_value == 5
        assert result.transform_results[1].timestamp_value == response.commit_time
        assert "null_value" in result.transform_results[2]
        assert result.update_time == response.commit_time
    finally:
        client.close()
