"""Structured queries and aggregations, evaluated the way Firestore evaluates them.

`compile_query` turns a `StructuredQuery` (raw protobuf) into a `CompiledQuery`:
its scope (a collection, a collection group under a parent, or every document
under a parent), a document predicate, the normalised ordering, cursors,
offset, limit and projection. `CompiledQuery.run(documents)` returns the
results in order. Semantics follow production:

- Every field filter requires the field to exist. `!=` and `not-in` also
  exclude null values; `not-in` with a null operand and `in` / `array-contains`
  / `array-contains-any` with null or NaN operands match nothing.
- Range filters only match values of the operand's type class (numbers match
  numbers, strings strings, ...), in Firestore's cross-type order.
- Ordering: explicit `order_by`s, then inequality fields not already ordered
  (lexicographic by field path), then `__name__`, the added ones in the
  direction of the last explicit order. A document lacking an order-by field
  is not a result.
- Cursors may give a prefix of the order-by values; `before` decides whether
  documents at the cursor position are included.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from google.cloud.firestore_v1.types import document as document_types
from google.cloud.firestore_v1.types import query as query_types

from emulators.firestore import fieldpaths, values
from emulators.firestore.errors import invalid_argument
from emulators.firestore.fieldpaths import FieldPath
from emulators.firestore.resources import split_document_path
from emulators.firestore.values import SortKey, ValuePb
from emulators.firestore.vectors import Nearest, compile_nearest

DocumentPb = Any  # google.firestore.v1.Document (raw protobuf)
Matcher = Callable[[DocumentPb], bool]

DOCUMENT_PB = document_types.Document.pb()
_StructuredQuery = query_types.StructuredQuery
_FieldOp = _StructuredQuery.FieldFilter.Operator
_UnaryOp = _StructuredQuery.UnaryFilter.Operator
_CompositeOp = _StructuredQuery.CompositeFilter.Operator
_DESCENDING = int(_StructuredQuery.Direction.DESCENDING)

NAME_PATH: FieldPath = (fieldpaths.NAME_FIELD,)

_INEQUALITY_FIELD_OPS = {
    int(_FieldOp.LESS_THAN),
    int(_FieldOp.LESS_THAN_OR_EQUAL),
    int(_FieldOp.GREATER_THAN),
    int(_FieldOp.GREATER_THAN_OR_EQUAL),
    int(_FieldOp.NOT_EQUAL),
    int(_FieldOp.NOT_IN),
}
_INEQUALITY_UNARY_OPS = {int(_UnaryOp.IS_NOT_NULL), int(_UnaryOp.IS_NOT_NAN)}


@dataclass(frozen=True, slots=True)
class Scope:
    """Which documents a query ranges over, by relative path.

    `collection_id` "" with `all_descendants` means every document under `parent`.
    """

    parent: str
    collection_id: str
    all_descendants: bool

    def contains(self, path: str) -> bool:
        parent, collection_id, _ = split_document_path(path)
        if not self.all_descendants:
            return parent == self.parent and collection_id == self.collection_id
        if self.collection_id and collection_id != self.collection_id:
            return False
        return not self.parent or path.startswith(self.parent + "/")


def value_at(document: DocumentPb, path: FieldPath) -> ValuePb | None:
    """A field of `document`; `__name__` is the document's reference."""
    if path == NAME_PATH:
        reference = values.VALUE_PB()
        reference.reference_value = document.name
        return reference
    return fieldpaths.get(document.fields, path)


_KEYS: dict[int, tuple[DocumentPb, dict[FieldPath, SortKey | None]]] = {}
"""The sort keys of documents' fields (and names) already asked for, by document: a stored
document is never changed once installed (storage.py), so its keys hold for good. Keyed by
`id`, with the document kept alongside to check it is the same one (and so its id is not
reused while the entry lives); dropped wholesale past `_KEYS_LIMIT` documents. A query
ranges over its whole scope at each run, and the keys were most of what a run cost (a
name's key splits and matches every segment of the path)."""
_KEYS_LIMIT = 200_000


