"""The Firestore emulator's engine: every RPC's behaviour, independent of gRPC.

Methods take the raw protobuf request (`Type.pb(request)`) and return raw
protobuf responses; they raise `RpcError` for non-OK statuses. All state
(documents, transactions, locks, statistics) is guarded by one condition
variable, so each commit validates its reads and installs its writes
atomically; lock waits release it while they sleep.

Consistency of reads:
- plain reads see the latest committed state;
- `read_time` reads and read-only transactions see the snapshot at that time
  (the version history keeps `version_retention_seconds`, one hour by default);
- reads in a read-write transaction lock what they read (see transactions.py)
  and see the latest committed state, which their locks then keep stable.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import string
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud.firestore_v1.types import aggregation_result, common, document, firestore, write
from google.rpc import status_pb2

from emulators.firestore import explain, fieldpaths, values
from emulators.firestore.errors import (
    RpcError,
    aborted,
    failed_precondition,
    invalid_argument,
    not_found,
    transaction_expired,
)
from emulators.firestore.faults import CommitFault
from emulators.firestore.limits import check_document
from emulators.firestore.listen import ListenHub, ListenStream
from emulators.firestore.queries import (
    CompiledQuery,
    aggregate,
    aggregated_query,
    compile_aggregations,
    compile_query,
)
from emulators.firestore.resources import (
    DatabaseId,
    parse_database,
    parse_document,
    parse_parent,
    validate_collection_id,
)
from emulators.firestore.stats import WriteStats
from emulators.firestore.storage import (
    CommitClock,
    DatabaseStore,
    set_timestamp,
    timestamp_to_micros,
)
from emulators.firestore.transactions import (
    Transaction,
    TransactionManager,
    TransactionSettings,
    parse_id,
)
from emulators.firestore.writes import AppliedWrite, apply_write, write_target

logger = logging.getLogger(__name__)

DocumentPb = Any
MICROS = 1_000_000

_Document = document.Document.pb()
_WriteResult = write.WriteResult.pb()
_Write = write.Write.pb()
_AggregationResult = aggregation_result.AggregationResult.pb()
_BatchGetResponse = firestore.BatchGetDocumentsResponse.pb()
_RunQueryResponse = firestore.RunQueryResponse.pb()
_RunAggregationQueryResponse = firestore.RunAggregationQueryResponse.pb()
_BeginTransactionResponse = firestore.BeginTransactionResponse.pb()
_CommitResponse = firestore.CommitResponse.pb()
_BatchWriteResponse = firestore.BatchWriteResponse.pb()
_ListDocumentsResponse = firestore.ListDocumentsResponse.pb()
_ListCollectionIdsResponse = firestore.ListCollectionIdsResponse.pb()
_Precondition = common.Precondition.pb()

_AUTO_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class EngineSettings:
    transactions: TransactionSettings = field(default_factory=TransactionSettings)
    version_retention_seconds: float = 3600.0
    stats_window_seconds: int = 10


@dataclass(slots=True)
class _ReadPlan:
    snapshot: int | None  # µs for snapshot reads; None reads the latest state
    txn: Transaction | None  # a live read-write transaction that locks what it reads
    began: bytes | None  # id of a transaction this request began (new_transaction)
    age: int | None = None  # the age of the read-write transaction named, live or not


def _micros_of(doc: DocumentPb | None) -> int | None:
    return None if doc is None else timestamp_to_micros(doc.update_time)


def _signature(results: Sequence[DocumentPb]) -> tuple[tuple[str, int], ...]:
    return tuple((doc.name, timestamp_to_micros(doc.update_time)) for doc in results)


def _name_key(path: str) -> Any:
    return values.reference_key(path)


class FirestoreEngine:
    def __init__(
        self, settings: EngineSettings | None = None, clock: CommitClock | None = None
    ) -> None:
        self.settings = settings or EngineSettings()
        self.clock = clock or CommitClock()
        self._cv = threading.Condition()
        self._stores: dict[DatabaseId, DatabaseStore] = {}
        self.transactions = TransactionManager(self._cv, self.settings.transactions)
        self.stats = WriteStats(window_seconds=self.settings.stats_window_seconds)
        self._last_sweep = time.monotonic()
        self.listeners = ListenHub()
        self._commit_faults: list[CommitFault] = []
        self._refused_commits: dict[DatabaseId, int] = {}

    # ------------------------------------------------------------ helpers

    def _store(self, database: DatabaseId) -> DatabaseStore:
        store = self._stores.get(database)
        if store is None:
            store = self._stores[database] = DatabaseStore(database)
        return store

    @property
    def _retention_micros(self) -> int:
        return int(self.settings.version_retention_seconds * MICROS)

    def _check_read_time(self, stamp: Any) -> int:
        micros = timestamp_to_micros(stamp)
        now = max(self.clock.now(), self.clock.last_issued)
        if micros > now:
            raise invalid_argument("read_time must not be in the future.")
        if micros < now - self._retention_micros:
            raise invalid_argument(
                "read_time must be within the past hour (the emulator keeps one hour of versions)."
            )
        # Later commits must land after this snapshot so it stays repeatable.
        self.clock.advance_past(micros)
        return micros

    def _read_plan(self, database: DatabaseId, request: Any) -> _ReadPlan:
        selector = request.WhichOneof("consistency_selector")
        if selector == "transaction":
            parsed = parse_id(request.transaction)
            if parsed.read_only:
                if parsed.number < self.clock.now() - self._retention_micros:
                    raise failed_precondition(
                        "The read-only transaction is older than the emulator's one-hour "
                        "version history; begin a new one."
                    )
                return _ReadPlan(parsed.number, None, None)
            txn = self.transactions.live(request.transaction)
            if txn is None and self.transactions.has_expired(request.transaction):
                raise transaction_expired()
            if txn is not None and txn.database != database:
                raise invalid_argument("The transaction belongs to another database.")
            # An ended (wounded) transaction reads unlocked; its Commit aborts.
            return _ReadPlan(None, txn, None, parsed.number)
        if selector == "new_transaction":
            options = request.new_transaction
            if options.HasField("read_only"):
                snapshot = self._read_only_snapshot(options.read_only)
                return _ReadPlan(snapshot, None, self.transactions.read_only_id(snapshot))
            retry_of = options.read_write.retry_transaction or None
            txn = self.transactions.begin_read_write(database, retry_of)
            return _ReadPlan(None, txn, txn.id, txn.priority)
        if selector == "read_time":
            return _ReadPlan(self._check_read_time(request.read_time), None, None)
        return _ReadPlan(None, None, None)

    def _read_only_snapshot(self, read_only: Any) -> int:
        if read_only.HasField("read_time"):
            return self._check_read_time(read_only.read_time)
        return self.clock.snapshot()

    @contextlib.contextmanager
    def _active(self, txn: Transaction | None) -> Iterator[None]:
        """Mark a transaction busy for the length of a call (it is not idle meanwhile)."""
        if txn is None:
            yield
            return
        txn.active_calls += 1
        try:
            yield
        finally:
            txn.active_calls -= 1
            txn.last_active = time.monotonic()

    def _lock_deadline(self) -> float:
        return time.monotonic() + self.settings.transactions.lock_wait_seconds

    def _run_compiled(
        self, store: DatabaseStore, query: CompiledQuery, plan: _ReadPlan
    ) -> list[DocumentPb]:
        txn = plan.txn
        if plan.age is not None:
            self.transactions.note_intent(store.id, plan.age, scope_lock_key(query))
        if txn is not None:
            # Read-write transactions querying one collection take turns (like
            # point reads of one document), then hold a predicate lock against writes.
            self.transactions.lock_document(txn, scope_lock_key(query), self._lock_deadline())
        locking = txn is not None and txn.doomed is None
        if locking:
            assert txn is not None
            self.transactions.add_predicate(txn, query)
        results = query.run(store.documents_in(query.scope, plan.snapshot))
        if locking:
            assert txn is not None
            txn.query_reads.append((query, _signature(results)))
        return results

    # ------------------------------------------------------------ reads

    def batch_get_documents(self, request: Any) -> list[Any]:
        database = parse_database(request.database)
        names = list(request.documents)
        paths = [parse_document(name, database)[1] for name in names]
        mask = _read_mask(request)
        with self._cv:
            store = self._store(database)
            plan = self._read_plan(database, request)
            with self._active(plan.txn):
                txn = plan.txn
                if plan.age is not None:
                    for path in paths:
                        self.transactions.note_intent(database, plan.age, path)
                if txn is not None:
                    deadline = self._lock_deadline()
                    for path in paths:
                        if not self.transactions.lock_document(txn, path, deadline):
                            break
                read_time = plan.snapshot if plan.snapshot is not None else self.clock.snapshot()
                found = [store.at(path, plan.snapshot) for path in paths]
                if txn is not None and txn.doomed is None:
                    for path, doc in zip(paths, found, strict=True):
                        txn.reads.setdefault(path, _micros_of(doc))
        responses = []
        for name, doc in zip(names, found, strict=True):
            response = _BatchGetResponse()
            if doc is None:
                response.missing = name
            else:
                response.found.CopyFrom(_masked(doc, mask))
            set_timestamp(response.read_time, read_time)
            responses.append(response)
        if plan.began is not None and responses:
            responses[0].transaction = plan.began
        return responses

    def get_document(self, request: Any) -> Any:
        database, _ = parse_document(request.name)
        batch = firestore.BatchGetDocumentsRequest.pb()(
            database=database.name, documents=[request.name]
        )
        if request.HasField("mask"):
            batch.mask.CopyFrom(request.mask)
        selector = request.WhichOneof("consistency_selector")
        if selector == "transaction":
            batch.transaction = request.transaction
        elif selector == "read_time":
            batch.read_time.CopyFrom(request.read_time)
        (response,) = self.batch_get_documents(batch)
        if response.WhichOneof("result") != "found":
            raise not_found(f"Document {request.name} not found.")
        return response.found

    def run_query(self, request: Any) -> list[Any]:
        database, parent = parse_parent(request.parent)
        if request.WhichOneof("query_type") != "structured_query":
            raise invalid_argument("RunQuery needs a structured_query.")
        query = compile_query(parent, request.structured_query)
        explaining = request.HasField("explain_options")
        if explaining and not request.explain_options.analyze:
            return [
                _RunQueryResponse(explain_metrics=explain.metrics(request.structured_query, query))
            ]
        with self._cv:
            store = self._store(database)
            plan = self._read_plan(database, request)
            with self._active(plan.txn):
                started = time.perf_counter()
                results = self._run_compiled(store, query, plan)
                elapsed = time.perf_counter() - started
                read_time = plan.snapshot if plan.snapshot is not None else self.clock.snapshot()
                scanned = len(store.documents_in(query.scope, plan.snapshot)) if explaining else 0
        responses = []
        if plan.began is not None:
            responses.append(_RunQueryResponse(transaction=plan.began))
        for doc in results:
            response = _RunQueryResponse()
            response.document.CopyFrom(query.present(doc))
            set_timestamp(response.read_time, read_time)
            responses.append(response)
        if not results:
            response = _RunQueryResponse()
            set_timestamp(response.read_time, read_time)
            responses.append(response)
        if explaining:
            stats = (len(results), elapsed, scanned, scanned)
            responses.append(
                _RunQueryResponse(
                    explain_metrics=explain.metrics(request.structured_query, query, stats=stats)
                )
            )
        return responses

    def run_aggregation_query(self, request: Any) -> list[Any]:
        database, parent = parse_parent(request.parent)
        if request.WhichOneof("query_type") != "structured_aggregation_query":
            raise invalid_argument("RunAggregationQuery needs a structured_aggregation_query.")
        aggregation_query = request.structured_aggregation_query
        aggregations = compile_aggregations(aggregation_query.aggregations)
        structured_query = aggregation_query.structured_query
        query = aggregated_query(compile_query(parent, structured_query), aggregations)
        explaining = request.HasField("explain_options")
        if explaining and not request.explain_options.analyze:
            metrics = explain.metrics(structured_query, query, aggregation=True)
            return [_RunAggregationQueryResponse(explain_metrics=metrics)]
        with self._cv:
            store = self._store(database)
            plan = self._read_plan(database, request)
            with self._active(plan.txn):
                started = time.perf_counter()
                results = self._run_compiled(store, query, plan)
                elapsed = time.perf_counter() - started
                read_time = plan.snapshot if plan.snapshot is not None else self.clock.snapshot()
        response = _RunAggregationQueryResponse()
        if explaining:
            stats = (1, elapsed, 0, len(results))
            response.explain_metrics.CopyFrom(
                explain.metrics(structured_query, query, stats=stats, aggregation=True)
            )
        response.result.SetInParent()
        for aggregation in aggregations:
            response.result.aggregate_fields[aggregation.alias].CopyFrom(
                aggregate(aggregation, results)
            )
        set_timestamp(response.read_time, read_time)
        if plan.began is not None:
            response.transaction = plan.began
        return [response]

    def list_documents(self, request: Any) -> Any:
        database, parent = parse_parent(request.parent)
        collection_id = request.collection_id
        if collection_id:
            validate_collection_id(collection_id)
        mask = _read_mask(request)
        with self._cv:
            store = self._store(database)
            plan = self._read_plan(database, request)
            snapshot = plan.snapshot
            entries: dict[str, DocumentPb | None] = {}
            prefix = parent + "/" if parent else ""
            depth = parent.count("/") + 1 if parent else 0
            for path in store.existing_paths(snapshot):
                if not path.startswith(prefix):
                    continue
                segments = path.split("/")
                if len(segments) < depth + 2:
                    continue
                if collection_id and segments[depth] != collection_id:
                    continue
                child = "/".join(segments[: depth + 2])
                if child == path:
                    entries[child] = store.at(path, snapshot)
                elif request.show_missing:
                    entries.setdefault(child, store.at(child, snapshot))
        ordered = sorted(entries, key=_name_key)
        if request.page_token:
            after = _name_key(request.page_token)
            ordered = [path for path in ordered if _name_key(path) > after]
        page_size = request.page_size or len(ordered)
        page, rest = ordered[:page_size], ordered[page_size:]
        response = _ListDocumentsResponse()
        for path in page:
            doc = entries[path]
            if doc is None:
                response.documents.add(name=database.document_name(path))
            else:
                response.documents.append(_masked(doc, mask))
        if rest:
            response.next_page_token = page[-1]
        return response

    def list_collection_ids(self, request: Any) -> Any:
        database, parent = parse_parent(request.parent)
        with self._cv:
            store = self._store(database)
            snapshot = None
            if request.WhichOneof("consistency_selector") == "read_time":
                snapshot = self._check_read_time(request.read_time)
            prefix = parent + "/" if parent else ""
            ids = {
                path[len(prefix) :].split("/", 1)[0]
                for path in store.existing_paths(snapshot)
                if path.startswith(prefix)
            }
        ordered = sorted(ids)
        if request.page_token:
            ordered = [collection for collection in ordered if collection > request.page_token]
        page_size = request.page_size or len(ordered)
        page, rest = ordered[:page_size], ordered[page_size:]
        response = _ListCollectionIdsResponse(collection_ids=page)
        if rest:
            response.next_page_token = page[-1]
        return response

    # ------------------------------------------------------------ transactions

    def begin_transaction(self, request: Any) -> Any:
        database = parse_database(request.database)
        options = request.options
        with self._cv:
            if options.HasField("read_only"):
                snapshot = self._read_only_snapshot(options.read_only)
                transaction_id = self.transactions.read_only_id(snapshot)
            else:
                retry_of = options.read_write.retry_transaction or None
                transaction_id = self.transactions.begin_read_write(database, retry_of).id
        return _BeginTransactionResponse(transaction=transaction_id)

    def rollback(self, request: Any) -> None:
        parse_database(request.database)
        parse_id(request.transaction)
        with self._cv:
            txn = self.transactions.live(request.transaction)
            if txn is not None:
                self.transactions.finish(txn, completed=True)

    # ------------------------------------------------------------ writes

    def commit(self, request: Any) -> Any:
        database = parse_database(request.database)
        writes = list(request.writes)
        names = [write_target(item) for item in writes]
        paths = [parse_document(name, database)[1] for name in names]
        with self._cv:
            store = self._store(database)
            if request.transaction:
                parsed = parse_id(request.transaction)
                if parsed.read_only:
                    if writes:
                        raise invalid_argument("Cannot modify entities in a read-only transaction.")
                    return self._commit_response([], self.clock.snapshot())
                for path in paths:
                    self.transactions.note_intent(database, parsed.number, path)
                txn = self.transactions.live(request.transaction)
                if txn is None and self.transactions.has_expired(request.transaction):
                    raise transaction_expired()
                if txn is None:
                    raise aborted()
                if txn.database != database:
                    raise invalid_argument("The transaction belongs to another database.")
                self._refuse_if_faulted(database, paths, txn)
                with self._active(txn):
                    applied, commit_micros = self._commit_locked(store, txn, writes, paths, names)
            else:
                self._refuse_if_faulted(database, paths, None)
                applied, commit_micros = self._commit_locked(store, None, writes, paths, names)
        return self._commit_response(applied, commit_micros)

    def _refuse_if_faulted(
        self, database: DatabaseId, paths: Sequence[str], txn: Transaction | None
    ) -> None:
        """Raise the first matching commit fault's code (a commit that writes nothing passes)."""
        if not paths or not self._commit_faults:
            return
        fault = next((f for f in self._commit_faults if f.matches(database, paths)), None)
        if fault is None:
            return
        fault.refused += 1
        if fault.spent:
            self._commit_faults.remove(fault)
        self._refused_commits[database] = self._refused_commits.get(database, 0) + 1
        if txn is not None:
            self.transactions.finish(txn, completed=fault.status != grpc.StatusCode.ABORTED)
        raise RpcError(fault.status, fault.message())

    def _commit_response(self, applied: list[AppliedWrite], commit_micros: int) -> Any:
        response = _CommitResponse()
        for item in applied:
            response.write_results.append(_write_result(item))
        set_timestamp(response.commit_time, commit_micros)
        return response

    def _apply_all(
        self,
        store: DatabaseStore,
        writes: Sequence[Any],
        paths: Sequence[str],
        names: Sequence[str],
        micros: int,
    ) -> tuple[list[AppliedWrite], dict[str, DocumentPb | None]]:
        staged: dict[str, DocumentPb | None] = {}
        applied = []
        for item, path, name in zip(writes, paths, names, strict=True):
            current = staged[path] if path in staged else store.latest(path)
            result = apply_write(item, path, name, current, micros)
            staged[path] = result.after
            applied.append(result)
        return applied, staged

    def _commit_locked(
        self,
        store: DatabaseStore,
        txn: Transaction | None,
        writes: Sequence[Any],
        paths: Sequence[str],
        names: Sequence[str],
    ) -> tuple[list[AppliedWrite], int]:
        """Lock, check, validate and install one atomic commit (the engine lock is held)."""
        manager = self.transactions
        deadline = self._lock_deadline()
        try:
            while True:
                if txn is not None:
                    for path in paths:
                        if not manager.lock_document(txn, path, deadline):
                            break
                    if txn.doomed is not None:
                        raise aborted()
                applied, _ = self._apply_all(store, writes, paths, names, self.clock.now())
                blocking = []
                for holder in manager.holders_in_conflict(store.id, txn, applied):
                    if txn is not None and txn.priority < holder.priority:
                        manager.doom(holder, "wounded: an older transaction wrote what it read")
                    else:
                        blocking.append(holder)
                if not blocking:
                    break
                now = time.monotonic()
                if now >= deadline:
                    lock_wait = self.settings.transactions.lock_wait_seconds
                    if txn is None or all(h.idle_for(now) >= lock_wait for h in blocking):
                        for holder in blocking:
                            manager.doom(holder, "wounded: a write waited too long for its locks")
                        continue
                    manager.doom(txn, "gave up waiting for locks at commit")
                    raise aborted()
                self._cv.wait(deadline - now)
            if txn is not None:
                stale = self._stale_read(store, txn)
                if stale is not None:
                    logger.warning("transaction %s failed validation: %s", txn.id.hex(), stale)
                    raise aborted()
            commit_micros = self.clock.commit()
            if any(_uses_request_time(write) for write in writes):
                applied, staged = self._apply_all(store, writes, paths, names, commit_micros)
            else:
                # Nothing changed since the writes were applied above (the lock is held) and
                # nothing of them depends on the time but their own times: set those.
                staged = _retimed(applied, commit_micros)
            for item in applied:
                if item.changed and item.after is not None:
                    check_document(item.path, item.after, item.touched)
        except RpcError as error:
            if txn is not None:
                manager.finish(txn, completed=error.code != grpc.StatusCode.ABORTED)
            raise
        keep_after = commit_micros - self._retention_micros
        for path, doc in staged.items():
            if doc is not store.latest(path):
                store.install(path, doc, commit_micros, keep_after)
        for item in applied:
            self.stats.record(store.id, item.path)
        self.listeners.notify(store, commit_micros, [item.path for item in applied if item.changed])
        if txn is not None:
            manager.finish(txn, completed=True)
        return applied, commit_micros

    @staticmethod
    def _stale_read(store: DatabaseStore, txn: Transaction) -> str | None:
        for path, seen in txn.reads.items():
            if _micros_of(store.latest(path)) != seen:
                return f"{path} changed after it was read"
        for query, signature in txn.query_reads:
            current = query.run(store.documents_in(query.scope, None))
            if _signature(current) != signature:
                return "a query's results changed after it ran"
        return None

    def batch_write(self, request: Any) -> Any:
        database = parse_database(request.database)
        writes = list(request.writes)
        names = [write_target(item) for item in writes]
        paths = [parse_document(name, database)[1] for name in names]
        if len(set(paths)) != len(paths):
            raise invalid_argument("BatchWrite cannot write more than once to the same document.")
        response = _BatchWriteResponse()
        with self._cv:
            store = self._store(database)
            for item, path, name in zip(writes, paths, names, strict=True):
                try:
                    applied, _ = self._commit_locked(store, None, [item], [path], [name])
                except RpcError as error:
                    response.write_results.append(_WriteResult())
                    response.status.append(
                        status_pb2.Status(code=error.code.value[0], message=error.message)
                    )
                else:
                    response.write_results.append(_write_result(applied[0]))
                    response.status.append(status_pb2.Status(code=grpc.StatusCode.OK.value[0]))
        return response

    def create_document(self, request: Any) -> Any:
        database, parent = parse_parent(request.parent)
        validate_collection_id(request.collection_id)
        document_id = request.document_id or "".join(
            secrets.choice(_AUTO_ID_ALPHABET) for _ in range(20)
        )
        path = f"{parent}/{request.collection_id}/{document_id}".lstrip("/")
        item = _Write()
        item.update.CopyFrom(request.document)
        item.update.name = database.document_name(path)
        item.current_document.exists = False
        mask = request.mask if request.HasField("mask") else None
        return self._single_write(database, item, mask)

    def update_document(self, request: Any) -> Any:
        database, _ = parse_document(request.document.name)
        item = _Write()
        item.update.CopyFrom(request.document)
        if request.HasField("update_mask"):
            item.update_mask.CopyFrom(request.update_mask)
        if request.HasField("current_document"):
            item.current_document.CopyFrom(request.current_document)
        mask = request.mask if request.HasField("mask") else None
        return self._single_write(database, item, mask)

    def delete_document(self, request: Any) -> None:
        database, _ = parse_document(request.name)
        item = _Write(delete=request.name)
        if request.HasField("current_document"):
            item.current_document.CopyFrom(request.current_document)
        self._single_write(database, item, None)

    def _single_write(self, database: DatabaseId, item: Any, mask: Any) -> Any:
        request = firestore.CommitRequest.pb()(database=database.name, writes=[item])
        self.commit(request)
        if item.WhichOneof("operation") == "delete":
            return None
        with self._cv:
            doc = self._store(database).latest(parse_document(item.update.name)[1])
        paths = [fieldpaths.parse(path) for path in mask.field_paths] if mask is not None else None
        return _masked(doc, paths)

    # ------------------------------------------------------------ administration

    def reset(self, database: DatabaseId) -> None:
        """Delete every document of a database; its open transactions abort at Commit.

        Commit faults that could refuse its commits are cleared too.
        """
        with self._cv:
            self.transactions.forget(database)
            self._store(database).clear()
            self.stats.clear(database)
            self._commit_faults = [f for f in self._commit_faults if not f.concerns(database)]
            self._refused_commits.pop(database, None)
            self.listeners.notify(self._store(database), self.clock.commit(), None)

    def write_stats(self, database: DatabaseId | None = None) -> dict[str, Any]:
        with self._cv:
            snapshot = self.stats.snapshot(database)
            refused = self._refused_commits
            snapshot["refused_commits"] = (
                sum(refused.values()) if database is None else refused.get(database, 0)
            )
            snapshot["listeners"] = self.listeners.counts()
            return snapshot

    def clear_stats(self) -> None:
        with self._cv:
            self.stats.clear()
            self._refused_commits.clear()

    # ------------------------------------------------------------ listeners

    def listen_open(self) -> ListenStream:
        with self._cv:
            return self.listeners.open()

    def listen_request(self, stream: ListenStream, request: Any) -> None:
        """Add or remove a target of a Listen stream; the answers go to its outbox."""
        with self._cv:
            horizon = self.clock.now() - self._retention_micros
            snapshot = self.clock.snapshot()
            self.listeners.request(stream, request, self._store, snapshot, horizon)

    def listen_close(self, stream: ListenStream) -> None:
        with self._cv:
            self.listeners.close(stream)

    def drop_listeners(self, code: grpc.StatusCode) -> int:
        """End every Listen stream with `code`, so clients resume (tests of resumption)."""
        with self._cv:
            return self.listeners.drop_all(
                code, "Listen stream dropped by the emulator's admin endpoint; resume."
            )

    def set_commit_fault(self, fault: CommitFault) -> None:
        with self._cv:
            self._commit_faults.append(fault)

    def clear_commit_faults(self) -> None:
        with self._cv:
            self._commit_faults.clear()

    def commit_faults(self) -> dict[str, Any]:
        with self._cv:
            return {"commit": [fault.to_json() for fault in self._commit_faults]}

    def maintain(self) -> None:
        """Expire abandoned transactions and forget long-deleted documents."""
        with self._cv:
            now = time.monotonic()
            self.transactions.expire(now)
            if now - self._last_sweep >= 60.0:
                self._last_sweep = now
                horizon = self.clock.now() - self._retention_micros
                for store in self._stores.values():
                    store.forget_deleted_before(horizon)

    def export_documents(self) -> dict[DatabaseId, list[DocumentPb]]:
        """The latest version of every live document, per database."""
        with self._cv:
            exported = {}
            for database, store in self._stores.items():
                docs = [store.latest(path) for path in store.existing_paths(None)]
                if docs:
                    exported[database] = docs
            return exported

    def import_documents(self, database: DatabaseId, docs: Sequence[DocumentPb]) -> None:
        """Install documents as they were saved (keeping their timestamps)."""
        with self._cv:
            store = self._store(database)
            for doc in docs:
                _, path = parse_document(doc.name, database)
                micros = timestamp_to_micros(doc.update_time)
                store.install(path, doc, micros, micros)
                self.clock.advance_past(micros)


