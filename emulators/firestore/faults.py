"""Commit faults: make Firestore refuse commits, so crash and retry paths are tested for real.

A `CommitFault` (set through `PUT /faults` on the admin port) fails the next
`count` commits that match it with a gRPC status `code`, before anything is
locked or written:

- `project` / `database`: only commits to that database (both optional; a
  fault without a project matches every database);
- `path_prefix`: only commits writing at least one document whose path (relative
  to the database, e.g. `ledger/2026-12/entries/E1`) starts with it;
- `count`: 1 to 1,000,000 refusals, then the fault is spent; `null` refuses
  until cleared (`DELETE /faults`, or a reset of the database).

A commit is a `Commit` call: a transaction's commit, a batch, and the
single-document `CreateDocument`, `UpdateDocument` and `DeleteDocument`
(`BatchWrite` is not a commit and is never refused). A refused transaction is
over, as production ends it: with ABORTED the client's `@transactional` retries
it (a new attempt, which the next refusal may hit again); with any other code
the error reaches the caller. When several faults match, the one set first
refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from emulators.firestore.resources import DatabaseId

COMMIT_FAULT_CODES = frozenset(code.name for code in grpc.StatusCode) - {"OK"}
_FIELDS = {"project", "database", "path_prefix", "code", "count"}


class FaultError(ValueError):
    """A commit fault with a missing, unknown or out-of-range field."""


@dataclass
class CommitFault:
    code: str = "ABORTED"
    count: int | None = 1
    project: str | None = None
    database: str | None = None
    path_prefix: str | None = None
    refused: int = 0

    @classmethod
    def from_json(cls, body: Any) -> CommitFault:
        if not isinstance(body, dict):
            raise FaultError("commit must be an object")
        unknown = set(body) - _FIELDS
        if unknown:
            raise FaultError(f"unknown commit fault fields: {sorted(unknown)}")
        for name in ("project", "database", "path_prefix", "code"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise FaultError(f"commit fault {name} must be a string")
        code = body.get("code") or "ABORTED"
        if code not in COMMIT_FAULT_CODES:
            raise FaultError(f"commit fault code must be one of {sorted(COMMIT_FAULT_CODES)}")
        count = body.get("count", 1)
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1_000_000
        ):
            raise FaultError("commit fault count must be an integer from 1 to 1000000, or null")
        if body.get("database") is not None and body.get("project") is None:
            raise FaultError("a commit fault with a database names its project too")
        return cls(
            code=code,
            count=count,
            project=body.get("project"),
            database=body.get("database"),
            path_prefix=body.get("path_prefix"),
        )

    @property
    def status(self) -> grpc.StatusCode:
        return grpc.StatusCode[self.code]

    @property
    def spent(self) -> bool:
        return self.count is not None and self.refused >= self.count

    def concerns(self, database: DatabaseId) -> bool:
        if self.project is not None and self.project != database.project:
            return False
        return self.database is None or self.database == database.database

    def matches(self, database: DatabaseId, paths: Sequence[str]) -> bool:
        if not self.concerns(database):
            return False
        prefix = self.path_prefix
        return prefix is None or any(path.startswith(prefix) for path in paths)

    def message(self) -> str:
        return f"Commit refused by an injected fault ({self.code}); see the emulator's /faults."

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "count": self.count,
            "remaining": None if self.count is None else self.count - self.refused,
            "refused": self.refused,
            "project": self.project,
            "database": self.database,
            "path_prefix": self.path_prefix,
        }
