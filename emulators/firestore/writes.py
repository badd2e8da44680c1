"""Applying one `Write` to a document: preconditions, update masks, transforms.

`apply_write` is pure: given the document as it stands (or None) it returns
the document after the write without touching storage, so the engine can
check preconditions, lock conflicts and read validation for a whole commit
before installing anything (all-or-nothing).

Precondition failures use production's status codes and messages: `exists=true`
on a missing document → NOT_FOUND "No document to update: <name>", `exists=false`
on an existing one → ALREADY_EXISTS "Document already exists: <name>", an
`update_time` that does not match → FAILED_PRECONDITION "the stored version (<µs>)
does not match the required base version (<µs>)" (a missing document is version 0).
A write that leaves the fields exactly as they were keeps the document's
`update_time` (WriteResult.update_time is then the previous one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from google.cloud.firestore_v1.types import write as write_types

from emulators.firestore import fieldpaths, values
from emulators.firestore.errors import (
    already_exists,
    failed_precondition,
    invalid_argument,
    not_found,
)
from emulators.firestore.queries import DOCUMENT_PB
from emulators.firestore.storage import set_timestamp, timestamp_to_micros
from emulators.firestore.values import ValuePb

DocumentPb = Any
WritePb = Any

_ServerValue = write_types.DocumentTransform.FieldTransform.ServerValue


@dataclass
class AppliedWrite:
    """The outcome of one write against one document state."""

    path: str
    before: DocumentPb | None
    after: DocumentPb | None
    changed: bool
    transform_results: list[ValuePb] = field(default_factory=list)
    # The top-level fields the write may have changed (its mask's and transforms'), or None
    # for every field (a whole document written).
    touched: frozenset[str] | None = None


def write_target(write: WritePb) -> str:
    """The full document name a write addresses."""
    kind = write.WhichOneof("operation")
    if kind == "update":
        return str(write.update.name)
    if kind == "delete":
        return str(write.delete)
    if kind == "transform":
        return str(write.transform.document)
    raise invalid_argument("A write must set one of update, delete or transform.")


def check_precondition(write: WritePb, name: str, current: DocumentPb | None) -> None:
    if not write.HasField("current_document"):
        return
    precondition = write.current_document
    kind = precondition.WhichOneof("condition_type")
    if kind == "exists":
        if precondition.exists and current is None:
            verb = "delete" if write.WhichOneof("operation") == "delete" else "update"
            raise not_found(f"No document to {verb}: {name}")
        if not precondition.exists and current is not None:
            raise already_exists(f"Document already exists: {name}")
    elif kind == "update_time":
        # Production's words, versions in microseconds; a missing document is version 0.
        wanted = timestamp_to_micros(precondition.update_time)
        actual = 0 if current is None else timestamp_to_micros(current.update_time)
        if actual != wanted:
            raise failed_precondition(
                f"the stored version ({actual}) does not match the required base version ({wanted})"
            )


def apply_write(
    write: WritePb, path: str, name: str, current: DocumentPb | None, commit_micros: int
) -> AppliedWrite:
    """The document after `write` (see module doc); raises RpcError on failure."""
    check_precondition(write, name, current)
    kind = write.WhichOneof("operation")
    if kind == "delete":
        return AppliedWrite(path, current, None, current is not None)

    after = DOCUMENT_PB(name=name)
    masked: set[str] = set()
    whole = False  # a whole document written: every field may change
    if kind == "update":
        update = write.update
        if write.HasField("update_mask"):
            if current is not None:
                after.CopyFrom(current)  # its times are set below
                after.name = name
            for raw_path in write.update_mask.field_paths:
                field_path = fieldpaths.parse(raw_path)
                masked.add(field_path[0])
                value = fieldpaths.get(update.fields, field_path)
                if value is None:
                    fieldpaths.delete(after.fields, field_path)
                else:
                    fieldpaths.set_value(after.fields, field_path, value)
        else:
            after.fields.MergeFrom(update.fields)
            whole = True
        transforms = write.update_transforms
    else:  # a standalone transform (the older wire form)
        if current is not None:
            after.CopyFrom(current)  # its times are set below
            after.name = name
        transforms = write.transform.field_transforms

    results = [_apply_transform(after.fields, transform, commit_micros) for transform in transforms]
    masked.update(fieldpaths.parse(transform.field_path)[0] for transform in transforms)
    touched = None if whole else frozenset(masked)

    if current is not None:
        after.create_time.CopyFrom(current.create_time)
        after.update_time.CopyFrom(current.update_time)
        # Same name and times: the documents are equal exactly when their fields are (one
        # comparison in the protobuf runtime, not one per field in Python).
        if after == current:
            return AppliedWrite(path, current, current, False, results)
    else:
        set_timestamp(after.create_time, commit_micros)
    set_timestamp(after.update_time, commit_micros)
    return AppliedWrite(path, current, after, True, results, touched)


def _apply_transform(fields: Any, transform: Any, commit_micros: int) -> ValuePb:
    path = fieldpaths.parse(transform.field_path)
    current = fieldpaths.get(fields, path)
    kind = transform.WhichOneof("transform_type")
    if kind == "set_to_server_value":
        if transform.set_to_server_value != _ServerValue.REQUEST_TIME:
            raise invalid_argument("Unsupported server value.")
        result = values.VALUE_PB()
        set_timestamp(result.timestamp_value, commit_micros)
    elif kind == "increment":
        result = _increment(current, _numeric_operand(transform.increment, "increment"))
    elif kind == "maximum":
        result = _extreme(current, _numeric_operand(transform.maximum, "maximum"), larger=True)
    elif kind == "minimum":
        result = _extreme(current, _numeric_operand(transform.minimum, "minimum"), larger=False)
    elif kind == "append_missing_elements":
        existing = _array_items(current)
        keys = [values.sort_key(item) for item in existing]
        for item in transform.append_missing_elements.values:
            key = values.sort_key(item)
            if key not in keys:
                existing.append(item)
                keys.append(key)
        fieldpaths.set_value(fields, path, _array_of(existing))
        return values.null_value()
    elif kind == "remove_all_from_array":
        existing = _array_items(current)
        removed = {values.sort_key(item) for item in transform.remove_all_from_array.values}
        kept = [item for item in existing if values.sort_key(item) not in removed]
        fieldpaths.set_value(fields, path, _array_of(kept))
        return values.null_value()
    else:
        raise invalid_argument("A field transform must set a transform type.")
    fieldpaths.set_value(fields, path, result)
    return result


def _array_items(current: ValuePb | None) -> list[ValuePb]:
    if current is None or not values.is_array(current):
        return []
    return list(current.array_value.values)


def _numeric_operand(operand: ValuePb, name: str) -> ValuePb:
    if not values.is_number(operand):
        raise invalid_argument(f"The {name} transform needs an integer or double operand.")
    return operand


def _increment(current: ValuePb | None, operand: ValuePb) -> ValuePb:
    if current is None or not values.is_number(current):
        return _copy(operand)
    left, right = values.numeric(current), values.numeric(operand)
    if isinstance(left, int) and isinstance(right, int):
        return values.number_value(values.saturate_int64(left + right))
    return values.number_value(float(left) + float(right))


def _extreme(current: ValuePb | None, operand: ValuePb, *, larger: bool) -> ValuePb:
    if current is None or not values.is_number(current):
        return _copy(operand)
    left, right = values.numeric(current), values.numeric(operand)
    if (isinstance(left, float) and math.isnan(left)) or (
        isinstance(right, float) and math.isnan(right)
    ):
        return values.number_value(math.nan)
    # Equivalent operands (3 and 3.0, 0 and -0.0) keep the stored value and its type.
    takes_operand = right > left if larger else right < left
    return _copy(operand) if takes_operand else _copy(current)


def _copy(value: ValuePb) -> ValuePb:
    result = values.VALUE_PB()
    result.CopyFrom(value)
    return result


def _array_of(items: list[ValuePb]) -> ValuePb:
    result = values.VALUE_PB()
    result.array_value.SetInParent()
    result.array_value.values.extend(items)
    return result
