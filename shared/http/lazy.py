"""`Lazy`: build a function's dependencies on its first request, then reuse them.

A Cloud Function instance imports `main.py` once (cold start) and then serves
many requests. Clients built at import time slow every cold start and break
tests that never call Google; clients built per request waste connections.
`Lazy(build)` runs `build()` on the first `get()` — once, even with concurrent
first requests — and returns the same object afterwards.

The process's first build also spares the garbage collector work that finds nothing:
what the instance made until then (modules, classes, routes) and what the build makes
(the clients and the libraries they import) live as long as the instance, so the collector
pauses while the build runs and both are moved out of its sight for good (`gc.freeze`)
(docs/architecture.md#cold-start).

Tests replace what `get()` returns without touching the builder:

    with main.services.override(fake_services):
        client.post(...)
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built on first use (thread-safe) and cached for the life of the instance."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built = False

    def get(self) -> T:
        if not self._built:
            with self._lock:
                if not self._built:
                    self._value = _without_collections(self._build)
                    self._built = True
        return self._value  # type: ignore[return-value]

    @contextlib.contextmanager
    def override(self, value: T) -> Iterator[T]:
        """Make `get()` return `value` inside the block (for tests), then restore."""
        with self._lock:
            saved = (self._value, self._built)
            self._value, self._built = value, True
        try:
            yield value
        finally:
            with self._lock:
                self._value, self._built = saved


_collector = threading.Lock()
_builds_running = 0  # of the process's first builds
_collecting_before = False
_settled = False  # the first builds are over, and what the instance made until then frozen


def _without_collections(build: Callable[[], T]) -> T:
    """`build()`; the process's first one with the collector paused and what exists before and
    after it frozen. Later builds run as anything else does (a test's garbage is never
    frozen)."""
    global _builds_running, _collecting_before, _settled
    with _collector:
        first = not _settled
        if first:
            if _builds_running == 0:
                gc.freeze()
                _collecting_before = gc.isenabled()
                gc.disable()
            _builds_running += 1
    if not first:
        return build()
    try:
        return build()
    finally:
        with _collector:
            _builds_running -= 1
            if _builds_running == 0:
                gc.freeze()
                _settled = True
                if _collecting_before:
                    gc.enable()