def _key_at(document: DocumentPb, path: FieldPath) -> SortKey | None:
    entry = _KEYS.get(id(document))
    if entry is None or entry[0] is not document:
        if len(_KEYS) >= _KEYS_LIMIT:
            _KEYS.clear()
        entry = (document, {})
        _KEYS[id(document)] = entry
    keys = entry[1]
    if path in keys:
        return keys[path]
    key: SortKey | None
    if path == NAME_PATH:
        key = values.reference_key(document.name)
    else:
        value = fieldpaths.get(document.fields, path)
        key = None if value is None else values.sort_key(value)
    keys[path] = key
    return key


# ---------------------------------------------------------------- filters


def _array_operand(operand: ValuePb, op_name: str) -> Sequence[ValuePb]:
    if not values.is_array(operand):
        raise invalid_argument(f"A '{op_name}' filter needs an array value.")
    items = list(operand.array_value.values)
    if not items:
        raise invalid_argument(f"A '{op_name}' filter needs a non-empty array value.")
    return items


def _matchable_keys(items: Iterable[ValuePb]) -> frozenset[SortKey]:
    """Keys an equality-style operand can match: null and NaN never match."""
    return frozenset(
        values.sort_key(item)
        for item in items
        if not values.is_null(item) and not values.is_nan(item)
    )


def _compile_field_filter(field_filter: Any) -> tuple[Matcher, list[FieldPath]]:
    path = fieldpaths.parse(field_filter.field.field_path)
    op = int(field_filter.op)
    operand = field_filter.value
    inequality = [path] if op in _INEQUALITY_FIELD_OPS else []

    if op in (
        _FieldOp.LESS_THAN,
        _FieldOp.LESS_THAN_OR_EQUAL,
        _FieldOp.GREATER_THAN,
        _FieldOp.GREATER_THAN_OR_EQUAL,
    ):
        operand_key = values.sort_key(operand)
        operand_class = values.type_class(operand)
        compare: Callable[[SortKey, SortKey], bool] = {
            int(_FieldOp.LESS_THAN): lambda a, b: a < b,
            int(_FieldOp.LESS_THAN_OR_EQUAL): lambda a, b: a <= b,
            int(_FieldOp.GREATER_THAN): lambda a, b: a > b,
            int(_FieldOp.GREATER_THAN_OR_EQUAL): lambda a, b: a >= b,
        }[op]

        def range_matches(document: DocumentPb) -> bool:
            key = _key_at(document, path)
            return key is not None and key[0] == operand_class and compare(key, operand_key)

        return range_matches, inequality

    if op == _FieldOp.EQUAL:
        operand_key = values.sort_key(operand)

        def equal_matches(document: DocumentPb) -> bool:
            return _key_at(document, path) == operand_key

        return equal_matches, inequality

    if op == _FieldOp.NOT_EQUAL:
        operand_key = values.sort_key(operand)

        def not_equal_matches(document: DocumentPb) -> bool:
            key = _key_at(document, path)
            return key is not None and key[0] != values.NULL and key != operand_key

        return not_equal_matches, inequality

    if op == _FieldOp.IN:
        keys = _matchable_keys(_array_operand(operand, "in"))

        def in_matches(document: DocumentPb) -> bool:
            return _key_at(document, path) in keys

        return in_matches, inequality

    if op == _FieldOp.NOT_IN:
        items = _array_operand(operand, "not-in")
        if any(values.is_null(item) for item in items):
            return (lambda document: False), inequality
        excluded = frozenset(values.sort_key(item) for item in items)

        def not_in_matches(document: DocumentPb) -> bool:
            key = _key_at(document, path)
            return key is not None and key[0] != values.NULL and key not in excluded

        return not_in_matches, inequality

    if op == _FieldOp.ARRAY_CONTAINS:
        if values.is_null(operand) or values.is_nan(operand):
            return (lambda document: False), inequality
        wanted = values.sort_key(operand)

        def contains_matches(document: DocumentPb) -> bool:
            value = value_at(document, path)
            if value is None or not values.is_array(value):
                return False
            return any(values.sort_key(item) == wanted for item in value.array_value.values)

        return contains_matches, inequality

    if op == _FieldOp.ARRAY_CONTAINS_ANY:
        keys = _matchable_keys(_array_operand(operand, "array-contains-any"))

        def contains_any_matches(document: DocumentPb) -> bool:
            value = value_at(document, path)
            if value is None or not values.is_array(value):
                return False
            return any(values.sort_key(item) in keys for item in value.array_value.values)

        return contains_any_matches, inequality

    raise invalid_argument(f"Unsupported field filter operator {op}.")


