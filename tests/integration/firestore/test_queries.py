"""Queries through the real client, checked against the oracle in oracle.py.

Random documents mix every value type (and documents lacking the field), so
each operator meets cross-type comparisons, null, NaN, -0.0, arrays and maps.
The data are seeded: a failure reproduces exactly.
"""

from __future__ import annotations

import datetime
import math
import random

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1 import GeoPoint
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or

from tests.integration.firestore import oracle

pytestmark = pytest.mark.emulator

SEED = 20260101
DOCUMENT_COUNT = 60
QUERIES_PER_OPERATOR = 25


def _scalar_pool(client):
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return [
        None,
        True,
        False,
        -3,
        0,
        1,
        2,
        7,
        -1.5,
        0.0,
        -0.0,
        1.0,
        2.5,
        math.nan,
        base,
        base + datetime.timedelta(microseconds=1),
        base + datetime.timedelta(days=30),
        "",
        "a",
        "ab",
        "b",
        "B",
        "é",
        b"",
        b"a",
        b"\xff",
        client.document("refs/1"),
        client.document("refs/2"),
        client.document("refs/1/sub/1"),
        GeoPoint(0, 0),
        GeoPoint(0, 1),
        GeoPoint(-1, 5),
    ]


def _random_value(rng, pool):
    roll = rng.random()
    if roll < 0.7:
        return rng.choice(pool)
    if roll < 0.85:
        return [rng.choice(pool) for _ in range(rng.randint(0, 3))]
    keys = rng.sample(["a", "b", "c"], rng.randint(0, 2))
    return {key: rng.choice(pool) for key in keys}


@pytest.fixture(scope="module")
def random_collection(firestore_emulator):
    """60 random documents in one collection; the tests only read them."""
    client = firestore_emulator.client(firestore_emulator.unique_project("queries"))
    rng = random.Random(SEED)
    pool = _scalar_pool(client)
    documents = {}
    batch = client.batch()
    for index in range(DOCUMENT_COUNT):
        data = {"w": rng.randint(0, 4)}
        if rng.random() < 0.85:
            data["v"] = _random_value(rng, pool)
        data["tags"] = [rng.choice(pool) for _ in range(rng.randint(0, 3))]
        doc_id = f"d{index:02d}"
        documents[doc_id] = data
        batch.set(client.collection("values").document(doc_id), data)
    batch.commit()
    yield client, documents, pool, rng
    client.close()


def _ids(query):
    return [snapshot.id for snapshot in query.stream()]


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparison_operators_match_the_oracle(random_collection, op):
    client, documents, pool, _ = random_collection
    rng = random.Random(f"{SEED}-{op}")
    operands = pool if op in ("==", "!=") else [v for v in pool if not oracle.is_null_or_nan(v)]
    for _ in range(QUERIES_PER_OPERATOR):
        operand = _random_value(rng, operands)
        if oracle.is_null_or_nan(operand) and op not in ("==", "!="):
            continue
        query = client.collection("values").where(filter=FieldFilter("v", op, operand))

        assert _ids(query) == oracle.expected_ids(documents, "v", op, operand), operand


@pytest.mark.parametrize("op", ["in", "not-in", "array_contains_any"])
def test_list_operators_match_the_oracle(random_collection, op):
    client, documents, pool, _ = random_collection
    rng = random.Random(f"{SEED}-{op}")
    field = "tags" if op == "array_contains_any" else "v"
    for _ in range(QUERIES_PER_OPERATOR):
        operand = [_random_value(rng, pool) for _ in range(rng.randint(1, 4))]
        query = client.collection("values").where(filter=FieldFilter(field, op, operand))

        assert _ids(query) == oracle.expected_ids(documents, field, op, operand), operand


def test_array_contains_matches_the_oracle(random_collection):
    client, documents, pool, _ = random_collection
    rng = random.Random(f"{SEED}-array-contains")
    candidates = [value for value in pool if not oracle.is_null_or_nan(value)]
    for _ in range(QUERIES_PER_OPERATOR):
        operand = rng.choice(candidates)
        query = client.collection("values").where(
            filter=FieldFilter("tags", "array_contains", operand)
        )

        assert _ids(query) == oracle.expected_ids(documents, "tags", "array_contains", operand)


