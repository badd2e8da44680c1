"""Real-time listeners: the `Listen` stream, as production serves it to `on_snapshot`.

A Listen stream carries targets (`add_target`: a query or a list of documents,
with a `target_id`, optionally resuming from a `resume_token` or a `read_time`;
`remove_target`). For each target added the stream answers, as production does:

    TargetChange ADD [id]
    DocumentChange (target_ids [id])           one per document in the target, in order
    TargetChange CURRENT [id] (resume token, read time)
    TargetChange NO_CHANGE [] (resume token, read time)    a consistent snapshot

then, for every commit that changes what a target holds: `DocumentChange` for a
document that entered or changed, `DocumentDelete` for one deleted,
`DocumentRemove` for one that left (no longer matches, or fell outside the
limit), and once the whole commit is described, one global `NO_CHANGE` with the
commit time. The client only shows a snapshot at a global NO_CHANGE, so the
writes of one commit (a transaction, a batch) reach listeners together.

Resuming: a `resume_token` (or `read_time`) within the version history (one
hour) sends only what changed since, followed by an `ExistenceFilter` with the
target's size so the client can check itself; an older one sends a `RESET` and
the whole target. `once` removes the target after its first consistent
snapshot. `remove_target` is answered `TargetChange REMOVE [id]`; a target that
cannot be served (a malformed query, a duplicate id) is removed with a `cause`.

Everything here runs under the engine's lock (`notify` is called by the commit
that changed the documents), so a stream's messages are in commit order and a
target's initial load and its first change never overlap. Messages wait in an
unbounded queue per stream; the gRPC layer drains it (`service.listen_handler`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud.firestore_v1.types import firestore

from emulators.firestore.errors import RpcError, invalid_argument
from emulators.firestore.queries import CompiledQuery, compile_query
from emulators.firestore.resources import (
    DatabaseId,
    parse_database,
    parse_document,
    parse_parent,
)
from emulators.firestore.storage import DatabaseStore, set_timestamp, timestamp_to_micros

DocumentPb = Any

_ListenResponse = firestore.ListenResponse.pb()
_ChangeType = firestore.TargetChange.TargetChangeType
_ADD = int(_ChangeType.ADD)
_REMOVE = int(_ChangeType.REMOVE)
_CURRENT = int(_ChangeType.CURRENT)
_RESET = int(_ChangeType.RESET)
_NO_CHANGE = int(_ChangeType.NO_CHANGE)
_TOKEN_PREFIX = b"patungan-listen:"


def resume_token(micros: int) -> bytes:
    return _TOKEN_PREFIX + micros.to_bytes(8, "big")


def token_micros(token: bytes) -> int:
    if not token.startswith(_TOKEN_PREFIX) or len(token) != len(_TOKEN_PREFIX) + 8:
        raise invalid_argument("Invalid resume token: it was not issued by this emulator.")
    return int.from_bytes(token[len(_TOKEN_PREFIX) :], "big")


@dataclass(eq=False)
class Target:
    """One target of one stream and what it currently holds (path -> update time µs)."""

    target_id: int
    query: CompiledQuery | None  # None: a documents target
    documents: dict[str, str]  # documents target: path -> full name
    once: bool
    members: dict[str, int] = field(default_factory=dict)

    @property
    def recomputes(self) -> bool:
        """Whether membership depends on other documents (limit, offset): recompute whole."""
        query = self.query
        return query is not None and (query.limit is not None or query.offset > 0)

    def concerns(self, path: str) -> bool:
        if self.query is None:
            return path in self.documents
        return self.query.scope.contains(path)

    def results(self, store: DatabaseStore, micros: int | None) -> list[DocumentPb]:
        """The documents the target holds at `micros` (None: now), in the query's order."""
        if self.query is None:
            found = (store.at(path, micros) for path in self.documents)
            return [doc for doc in found if doc is not None]
        return self.query.run(store.documents_in(self.query.scope, micros))

    def present(self, doc: DocumentPb) -> DocumentPb:
        return doc if self.query is None else self.query.present(doc)


class ListenStream:
    """One client's Listen call: its targets and the messages waiting to go out."""

    def __init__(self) -> None:
        self.database: DatabaseId | None = None
        self.targets: dict[int, Target] = {}
        self.outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.closed = threading.Event()

    def send(self, response: Any) -> None:
        self.outbox.put(response)

    def end(self, error: RpcError | None = None) -> None:
        """Stop the stream: with `error`, the call ends with that status."""
        self.closed.set()
        self.outbox.put(error if error is not None else _END)


