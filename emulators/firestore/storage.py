"""Versioned document storage for one database, and the commit clock.

Each document keeps its history as a list of `(commit_time_us, Document | None)`
versions (None = deleted), oldest first, so reads at a past `read_time` and
read-only transactions see a consistent snapshot. Versions older than the
retention window (one hour by default, production's `read_time` limit) are
pruned, except the newest one before the window so a snapshot at the window's
start still resolves. Stored `Document` messages are never mutated after they
are installed; readers may serialise them without holding the engine lock.

Nothing here is thread-safe: the engine calls it under its single lock.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from typing import Any

from emulators.firestore.queries import Scope
from emulators.firestore.resources import DatabaseId, split_document_path

DocumentPb = Any
MICROS = 1_000_000


def timestamp_to_micros(stamp: Any) -> int:
    return int(stamp.seconds) * MICROS + int(stamp.nanos) // 1000


def set_timestamp(stamp: Any, micros: int) -> None:
    stamp.seconds = micros // MICROS
    stamp.nanos = (micros % MICROS) * 1000


class CommitClock:
    """Microsecond commit times that strictly increase, and snapshot times between them.

    A snapshot taken at time T sees exactly the commits at or before T: every
    later commit is given a time greater than any snapshot already handed out.
    """

    def __init__(self, now_micros: Callable[[], int] | None = None) -> None:
        self._now = now_micros or (lambda: time.time_ns() // 1000)
        self.last_issued = 0

    def now(self) -> int:
        return self._now()

    def snapshot(self) -> int:
        moment = max(self._now(), self.last_issued)
        self.last_issued = moment
        return moment

    def commit(self) -> int:
        moment = max(self._now(), self.last_issued + 1)
        self.last_issued = moment
        return moment

    def advance_past(self, micros: int) -> None:
        """Never hand out a time at or before `micros` again (after loading data)."""
        self.last_issued = max(self.last_issued, micros)


class DocumentHistory:
    __slots__ = ("times", "versions")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.versions: list[DocumentPb | None] = []

    @property
    def latest(self) -> DocumentPb | None:
        return self.versions[-1] if self.versions else None

    def at(self, micros: int) -> DocumentPb | None:
        index = bisect.bisect_right(self.times, micros)
        return self.versions[index - 1] if index else None

    def append(self, micros: int, document: DocumentPb | None, keep_after: int) -> None:
        self.times.append(micros)
        self.versions.append(document)
        # Drop versions superseded before the retention window opened.
        cut = bisect.bisect_right(self.times, keep_after) - 1
        if cut > 0:
            del self.times[:cut]
            del self.versions[:cut]


class DatabaseStore:
    """All documents of one database with their histories and collection indexes."""

    def __init__(self, database: DatabaseId) -> None:
        self.id = database
        self.histories: dict[str, DocumentHistory] = {}
        self._by_collection: dict[tuple[str, str], set[str]] = {}
        self._by_collection_id: dict[str, set[str]] = {}

    def latest(self, path: str) -> DocumentPb | None:
        history = self.histories.get(path)
        return history.latest if history is not None else None

    def at(self, path: str, micros: int | None) -> DocumentPb | None:
        history = self.histories.get(path)
        if history is None:
            return None
        return history.latest if micros is None else history.at(micros)

    def install(self, path: str, document: DocumentPb | None, micros: int, keep_after: int) -> None:
        history = self.histories.get(path)
        if history is None:
            if document is None:
                return  # deleting a document that never existed leaves no trace
            history = DocumentHistory()
            self.histories[path] = history
            parent, collection_id, _ = split_document_path(path)
            self._by_collection.setdefault((parent, collection_id), set()).add(path)
            self._by_collection_id.setdefault(collection_id, set()).add(path)
        history.append(micros, document, keep_after)

    def candidate_paths(self, scope: Scope) -> Iterator[str]:
        """Paths of every document (live or historic) the scope could contain."""
        if not scope.all_descendants:
            yield from self._by_collection.get((scope.parent, scope.collection_id), ())
            return
        if scope.collection_id:
            pool: Any = self._by_collection_id.get(scope.collection_id, ())
        else:
            pool = self.histories.keys()
        prefix = scope.parent + "/" if scope.parent else ""
        for path in pool:
            if path.startswith(prefix):
                yield path

    def documents_in(self, scope: Scope, micros: int | None) -> list[DocumentPb]:
        """Documents existing in the scope at `micros` (None: latest)."""
        found = []
        for path in self.candidate_paths(scope):
            document = self.at(path, micros)
            if document is not None:
                found.append(document)
        return found

    def existing_paths(self, micros: int | None) -> Iterator[str]:
        for path, history in self.histories.items():
            if (history.latest if micros is None else history.at(micros)) is not None:
                yield path

    def forget_deleted_before(self, micros: int) -> None:
        """Drop histories whose only remaining version is a deletion older than `micros`."""
        stale = [
            path
            for path, history in self.histories.items()
            if history.latest is None and history.times[-1] < micros
        ]
        for path in stale:
            del self.histories[path]
            parent, collection_id, _ = split_document_path(path)
            self._by_collection.get((parent, collection_id), set()).discard(path)
            self._by_collection_id.get(collection_id, set()).discard(path)

    def clear(self) -> None:
        self.histories.clear()
        self._by_collection.clear()
        self._by_collection_id.clear()
