"""Requests that produce each documented 4xx of an operation, derived from the document alone.

Fuzzing reaches most statuses by itself, but not the ones that need a second caller, a state
or an oversized request. For every documented 4xx (503 aside: the contention tests produce it)
`PROBES` says how to cause it on any operation:

- 400: a body that is not JSON; without a body, the required `Idempotency-Key` left out;
- 401: no `Authorization` header;
- 403: a deactivated account; for a permission or a scheduled function, also someone who
  never registered and every registered role the operation does not admit;
- 404: a valid request whose path parameters name nothing (generated; `/users/me` as someone
  unregistered);
- 405: a method the document does not declare on the path;
- 409: a valid request whose `Idempotency-Key` a first, identical request still holds (claimed
  in the store as that request would have: `claim_request`); generated, or from
  `VALID_BODIES` where the schema cannot describe a valid body in full; for an operation whose
  409 is a state rather than a key, the request `STATE_CONFLICTS` builds for it;
- 413: a JSON body over the router's 1 MiB;
- 415: a `text/plain` body;
- 422: a JSON array where the body is an object; invalid queries (generated); a path
  parameter out of its documented pattern (a fresh id is no month); without a body, an
  `Idempotency-Key` that a different request claimed;
- 431: an `Authorization` header longer than any token.

Every probe answers the requests it sent; tests/fuzz/test_documented_statuses.py checks that
each got the status and conforms to the document. A new operation is probed without editing
this file, unless it documents a status no row here can cause: then that test fails naming it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import NoSuchExample
from schemathesis.core.transport import Response

from scripts.platform_client import sandbox_applicant
from shared.http.guard import MAX_AUTHORIZATION_LENGTH
from shared.http.router import MAX_BODY_BYTES, idempotency_scope, request_fingerprint
from shared.platform.clock import SystemClock
from shared.platform.idempotency import claim_request
from shared.platform.store import UnitOfWork
from shared.records.loans import LoanRecord, Loans
from shared.services.catalogue import sample_catalogue
from tests.fuzz.accounts import FuzzAccounts
from tests.fuzz.gateway import GATEWAY_URL
from tests.fuzz.schema import SCHEMA
from tests.fuzz.spec import (
    ANONYMOUS,
    DEACTIVATED,
    IDEMPOTENCY_KEY,
    PARTNER,
    UNREGISTERED,
    Operation,
)
from tests.fuzz.tally import PROBE, Tally

# Generated requests tried before a searching probe gives up.
SEARCH_ATTEMPTS = 40
_SEARCH = hypothesis.settings(
    max_examples=SEARCH_ATTEMPTS,
    phases=[Phase.generate],
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
_UNSET: Any = object()


class ProbeFailed(AssertionError):
    """A probe could not cause its status (the message says what it tried)."""


@dataclass(frozen=True)
class Sent:
    """One probe request: who sent it and what came back."""

    caller: str
    path_parameters: Mapping[str, str]
    response: Response


@dataclass
class ProbeContext:
    gateway: requests.Session
    accounts: FuzzAccounts
    store: UnitOfWork  # the platform's Firestore, where a first request claims its key
    tally: Tally
    _claims: Iterator[int] = field(default_factory=itertools.count)

    def send(
        self,
        operation: Operation,
        caller: str,
        *,
        method: str | None = None,
        path_parameters: Mapping[str, str] | None = None,
        body: Any = _UNSET,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        key: str | None = _UNSET,
    ) -> Sent:
        """One raw request to `operation` (fresh ids for its path parameters, a fresh key
        when it takes one, `{}` as a body when it has one, unless told otherwise)."""
        params = dict(path_parameters or unknown_ids(operation))
        _, auth = self.accounts.identity(caller, operation.function)
        merged = {**auth, **(headers or {})}
        if operation.idempotent and key is _UNSET:
            key = f"fuzz-probe-{uuid.uuid4()}"
        if key not in (None, _UNSET):
            merged[IDEMPOTENCY_KEY] = key
        if body is _UNSET and data is None and operation.has_body:
            body = {}
        response = self.gateway.request(
            method or operation.method,
            GATEWAY_URL + fill(operation.path, params),
            json=None if body is _UNSET else body,
            data=data,
            headers=merged,
            timeout=30,
        )
        return self._recorded(operation, caller, params, Response.from_any(response))

    def send_case(
        self,
        operation: Operation,
        case: schemathesis.Case[Any],
        caller: str,
        *,
        sub_and_auth: tuple[str | None, Mapping[str, str]] | None = None,
        path_parameters: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> Sent:
        """A generated case as `caller`, its path parameters and key replaced when given."""
        _, auth = sub_and_auth or self.accounts.identity(caller, operation.function)
        if path_parameters is not None:
            case.path_parameters = dict(path_parameters)
        if key is not None:
            case.headers[IDEMPOTENCY_KEY] = key
        response = case.call(session=self.gateway, headers=dict(auth))
        return self._recorded(operation, caller, dict(case.path_parameters or {}), response)

    def claim(
        self, operation: Operation, sub: str | None, params: Mapping[str, str], key: str, body: Any
    ) -> None:
        """Hold `key` as a first request with `body`, still running, would (no query)."""
        local_path = fill(operation.path, params).removeprefix(f"/{operation.function}")
        scope = idempotency_scope(operation.function, operation.method, local_path, sub or "", key)
        claim_request(
            self.store,
            scope,
            request_fingerprint(body, {}),
            clock=SystemClock(),
            token=f"fuzz-probe-{next(self._claims)}",
            lease=timedelta(minutes=5),
            retention=timedelta(hours=1),
        )

    def _recorded(
        self,
        operation: Operation,
        caller: str,
        params: Mapping[str, str],
        response: Response,
    ) -> Sent:
        self.tally.record(operation.label, PROBE, response.status_code, caller)
        return Sent(caller, params, response)


def unknown_ids(operation: Operation) -> dict[str, str]:
    """A fresh id for each path parameter: valid as a document id, naming nothing."""
    return {name: f"fuzz-missing-{uuid.uuid4().hex[:12]}" for name in operation.parameters("path")}


def fill(path: str, params: Mapping[str, str]) -> str:
    for name, value in params.items():
        path = path.replace(f"{{{name}}}", quote(value, safe=""))
    return path


def registered_callers(operation: Operation) -> list[str]:
    """The callers with an account that the operation admits, or every admitted one."""
    admitted = [c for c in operation.admitted if c not in (ANONYMOUS, UNREGISTERED)]
    return admitted or list(operation.admitted)


def search(
    ctx: ProbeContext,
    operation: Operation,
    status: int,
    mode: schemathesis.GenerationMode,
    send: Callable[[schemathesis.Case[Any], str], Sent],
    callers: list[str],
) -> list[Sent]:
    """Generated cases sent (by `send`, as the callers in turn) until one answers `status`."""
    strategy = SCHEMA[operation.path][operation.method].as_strategy(generation_mode=mode)
    turns = itertools.cycle(callers)
    hits: list[Sent] = []
    seen: Counter[int] = Counter()
    samples: dict[int, str] = {}

    def answers(case: schemathesis.Case[Any]) -> bool:
        sent = send(case, next(turns))
        seen[sent.response.status_code] += 1
        samples.setdefault(sent.response.status_code, sent.response.text[:300])
        if sent.response.status_code == status:
            hits.append(sent)
        return bool(hits)

    with contextlib.suppress(NoSuchExample):
        hypothesis.find(strategy, answers, settings=_SEARCH)
    if not hits:
        raise ProbeFailed(
            f"{SEARCH_ATTEMPTS} generated {mode.value} requests as {', '.join(callers)} "
            f"never answered {status}; they got {dict(seen)}, for example {samples}"
        )
    return hits[:1]


# --- one probe per status ------------------------------------------------------------------------


def malformed(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    caller = registered_callers(operation)[0]
    if operation.has_body:
        return [ctx.send(operation, caller, data=b"{", headers=_JSON)]
    return [ctx.send(operation, caller, key=None)]


def without_token(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    return [ctx.send(operation, ANONYMOUS)]


def refused_callers(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    refused = [DEACTIVATED]
    if operation.restricted:
        refused += [UNREGISTERED]
        refused += [c for c in ctx.accounts.subs if c not in (*operation.admitted, DEACTIVATED)]
    return [ctx.send(operation, caller) for caller in refused]


def naming_nothing(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    def send(case: schemathesis.Case[Any], caller: str) -> Sent:
        params = unknown_ids(operation) if operation.parameters("path") else None
        return ctx.send_case(operation, case, caller, path_parameters=params)

    callers = list(operation.admitted)  # someone unregistered first: `/users/me`
    return search(ctx, operation, 404, schemathesis.GenerationMode.POSITIVE, send, callers)


def undeclared_method(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    method = next(m for m in ("PATCH", "DELETE", "PUT", "POST") if m not in operation.path_methods)
    return [ctx.send(operation, registered_callers(operation)[0], method=method)]


def key_in_flight(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    in_conflict = STATE_CONFLICTS.get(operation.label)
    if in_conflict is not None:
        return in_conflict(ctx, operation)
    valid_body = VALID_BODIES.get(operation.label)
    if valid_body is not None:
        caller = registered_callers(operation)[0]
        sub, _ = ctx.accounts.identity(caller, operation.function)
        params, key, body = unknown_ids(operation), f"fuzz-probe-{uuid.uuid4()}", valid_body()
        ctx.claim(operation, sub, params, key, body)
        return [ctx.send(operation, caller, path_parameters=params, body=body, key=key)]

    def send(case: schemathesis.Case[Any], caller: str) -> Sent:
        sub, auth = ctx.accounts.identity(caller, operation.function)
        params, key = unknown_ids(operation), f"fuzz-probe-{uuid.uuid4()}"
        ctx.claim(operation, sub, params, key, case.body if operation.has_body else None)
        return ctx.send_case(
            operation, case, caller, sub_and_auth=(sub, auth), path_parameters=params, key=key
        )

    callers = registered_callers(operation)
    return search(ctx, operation, 409, schemathesis.GenerationMode.POSITIVE, send, callers)


def too_large(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    body = json.dumps({"padding": "x" * MAX_BODY_BYTES}).encode()
    return [ctx.send(operation, registered_callers(operation)[0], data=body, headers=_JSON)]


def not_json(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    caller = registered_callers(operation)[0]
    return [ctx.send(operation, caller, data=b"amount=1", headers={"Content-Type": "text/plain"})]


def invalid(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    caller = registered_callers(operation)[0]
    if operation.has_body:
        return [ctx.send(operation, caller, body=[])]
    path_parameters = [p for p in operation.definition.get("parameters", ()) if p["in"] == "path"]
    if any("pattern" in p["schema"] for p in path_parameters):
        return [ctx.send(operation, caller, path_parameters=unknown_ids(operation))]
    if operation.parameters("query"):

        def send(case: schemathesis.Case[Any], caller: str) -> Sent:
            return ctx.send_case(operation, case, caller, path_parameters=unknown_ids(operation))

        negative = schemathesis.GenerationMode.NEGATIVE
        return search(ctx, operation, 422, negative, send, registered_callers(operation))
    # An idempotent route without a body: its key already claimed by another request.
    sub, _ = ctx.accounts.identity(caller, operation.function)
    params, key = unknown_ids(operation), f"fuzz-probe-{uuid.uuid4()}"
    ctx.claim(operation, sub, params, key, {"another": "request"})
    return [ctx.send(operation, caller, path_parameters=params, key=key)]


def header_too_large(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    oversized = {"Authorization": "Bearer " + "x" * MAX_AUTHORIZATION_LENGTH}
    return [ctx.send(operation, ANONYMOUS, headers=oversized)]


_JSON = {"Content-Type": "application/json"}

# Bodies the document's schema cannot describe in full (rules across fields, a NIK's
# checksum), so generated ones never pass the model and never reach the key: one valid
# body each, from the builders the local platform itself uses.
VALID_BODIES: dict[str, Callable[[], Any]] = {
    "POST /users": lambda: sandbox_applicant(random.Random()).registration,
    "POST /products": lambda: {"product": sample_catalogue().products[0].model_dump(mode="json")},
    # A resolution names its target as its action says (a rule across fields).
    "POST /treasury/gateway-payments/{payment_id}/resolution": lambda: {
        "action": "refund",
        "reason": "paid to us in error",
    },
}


def _loan_in_review(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    """A loan still in review, of the caller's own (a borrower) or of someone: it is neither
    funded (nothing to disburse) nor active (nothing to settle early)."""
    caller = registered_callers(operation)[0]
    sub, _ = ctx.accounts.identity(caller, operation.function)
    loan_id = f"fuzz-loan-{uuid.uuid4().hex[:12]}"
    now = SystemClock().now()
    loan = LoanRecord(
        id=loan_id,
        entity="fuzz",
        borrower_id=sub if caller == "borrower" and sub else "fuzz-borrower",
        product_id="working-capital-annuity",
        product_purpose="productive",
        principal=10_000_000,
        tenor=6,
        tenor_unit="month",
        purpose="working_capital",
        state="in_review",
        submitted_at=now,
        updated_at=now,
    )
    ctx.store.run(lambda tx: Loans(tx).put(loan))
    return [ctx.send(operation, caller, path_parameters={"loan_id": loan_id})]


def _payment_notified_otherwise(ctx: ProbeContext, operation: Operation) -> list[Sent]:
    """A gateway reference notified again with another amount."""
    reference = f"FUZZ{uuid.uuid4().hex[:16]}"

    def notice(amount: int) -> dict[str, Any]:
        return {
            "partnerServiceId": "8808",
            "customerNo": "999999999999",
            "virtualAccountNo": "8808999999999999",
            "paymentRequestId": reference,
            "paidAmount": {"value": f"{amount}.00", "currency": "IDR"},
            "trxDateTime": SystemClock().now().isoformat(),
        }

    first = ctx.send(operation, PARTNER, body=notice(100_000))
    assert first.response.status_code == 200, first.response.text[:300]
    return [ctx.send(operation, PARTNER, body=notice(200_000))]


# Operations whose 409 is a state of what they name, not an `Idempotency-Key` in flight.
STATE_CONFLICTS: dict[str, Callable[[ProbeContext, Operation], list[Sent]]] = {
    "POST /disbursements/loans/{loan_id}": _loan_in_review,
    "POST /payoffs/loans/{loan_id}/quotes": _loan_in_review,
    "POST /write_offs/loans/{loan_id}/write-off/confirm": _loan_in_review,
    "POST /payment_webhook/notifications": _payment_notified_otherwise,
}

PROBES: dict[int, Callable[[ProbeContext, Operation], list[Sent]]] = {
    400: malformed,
    401: without_token,
    403: refused_callers,
    404: naming_nothing,
    405: undeclared_method,
    409: key_in_flight,
    413: too_large,
    415: not_json,
    422: invalid,
    431: header_too_large,
}