def _compile_unary_filter(unary: Any) -> tuple[Matcher, list[FieldPath]]:
    path = fieldpaths.parse(unary.field.field_path)
    op = int(unary.op)
    inequality = [path] if op in _INEQUALITY_UNARY_OPS else []

    def present(document: DocumentPb) -> ValuePb | None:
        return value_at(document, path)

    if op == _UnaryOp.IS_NULL:

        def is_null(document: DocumentPb) -> bool:
            value = present(document)
            return value is not None and values.is_null(value)

        return is_null, inequality
    if op == _UnaryOp.IS_NAN:

        def is_nan(document: DocumentPb) -> bool:
            value = present(document)
            return value is not None and values.is_nan(value)

        return is_nan, inequality
    if op == _UnaryOp.IS_NOT_NULL:

        def is_not_null(document: DocumentPb) -> bool:
            value = present(document)
            return value is not None and not values.is_null(value)

        return is_not_null, inequality
    if op == _UnaryOp.IS_NOT_NAN:

        def is_not_nan(document: DocumentPb) -> bool:
            value = present(document)
            return value is not None and not values.is_null(value) and not values.is_nan(value)

        return is_not_nan, inequality
    raise invalid_argument(f"Unsupported unary filter operator {op}.")


def compile_filter(filter_pb: Any) -> tuple[Matcher, list[FieldPath]]:
    """A predicate for a `StructuredQuery.Filter` and the inequality fields it uses."""
    kind = filter_pb.WhichOneof("filter_type")
    if kind == "field_filter":
        return _compile_field_filter(filter_pb.field_filter)
    if kind == "unary_filter":
        return _compile_unary_filter(filter_pb.unary_filter)
    if kind == "composite_filter":
        composite = filter_pb.composite_filter
        parts = [compile_filter(child) for child in composite.filters]
        matchers = [matcher for matcher, _ in parts]
        inequality = [path for _, paths in parts for path in paths]
        if int(composite.op) == _CompositeOp.OR:

            def any_matches(document: DocumentPb) -> bool:
                return any(matcher(document) for matcher in matchers)

            return (any_matches if matchers else (lambda document: True)), inequality

        def all_match(document: DocumentPb) -> bool:
            return all(matcher(document) for matcher in matchers)

        return all_match, inequality
    return (lambda document: True), []


# ---------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class Cursor:
    keys: tuple[SortKey, ...]
    before: bool


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    scope: Scope
    matches: Matcher
    orders: tuple[tuple[FieldPath, bool], ...]  # (field, descending)
    start: Cursor | None
    end: Cursor | None
    offset: int
    limit: int | None
    projection: tuple[FieldPath, ...] | None  # None: all fields; (): name only
    nearest: Nearest | None = None  # vector search (vectors.py)

    def accepts(self, path: str, document: DocumentPb | None) -> bool:
        """Whether `document` (at `path`) passes scope and filters, ignoring position."""
        return document is not None and self.scope.contains(path) and self.matches(document)

    def run(self, documents: Iterable[DocumentPb]) -> list[DocumentPb]:
        """The query's results among `documents` (already limited to the scope)."""
        orders = self.orders
        keyed: list[tuple[list[SortKey], DocumentPb]] = []
        for document in documents:
            if not self.matches(document):
                continue
            keys: list[SortKey] = []
            for path, _ in orders:
                key = _key_at(document, path)
                if key is None:
                    break
                keys.append(key)
            else:
                keyed.append((keys, document))
        descending = [desc for _, desc in orders]
        if self.start is not None:
            start = self.start
            keyed = [
                item
                for item in keyed
                if (position := _compare_to_cursor(item[0], start.keys, descending)) > 0
                or (position == 0 and start.before)
            ]
        if self.end is not None:
            end = self.end
            keyed = [
                item
                for item in keyed
                if (position := _compare_to_cursor(item[0], end.keys, descending)) < 0
                or (position == 0 and not end.before)
            ]
        if len(set(descending)) == 1:
            # One direction (the usual case): ordered on every key at once; `__name__` is
            # always last, so no two documents tie and this is the multi-pass order. A page
            # (a limit) is picked from the documents without sorting them all.
            if self.limit is not None and self.nearest is None:
                pick = heapq.nlargest if descending[0] else heapq.nsmallest
                keyed = pick(self.offset + self.limit, keyed, key=_all_keys)
            else:
                keyed.sort(key=_all_keys, reverse=descending[0])
        else:
            for index in range(len(orders) - 1, -1, -1):
                keyed.sort(key=_position_key(index), reverse=orders[index][1])
        results = [document for _, document in keyed]
        if self.nearest is not None:
            return self.nearest.select(results)
        if self.offset:
            results = results[self.offset :]
        if self.limit is not None:
            results = results[: self.limit]
        return results

    def present(self, document: DocumentPb) -> DocumentPb:
        """A result as returned to the client: projected when the query selects fields."""
        if self.projection is None:
            return document
        projected = DOCUMENT_PB(name=document.name)
        projected.create_time.CopyFrom(document.create_time)
        projected.update_time.CopyFrom(document.update_time)
        fieldpaths.project(document.fields, projected.fields, self.projection)
        return projected


