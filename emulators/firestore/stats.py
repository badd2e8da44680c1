"""Per-document write statistics, to find hot documents before production does.

Firestore sustains about one write per second per document. For every document
written (set, update, delete, transform; committed alone, in a batch or in a
transaction) the emulator counts the writes, the peak number of writes within
one wall-clock second, and the peak *sustained* rate: the highest average over
any window of `window_seconds` consecutive seconds. A document whose sustained
rate exceeded `limit_per_second` is flagged `hot`. `GET /stats` on the admin
port serves `snapshot()`.

Not thread-safe on its own; the engine records under its lock.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

from emulators.firestore.resources import DatabaseId


class _DocumentWrites:
    __slots__ = ("peak_second", "peak_window", "recent", "second", "second_count", "total")

    def __init__(self) -> None:
        self.total = 0
        self.second = -1
        self.second_count = 0
        self.recent: collections.deque[tuple[int, int]] = collections.deque()
        self.peak_second = 0
        self.peak_window = 0

    def record(self, second: int, window_seconds: int) -> None:
        if second != self.second:
            if self.second_count:
                self.recent.append((self.second, self.second_count))
            self.second = second
            self.second_count = 0
        while self.recent and self.recent[0][0] <= second - window_seconds:
            self.recent.popleft()
        self.total += 1
        self.second_count += 1
        self.peak_second = max(self.peak_second, self.second_count)
        in_window = self.second_count + sum(count for _, count in self.recent)
        self.peak_window = max(self.peak_window, in_window)


class WriteStats:
    def __init__(
        self,
        *,
        window_seconds: int = 10,
        limit_per_second: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window_seconds = window_seconds
        self.limit_per_second = limit_per_second
        self._clock = clock
        self._documents: dict[tuple[DatabaseId, str], _DocumentWrites] = {}

    def record(self, database: DatabaseId, path: str) -> None:
        entry = self._documents.get((database, path))
        if entry is None:
            entry = self._documents[(database, path)] = _DocumentWrites()
        entry.record(int(self._clock()), self.window_seconds)

    def clear(self, database: DatabaseId | None = None) -> None:
        if database is None:
            self._documents.clear()
            return
        for key in [key for key in self._documents if key[0] == database]:
            del self._documents[key]

    def snapshot(self, database: DatabaseId | None = None) -> dict[str, Any]:
        """JSON-ready statistics, hottest documents first."""
        rows: list[dict[str, Any]] = []
        for (db, path), entry in self._documents.items():
            if database is not None and db != database:
                continue
            sustained = entry.peak_window / self.window_seconds
            rows.append(
                {
                    "project": db.project,
                    "database": db.database,
                    "document": path,
                    "name": db.document_name(path),
                    "writes": entry.total,
                    "peak_writes_per_second": entry.peak_second,
                    "peak_sustained_writes_per_second": round(sustained, 3),
                    "hot": sustained > self.limit_per_second,
                }
            )
        rows.sort(
            key=lambda row: (
                -row["peak_sustained_writes_per_second"],
                -row["peak_writes_per_second"],
                row["name"],
            )
        )
        return {
            "limit_writes_per_second": self.limit_per_second,
            "sustained_window_seconds": self.window_seconds,
            "total_writes": sum(row["writes"] for row in rows),
            "hot_documents": [row["name"] for row in rows if row["hot"]],
            "documents": rows,
        }