_END = object()


def is_end(item: Any) -> bool:
    return item is _END


class ListenHub:
    """Every open stream, by database (guarded by the engine's lock)."""

    def __init__(self) -> None:
        self._streams: dict[DatabaseId, set[ListenStream]] = {}
        self._unbound: set[ListenStream] = set()

    # ------------------------------------------------------------ streams

    def open(self) -> ListenStream:
        stream = ListenStream()
        self._unbound.add(stream)
        return stream

    def close(self, stream: ListenStream) -> None:
        self._detach(stream)
        stream.end()

    def drop_all(self, code: grpc.StatusCode, message: str) -> int:
        """End every stream with `code` (tests of resumption); returns how many."""
        streams = [s for group in self._streams.values() for s in group] + list(self._unbound)
        for stream in streams:
            self._detach(stream)
            stream.end(RpcError(code, message))
        return len(streams)

    def _detach(self, stream: ListenStream) -> None:
        self._unbound.discard(stream)
        if stream.database is not None:
            streams = self._streams.get(stream.database)
            if streams is not None:
                streams.discard(stream)
                if not streams:
                    del self._streams[stream.database]

    def counts(self) -> dict[str, int]:
        streams = [s for group in self._streams.values() for s in group]
        return {"streams": len(streams), "targets": sum(len(s.targets) for s in streams)}

    # ------------------------------------------------------------ requests

    def request(
        self,
        stream: ListenStream,
        request: Any,
        store_of: Callable[[DatabaseId], DatabaseStore],
        snapshot_micros: int,
        horizon_micros: int,
    ) -> None:
        """Apply one ListenRequest (add or remove a target) and queue the answers.

        `snapshot_micros` is now; resuming from before `horizon_micros` (the oldest
        version kept) sends the whole target again.
        """
        database = parse_database(request.database) if request.database else stream.database
        if database is None:
            raise invalid_argument("A ListenRequest needs a database.")
        if stream.database is None:
            stream.database = database
            self._unbound.discard(stream)
            self._streams.setdefault(database, set()).add(stream)
        elif database != stream.database:
            raise invalid_argument("A Listen stream serves one database.")
        kind = request.WhichOneof("target_change")
        if kind == "add_target":
            store = store_of(database)
            self._add(stream, request.add_target, store, snapshot_micros, horizon_micros)
        elif kind == "remove_target":
            removed = stream.targets.pop(request.remove_target, None)
            if removed is not None:
                stream.send(_target_change(_REMOVE, [request.remove_target]))

    def _add(
        self,
        stream: ListenStream,
        target_pb: Any,
        store: DatabaseStore,
        snapshot_micros: int,
        horizon_micros: int,
    ) -> None:
        target_id = target_pb.target_id
        if target_id in stream.targets:
            error = invalid_argument(f"Target ID {target_id} is already in use on this stream.")
            stream.send(_target_change(_REMOVE, [target_id], cause=error))
            return
        try:
            target = _compile_target(target_pb, store.id)
            since = _resume_micros(target_pb)
        except RpcError as error:
            stream.send(_target_change(_REMOVE, [target_id], cause=error))
            return
        stream.send(_target_change(_ADD, [target_id]))
        now = target.results(store, None)
        if since is not None and horizon_micros <= since <= snapshot_micros:
            before = target.results(store, since)
            target.members = {_path(doc): timestamp_to_micros(doc.update_time) for doc in before}
            for message in _diff(target, store, now, snapshot_micros):
                stream.send(message)
            existence = _ListenResponse()
            existence.filter.target_id = target_id
            existence.filter.count = len(now)
            stream.send(existence)
        else:
            if since is not None:
                stream.send(_target_change(_RESET, [target_id]))
            for message in _diff(target, store, now, snapshot_micros):
                stream.send(message)
        stream.send(_target_change(_CURRENT, [target_id], micros=snapshot_micros))
        stream.send(_target_change(_NO_CHANGE, [], micros=snapshot_micros))
        if target.once:
            stream.send(_target_change(_REMOVE, [target_id]))
        else:
            stream.targets[target_id] = target

    # ------------------------------------------------------------ commits

    def notify(self, store: DatabaseStore, micros: int, paths: Iterable[str] | None) -> None:
        """Describe a commit at `micros` that changed `paths` (None: anything) to its listeners."""
        streams = self._streams.get(store.id)
        if not streams:
            return
        changed = None if paths is None else list(paths)
        for stream in list(streams):
            sent = False
            for target in stream.targets.values():
                messages = _commit_messages(target, store, changed, micros)
                for message in messages:
                    stream.send(message)
                sent = sent or bool(messages)
            if sent:
                stream.send(_target_change(_NO_CHANGE, [], micros=micros))


