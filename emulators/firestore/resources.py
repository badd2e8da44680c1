"""Resource names: databases, document roots and documents.

A database is `projects/{project}/databases/{database}`; its documents live
under `.../documents`, and a document name continues with an even number of
segments (`collection/doc[/collection/doc...]`). Inside the emulator a
document is identified by its database id and its *relative path*
(`loans/L1/installments/3`); full names are rebuilt only for responses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulators.firestore.errors import invalid_argument

_RESERVED_ID = re.compile(r"^__.*__$")


@dataclass(frozen=True, slots=True)
class DatabaseId:
    project: str
    database: str

    @property
    def name(self) -> str:
        return f"projects/{self.project}/databases/{self.database}"

    @property
    def documents_root(self) -> str:
        return f"projects/{self.project}/databases/{self.database}/documents"

    def document_name(self, path: str) -> str:
        return f"projects/{self.project}/databases/{self.database}/documents/{path}"


def parse_database(name: str) -> DatabaseId:
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != "databases":
        raise invalid_argument(f"Invalid database name {name!r}.")
    if not parts[1] or not parts[3]:
        raise invalid_argument(f"Invalid database name {name!r}.")
    return DatabaseId(parts[1], parts[3])


def _split(name: str) -> tuple[DatabaseId, list[str]]:
    parts = name.split("/")
    if (
        len(parts) < 5
        or parts[0] != "projects"
        or parts[2] != "databases"
        or parts[4] != "documents"
        or not parts[1]
        or not parts[3]
    ):
        raise invalid_argument(f"Invalid resource name {name!r}.")
    return DatabaseId(parts[1], parts[3]), parts[5:]


def _check_segments(name: str, segments: list[str]) -> None:
    for index, segment in enumerate(segments):
        if not segment or segment in (".", ".."):
            raise invalid_argument(f"Invalid resource name {name!r}: bad segment {segment!r}.")
        if index % 2 == 1 and _RESERVED_ID.match(segment):
            raise invalid_argument(
                f"Document id {segment!r} is reserved (ids matching __.*__ are not allowed)."
            )


def parse_document(name: str, database: DatabaseId | None = None) -> tuple[DatabaseId, str]:
    """A document name → (database, relative path); INVALID_ARGUMENT when malformed."""
    db, segments = _split(name)
    if not segments or len(segments) % 2 != 0:
        raise invalid_argument(f"Invalid document name {name!r}: not a document path.")
    _check_segments(name, segments)
    if database is not None and db != database:
        raise invalid_argument(f"Document {name!r} is not in database {database.name!r}.")
    return db, "/".join(segments)


def parse_parent(name: str, database: DatabaseId | None = None) -> tuple[DatabaseId, str]:
    """A query or listing parent (the documents root or a document) → (database, path).

    The path is "" for the root of the database.
    """
    db, segments = _split(name)
    if len(segments) % 2 != 0:
        raise invalid_argument(f"Invalid parent {name!r}: not a document or the database root.")
    _check_segments(name, segments)
    if database is not None and db != database:
        raise invalid_argument(f"Parent {name!r} is not in database {database.name!r}.")
    return db, "/".join(segments)


def split_document_path(path: str) -> tuple[str, str, str]:
    """`a/b/c/d` → (parent path `a/b`, collection id `c`, document id `d`)."""
    head, _, doc_id = path.rpartition("/")
    parent, _, collection_id = head.rpartition("/")
    return parent, collection_id, doc_id


def validate_collection_id(collection_id: str) -> None:
    if "/" in collection_id or collection_id in (".", ".."):
        raise invalid_argument(f"Invalid collection id {collection_id!r}.")
