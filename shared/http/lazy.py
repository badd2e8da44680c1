"""`Lazy`: build a function's dependencies on its first request, then reuse them.

A Cloud Function instance imports `main.py` once (cold start) and then serves
many requests. Clients built at import time slow every cold start and break
tests that never call Google; clients built per request waste connections.
`Lazy(build)` runs `build()` on the first `get()` — once, even with concurrent
first requests — and returns the same object afterwards.

Tests replace what `get()` returns without touching the builder:

    with main.services.override(fake_services):
        client.post(...)
"""

from __future__ import annotations

import contextlib
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
                    self._value = self._build()
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
