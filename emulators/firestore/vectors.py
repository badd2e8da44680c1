"""Vector search (`find_nearest`), computed exactly as production's vector index would.

A query with `find_nearest` keeps the documents that match its filters and hold,
at `vector_field`, a vector of the query vector's dimension (any other value, or
another dimension, is skipped, as production's vector index skips it), orders
them by distance and returns the first `limit` (1 to 1,000):

- EUCLIDEAN: the L2 distance, nearest first;
- COSINE: 1 - cosine similarity, nearest first (zero-length vectors are skipped);
- DOT_PRODUCT: the dot product, largest first.

`distance_threshold` keeps distances <= it (EUCLIDEAN, COSINE) or >= it
(DOT_PRODUCT). `distance_result_field` adds the distance (a double) to each
result under that field. Ties keep document-name order. The emulator needs no
vector index; a query vector longer than 2,048 dimensions is refused, as is
combining `find_nearest` with an order, cursors, an offset or a limit of the
base query (the emulator refuses rather than guess at their meaning).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.cloud.firestore_v1.types import query as query_types

from emulators.firestore import fieldpaths, values
from emulators.firestore.errors import invalid_argument
from emulators.firestore.fieldpaths import FieldPath

DocumentPb = Any
ValuePb = Any

MAX_LIMIT = 1000
MAX_DIMENSION = 2048
_Measure = query_types.StructuredQuery.FindNearest.DistanceMeasure
EUCLIDEAN = int(_Measure.EUCLIDEAN)
COSINE = int(_Measure.COSINE)
DOT_PRODUCT = int(_Measure.DOT_PRODUCT)


def vector_of(value: ValuePb | None) -> list[float] | None:
    """The numbers of a vector value, or None when `value` is not a vector."""
    if value is None or value.WhichOneof("value_type") != "map_value":
        return None
    fields = value.map_value.fields
    if "__type__" not in fields or fields["__type__"].string_value != "__vector__":
        return None
    items = fields["value"].array_value.values if "value" in fields else ()
    if not all(values.is_number(item) for item in items):
        return None
    return [float(values.numeric(item)) for item in items]


@dataclass(frozen=True, slots=True)
class Nearest:
    field: FieldPath
    query_vector: tuple[float, ...]
    measure: int
    limit: int
    result_field: FieldPath | None
    threshold: float | None

    def distance(self, vector: Sequence[float]) -> float | None:
        query = self.query_vector
        if self.measure == EUCLIDEAN:
            return math.dist(vector, query)
        dot = math.fsum(a * b for a, b in zip(vector, query, strict=True))
        if self.measure == DOT_PRODUCT:
            return dot
        norm = math.hypot(*vector)
        if norm == 0:
            return None
        return 1.0 - dot / (norm * math.hypot(*query))

    def within(self, distance: float) -> bool:
        if self.threshold is None:
            return True
        if self.measure == DOT_PRODUCT:
            return distance >= self.threshold
        return distance <= self.threshold

    def select(self, documents: Sequence[DocumentPb]) -> list[DocumentPb]:
        """The nearest documents among `documents` (already filtered, in name order)."""
        scored = []
        for document in documents:
            vector = vector_of(fieldpaths.get(document.fields, self.field))
            if vector is None or len(vector) != len(self.query_vector):
                continue
            distance = self.distance(vector)
            if distance is not None and self.within(distance):
                scored.append((distance, document))
        # Sorting is stable, so equal distances keep the name order they came in.
        scored.sort(key=lambda item: item[0], reverse=self.measure == DOT_PRODUCT)
        return [self._with_distance(doc, distance) for distance, doc in scored[: self.limit]]

    def _with_distance(self, document: DocumentPb, distance: float) -> DocumentPb:
        if self.result_field is None:
            return document
        copy = type(document)()
        copy.CopyFrom(document)
        fieldpaths.set_value(copy.fields, self.result_field, values.number_value(distance))
        return copy


def compile_nearest(find_nearest: Any, query: Any) -> Nearest:
    """Compile `StructuredQuery.find_nearest` (`query` is the whole structured query)."""
    if query.order_by or query.HasField("start_at") or query.HasField("end_at"):
        raise invalid_argument("find_nearest cannot be combined with order_by or cursors.")
    if query.offset or query.HasField("limit"):
        raise invalid_argument(
            "find_nearest cannot be combined with an offset or a limit; "
            "set find_nearest's own limit."
        )
    vector = vector_of(find_nearest.query_vector)
    if not vector:
        raise invalid_argument("find_nearest needs a non-empty query_vector of type vector.")
    if len(vector) > MAX_DIMENSION:
        raise invalid_argument(f"A query vector has at most {MAX_DIMENSION} dimensions.")
    measure = int(find_nearest.distance_measure)
    if measure not in (EUCLIDEAN, COSINE, DOT_PRODUCT):
        raise invalid_argument("find_nearest needs a distance_measure.")
    if measure == COSINE and not any(vector):
        raise invalid_argument("A COSINE query vector must not be all zeros.")
    if not find_nearest.HasField("limit") or not 0 < find_nearest.limit.value <= MAX_LIMIT:
        raise invalid_argument(f"find_nearest needs a limit from 1 to {MAX_LIMIT}.")
    result_field = find_nearest.distance_result_field
    return Nearest(
        field=fieldpaths.parse(find_nearest.vector_field.field_path),
        query_vector=tuple(vector),
        measure=measure,
        limit=find_nearest.limit.value,
        result_field=fieldpaths.parse(result_field) if result_field else None,
        threshold=(
            find_nearest.distance_threshold.value
            if find_nearest.HasField("distance_threshold")
            else None
        ),
    )
