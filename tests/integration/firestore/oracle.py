"""A small, independent model of Firestore query semantics over decoded Python values.

The query tests compare the emulator against this oracle on random documents.
It works on what the client hands back (None, bool, int, float, datetime,
str, bytes, DocumentReference, GeoPoint, list, dict), so it shares no code
with the emulator, which works on protobuf values.

Firestore's order across types: null < booleans < numbers (NaN first) <
timestamps < strings < bytes < references < geo points < arrays < maps.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from typing import Any

from google.cloud.firestore_v1 import DocumentReference, GeoPoint

MISSING = object()


def type_rank(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return 2
    if isinstance(value, datetime.datetime):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, bytes):
        return 5
    if isinstance(value, DocumentReference):
        return 6
    if isinstance(value, GeoPoint):
        return 7
    if isinstance(value, list):
        return 8
    if isinstance(value, dict):
        return 10
    raise TypeError(f"no Firestore type for {value!r}")


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1 in Firestore's total order."""
    left_rank, right_rank = type_rank(left), type_rank(right)
    if left_rank != right_rank:
        return -1 if left_rank < right_rank else 1
    if left_rank == 0:
        return 0
    if left_rank == 2:
        left_nan = isinstance(left, float) and math.isnan(left)
        right_nan = isinstance(right, float) and math.isnan(right)
        if left_nan or right_nan:
            return (right_nan - left_nan) if not (left_nan and right_nan) else 0
    if left_rank == 6:
        left, right = left._path, right._path
    if left_rank == 7:
        left, right = (left.latitude, left.longitude), (right.latitude, right.longitude)
    if left_rank == 8:
        for left_item, right_item in zip(left, right, strict=False):
            result = compare(left_item, right_item)
            if result:
                return result
        return (len(left) > len(right)) - (len(left) < len(right))
    if left_rank == 10:
        for left_key, right_key in zip(sorted(left), sorted(right), strict=False):
            if left_key != right_key:
                return -1 if left_key < right_key else 1
            result = compare(left[left_key], right[right_key])
            if result:
                return result
        return (len(left) > len(right)) - (len(left) < len(right))
    return (left > right) - (left < right)


def equal(left: Any, right: Any) -> bool:
    return compare(left, right) == 0


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def is_null_or_nan(value: Any) -> bool:
    return value is None or is_nan(value)


def matches(op: str, field: Any, operand: Any) -> bool:
    """Whether a document whose field is `field` (or MISSING) passes `field <op> operand`."""
    if field is MISSING:
        return False
    if op == "==" and operand is None:
        return field is None
    if op == "==" and is_nan(operand):
        return is_nan(field)
    if op == "!=" and operand is None:
        return field is not None
    if op == "!=" and is_nan(operand):
        return field is not None and not is_nan(field)
    if op == "==":
        return equal(field, operand)
    if op == "!=":
        return field is not None and not equal(field, operand)
    if op in ("<", "<=", ">", ">="):
        if type_rank(field) != type_rank(operand):
            return False
        result = compare(field, operand)
        return {"<": result < 0, "<=": result <= 0, ">": result > 0, ">=": result >= 0}[op]
    if op == "in":
        return any(equal(field, item) for item in operand if not is_null_or_nan(item))
    if op == "not-in":
        if any(item is None for item in operand) or field is None:
            return False
        return not any(equal(field, item) for item in operand)
    if op == "array_contains":
        return (
            isinstance(field, list)
            and not is_null_or_nan(operand)
            and any(equal(item, operand) for item in field)
        )
    if op == "array_contains_any":
        wanted = [item for item in operand if not is_null_or_nan(item)]
        return isinstance(field, list) and any(
            equal(item, other) for item in field for other in wanted
        )
    raise ValueError(op)


INEQUALITIES = {"<", "<=", ">", ">=", "!=", "not-in"}


def expected_ids(
    documents: dict[str, dict[str, Any]],
    field: str,
    op: str,
    operand: Any,
    order_key: Callable[[str], Any] | None = None,
) -> list[str]:
    """Ids of the documents matching one filter, in the order Firestore returns them."""
    found = [
        doc_id
        for doc_id, data in documents.items()
        if matches(op, data.get(field, MISSING), operand)
    ]
    inequality = op in INEQUALITIES or (op == "!=" and is_null_or_nan(operand))
    return sort_ids(found, documents, field if inequality else None)


def sort_ids(
    ids: Sequence[str], documents: dict[str, dict[str, Any]], field: str | None
) -> list[str]:
    """Ids sorted by `field` (when given) and then by id, ascending."""
    import functools

    def by_position(left: str, right: str) -> int:
        if field is not None:
            result = compare(documents[left][field], documents[right][field])
            if result:
                return result
        return (left > right) - (left < right)

    return sorted(ids, key=functools.cmp_to_key(by_position))