def test_null_and_nan_filters(random_collection):
    client, documents, _, _ = random_collection
    values = client.collection("values")
    for op, operand in [("==", None), ("!=", None), ("==", math.nan), ("!=", math.nan)]:
        query = values.where(filter=FieldFilter("v", op, operand))

        assert _ids(query) == oracle.expected_ids(documents, "v", op, operand), (op, operand)


def test_order_by_follows_the_cross_type_order_and_skips_missing_fields(random_collection):
    client, documents, _, _ = random_collection
    having_v = [doc_id for doc_id, data in documents.items() if "v" in data]
    ascending = oracle.sort_ids(having_v, documents, "v")

    assert _ids(client.collection("values").order_by("v")) == ascending
    descending = _ids(client.collection("values").order_by("v", direction="DESCENDING"))
    assert descending == list(reversed(ascending))


def test_composite_and_or_filters_match_the_oracle(random_collection):
    client, documents, pool, _ = random_collection
    rng = random.Random(f"{SEED}-composite")
    ops = ["==", "<", ">=", "in", "array_contains"]
    for _ in range(QUERIES_PER_OPERATOR):
        op = rng.choice(ops)
        operand = (
            [rng.choice(pool) for _ in range(2)]
            if op == "in"
            else rng.choice([v for v in pool if not oracle.is_null_or_nan(v)])
        )
        field = "tags" if op == "array_contains" else "v"
        weight = rng.randint(0, 4)
        first = FieldFilter(field, op, operand)
        second = FieldFilter("w", "==", weight)

        def check(data, field=field, op=op, operand=operand, weight=weight):
            return oracle.matches(op, data.get(field, oracle.MISSING), operand), data["w"] == weight

        # An inequality orders the query by its field, so a document lacking that
        # field is never a result, even when the other branch of an OR matches.
        def ordered(data, field=field, op=op):
            return op not in oracle.INEQUALITIES or field in data

        both = sorted(i for i, d in documents.items() if all(check(d)))
        either = sorted(i for i, d in documents.items() if any(check(d)) and ordered(d))
        values = client.collection("values")
        assert sorted(_ids(values.where(filter=And([first, second])))) == both
        assert sorted(_ids(values.where(filter=Or([first, second])))) == either


@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
def test_a_page_is_the_head_of_the_whole_order(random_collection, direction):
    """A limit (and offset) cuts the query's whole order: the emulator picks a page without
    sorting every document, and must pick the same one."""
    client, documents, _, _ = random_collection
    having_v = [doc_id for doc_id, data in documents.items() if "v" in data]
    order = oracle.sort_ids(having_v, documents, "v")
    if direction == "DESCENDING":
        order.reverse()
    ordered = client.collection("values").order_by("v", direction=direction)
    for offset, limit in [(0, 1), (0, 7), (3, 5), (0, 200), (len(order) - 2, 10)]:
        assert _ids(ordered.offset(offset).limit(limit)) == order[offset : offset + limit]


def test_a_page_in_mixed_directions_is_the_head_of_the_whole_order(random_collection):
    client, _, _, _ = random_collection
    query = (
        client.collection("values")
        .where(filter=FieldFilter("w", ">=", 1))
        .order_by("w", direction="DESCENDING")
        .order_by("__name__")
    )
    whole = _ids(query)
    assert len(whole) > 20
    assert _ids(query.limit(9)) == whole[:9]
    assert _ids(query.offset(4).limit(6)) == whole[4:10]
    cursor = client.collection("values").document(whole[5]).get()
    assert _ids(query.start_after(cursor).limit(3)) == whole[6:9]


def test_a_query_sees_a_document_as_it_is_now(firestore_client):
    """A rewritten document is filtered and ordered by its new values (the emulator keeps the
    sort keys of what it has stored, never of what it stored before)."""
    loans = firestore_client.collection("loans")
    loans.document("L1").set({"state": "active", "sweep_on": "2027-03-10"})
    loans.document("L2").set({"state": "active", "sweep_on": "2027-03-09"})
    due = loans.where(filter=FieldFilter("state", "==", "active")).where(
        filter=FieldFilter("sweep_on", "<=", "2027-03-10")
    )
    assert _ids(due.order_by("sweep_on").limit(1)) == ["L2"]

    loans.document("L2").update({"sweep_on": "2027-04-09"})
    assert _ids(due.order_by("sweep_on").limit(1)) == ["L1"]
    loans.document("L1").update({"state": "repaid"})
    assert _ids(due.order_by("sweep_on").limit(1)) == []