def _all_keys(item: tuple[list[SortKey], DocumentPb]) -> list[SortKey]:
    return item[0]


def _position_key(index: int) -> Callable[[tuple[list[SortKey], DocumentPb]], SortKey]:
    def key(item: tuple[list[SortKey], DocumentPb]) -> SortKey:
        return item[0][index]

    return key


def _compare_to_cursor(
    keys: list[SortKey], cursor: tuple[SortKey, ...], descending: list[bool]
) -> int:
    for index, cursor_key in enumerate(cursor):
        key = keys[index]
        if key != cursor_key:
            result = -1 if key < cursor_key else 1
            return -result if descending[index] else result
    return 0


def _compile_cursor(cursor: Any, orders: Sequence[tuple[FieldPath, bool]]) -> Cursor:
    cursor_values = list(cursor.values)
    if len(cursor_values) > len(orders):
        raise invalid_argument("Too many cursor values: a cursor has one value per order by.")
    keys = []
    for value, (path, _) in zip(cursor_values, orders, strict=False):
        if path == NAME_PATH and value.WhichOneof("value_type") != "reference_value":
            raise invalid_argument("A cursor value for __name__ must be a document reference.")
        keys.append(values.sort_key(value))
    return Cursor(tuple(keys), bool(cursor.before))


def compile_query(parent: str, query: Any) -> CompiledQuery:
    """Compile a raw `StructuredQuery` run under the relative `parent` path."""
    if len(query.from_) != 1:
        raise invalid_argument("A query must select exactly one collection (from).")
    selector = query.from_[0]
    if not selector.collection_id and not selector.all_descendants:
        raise invalid_argument("A query needs a collection id unless it is a kindless query.")
    if "/" in selector.collection_id:
        raise invalid_argument(f"Invalid collection id {selector.collection_id!r}.")
    scope = Scope(parent, selector.collection_id, bool(selector.all_descendants))

    if query.HasField("where"):
        matches, inequality_paths = compile_filter(query.where)
    else:
        matches, inequality_paths = (lambda document: True), []

    orders: list[tuple[FieldPath, bool]] = [
        (fieldpaths.parse(order.field.field_path), int(order.direction) == _DESCENDING)
        for order in query.order_by
    ]
    ordered = {path for path, _ in orders}
    last_descending = orders[-1][1] if orders else False
    for path in sorted(set(inequality_paths) - ordered):
        orders.append((path, last_descending))
        ordered.add(path)
    if NAME_PATH not in ordered:
        orders.append((NAME_PATH, last_descending))

    start = _compile_cursor(query.start_at, orders) if query.HasField("start_at") else None
    end = _compile_cursor(query.end_at, orders) if query.HasField("end_at") else None
    if query.offset < 0:
        raise invalid_argument("offset must not be negative.")
    limit = None
    if query.HasField("limit"):
        if query.limit.value < 0:
            raise invalid_argument("limit must not be negative.")
        limit = query.limit.value

    projection: tuple[FieldPath, ...] | None = None
    if query.HasField("select"):
        paths = [fieldpaths.parse(field.field_path) for field in query.select.fields]
        projection = tuple(path for path in paths if path != NAME_PATH)

    return CompiledQuery(
        scope=scope,
        matches=matches,
        orders=tuple(orders),
        start=start,
        end=end,
        offset=int(query.offset),
        limit=limit,
        projection=projection,
        nearest=compile_nearest(query.find_nearest, query)
        if query.HasField("find_nearest")
        else None,
    )