def scope_lock_key(query: CompiledQuery) -> str:
    """The lock a read-write query takes on its scope (never a document path)."""
    scope = query.scope
    kind = "group" if scope.all_descendants else "collection"
    return f"\x00{kind}:{scope.parent}:{scope.collection_id}"


def _read_mask(request: Any) -> list[tuple[str, ...]] | None:
    """The field paths a read's `mask` asks for, or None to return whole documents."""
    if not request.HasField("mask"):
        return None
    return [fieldpaths.parse(path) for path in request.mask.field_paths]


def _masked(doc: DocumentPb, mask: list[tuple[str, ...]] | None) -> DocumentPb:
    if mask is None:
        return doc
    projected = _Document(name=doc.name)
    projected.create_time.CopyFrom(doc.create_time)
    projected.update_time.CopyFrom(doc.update_time)
    fieldpaths.project(doc.fields, projected.fields, mask)
    return projected


def _write_result(item: AppliedWrite) -> Any:
    result = _WriteResult()
    if item.after is not None:
        result.update_time.CopyFrom(item.after.update_time)
    result.transform_results.extend(item.transform_results)
    return result


def _uses_request_time(write: Any) -> bool:
    """Whether a write sets a field to the commit time (a server timestamp transform)."""
    transforms = (
        write.update_transforms
        if write.WhichOneof("operation") == "update"
        else write.transform.field_transforms
    )
    return any(t.WhichOneof("transform_type") == "set_to_server_value" for t in transforms)


def _retimed(applied: list[AppliedWrite], micros: int) -> dict[str, DocumentPb | None]:
    """Writes applied (and not yet installed) given the commit time `micros`: each changed
    document's update time, and the create time of one created by the commit (a later write
    to it in the same commit keeps that). The documents as the commit leaves them, by path."""
    staged: dict[str, DocumentPb | None] = {}
    for item in applied:
        after = item.after
        if item.changed and after is not None:
            if item.before is None:
                set_timestamp(after.create_time, micros)
            else:
                after.create_time.CopyFrom(item.before.create_time)
            set_timestamp(after.update_time, micros)
        staged[item.path] = after
    return staged
