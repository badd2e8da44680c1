"""Field paths (`a.b`, `` `odd.key`.c ``) and nested field access on documents.

A field path is a dot-separated list of segments. A segment is either simple
(`[_a-zA-Z][_a-zA-Z0-9]*`) or quoted with backticks, inside which a backslash
escapes the next character (`` `a\\`b` `` is the key ``a`b``). This is the
syntax of `Document.fields`, `DocumentMask.field_paths`, transforms and
queries. Parsed paths are tuples of plain keys.

The nested helpers read and modify the `fields` map of a raw protobuf
`Document` (or of a `MapValue`): setting a path creates intermediate maps and
replaces non-map values in the way; deleting a path that is absent is a no-op.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from emulators.firestore.errors import invalid_argument
from emulators.firestore.values import ValuePb

FieldPath = tuple[str, ...]
FieldsMap = Any  # protobuf map<string, Value> (Document.fields or MapValue.fields)

NAME_FIELD = "__name__"
_SIMPLE_SEGMENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")


def parse(path: str) -> FieldPath:
    """Split a field path into its keys; INVALID_ARGUMENT when malformed."""
    if not path:
        raise invalid_argument("Field path must not be empty.")
    segments: list[str] = []
    position = 0
    length = len(path)
    while True:
        if position < length and path[position] == "`":
            position += 1
            key: list[str] = []
            while True:
                if position >= length:
                    raise invalid_argument(f"Unterminated backtick in field path {path!r}.")
                char = path[position]
                if char == "\\":
                    if position + 1 >= length:
                        raise invalid_argument(f"Dangling escape in field path {path!r}.")
                    key.append(path[position + 1])
                    position += 2
                elif char == "`":
                    position += 1
                    break
                else:
                    key.append(char)
                    position += 1
            if not key:
                raise invalid_argument(f"Empty quoted segment in field path {path!r}.")
            segments.append("".join(key))
        else:
            match = _SIMPLE_SEGMENT.match(path, position)
            if match is None:
                raise invalid_argument(
                    f"Invalid field path {path!r}: segments that are not simple identifiers "
                    "must be quoted with backticks."
                )
            segments.append(match.group(0))
            position = match.end()
        if position == length:
            return tuple(segments)
        if path[position] != ".":
            raise invalid_argument(f"Invalid field path {path!r}.")
        position += 1


def render(path: Iterable[str]) -> str:
    """The canonical string form of a parsed path (quoting keys that need it)."""
    parts = []
    for key in path:
        if _SIMPLE_SEGMENT.fullmatch(key):
            parts.append(key)
        else:
            parts.append("`" + key.replace("\\", "\\\\").replace("`", "\\`") + "`")
    return ".".join(parts)


def get(fields: FieldsMap, path: FieldPath) -> ValuePb | None:
    """The value at `path`, or None when any segment is missing or not a map."""
    current = fields
    last = len(path) - 1
    for index, key in enumerate(path):
        if key not in current:
            return None
        value = current[key]
        if index == last:
            return value
        if value.WhichOneof("value_type") != "map_value":
            return None
        current = value.map_value.fields
    return None


def set_value(fields: FieldsMap, path: FieldPath, value: ValuePb) -> None:
    """Store a copy of `value` at `path`, creating (or replacing with) maps on the way."""
    current = fields
    for key in path[:-1]:
        holder = current[key]  # creates an unset Value when absent
        if holder.WhichOneof("value_type") != "map_value":
            holder.map_value.SetInParent()
            holder.map_value.fields.clear()
        current = holder.map_value.fields
    current[path[-1]].CopyFrom(value)


def delete(fields: FieldsMap, path: FieldPath) -> None:
    """Remove the value at `path` if present."""
    current = fields
    for key in path[:-1]:
        if key not in current:
            return
        holder = current[key]
        if holder.WhichOneof("value_type") != "map_value":
            return
        current = holder.map_value.fields
    if path[-1] in current:
        del current[path[-1]]


def project(source: FieldsMap, target: FieldsMap, paths: Iterable[FieldPath]) -> None:
    """Copy only the given paths from `source` into the empty map `target`."""
    for path in paths:
        value = get(source, path)
        if value is not None:
            set_value(target, path, value)


def is_prefix(prefix: FieldPath, path: FieldPath) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix
