"""Pub/Sub schemas: the SchemaService's registry, and validating messages against a schema.

Avro schemas are served in full: create, get, list, commit new revisions, roll back,
delete revisions and schemas, `ValidateSchema`, `ValidateMessage`, and topics whose
`schema_settings` make every Publish validate each message's data, in the topic's
encoding (BINARY: Avro binary, JSON: Avro's JSON encoding), against the schema's
revisions between `first_revision_id` and `last_revision_id`. A message that fits
none is refused with production's INVALID_ARGUMENT "Invalid data in message:
Message failed schema validation.", and a message that fits is delivered with the
attributes production adds: `googclient_schemaname`, `googclient_schemaencoding`
and `googclient_schemarevisionid`. Deleting a schema leaves its topics with the
schema `_deleted-schema_`, whose messages are refused.

Protocol Buffer schemas are refused (UNIMPLEMENTED) wherever they appear: the
emulator has no `.proto` compiler it could run (protoc's Python package needs a
newer protobuf than the client libraries pin), and it will not accept a schema it
cannot check.

Thread-safe: one lock guards the registry.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.pubsub_v1 import types

Schema = types.Schema.pb()
DELETED_SCHEMA = "_deleted-schema_"
AVRO = int(types.Schema.Type.AVRO)
PROTOCOL_BUFFER = int(types.Schema.Type.PROTOCOL_BUFFER)
JSON = int(types.Encoding.JSON)
BINARY = int(types.Encoding.BINARY)
_BASIC = int(types.SchemaView.BASIC)
_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/schemas/(?P<id>[A-Za-z][-A-Za-z0-9._~%+]{2,254})$"
)
_FAILED = "Invalid data in message: Message failed schema validation."


class SchemaError(Exception):
    """A request the SchemaService refuses: a status name and a message."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _invalid(message: str) -> SchemaError:
    return SchemaError("INVALID_ARGUMENT", message)


def _parse_avro(definition: str) -> Any:
    import fastavro  # only schema users pay for the import

    try:
        return fastavro.parse_schema(json.loads(definition))
    except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
        raise _invalid(f"Invalid schema definition: {exc}") from None


def compile_definition(schema_type: int, definition: str) -> Any:
    """The parsed schema, or INVALID_ARGUMENT / UNIMPLEMENTED as production would refuse it."""
    if schema_type == PROTOCOL_BUFFER:
        raise SchemaError(
            "UNIMPLEMENTED",
            "Protocol Buffer schemas are not emulated by the Patungan Pub/Sub emulator; "
            "use an Avro schema.",
        )
    if schema_type != AVRO:
        raise _invalid("A schema needs a type (AVRO or PROTOCOL_BUFFER).")
    if not definition:
        raise _invalid("A schema needs a definition.")
    return _parse_avro(definition)


def fits(parsed: Any, data: bytes, encoding: int) -> bool:
    """Whether `data` is one value of the Avro schema in `encoding`."""
    import fastavro
    from fastavro.json_read import json_reader

    try:
        if encoding == BINARY:
            stream = io.BytesIO(data)
            fastavro.schemaless_reader(stream, parsed)
            return stream.tell() == len(data)
        if encoding == JSON:
            records = list(json_reader(io.StringIO(data.decode("utf-8")), parsed))
            return len(records) == 1 and fastavro.validation.validate(
                records[0], parsed, raise_errors=False
            )
    except Exception:  # any decoding failure means the data does not fit
        return False
    raise _invalid("An encoding (JSON or BINARY) is required.")


@dataclass
class _Revision:
    revision_id: str
    created_ns: int
    schema_type: int
    definition: str
    parsed: Any


@dataclass
class _Registered:
    name: str
    revisions: list[_Revision] = field(default_factory=list)  # oldest first


