"""What the platform's HTTP adapters share: one pooled `httpx.Client` per adapter, closed
with it (also as a context manager), that follows no redirects and reads no proxy settings
or `.netrc` from the environment; and, for a service whose URL embeds its key, a `repr`
that never shows it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx


class PooledHttp:
    def __init__(
        self, *, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(
            transport=transport, timeout=timeout_s, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SecretUrlClient(PooledHttp):
    """An adapter that POSTs to one URL which is a credential (it embeds the key)."""

    def __init__(
        self, url: str, *, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(timeout_s=timeout_s, transport=transport)
        self._url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url=<secret>)"
