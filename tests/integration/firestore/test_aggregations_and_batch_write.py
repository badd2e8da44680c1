"""Aggregation queries (count, sum, avg) and the non-atomic BatchWrite RPC."""

from __future__ import annotations

import math

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.types import common, document, write
from google.rpc import code_pb2

pytestmark = pytest.mark.emulator


def _value(aggregation_query, transaction=None):
    (results,) = aggregation_query.get(transaction=transaction)
    return {result.alias: result.value for result in results}


@pytest.fixture
def repayments(firestore_client):
    collection = firestore_client.collection("repayments")
    rows = [
        {"loan": "L1", "amount": 100},
        {"loan": "L1", "amount": 250},
        {"loan": "L2", "amount": 1.5},
        {"loan": "L2", "amount": "n/a"},  # not a number: skipped by sum and avg
        {"loan": "L3"},  # no amount
    ]
    for index, row in enumerate(rows):
        collection.document(f"r{index}").set(row)
    return collection


def test_count_sum_and_avg(repayments):
    query = repayments.count(alias="n").sum("amount", alias="total").avg("amount", alias="mean")

    # r4 has no amount: beside a sum or avg of it, production does not count it either.
    assert _value(query) == {"n": 4, "total": 351.5, "mean": pytest.approx(351.5 / 3)}
    assert _value(repayments.count(alias="n")) == {"n": 5}


def test_several_aggregated_fields_range_over_documents_that_have_them_all(firestore_client):
    # The production behaviour the Firebase JS SDK's integration tests pin.
    books = firestore_client.collection("books")
    books.document("a").set({"pages": 100, "year": 1980})
    books.document("b").set({"pages": 50, "year": 2020})
    books.document("c").set({"pages": 150, "year": 2021})
    books.document("d").set({"pages": 50})  # no year

    query = (
        books.sum("pages", alias="total_pages")
        .avg("pages", alias="average_pages")
        .avg("year", alias="average_year")
        .count(alias="count")
    )

    assert _value(query) == {
        "total_pages": 300,
        "average_pages": 100,
        "average_year": 2007,
        "count": 3,
    }


def test_a_sum_over_a_limit_adds_up_the_first_documents_that_have_the_field(firestore_client):
    # The query's order is by name. The first five documents have no amount, so a sum over
    # limit(12) adds up the first 12 documents that have one, not d00..d11. (Every document of
    # the older tests had the field, so a limit applied before that filter went unnoticed.)
    ledger = firestore_client.collection("ledger")
    for index in range(20):
        ledger.document(f"d{index:02d}").set({"amount": index} if index >= 5 else {"memo": "x"})
    limited = ledger.limit(12)

    assert _value(limited.sum("amount", alias="total")) == {"total": sum(range(5, 17))}
    assert _value(limited.avg("amount", alias="mean")) == {"mean": sum(range(5, 17)) / 12}
    assert _value(limited.count(alias="n")) == {"n": 12}
    assert _value(ledger.offset(3).limit(2).sum("amount", alias="total")) == {"total": 8 + 9}


def test_more_than_five_aggregations_are_refused(repayments):
    query = repayments.count(alias="a")
    for alias in "bcde":
        query = query.sum("amount", alias=alias)

    assert _value(query)["a"] == 4
    with pytest.raises(exceptions.InvalidArgument, match="maximum number of aggregations is 5"):
        _value(query.count(alias="f"))


def test_sum_of_integers_stays_an_integer(repayments):
    query = repayments.where(filter=FieldFilter("loan", "==", "L1")).sum("amount", alias="total")

    total = _value(query)["total"]

    assert total == 350
    assert isinstance(total, int)


def test_aggregations_apply_after_limit(repayments):
    limited = repayments.order_by("amount").limit(2)

    assert _value(limited.count(alias="n")) == {"n": 2}
    assert _value(limited.sum("amount", alias="total")) == {"total": 101.5}


def test_aggregations_over_no_documents(repayments):
    nothing = repayments.where(filter=FieldFilter("loan", "==", "none"))

    assert _value(nothing.count(alias="n").sum("amount", alias="s")) == {"n": 0, "s": 0}


def test_sum_that_overflows_int64_becomes_a_double(firestore_client):
    collection = firestore_client.collection("big")
    collection.document("a").set({"n": 2**63 - 1})
    collection.document("b").set({"n": 10})

    total = _value(collection.sum("n", alias="total"))["total"]

    assert isinstance(total, float)
    assert total == pytest.approx(float(2**63 + 9))


def test_sum_with_nan_is_nan(firestore_client):
    collection = firestore_client.collection("nan")
    collection.document("a").set({"n": 1})
    collection.document("b").set({"n": math.nan})

    assert math.isnan(_value(collection.sum("n", alias="total"))["total"])


def test_count_in_a_transaction_sees_the_transactions_snapshot(repayments, firestore_client):
    @firestore.transactional
    def count_then_add(transaction):
        counted = _value(repayments.count(alias="n"), transaction=transaction)["n"]
        transaction.set(repayments.document("counted"), {"loan": "L9", "amount": counted})
        return counted

    assert count_then_add(firestore_client.transaction()) == 5
    assert repayments.document("counted").get().get("amount") == 5


def test_default_aliases_are_numbered_fields(repayments):
    (results,) = repayments.count().sum("amount").get()

    assert sorted(result.alias for result in results) == ["field_1", "field_2"]


# ---------------------------------------------------------------- BatchWrite


def _batch_write(client, writes):
    return client._firestore_api.batch_write(
        request={"database": client._database_string, "writes": writes}
    )


def _name(client, path):
    return f"{client._database_string}/documents/{path}"


def test_batch_write_applies_each_write_on_its_own(firestore_client):
    firestore_client.document("loans/exists").set({"n": 1})
    firestore_client.document("loans/old").set({"n": 1})
    writes = [
        write.Write(
            update=document.Document(
                name=_name(firestore_client, "loans/new"),
                fields={"n": document.Value(integer_value=2)},
            )
        ),
        write.Write(
            update=document.Document(name=_name(firestore_client, "loans/exists")),
            current_document=common.Precondition(exists=False),
        ),
        write.Write(
            delete=_name(firestore_client, "loans/absent"),
            current_document=common.Precondition(exists=True),
        ),
        write.Write(delete=_name(firestore_client, "loans/old")),
    ]

    response = _batch_write(firestore_client, writes)

    codes = [status.code for status in response.status]
    assert codes == [code_pb2.OK, code_pb2.ALREADY_EXISTS, code_pb2.NOT_FOUND, code_pb2.OK]
    assert response.write_results[0].update_time is not None
    assert firestore_client.document("loans/new").get().to_dict() == {"n": 2}
    assert firestore_client.document("loans/exists").get().to_dict() == {"n": 1}
    assert not firestore_client.document("loans/old").get().exists


def test_batch_write_refuses_two_writes_to_one_document(firestore_client):
    name = _name(firestore_client, "loans/twice")
    writes = [
        write.Write(update=document.Document(name=name)),
        write.Write(delete=name),
    ]

    with pytest.raises(exceptions.InvalidArgument):
        _batch_write(firestore_client, writes)
    assert not firestore_client.document("loans/twice").get().exists


def test_bulk_writer_writes_everything(firestore_client):
    bulk = firestore_client.bulk_writer()
    for index in range(30):
        bulk.set(firestore_client.document(f"bulk/{index}"), {"index": index})
    bulk.close()

    total = _value(firestore_client.collection("bulk").sum("index", alias="total"))
    assert total == {"total": sum(range(30))}
