"""Vector search (`find_nearest`) and query explain, through the real client.

Distances are checked against values worked by hand; explain answers in the shape
production gives (the plan alone without `analyze`, plan and statistics with it).
"""

from __future__ import annotations

import datetime
import math

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.base_vector_query import DistanceMeasure
from google.cloud.firestore_v1.query_profile import ExplainOptions, QueryExplainError
from google.cloud.firestore_v1.vector import Vector

pytestmark = pytest.mark.emulator


@pytest.fixture
def shops(firestore_client):
    collection = firestore_client.collection("shops")
    rows = {
        "a": {"kind": "food", "emb": Vector([1.0, 0.0])},
        "b": {"kind": "food", "emb": Vector([0.0, 2.0])},
        "c": {"kind": "food", "emb": Vector([3.0, 4.0])},
        "d": {"kind": "retail", "emb": Vector([1.0, 1.0])},
        "e": {"kind": "food", "emb": Vector([1.0, 2.0, 3.0])},  # another dimension: skipped
        "f": {"kind": "food", "emb": [1.0, 0.0]},  # an array, not a vector: skipped
    }
    for name, row in rows.items():
        collection.document(name).set(row)
    return collection


def nearest(query):
    return [(snapshot.id, snapshot.get("distance")) for snapshot in query.get()]


def test_a_vector_written_through_the_client_reads_back_identical(firestore_client):
    ref = firestore_client.document("shops/v")
    vector = Vector([0.1, -2.5, 1e-300, 3.0])

    ref.set({"emb": vector, "nested": {"emb": vector}})
    stored = ref.get()

    assert stored.get("emb") == vector
    assert isinstance(stored.get("emb"), Vector)
    assert stored.get("nested")["emb"] == vector


def test_euclidean_finds_the_nearest_first(shops):
    query = shops.find_nearest(
        "emb",
        Vector([1.0, 0.0]),
        limit=3,
        distance_measure=DistanceMeasure.EUCLIDEAN,
        distance_result_field="distance",
    )

    assert nearest(query) == [
        ("a", 0.0),
        ("d", 1.0),
        ("b", pytest.approx(math.sqrt(5))),
    ]


def test_cosine_is_one_minus_the_cosine_similarity(shops):
    query = shops.find_nearest(
        "emb",
        Vector([1.0, 0.0]),
        limit=4,
        distance_measure=DistanceMeasure.COSINE,
        distance_result_field="distance",
    )

    assert nearest(query) == [
        ("a", pytest.approx(0.0)),
        ("d", pytest.approx(1 - 1 / math.sqrt(2))),
        ("c", pytest.approx(1 - 3 / 5)),
        ("b", pytest.approx(1.0)),
    ]


def test_dot_product_puts_the_largest_first_and_a_threshold_keeps_at_least_it(shops):
    query = shops.find_nearest(
        "emb",
        Vector([1.0, 1.0]),
        limit=10,
        distance_measure=DistanceMeasure.DOT_PRODUCT,
        distance_result_field="distance",
        distance_threshold=2.0,
    )

    # b and d tie at 2.0 and keep document-name order.
    assert nearest(query) == [("c", 7.0), ("b", 2.0), ("d", 2.0)]


def test_a_threshold_and_a_filter_narrow_a_euclidean_search(shops):
    query = shops.where(filter=FieldFilter("kind", "==", "food")).find_nearest(
        "emb",
        Vector([1.0, 1.0]),
        limit=10,
        distance_measure=DistanceMeasure.EUCLIDEAN,
        distance_result_field="distance",
        distance_threshold=1.5,
    )

    assert nearest(query) == [("a", 1.0), ("b", pytest.approx(math.sqrt(2)))]


def test_a_search_the_emulator_cannot_answer_faithfully_is_refused(shops):
    with pytest.raises(exceptions.InvalidArgument, match="limit from 1 to 1000"):
        shops.find_nearest(
            "emb", Vector([1.0, 0.0]), limit=1001, distance_measure=DistanceMeasure.EUCLIDEAN
        ).get()
    with pytest.raises(exceptions.InvalidArgument, match="must not be all zeros"):
        shops.find_nearest(
            "emb", Vector([0.0, 0.0]), limit=1, distance_measure=DistanceMeasure.COSINE
        ).get()
    with pytest.raises(exceptions.InvalidArgument, match="order_by or cursors"):
        shops.order_by("kind").find_nearest(
            "emb", Vector([1.0, 0.0]), limit=1, distance_measure=DistanceMeasure.EUCLIDEAN
        ).get()


# --- Explain -----------------------------------------------------------------------------------


def test_explain_without_analyze_returns_the_plan_and_no_results(shops):
    query = shops.where(filter=FieldFilter("kind", "==", "food")).order_by("kind")

    results = query.get(explain_options=ExplainOptions(analyze=False))
    metrics = results.get_explain_metrics()

    assert list(results) == []
    assert metrics.plan_summary.indexes_used == [
        {"query_scope": "Collection", "properties": "(kind ASC, __name__ ASC)"}
    ]
    with pytest.raises(QueryExplainError):
        metrics.execution_stats  # noqa: B018 - production has none without analyze


def test_explain_with_analyze_returns_results_then_statistics(shops):
    query = shops.where(filter=FieldFilter("kind", "==", "food")).order_by(
        "emb", direction="DESCENDING"
    )

    results = query.get(explain_options=ExplainOptions(analyze=True))
    stats = results.get_explain_metrics().execution_stats

    # Descending: vectors (longer first, then element by element) before arrays.
    assert [snapshot.id for snapshot in results] == ["e", "c", "a", "b", "f"]
    assert results.get_explain_metrics().plan_summary.indexes_used == [
        {"query_scope": "Collection", "properties": "(kind ASC, emb DESC, __name__ DESC)"}
    ]
    assert stats.results_returned == 5
    assert stats.read_operations == 5
    assert isinstance(stats.execution_duration, datetime.timedelta)
    assert stats.debug_stats == {
        "documents_scanned": "6",
        "index_entries_scanned": "6",
        "billing_details": {
            "documents_billable": "5",
            "index_entries_billable": "0",
            "small_ops": "0",
            "min_query_cost": "0",
        },
    }


def test_explain_an_aggregation(shops):
    aggregation = shops.where(filter=FieldFilter("kind", "==", "food")).count(alias="n")

    results = aggregation.get(explain_options=ExplainOptions(analyze=True))

    assert results[0][0].value == 5
    assert results.get_explain_metrics().execution_stats.read_operations == 1
