"""Firestore values as the backend orders and compares them.

Every `google.firestore.v1.Value` maps to a *sort key*: a plain Python tuple whose
natural ordering is Firestore's total order across types

    null < booleans < numbers (NaN first) < timestamps < strings < bytes
         < references < geo points < arrays < vectors < maps

so queries can sort with `sorted(..., key=...)` and compare cursors with `<`.
Integers and doubles share one numeric class and compare by mathematical value
(Python compares `int` and `float` exactly), so `1 == 1.0` and `-0.0 == 0.0`.
Strings compare by code point, which is the same order as their UTF-8 bytes.
References compare segment by segment. Maps compare key by key (keys sorted),
then by size; vectors (maps tagged `__type__: "__vector__"`) by size, then
element by element.

The helpers here work on raw protobuf messages (`Value._pb`), never on the
proto-plus wrappers, because they run for every document of every query.
"""

from __future__ import annotations

import math
import re
from typing import Any

from google.cloud.firestore_v1.types import document as document_types

ValuePb = Any  # google.firestore.v1.Value (raw protobuf message)
SortKey = tuple[Any, ...]

NULL = 0
BOOLEAN = 1
NUMBER = 2
TIMESTAMP = 3
STRING = 4
BYTES = 5
REFERENCE = 6
GEO_POINT = 7
ARRAY = 8
VECTOR = 9
MAP = 10

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

VALUE_PB = document_types.Value.pb()
ARRAY_VALUE_PB = document_types.ArrayValue.pb()
MAP_VALUE_PB = document_types.MapValue.pb()

_NAN_KEY: SortKey = (NUMBER, 0)
_NUMERIC_ID = re.compile(r"^__id(-?\d+)__$")
_NULL_KEY: SortKey = (NULL,)


def _is_vector(value: ValuePb) -> bool:
    fields = value.map_value.fields
    return "__type__" in fields and fields["__type__"].string_value == "__vector__"


def sort_key(value: ValuePb) -> SortKey:
    """The tuple that orders `value` the way Firestore orders it (see module doc)."""
    kind = value.WhichOneof("value_type")
    if kind == "integer_value":
        return (NUMBER, 1, value.integer_value)
    if kind == "string_value":
        return (STRING, value.string_value)
    if kind == "double_value":
        number = value.double_value
        if math.isnan(number):
            return _NAN_KEY
        return (NUMBER, 1, number)
    if kind == "boolean_value":
        return (BOOLEAN, value.boolean_value)
    if kind == "timestamp_value":
        stamp = value.timestamp_value
        return (TIMESTAMP, stamp.seconds, stamp.nanos)
    if kind == "null_value" or kind is None:
        return _NULL_KEY
    if kind == "bytes_value":
        return (BYTES, value.bytes_value)
    if kind == "reference_value":
        return reference_key(value.reference_value)
    if kind == "geo_point_value":
        point = value.geo_point_value
        return (GEO_POINT, point.latitude, point.longitude)
    if kind == "array_value":
        return (ARRAY, tuple(sort_key(item) for item in value.array_value.values))
    # map_value
    fields = value.map_value.fields
    if _is_vector(value):
        items = fields["value"].array_value.values if "value" in fields else ()
        return (VECTOR, len(items), tuple(sort_key(item) for item in items))
    return (MAP, tuple((name, sort_key(fields[name])) for name in sorted(fields)))


def _segment_key(segment: str) -> tuple[int, int | str]:
    # Ids of the form __id<n>__ are numeric ids: they sort first, by number.
    match = _NUMERIC_ID.match(segment)
    return (0, int(match.group(1))) if match else (1, segment)


def reference_key(path: str) -> SortKey:
    """The sort key of a document reference (or name): segment by segment."""
    return (REFERENCE, tuple(_segment_key(segment) for segment in path.split("/")))


def type_class(value: ValuePb) -> int:
    """The ordering class of `value` (integers and doubles share NUMBER)."""
    kind = value.WhichOneof("value_type")
    if kind == "map_value":
        return VECTOR if _is_vector(value) else MAP
    return _KIND_CLASS.get(kind, NULL)


_KIND_CLASS = {
    "null_value": NULL,
    "boolean_value": BOOLEAN,
    "integer_value": NUMBER,
    "double_value": NUMBER,
    "timestamp_value": TIMESTAMP,
    "string_value": STRING,
    "bytes_value": BYTES,
    "reference_value": REFERENCE,
    "geo_point_value": GEO_POINT,
    "array_value": ARRAY,
}


def is_null(value: ValuePb) -> bool:
    return value.WhichOneof("value_type") in ("null_value", None)


def is_nan(value: ValuePb) -> bool:
    return bool(value.WhichOneof("value_type") == "double_value" and math.isnan(value.double_value))


def is_number(value: ValuePb) -> bool:
    return value.WhichOneof("value_type") in ("integer_value", "double_value")


def is_array(value: ValuePb) -> bool:
    return bool(value.WhichOneof("value_type") == "array_value")


def equal(left: ValuePb, right: ValuePb) -> bool:
    """Firestore equality: numbers by value across int/double, NaN equals NaN."""
    return sort_key(left) == sort_key(right)


def numeric(value: ValuePb) -> int | float:
    """The Python number held by an integer or double value."""
    if value.WhichOneof("value_type") == "integer_value":
        return int(value.integer_value)
    return float(value.double_value)


def number_value(number: int | float) -> ValuePb:
    """A Value holding `number`: an integer value for `int`, a double for `float`."""
    result = VALUE_PB()
    if isinstance(number, bool):
        raise TypeError("booleans are not numbers")
    if isinstance(number, int):
        result.integer_value = number
    else:
        result.double_value = number
    return result


def null_value() -> ValuePb:
    result = VALUE_PB()
    result.null_value = 0
    return result


def saturate_int64(number: int) -> int:
    """Clamp an exact integer to int64, as increments do on overflow."""
    return max(INT64_MIN, min(INT64_MAX, number))