def test_document_id_filters(random_collection):
    client, _, _, _ = random_collection
    values = client.collection("values")
    ids = ["d03", "d10", "d59"]
    refs = [values.document(doc_id) for doc_id in ids]

    assert _ids(values.where(filter=FieldFilter("__name__", "in", refs))) == ids
    assert _ids(values.where(filter=FieldFilter("__name__", ">=", refs[2]))) == ["d59"]
    assert len(_ids(values.where(filter=FieldFilter("__name__", "not-in", refs)))) == 57


# ---------------------------------------------------------------- ordering, cursors, limits


@pytest.fixture
def loans(firestore_client):
    """Loans with repeated amounts, so ties are broken by document id."""
    collection = firestore_client.collection("loans")
    rows = {
        "L1": {"amount": 100, "grade": "B"},
        "L2": {"amount": 200, "grade": "A"},
        "L3": {"amount": 200, "grade": "C"},
        "L4": {"amount": 300, "grade": "A"},
        "L5": {"amount": 400, "grade": "B"},
        "L6": {"grade": "A"},  # no amount: never in a query ordered by amount
    }
    batch = firestore_client.batch()
    for doc_id, data in rows.items():
        batch.set(collection.document(doc_id), data)
    batch.commit()
    return collection


def test_inequality_orders_by_that_field_then_by_name(loans):
    assert _ids(loans.where(filter=FieldFilter("amount", ">", 100))) == ["L2", "L3", "L4", "L5"]
    assert _ids(loans.where(filter=FieldFilter("amount", "!=", 200))) == ["L1", "L4", "L5"]


def test_inequalities_on_two_fields_order_by_both_fields_lexicographically(firestore_client):
    points = firestore_client.collection("points")
    for doc_id, data in {
        "a": {"y": 1, "x": 2},
        "b": {"y": 2, "x": 1},
        "c": {"y": 1, "x": 1},
    }.items():
        points.document(doc_id).set(data)
    query = points.where(filter=FieldFilter("y", ">", 0)).where(filter=FieldFilter("x", ">", 0))

    assert _ids(query) == ["c", "b", "a"]  # by x, then y, then name


def test_descending_order_breaks_ties_by_descending_name(loans):
    query = loans.order_by("amount", direction=firestore.Query.DESCENDING)

    assert _ids(query) == ["L5", "L4", "L3", "L2", "L1"]


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        ("start_at", ["L2", "L3", "L4", "L5"]),
        ("start_after", ["L4", "L5"]),
        ("end_at", ["L1", "L2", "L3"]),
        ("end_before", ["L1"]),
    ],
)
def test_cursors_by_value_include_or_exclude_every_tie(loans, cursor, expected):
    query = getattr(loans.order_by("amount"), cursor)({"amount": 200})

    assert _ids(query) == expected


def test_cursor_at_a_snapshot_continues_after_that_exact_document(loans):
    l2 = loans.document("L2").get()

    assert _ids(loans.order_by("amount").start_after(l2)) == ["L3", "L4", "L5"]
    assert _ids(loans.order_by("amount").end_before(l2)) == ["L1"]
    descending = loans.order_by("amount", direction=firestore.Query.DESCENDING)
    assert _ids(descending.start_after(loans.document("L3").get())) == ["L2", "L1"]


def test_a_cursor_may_give_a_prefix_of_the_order(loans):
    query = loans.order_by("grade").order_by("amount").start_after({"grade": "A"})

    assert _ids(query) == ["L1", "L5", "L3"]


def test_pagination_with_limit_and_start_after(loans):
    pages, query, last = [], loans.order_by("amount").limit(2), None
    while True:
        page = list((query.start_after(last) if last else query).stream())
        if not page:
            break
        pages.append([snapshot.id for snapshot in page])
        last = page[-1]

    assert pages == [["L1", "L2"], ["L3", "L4"], ["L5"]]


def test_offset_and_limit_and_limit_to_last(loans):
    ordered = loans.order_by("amount")

    assert _ids(ordered.offset(1).limit(2)) == ["L2", "L3"]
    assert _ids(ordered.offset(10)) == []
    assert [s.id for s in ordered.limit_to_last(2).get()] == ["L4", "L5"]
    assert _ids(ordered.limit(0)) == []