def _compile_target(target_pb: Any, database: DatabaseId) -> Target:
    kind = target_pb.WhichOneof("target_type")
    if kind == "query":
        query_pb = target_pb.query
        _, parent = parse_parent(query_pb.parent, database)
        if query_pb.WhichOneof("query_type") != "structured_query":
            raise invalid_argument("A query target needs a structured_query.")
        query = compile_query(parent, query_pb.structured_query)
        if query.nearest is not None:
            raise invalid_argument("Vector queries (find_nearest) cannot be listened to.")
        return Target(target_pb.target_id, query, {}, bool(target_pb.once))
    if kind == "documents":
        names = list(target_pb.documents.documents)
        if not names:
            raise invalid_argument("A documents target needs at least one document.")
        documents = {parse_document(name, database)[1]: name for name in names}
        return Target(target_pb.target_id, None, documents, bool(target_pb.once))
    raise invalid_argument("A target needs a query or documents.")


def _resume_micros(target_pb: Any) -> int | None:
    kind = target_pb.WhichOneof("resume_type")
    if kind == "resume_token":
        return token_micros(target_pb.resume_token)
    if kind == "read_time":
        return timestamp_to_micros(target_pb.read_time)
    return None


def _path(doc: DocumentPb) -> str:
    return str(doc.name.split("/documents/", 1)[1])


def _commit_messages(
    target: Target, store: DatabaseStore, paths: Sequence[str] | None, micros: int
) -> list[Any]:
    if paths is not None and not any(target.concerns(path) for path in paths):
        return []
    if paths is None or target.recomputes:
        return _diff(target, store, target.results(store, None), micros)
    messages = []
    for path in paths:
        if not target.concerns(path):
            continue
        doc = store.latest(path)
        inside = doc is not None and (target.query is None or bool(target.query.run([doc])))
        messages.extend(_member_change(target, path, doc if inside else None, store, micros))
    return messages


def _member_change(
    target: Target, path: str, doc: DocumentPb | None, store: DatabaseStore, micros: int
) -> list[Any]:
    """Messages for one document now inside (`doc`) or outside (None) the target."""
    known = target.members.get(path)
    if doc is not None:
        stamp = timestamp_to_micros(doc.update_time)
        if known == stamp:
            return []
        target.members[path] = stamp
        return [_document_change(target, doc)]
    if known is None:
        return []
    del target.members[path]
    return [_document_gone(target, path, store, micros)]


def _diff(
    target: Target, store: DatabaseStore, now: Sequence[DocumentPb], micros: int
) -> list[Any]:
    """Messages turning what the target held into `now` (in the query's order)."""
    messages = []
    present = set()
    for doc in now:
        path = _path(doc)
        present.add(path)
        messages.extend(_member_change(target, path, doc, store, micros))
    for path in [path for path in target.members if path not in present]:
        messages.extend(_member_change(target, path, None, store, micros))
    return messages


def _document_change(target: Target, doc: DocumentPb) -> Any:
    response = _ListenResponse()
    change = response.document_change
    change.document.CopyFrom(target.present(doc))
    change.target_ids.append(target.target_id)
    return response


def _document_gone(target: Target, path: str, store: DatabaseStore, micros: int) -> Any:
    response = _ListenResponse()
    name = store.id.document_name(path)
    gone = response.document_delete if store.latest(path) is None else response.document_remove
    gone.document = name
    gone.removed_target_ids.append(target.target_id)
    set_timestamp(gone.read_time, micros)
    return response


def _target_change(
    kind: int, target_ids: list[int], *, micros: int | None = None, cause: RpcError | None = None
) -> Any:
    response = _ListenResponse()
    change = response.target_change
    change.target_change_type = kind
    change.target_ids.extend(target_ids)
    if micros is not None:
        change.resume_token = resume_token(micros)
        set_timestamp(change.read_time, micros)
    if cause is not None:
        change.cause.code = cause.code.value[0]
        change.cause.message = cause.message
    return response