class SchemaRegistry:
    def __init__(self, on_delete: Callable[[str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._schemas: dict[str, _Registered] = {}
        self._revision_ids = itertools.count(1)
        self._on_delete = on_delete

    # ------------------------------------------------------------ SchemaService

    def create(self, parent: str, schema_id: str, schema: Any) -> Any:
        name = f"{parent}/schemas/{schema_id}"
        self._check_name(name)
        parsed = compile_definition(schema.type_, schema.definition)
        with self._lock:
            if name in self._schemas:
                raise SchemaError("ALREADY_EXISTS", f"Schema already exists (resource={name})")
            registered = self._schemas[name] = _Registered(name)
            return self._add_revision(registered, schema.type_, schema.definition, parsed)

    def get(self, name: str, view: int = 0) -> Any:
        schema_name, revision_id = _split_revision(name)
        with self._lock:
            registered = self._registered(schema_name)
            revision = self._revision(registered, revision_id) if revision_id else None
            return _to_pb(registered, revision or registered.revisions[-1], view)

    def list_schemas(self, parent: str, view: int) -> list[Any]:
        with self._lock:
            return [
                _to_pb(s, s.revisions[-1], view or _BASIC)
                for name, s in sorted(self._schemas.items())
                if name.startswith(parent + "/schemas/")
            ]

    def list_revisions(self, name: str, view: int) -> list[Any]:
        with self._lock:
            registered = self._registered(name)
            return [_to_pb(registered, r, view or _BASIC) for r in reversed(registered.revisions)]

    def commit(self, name: str, schema: Any) -> Any:
        parsed = compile_definition(schema.type_, schema.definition)
        with self._lock:
            registered = self._registered(name)
            if schema.type_ != registered.revisions[-1].schema_type:
                raise _invalid("A new revision must keep the schema's type.")
            return self._add_revision(registered, schema.type_, schema.definition, parsed)

    def rollback(self, name: str, revision_id: str) -> Any:
        with self._lock:
            registered = self._registered(name)
            old = self._revision(registered, revision_id)
            return self._add_revision(registered, old.schema_type, old.definition, old.parsed)

    def delete_revision(self, name: str) -> Any:
        schema_name, revision_id = _split_revision(name)
        if not revision_id:
            raise _invalid("Name the revision to delete as <schema>@<revision_id>.")
        with self._lock:
            registered = self._registered(schema_name)
            revision = self._revision(registered, revision_id)
            if len(registered.revisions) == 1:
                raise SchemaError(
                    "FAILED_PRECONDITION", "The only revision of a schema cannot be deleted."
                )
            registered.revisions.remove(revision)
            return _to_pb(registered, registered.revisions[-1], 0)

    def delete(self, name: str) -> None:
        with self._lock:
            self._registered(name)
            del self._schemas[name]
        if self._on_delete is not None:
            self._on_delete(name)

    def validate_message(self, name: str, schema: Any | None, data: bytes, encoding: int) -> None:
        if schema is not None:
            parsed = compile_definition(schema.type_, schema.definition)
            candidates = [parsed]
        else:
            schema_name, revision_id = _split_revision(name)
            with self._lock:
                registered = self._registered(schema_name)
                revisions = (
                    [self._revision(registered, revision_id)]
                    if revision_id
                    else [registered.revisions[-1]]
                )
            candidates = [revision.parsed for revision in revisions]
        if not any(fits(parsed, data, encoding) for parsed in candidates):
            raise _invalid(_FAILED)

    # ------------------------------------------------------------ topics and publish

    def check_settings(self, settings: Any) -> None:
        """Refuse topic schema settings production would refuse."""
        if not settings.schema:
            return
        if settings.encoding not in (JSON, BINARY):
            raise _invalid("schema_settings.encoding must be JSON or BINARY.")
        with self._lock:
            registered = self._registered(settings.schema)
            for revision_id in (settings.first_revision_id, settings.last_revision_id):
                if revision_id:
                    self._revision(registered, revision_id)

    def accept(self, settings: Any, message: Any) -> None:
        """Validate a message published to a topic with a schema; tag it as production does."""
        if settings.schema == DELETED_SCHEMA:
            raise _invalid(_FAILED)
        with self._lock:
            registered = self._registered(settings.schema)
            revisions = self._in_range(registered, settings)
        for revision in reversed(revisions):  # the newest first
            if fits(revision.parsed, message.data, settings.encoding):
                message.attributes.update(
                    {
                        "googclient_schemaname": registered.name,
                        "googclient_schemaencoding": "JSON"
                        if settings.encoding == JSON
                        else "BINARY",
                        "googclient_schemarevisionid": revision.revision_id,
                    }
                )
                return
        raise _invalid(_FAILED)

    # ------------------------------------------------------------ internals (lock held)

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME.match(name):
            raise _invalid(
                f"Invalid schema name {name!r}: projects/<project>/schemas/<id>, an id of 3-255 "
                "characters starting with a letter"
            )

    def _registered(self, name: str) -> _Registered:
        registered = self._schemas.get(name)
        if registered is None:
            raise SchemaError("NOT_FOUND", f"Schema not found (resource={name})")
        return registered

    @staticmethod
    def _revision(registered: _Registered, revision_id: str) -> _Revision:
        for revision in registered.revisions:
            if revision.revision_id == revision_id:
                return revision
        raise SchemaError(
            "NOT_FOUND", f"Schema revision not found: {registered.name}@{revision_id}"
        )

    def _in_range(self, registered: _Registered, settings: Any) -> list[_Revision]:
        ids = [revision.revision_id for revision in registered.revisions]
        first = ids.index(settings.first_revision_id) if settings.first_revision_id in ids else 0
        last = (
            ids.index(settings.last_revision_id)
            if settings.last_revision_id in ids
            else len(ids) - 1
        )
        return registered.revisions[first : last + 1]

    def _add_revision(
        self, registered: _Registered, schema_type: int, definition: str, parsed: Any
    ) -> Any:
        revision = _Revision(
            f"{next(self._revision_ids):08x}", time.time_ns(), schema_type, definition, parsed
        )
        registered.revisions.append(revision)
        return _to_pb(registered, revision, 0)


def _split_revision(name: str) -> tuple[str, str]:
    schema_name, _, revision_id = name.partition("@")
    return schema_name, revision_id


def _to_pb(registered: _Registered, revision: _Revision, view: int) -> Any:
    schema = Schema(name=registered.name, type_=revision.schema_type)
    if view != _BASIC:
        schema.definition = revision.definition
        schema.revision_id = revision.revision_id
        schema.revision_create_time.FromNanoseconds(revision.created_ns)
    return schema