def test_select_returns_only_the_chosen_fields(loans):
    rows = {
        s.id: s.to_dict()
        for s in loans.where(filter=FieldFilter("amount", "<", 250)).select(["grade"]).stream()
    }

    assert rows == {"L1": {"grade": "B"}, "L2": {"grade": "A"}, "L3": {"grade": "C"}}
    assert all(s.to_dict() == {} for s in loans.select([]).stream())


def test_selecting_only_the_name_gives_every_document_without_fields(loans):
    names_only = loans.select(["__name__"]).order_by("amount", direction="DESCENDING").limit(3)
    rows = [(s.id, s.to_dict(), s.create_time is not None) for s in names_only.stream()]

    assert rows == [("L5", {}, True), ("L4", {}, True), ("L3", {}, True)]


def test_select_reaches_into_maps_and_leaves_out_what_a_document_lacks(firestore_client):
    loans = firestore_client.collection("loans")
    loans.document("L1").set(
        {"product_id": "wc", "overdue": {"read_from": 3, "late_fees": 900}, "big": "x" * 100}
    )
    loans.document("L2").set({"product_id": "inv", "product_version": 2, "big": "y"})
    query = loans.select(["product_id", "product_version", "overdue.read_from"])

    assert {s.id: s.to_dict() for s in query.stream()} == {
        "L1": {"product_id": "wc", "overdue": {"read_from": 3}},
        "L2": {"product_id": "inv", "product_version": 2},
    }


def test_a_projection_filters_and_orders_on_fields_it_does_not_return(loans):
    query = (
        loans.where(filter=FieldFilter("amount", ">=", 200))
        .order_by("amount", direction="DESCENDING")
        .select(["grade"])
    )

    assert [(s.id, s.to_dict()) for s in query.stream()] == [
        ("L5", {"grade": "B"}),
        ("L4", {"grade": "A"}),
        ("L3", {"grade": "C"}),
        ("L2", {"grade": "A"}),
    ]


def test_a_projected_query_in_a_transaction(firestore_client, loans):
    transaction = firestore_client.transaction()

    @firestore.transactional
    def read(transaction):
        query = loans.where(filter=FieldFilter("grade", "==", "A")).select(["amount"])
        return {s.id: s.to_dict() for s in query.stream(transaction=transaction)}

    assert read(transaction) == {"L2": {"amount": 200}, "L4": {"amount": 300}, "L6": {}}


def test_an_empty_result_is_an_empty_list(loans):
    assert _ids(loans.where(filter=FieldFilter("grade", "==", "Z"))) == []


# ---------------------------------------------------------------- collection groups


@pytest.fixture
def installments(firestore_client):
    paths = [
        "loans/L1/installments/i1",
        "loans/L1/installments/i2",
        "installments/i3",
        "loans/L2/installments/i4",
        "installments/virtual/nested/not-an-installment",
        "xinstallments/not-in-group",
        "installmentsx/not-in-group",
        "loans/L1/xinstallments/not-in-group",
        "loans/installments",  # a document whose id is the group name
    ]
    batch = firestore_client.batch()
    for index, path in enumerate(paths):
        batch.set(firestore_client.document(path), {"n": index})
    batch.commit()
    return firestore_client


def test_collection_group_finds_the_collection_at_every_depth(installments):
    found = [s.reference.path for s in installments.collection_group("installments").stream()]

    assert found == [
        "installments/i3",
        "loans/L1/installments/i1",
        "loans/L1/installments/i2",
        "loans/L2/installments/i4",
    ]


def test_collection_group_with_filter_and_name_cursor(installments):
    group = installments.collection_group("installments")

    filtered = [s.id for s in group.where(filter=FieldFilter("n", ">", 1)).stream()]
    after = [
        s.id
        for s in group.order_by("__name__")
        .start_at({"__name__": installments.document("loans/L1")})
        .end_before({"__name__": installments.document("loans/L2/installments/i4")})
        .stream()
    ]

    assert filtered == ["i3", "i4"]
    assert after == ["i1", "i2"]


def test_recursive_delete_removes_a_document_tree(installments):
    deleted = installments.recursive_delete(installments.collection("loans"))

    assert deleted == 5
    assert [c.id for c in installments.collections()] == [
        "installments",
        "installmentsx",
        "xinstallments",
    ]
    assert [s.id for s in installments.collection_group("installments").stream()] == ["i3"]
