"""The operations of docs/openapi.json as the fuzzing harness reads them, and who may call each.

Everything here is read from the document (and, for which functions are scheduled, from
shared/topology.py), so an operation a function adds is fuzzed and probed as soon as
`python -m shared.http.openapi --write` has described it. Who may call an operation comes
from its security and extensions:

- `security` holding `{}`: anyone, with or without a token (a quote);
- `x-permission`: the roles in its `x-roles`, which hold that permission;
- otherwise any signed-in user, registered or not (registration, `/users/me`);
- but a scheduled function's operations only its Cloud Scheduler job (`scheduler`): they
  check the token's service account in code, which the document does not describe;
- and an operation marked `x-signed` only the partner who signs it (`partner`: the payment
  gateway's callbacks, signed by tests/fuzz/gateway.py with the local platform's key).

Callers are the platform's roles plus four kinds of caller with no role the document names:
`anonymous` (no `Authorization` header), `unregistered` (a valid token of someone who never
registered), `deactivated` (a valid token of an account an `admin.super` deactivated) and
`scheduler` (the OIDC token the local Cloud Scheduler sends a scheduled function) and
`partner` (no token: the request signed as the payment gateway signs its callbacks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from shared.domain.permissions import ROLES
from shared.topology import FUNCTIONS

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
IDEMPOTENCY_KEY = "Idempotency-Key"

ANONYMOUS = "anonymous"
UNREGISTERED = "unregistered"
DEACTIVATED = "deactivated"
SCHEDULER = "scheduler"
PARTNER = "partner"
# Every caller the fuzzer acts as; `deactivated` is only ever refused: probed, never fuzzed.
PEOPLE: tuple[str, ...] = (ANONYMOUS, UNREGISTERED, *ROLES)
CALLERS: tuple[str, ...] = (*PEOPLE, SCHEDULER, PARTNER)
SCHEDULED = frozenset(function.name for function in FUNCTIONS if function.schedule is not None)
# Contention is produced by the contention tests (the emulator's commit faults), not by input.
STATUSES_NOT_PROBED = frozenset({503})


def load_document(path: Path = OPENAPI) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def function_of(path: str) -> str:
    """The function that serves a path of the document: its first segment."""
    return path.split("/")[1]


def admitted_callers(path: str, definition: Mapping[str, Any]) -> tuple[str, ...]:
    """The callers an operation admits (see the module docstring)."""
    if function_of(path) in SCHEDULED:
        return (SCHEDULER,)
    if "x-signed" in definition:
        return (PARTNER,)
    if {} in definition.get("security", []):
        return PEOPLE
    if "x-permission" in definition:
        return tuple(role for role in ROLES if role in definition.get("x-roles", ()))
    return (UNREGISTERED, *ROLES)


@dataclass(frozen=True)
class Operation:
    """One method on one path of the document."""

    method: str  # upper case, as sent
    path: str  # the document's path: /<function>/<route path>
    definition: Mapping[str, Any]
    path_methods: tuple[str, ...]  # every method the document declares on this path

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def function(self) -> str:
        return function_of(self.path)

    @cached_property
    def documented(self) -> frozenset[int]:
        return frozenset(int(status) for status in self.definition["responses"])

    @property
    def success(self) -> int:
        (status,) = [s for s in self.documented if 200 <= s < 300]
        return status

    @property
    def documented_4xx(self) -> tuple[int, ...]:
        return tuple(sorted(s for s in self.documented if 400 <= s < 500))

    @property
    def admitted(self) -> tuple[str, ...]:
        return admitted_callers(self.path, self.definition)

    @property
    def restricted(self) -> bool:
        """Whether some signed-in callers are refused (a permission, or the scheduler only)."""
        return "x-permission" in self.definition or self.function in SCHEDULED

    @property
    def public(self) -> bool:
        return ANONYMOUS in self.admitted

    @property
    def has_body(self) -> bool:
        return "requestBody" in self.definition

    def parameters(self, location: str) -> tuple[str, ...]:
        return tuple(
            p["name"] for p in self.definition.get("parameters", ()) if p["in"] == location
        )

    @property
    def idempotent(self) -> bool:
        return IDEMPOTENCY_KEY in self.parameters("header")


def operations(document: Mapping[str, Any]) -> list[Operation]:
    """Every operation of `document`, in the document's order."""
    found: list[Operation] = []
    for path, item in document["paths"].items():
        methods = tuple(m.upper() for m in item if m in HTTP_METHODS)
        for method in methods:
            found.append(Operation(method, path, item[method.lower()], methods))
    return found
