"""Production's hard limits on what a write may store, with production's codes and messages.

Firestore refuses, and so does the emulator (Google's "Quotas and limits" page;
the messages are the ones the service returns):

- a request over 10 MiB: INVALID_ARGUMENT "Request payload size exceeds the
  limit: 10485760 bytes." (checked on the serialized request, in `service`).
  There is no limit on the number of writes in a commit (dropped in 2023);
- a document over 1 MiB (1,048,576 bytes), its size computed as Google's
  "Storage size calculations" page documents it (`document_size`):
  INVALID_ARGUMENT "Document '<name>' cannot be written because its size
  (1,048,667 bytes) exceeds the maximum allowed size of 1,048,576 bytes.";
- a field value over 1 MiB - 89 bytes (1,048,487): INVALID_ARGUMENT
  'The value of property "<field>" is longer than 1048487 bytes.';
- maps and arrays nested more than 20 levels deep (a top-level field is level
  0, `a.b.c` is 2 deep): INVALID_ARGUMENT "Property <field> contains an invalid
  nested entity.";
- more than 40,000 index entries: FAILED_PRECONDITION "too many index entries
  for entity". The emulator counts the entries of Firestore's default
  single-field indexes (it has no index configuration): two (ascending and
  descending) per value that is not an array or a map, at any depth of maps,
  and one array-contains entry per distinct element of an array.

Sizes: a string is its UTF-8 bytes + 1; a document name is the string sizes of
its collection and document ids + 16; a document is its name + every field's
name and value + 32. Values: null and booleans 1, integers, doubles and
timestamps 8, geo points 16, bytes their length, references their document
name's size, arrays the sum of their values, vectors 8 per dimension, maps the
sum of their fields' names and values (Google says "calculated the same way as
document size"; the emulator adds no name and no 32 bytes for a map).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from emulators.firestore.errors import RpcError, invalid_argument

MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_VALUE_BYTES = MAX_DOCUMENT_BYTES - 89
MAX_DEPTH = 20
MAX_INDEX_ENTRIES = 40_000

DocumentPb = Any
ValuePb = Any

_FIXED_SIZES = {
    "null_value": 1,
    "boolean_value": 1,
    "integer_value": 8,
    "double_value": 8,
    "timestamp_value": 8,
    "geo_point_value": 16,
}


def request_too_large() -> RpcError:
    return invalid_argument(f"Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes.")


def string_size(text: str) -> int:
    return len(text.encode("utf-8")) + 1


def name_size(path: str) -> int:
    """The size of a document name: its collection and document ids, plus 16."""
    return sum(string_size(segment) for segment in path.split("/")) + 16


@dataclass(slots=True)
class _Measure:
    size: int = 0
    index_entries: int = 0


def _is_vector(value: ValuePb) -> bool:
    fields = value.map_value.fields
    return "__type__" in fields and fields["__type__"].string_value == "__vector__"


def _value(value: ValuePb, depth: int, top_field: str, measure: _Measure) -> int:
    """The size of `value`, adding its index entries to `measure`; checks depth."""
    kind = value.WhichOneof("value_type")
    fixed = _FIXED_SIZES.get(kind or "null_value")
    if fixed is not None:
        measure.index_entries += 2
        return fixed
    if kind == "string_value":
        measure.index_entries += 2
        return string_size(value.string_value)
    if kind == "bytes_value":
        measure.index_entries += 2
        return len(value.bytes_value)
    if kind == "reference_value":
        measure.index_entries += 2
        return name_size(value.reference_value.split("/documents/", 1)[-1])
    if kind == "map_value" and _is_vector(value):
        measure.index_entries += 2
        return 8 * len(value.map_value.fields["value"].array_value.values)
    if depth >= MAX_DEPTH:
        raise invalid_argument(f"Property {top_field} contains an invalid nested entity.")
    if kind == "array_value":
        items = value.array_value.values
        measure.index_entries += len({item.SerializeToString(deterministic=True) for item in items})
        ignored = _Measure()  # array elements are not indexed on their own
        return sum(_value(item, depth + 1, top_field, ignored) for item in items)
    return _fields(value.map_value.fields, depth + 1, top_field, measure)


def _fields(fields: Any, depth: int, top_field: str | None, measure: _Measure) -> int:
    total = 0
    for name, value in fields.items():
        field = top_field if top_field is not None else name
        value_size = _value(value, depth, field, measure)
        if top_field is None and value_size > MAX_VALUE_BYTES:
            raise invalid_argument(
                f'The value of property "{name}" is longer than {MAX_VALUE_BYTES} bytes.'
            )
        total += string_size(name) + value_size
    return total


def measure_document(path: str, document: DocumentPb) -> tuple[int, int]:
    """(size, index entries) of a document as Firestore counts them (see the module doc).

    Raises the value-size and depth errors on the way.
    """
    measure = _Measure()
    size = name_size(path) + _fields(document.fields, 0, None, measure) + 32
    return size, measure.index_entries


# Below this many serialized bytes a document fits every size and index-entry limit:
# each value takes at least 2 protobuf bytes and at most 16 bytes as Firestore counts
# (strings and names a byte more than their length in both), so its Firestore size
# is under 8 x 40,000 + a 6 KiB name + 32 bytes and it has under 20,000 values.
_SURELY_SMALL_BYTES = 40_000


def _check_depth(values: Iterable[tuple[str, ValuePb]], depth: int, top: str | None) -> None:
    """Only the nesting limit: walks maps and arrays, skips every other value."""
    for name, value in values:
        field = top if top is not None else name
        kind = value.WhichOneof("value_type")
        if kind == "map_value":
            if _is_vector(value):
                continue
            if depth >= MAX_DEPTH:
                raise invalid_argument(f"Property {field} contains an invalid nested entity.")
            _check_depth(value.map_value.fields.items(), depth + 1, field)
        elif kind == "array_value":
            if depth >= MAX_DEPTH:
                raise invalid_argument(f"Property {field} contains an invalid nested entity.")
            _check_depth(((field, item) for item in value.array_value.values), depth + 1, field)


def check_document(path: str, document: DocumentPb, touched: Iterable[str] | None = None) -> None:
    """Refuse a document production would refuse to store (see the module docstring).

    `touched`: the only top-level fields a write changed (None: any); the others were
    checked when the version it replaces was stored, so a small document's nesting is
    checked in those alone."""
    if document.ByteSize() < _SURELY_SMALL_BYTES:
        fields = document.fields
        if touched is None:
            _check_depth(fields.items(), 0, None)
        else:
            _check_depth(((name, fields[name]) for name in touched if name in fields), 0, None)
        return
    size, index_entries = measure_document(path, document)
    if size > MAX_DOCUMENT_BYTES:
        raise invalid_argument(
            f"Document '{document.name}' cannot be written because its size ({size:,} bytes) "
            f"exceeds the maximum allowed size of {MAX_DOCUMENT_BYTES:,} bytes."
        )
    if index_entries > MAX_INDEX_ENTRIES:
        raise RpcError(grpc.StatusCode.FAILED_PRECONDITION, "too many index entries for entity")