# ---------------------------------------------------------------- aggregations


@dataclass(frozen=True, slots=True)
class Aggregation:
    alias: str
    kind: str  # "count", "sum" or "avg"
    path: FieldPath | None
    up_to: int | None


MAX_AGGREGATIONS = 5


def compile_aggregations(aggregations: Sequence[Any]) -> list[Aggregation]:
    if not aggregations:
        raise invalid_argument("An aggregation query needs at least one aggregation.")
    if len(aggregations) > MAX_AGGREGATIONS:
        raise invalid_argument(
            f"Too many aggregations: the maximum number of aggregations is {MAX_AGGREGATIONS}."
        )
    compiled = []
    generated = 0
    aliases: set[str] = set()
    for aggregation in aggregations:
        alias = aggregation.alias
        if not alias:
            generated += 1
            alias = f"field_{generated}"
        if alias in aliases:
            raise invalid_argument(f"Duplicate aggregation alias {alias!r}.")
        aliases.add(alias)
        kind = aggregation.WhichOneof("operator")
        if kind == "count":
            up_to = None
            if aggregation.count.HasField("up_to"):
                up_to = aggregation.count.up_to.value
                if up_to <= 0:
                    raise invalid_argument("count up_to must be greater than zero.")
            compiled.append(Aggregation(alias, "count", None, up_to))
        elif kind in ("sum", "avg"):
            field = getattr(aggregation, kind).field
            compiled.append(Aggregation(alias, kind, fieldpaths.parse(field.field_path), None))
        else:
            raise invalid_argument("Unsupported aggregation.")
    return compiled


def aggregated_query(query: CompiledQuery, aggregations: Sequence[Aggregation]) -> CompiledQuery:
    """The query an aggregation really ranges over, as production evaluates it.

    Production computes `sum` and `avg` by scanning the aggregated fields' indexes,
    so only documents that have every aggregated field (of any type; non-numbers
    are then skipped) are in range, for every aggregation of the query (`count`
    included), and before the query's offset and limit: a `sum` over
    `collection.limit(12)` adds up the first 12 documents that have the field.
    """
    paths = tuple(dict.fromkeys(a.path for a in aggregations if a.path is not None))
    if not paths:
        return query
    matches = query.matches

    def has_every_field(document: DocumentPb) -> bool:
        return matches(document) and all(
            fieldpaths.get(document.fields, path) is not None for path in paths
        )

    return replace(query, matches=has_every_field)


def aggregate(aggregation: Aggregation, documents: Sequence[DocumentPb]) -> ValuePb:
    """The value of one aggregation over the query's results."""
    if aggregation.kind == "count":
        count = len(documents)
        if aggregation.up_to is not None:
            count = min(count, aggregation.up_to)
        return values.number_value(count)
    assert aggregation.path is not None
    integer_total = 0
    double_total = 0.0
    seen_double = False
    count = 0
    for document in documents:
        value = fieldpaths.get(document.fields, aggregation.path)
        if value is None or not values.is_number(value):
            continue
        count += 1
        if value.WhichOneof("value_type") == "integer_value":
            integer_total += value.integer_value
        else:
            seen_double = True
            double_total += value.double_value
    if aggregation.kind == "sum":
        if not seen_double and values.INT64_MIN <= integer_total <= values.INT64_MAX:
            return values.number_value(integer_total)
        return values.number_value(_as_double(integer_total) + double_total)
    if count == 0:
        return values.null_value()
    return values.number_value((_as_double(integer_total) + double_total) / count)


def _as_double(number: int) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.copysign(math.inf, number)
