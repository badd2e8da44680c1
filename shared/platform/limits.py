"""Firestore's hard limits, checked before a commit so that no environment can pass a
transaction production would refuse (docs/architecture.md#transactions).

Sizes follow Google's documented storage-size rules: a string is its UTF-8 bytes plus 1;
an integer, a float and a timestamp 8; a boolean and null 1; a map the sizes of its keys
and values; an array the sizes of its values; a document name the sizes of its path
segments plus 16; a document its name, its fields and 32 bytes.

| limit | value |
|---|---|
| one document | 1 MiB (1,048,576 bytes) |
| one commit (request) | 10 MiB; there is no cap on the number of writes |
| a transaction's life | 270 seconds |
| nesting of maps and arrays | 20 levels |
| index entries of one document | 40,000 |

A transaction that would break one raises `TransactionLimitExceeded` naming the operation:
it is a bug to fix by splitting the work (a chunked plan), never an input error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

MAX_DOCUMENT_BYTES = 1_048_576
MAX_REQUEST_BYTES = 10 * 1_048_576
MAX_TRANSACTION_SECONDS = 270.0
MAX_DEPTH = 20
MAX_INDEX_ENTRIES = 40_000
_DOCUMENT_OVERHEAD = 32
_NAME_OVERHEAD = 16


class TransactionLimitExceeded(RuntimeError):
    """A transaction would break one of Firestore's limits (see the module docstring)."""


def string_size(text: str) -> int:
    return len(text.encode("utf-8")) + 1


def value_size(value: Any, depth: int = 1, *, where: str = "") -> int:
    """Firestore's storage size of one field value; `TransactionLimitExceeded` past the
    nesting limit."""
    if depth > MAX_DEPTH:
        raise TransactionLimitExceeded(
            f"{where}: maps and arrays nest deeper than Firestore's {MAX_DEPTH} levels"
        )
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float | datetime):
        return 8
    if isinstance(value, str):
        return string_size(value)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Mapping):
        return sum(
            string_size(str(key)) + value_size(item, depth + 1, where=where)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return sum(value_size(item, depth + 1, where=where) for item in value)
    return 8  # transforms (increments) and other sentinels: a number's size


def index_entries(data: Mapping[str, Any]) -> int:
    """An upper estimate of a document's single-field index entries (two per value)."""
    count = 0
    pending: list[Any] = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
            count += len(value)  # array-contains entries
        else:
            count += 2  # ascending and descending
    return count


def document_size(collection: str, doc_id: str, data: Mapping[str, Any]) -> int:
    """The stored size of `collection/doc_id` holding `data`."""
    name = sum(string_size(part) for part in collection.split("/")) + string_size(doc_id)
    fields = sum(
        string_size(key) + value_size(value, where=f"{collection}/{doc_id}.{key}")
        for key, value in data.items()
    )
    return name + _NAME_OVERHEAD + fields + _DOCUMENT_OVERHEAD


def check_document(operation: str, collection: str, doc_id: str, data: Mapping[str, Any]) -> int:
    """The document's size, or `TransactionLimitExceeded` naming `operation` when it breaks
    the document size or index-entry limit."""
    size = document_size(collection, doc_id, data)
    if size > MAX_DOCUMENT_BYTES:
        raise TransactionLimitExceeded(
            f"{operation} writes {collection}/{doc_id} of {size:,} bytes; Firestore holds "
            f"at most {MAX_DOCUMENT_BYTES:,} bytes in one document"
        )
    entries = index_entries(data)
    if entries > MAX_INDEX_ENTRIES:
        raise TransactionLimitExceeded(
            f"{operation} writes {collection}/{doc_id} with about {entries:,} index entries; "
            f"Firestore allows {MAX_INDEX_ENTRIES:,}"
        )
    return size


def check_commit(operation: str, request_bytes: int, elapsed_s: float) -> None:
    """`TransactionLimitExceeded` naming `operation` when a commit is too large or too late."""
    if request_bytes > MAX_REQUEST_BYTES:
        raise TransactionLimitExceeded(
            f"{operation} commits {request_bytes:,} bytes in one transaction; Firestore takes "
            f"at most {MAX_REQUEST_BYTES:,} bytes in one request: split it into chunks"
        )
    if elapsed_s > MAX_TRANSACTION_SECONDS:
        raise TransactionLimitExceeded(
            f"{operation} ran {elapsed_s:.0f} s in one transaction; Firestore expires a "
            f"transaction after {MAX_TRANSACTION_SECONDS:.0f} s"
        )
