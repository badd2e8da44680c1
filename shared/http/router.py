"""Routes inside one functions-framework HTTP function: parse → authorize → call → respond.

A Cloud Function has one entry point; `Router` dispatches its requests by
method and path template to small handlers (werkzeug's routing: the most specific
template wins, whatever the order of declaration, so `/me` is never taken for
`/{user_id}`), and owns everything every handler would otherwise repeat:

- 404 for an unknown path, 405 (with `Allow`) for a known path and wrong method — the
  path matched first, the method second, as OpenAPI matches a request; what
  functions-framework refuses itself before the function runs (a path with a line break,
  `/favicon.ico`) is a problem document too;
- authentication and permissions (shared/http/guard.py) — a route declares exactly
  one of `public=True` (token optional), `signed_in=True` (any verified token, even
  one without a role: registration), `permission=...` (shared/domain/permissions.py) or
  `signed=True` (no token: a partner signs the request itself, and
  `HttpServices.request_signature` verifies the raw body before it is parsed: the
  payment gateway's callbacks);
- the JSON body parsed once into the route's pydantic `body` model and the
  query string into its `query` model (400 unparseable, 415 not JSON, 413 too
  large, 422 with field errors when invalid); a path parameter that is a value of a
  form rather than a name (`path_patterns`: a month `YYYY-MM`) is checked against its
  pattern (422 naming it), and the route answers no 404 for it;
- `Idempotency-Key` for `idempotent=True` routes (shared/platform/idempotency.py):
  the first response is stored in the handler's own transaction and replayed (through
  `on_replay(call, stored)` when a route must refresh part of it: a signed URL);
- the response model serialized as JSON with the route's status;
- CORS for the browser origins in `HttpServices.cors_origins` (an admin web console): a
  preflight from one of them is answered with the path's methods, and their requests get
  `Access-Control-Allow-Origin`; any other origin gets no CORS header at all;
- every exception mapped to a problem document (shared/http/problems.py), the
  unexpected ones logged with context; one access-log line per request with the
  trace of the incoming request.

Handlers take one `Call` and return the response model:

    router: Router[Services] = Router("loan_applications")

    @router.post("/applications", body=SubmitApplication, response=ApplicationAccepted,
                 status=202, permission=Permission.LOAN_APPLY, idempotent=True)
    def submit(call: Call[SubmitApplication, Services]) -> ApplicationAccepted:
        return submit_application(call.body, call.caller, call.uow, call.services.clock)

An idempotent handler must run exactly one read-write transaction, through
`call.uow`, and return that transaction's result (the router enforces both).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import flask
from pydantic import BaseModel, TypeAdapter, ValidationError
from werkzeug import exceptions as werkzeug_errors
from werkzeug.routing import Map, Rule

from shared.domain.errors import ValidationFailed
from shared.domain.permissions import Permission, Role, roles_with
from shared.http.errors import (
    MalformedRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
    Unauthenticated,
    UnsupportedMediaType,
)
from shared.http.guard import authenticate, authorize
from shared.http.problems import PROBLEM_CONTENT_TYPE, Problem, field_errors, problem_for
from shared.log import log_context, trace_from_headers
from shared.platform.callers import Caller, CallerDirectory, TokenVerifier
from shared.platform.clock import Clock, SystemClock
from shared.platform.ids import IdGenerator, RandomIds
from shared.platform.store import UnitOfWork

if TYPE_CHECKING:  # the protocol loads with the first request that sends an Idempotency-Key
    from shared.platform.idempotency import Claim, IdempotencyScope

logger = logging.getLogger(__name__)

B = TypeVar("B")
S = TypeVar("S", bound="HttpServices")

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
PREFLIGHT_MAX_AGE_S = 600
_ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
_EXPOSED_HEADERS = "Retry-After, Idempotent-Replayed, Allow, WWW-Authenticate"
_TOO_DEEP = f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII, as the IETF draft asks
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, kw_only=True)
class HttpServices:
    """What the router needs from a function's dependencies; subclass it to add your own.

    `uow` is required by idempotent routes, `verifier` by non-public ones;
    `callers` (the user records) makes deactivation and role changes effective
    immediately and should be set wherever users exist.
    """

    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=RandomIds)
    uow: UnitOfWork | None = None
    verifier: TokenVerifier | None = None
    callers: CallerDirectory | None = None
    idempotency_lease: timedelta = timedelta(seconds=120)
    idempotency_retention: timedelta = timedelta(hours=24)
    cors_origins: frozenset[str] = frozenset()  # browser origins allowed to call (an admin web)
    request_signature: RequestSignature | None = None  # for `signed=True` routes


class RequestSignature(Protocol):
    """Checks a partner's signature over the request as it arrived; raises `Unauthenticated`."""

    def verify(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None: ...


@dataclass(frozen=True)
class Call(Generic[B, S]):
    """One request as a handler sees it: already authenticated, parsed and validated."""

    body: B
    query: Any
    path: Mapping[str, str]
    services: S
    headers: Mapping[str, str]
    maybe_caller: Caller | None = None
    store: UnitOfWork | None = None  # for idempotent routes, the one that records the response

    @property
    def caller(self) -> Caller:
        """The authenticated caller (routes with a `permission` always have one)."""
        if self.maybe_caller is None:
            raise Unauthenticated("this operation needs a bearer token")
        return self.maybe_caller

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work for this request's transaction."""
        if self.store is None:
            raise RuntimeError("this function was configured without a unit of work")
        return self.store


Handler = Callable[[Call[Any, Any]], Any]


@dataclass(frozen=True)
class Route:
    """One method + path template, its models, its rules, and its handler."""

    method: str
    path: str
    handler: Handler
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # a pydantic model class, or any type TypeAdapter accepts; None → 204
    status: int
    permission: Permission | None  # None: public or signed_in
    signed_in: bool
    signed: bool  # no token: the request carries a partner's signature instead
    idempotent: bool
    # Answers 404 for something the request names besides its path parameters (`/me` before
    # registration, a lookup by NIK); documented with every route that has path parameters.
    not_found: bool
    # Answers 409 without an Idempotency-Key: the request met a state (a superseded version).
    conflict: bool
    # Path parameters that are values of a form, not names: their patterns (422 otherwise).
    path_patterns: Mapping[str, str]
    # Turns a replayed response into the one to send now (a fresh signed URL, say).
    on_replay: Callable[[Call[Any, Any], Any], Any] | None
    summary: str
    description: str
    path_params: tuple[str, ...]

    @property
    def roles(self) -> tuple[Role, ...] | None:
        """The roles whose permissions admit this route (None: public or signed in)."""
        return None if self.permission is None else roles_with(self.permission)

    @functools.cached_property
    def response_adapter(self) -> TypeAdapter[Any] | None:
        # Built on the route's first use, not at import: a cold start pays only for the
        # route it serves (every route's model is built by the OpenAPI test).
        return TypeAdapter(self.response) if self.response is not None else None

    def render(self, result: Any) -> Any:
        """The JSON-ready response body for a handler result."""
        if self.response_adapter is None:
            return None
        return self.response_adapter.dump_python(result, mode="json")


def _rule_path(path: str) -> tuple[str, tuple[str, ...]]:
    """`/applications/{loan_id}` → werkzeug's `/applications/<loan_id>` and its parameters."""
    if not path.startswith("/"):
        raise ValueError(f"route paths start with '/': {path!r}")
    parts = _PARAM.split(path)  # literal, name, literal, name, ..., literal
    rule = "".join(part if i % 2 == 0 else f"<{part}>" for i, part in enumerate(parts))
    return rule, tuple(parts[1::2])


class Router(Generic[S]):
    """The routes of one HTTP function (`function` is its name in shared/topology.py)."""

    def __init__(self, function: str, *, description: str = "") -> None:
        self.function = function
        self.description = description
        self._routes: list[Route] = []
        self._map: Map | None = None  # werkzeug's rules, built on the first request
        if flask.has_app_context():
            # functions-framework runs main.py inside its app's context: what that app refuses
            # before the function runs becomes a problem document too.
            flask.current_app.register_error_handler(
                werkzeug_errors.HTTPException, self._framework_refusal
            )

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    def route(
        self,
        method: str,
        path: str,
        *,
        response: Any = None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        status: int = 200,
        permission: Permission | None = None,
        public: bool = False,
        signed_in: bool = False,
        signed: bool = False,
        idempotent: bool = False,
        not_found: bool = False,
        conflict: bool = False,
        path_patterns: Mapping[str, str] | None = None,
        on_replay: Callable[[Call[Any, S], Any], Any] | None = None,
        summary: str | None = None,
    ) -> Callable[[Callable[[Call[Any, S]], Any]], Callable[[Call[Any, S]], Any]]:
        """Register a handler. Exactly one of `public=True`, `signed_in=True`, `permission=`,
        `signed=True`."""
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"unsupported method {method!r}")
        if [public, signed_in, permission is not None, signed].count(True) != 1:
            raise ValueError(
                f"{method} {path}: declare exactly one of public=True, signed_in=True, "
                "permission=, signed=True"
            )
        if idempotent and (public or signed):
            raise ValueError(f"{method} {path}: idempotency keys are scoped to a caller")
        if on_replay is not None and not idempotent:
            raise ValueError(f"{method} {path}: on_replay is for idempotent routes")
        if idempotent and response is None:
            raise ValueError(f"{method} {path}: an idempotent route stores a response model")
        if any(r.method == method and r.path == path for r in self._routes):
            raise ValueError(f"{method} {path} is declared twice")
        _, params = _rule_path(path)
        if not set(path_patterns or {}) <= set(params):
            raise ValueError(f"{method} {path}: path_patterns names no parameter of the path")

        def register(handler: Callable[[Call[Any, S]], Any]) -> Callable[[Call[Any, S]], Any]:
            doc = (handler.__doc__ or "").strip()
            first, _, rest = doc.partition("\n")
            self._routes.append(
                Route(
                    method=method,
                    path=path,
                    handler=handler,
                    body=body,
                    query=query,
                    response=response,
                    status=204 if response is None and status == 200 else status,
                    permission=permission,
                    signed_in=signed_in,
                    signed=signed,
                    idempotent=idempotent,
                    not_found=not_found,
                    conflict=conflict,
                    path_patterns=dict(path_patterns or {}),
                    on_replay=on_replay,
                    summary=summary or first.strip() or handler.__name__.replace("_", " "),
                    description=rest.strip(),
                    path_params=params,
                )
            )
            self._map = None
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)

    # --- dispatch ------------------------------------------------------------------------------

    def _rules(self) -> Map:
        if self._map is None:
            # One rule per path template, whatever its methods: werkzeug orders them by
            # specificity, so `/me` is tried before `/{user_id}`.
            templates = dict.fromkeys(route.path for route in self._routes)
            self._map = Map(
                [Rule(_rule_path(path)[0], endpoint=path) for path in templates],
                strict_slashes=False,
                merge_slashes=False,
            )
        return self._map

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for a request, or RouteNotFound / MethodNotAllowed.

        The path is matched first and the method second, as OpenAPI matches a request:
        `GET /lookup` on a router with `POST /lookup` and `GET /{user_id}` is a 405 naming
        POST, never a read of the user called "lookup"."""
        if "//" in path.rstrip("/"):  # werkzeug would drop an empty segment; it names nothing
            raise RouteNotFound(f"{self.function} has no route {path}")
        adapter = self._rules().bind("function.local")
        try:
            template, params = adapter.match(path.rstrip("/") or "/")
        except werkzeug_errors.NotFound:
            raise RouteNotFound(f"{self.function} has no route {path}") from None
        routes = {route.method: route for route in self._routes if route.path == template}
        route = routes.get(method.upper())  # HEAD, OPTIONS...: never matched to a GET route
        if route is None:
            raise MethodNotAllowed(f"{method} is not allowed on {path}", tuple(sorted(routes)))
        return route, {name: str(value) for name, value in params.items()}

    def _framework_refusal(self, error: werkzeug_errors.HTTPException) -> flask.Response:
        """A request functions-framework answered before the function ran, as a problem."""
        if error.code == 404:
            return problem_response(problem_for(RouteNotFound(f"{self.function} has no route")))
        status = error.code or 500
        return problem_response(
            Problem(status, "http-error", error.name, error.description or error.name)
        )

    def handle(self, request: flask.Request, services: S) -> flask.Response:
        """Serve one functions-framework request; never raises."""
        started = time.perf_counter()
        headers: Mapping[str, str] = request.headers  # type: ignore[assignment]  # case-insensitive
        labels = {"function": self.function}
        route_label = request.path
        caller_id: str | None = None
        origin = headers.get("Origin")
        allowed_origin = origin if origin is not None and origin in services.cors_origins else None
        with log_context(trace=trace_from_headers(headers), labels=labels):
            try:
                if request.method == "OPTIONS" and allowed_origin is not None:
                    response = self._preflight(request.path, allowed_origin)
                else:
                    route, params = self.match(request.method, request.path)
                    route_label = route.path
                    status, body, extra_headers, caller_id = self._serve(
                        route, params, request, headers, services
                    )
                    response = _json_response(status, body, extra_headers)
            except Exception as exc:  # every failure becomes a problem document
                response = self._problem_response(exc, request.method, route_label)
            if allowed_origin is not None:
                response.headers["Access-Control-Allow-Origin"] = allowed_origin
                response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
            if services.cors_origins:
                response.headers["Vary"] = "Origin"
            logger.info(
                "%s %s %s",
                request.method,
                route_label,
                response.status_code,
                extra={
                    "httpRequest": {
                        "requestMethod": request.method,
                        "requestUrl": request.path,
                        "status": response.status_code,
                        "latency": f"{time.perf_counter() - started:.6f}s",
                        "userAgent": headers.get("User-Agent", ""),
                    },
                    "route": route_label,
                    "user_id": caller_id,
                },
            )
            return response

    def _preflight(self, path: str, origin: str) -> flask.Response:
        """A CORS preflight from an allowed origin: the methods the path answers."""
        try:
            self.match("__preflight__", path)  # a known path always refuses this method
        except MethodNotAllowed as known:
            allowed = known.allowed
        else:  # pragma: no cover - no route takes a method of that name
            allowed = ()
        return flask.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": ", ".join(allowed),
                "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            },
        )

    def _serve(
        self,
        route: Route,
        params: dict[str, str],
        request: flask.Request,
        headers: Mapping[str, str],
        services: S,
    ) -> tuple[int, Any, dict[str, str], str | None]:
        if route.signed:
            caller = None
            _verify_signature(request, headers, services)
        else:
            caller = self._authenticate(route, headers, services)
        _check_path(route, params)
        raw_body, body = _parse_body(route, request)
        query = _parse_query(route, request)
        if route.idempotent:
            assert caller is not None  # idempotent routes are never public
            return self._serve_idempotent(
                route, params, request, headers, services, caller, raw_body, body, query
            )
        call: Call[Any, S] = Call(
            body=body,
            query=query,
            path=params,
            services=services,
            headers=headers,
            maybe_caller=caller,
            store=services.uow,
        )
        result = route.handler(call)
        return route.status, route.render(result), {}, caller.user_id if caller else None

    def _authenticate(self, route: Route, headers: Mapping[str, str], services: S) -> Caller | None:
        authorization = headers.get("Authorization")
        public = route.permission is None and not route.signed_in
        if public and not authorization:
            return None  # anonymous caller of a public route
        if services.verifier is None:
            raise RuntimeError(f"{self.function}: HttpServices.verifier is not configured")
        caller = authenticate(authorization, services.verifier, services.callers)
        if route.permission is not None:
            authorize(caller, route.permission)
        return caller

    def _serve_idempotent(
        self,
        route: Route,
        params: dict[str, str],
        request: flask.Request,
        headers: Mapping[str, str],
        services: S,
        caller: Caller,
        raw_body: Any,
        body: Any,
        query: Any,
    ) -> tuple[int, Any, dict[str, str], str | None]:
        from shared.platform.idempotency import (
            OneTransactionOnly,
            Replay,
            claim_request,
            claimed_unit_of_work,
        )

        uow = services.uow
        if uow is None:
            raise RuntimeError(f"{self.function}: idempotent routes need HttpServices.uow")
        key = headers.get(IDEMPOTENCY_KEY_HEADER)
        if key is None:
            raise MalformedRequest(
                f"{route.method} {route.path} creates or moves something: send an "
                f"{IDEMPOTENCY_KEY_HEADER} header (a fresh UUID per intended operation)"
            )
        if not _IDEMPOTENCY_KEY.match(key):
            raise MalformedRequest(
                f"{IDEMPOTENCY_KEY_HEADER} must be 1 to 255 visible ASCII characters"
            )
        scope = idempotency_scope(self.function, route.method, request.path, caller.user_id, key)
        fingerprint = request_fingerprint(raw_body, request.args.to_dict(flat=False))
        outcome = claim_request(
            uow,
            scope,
            fingerprint,
            clock=services.clock,
            token=uuid.uuid4().hex,  # internal: keeps the ids port for domain identifiers
            lease=services.idempotency_lease,
            retention=services.idempotency_retention,
        )
        if isinstance(outcome, Replay):
            uow.publish_pending(outcome.emitted)
            answer = outcome.body
            if route.on_replay is not None:
                replay: Call[Any, S] = Call(
                    body=body,
                    query=query,
                    path=params,
                    services=services,
                    headers=headers,
                    maybe_caller=caller,
                    store=uow,
                )
                answer = route.render(route.on_replay(replay, outcome.body))
            return outcome.status, answer, {"Idempotent-Replayed": "true"}, caller.user_id
        claimed = claimed_unit_of_work(
            uow, outcome, status=route.status, render=route.render, clock=services.clock
        )
        call: Call[Any, S] = Call(
            body=body,
            query=query,
            path=params,
            services=services,
            headers=headers,
            maybe_caller=caller,
            store=claimed,
        )
        try:
            result = route.handler(call)
            if not claimed.ran:
                raise OneTransactionOnly(
                    f"{route.method} {route.path} is idempotent but ran no transaction "
                    "through call.uow"
                )
        except BaseException:
            if not claimed.committed:
                _release_quietly(uow, outcome)
            raise
        if result != claimed.result:
            raise OneTransactionOnly(
                f"{route.method} {route.path} must return what its transaction returned "
                "(that is the response stored for replays)"
            )
        return route.status, route.render(result), {}, caller.user_id

    def _problem_response(self, exc: Exception, method: str, route: str) -> flask.Response:
        problem = problem_for(exc)
        if problem.status >= 500 and not problem.headers.get("Retry-After"):
            logger.error(
                "unhandled %s in %s %s",
                type(exc).__name__,
                method,
                route,
                exc_info=exc,
                extra={"route": route, "error_type": type(exc).__name__},
            )
        elif problem.status >= 500:
            logger.warning(
                "%s %s answered %s: %s",
                method,
                route,
                problem.status,
                problem.detail,
                extra={"route": route, "error_type": type(exc).__name__},
            )
        return problem_response(problem)


def idempotency_scope(
    function: str, method: str, path: str, caller: str, key: str
) -> IdempotencyScope:
    """What an Idempotency-Key is unique within: its caller, and the function, method and path
    of the request (a trailing slash aside)."""
    from shared.platform.idempotency import IdempotencyScope

    return IdempotencyScope(caller, f"{function} {method} {path.rstrip('/') or '/'}", key)


def request_fingerprint(raw_body: Any, query: Mapping[str, list[str]]) -> str:
    """The hash a repeated key's request must match: its parsed JSON body and its query."""
    from shared.platform.idempotency import payload_hash

    return payload_hash({"body": raw_body, "query": dict(query)})


def _release_quietly(uow: UnitOfWork, claim: Claim) -> None:
    # If the store is down the claim's lease expires on its own; the original error matters more.
    from shared.platform.idempotency import release_claim

    try:
        release_claim(uow, claim)
    except Exception:
        logger.warning("could not release an idempotency claim", exc_info=True)


def _verify_signature(request: flask.Request, headers: Mapping[str, str], services: Any) -> None:
    signature = services.request_signature
    if signature is None:
        raise RuntimeError("HttpServices.request_signature is not configured")
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    query = request.query_string.decode("latin-1")
    path = f"{request.path}?{query}" if query else request.path
    signature.verify(
        request.method, path, headers, request.get_data(cache=True), services.clock.now()
    )


def _check_path(route: Route, params: Mapping[str, str]) -> None:
    """422 naming each path parameter that does not have its declared form."""
    wrong = {
        name: f"must match {pattern}"
        for name, pattern in route.path_patterns.items()
        if not re.fullmatch(pattern, params[name])
    }
    if wrong:
        raise ValidationFailed("a path parameter is malformed", wrong)


def _parse_body(route: Route, request: flask.Request) -> tuple[Any, Any]:
    """(the parsed JSON, the validated model) — (None, None) for routes without a body."""
    if route.body is None:
        return None, None
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    mimetype = (request.mimetype or "").lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("send the request body as Content-Type: application/json")
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    raw = read_json(data)
    try:
        return raw, route.body.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise ValidationFailed(f"{len(errors)} field(s) are invalid; see errors.", errors) from None


def read_json(data: bytes) -> Any:
    """A request body as JSON, or `MalformedRequest` saying why it cannot be read: not UTF-8,
    not JSON, a repeated key, NaN or infinite numbers, lone surrogates, or nesting deeper than
    `MAX_JSON_DEPTH` (no model of the platform nests half as deep)."""
    try:
        raw = json.loads(
            data, parse_constant=_reject_constant, object_pairs_hook=_refuse_repeated_keys
        )
    except json.JSONDecodeError as exc:
        raise MalformedRequest(
            f"the request body is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise MalformedRequest(_TOO_DEEP) from None
    except _RepeatedKey as exc:
        raise MalformedRequest(f"the request body repeats the key {exc.key!r}") from None
    except _NotANumber as exc:
        raise MalformedRequest(
            f"the request body holds {exc.name}, which is not a JSON number"
        ) from None
    except UnicodeDecodeError:
        raise MalformedRequest("the request body is not valid JSON (UTF-8)") from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise MalformedRequest("the request body holds a number with too many digits") from None
    _check_json_shape(raw)
    return raw


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key[:64]


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKey(key)
        found[key] = value
    return found


def _check_json_shape(raw: Any) -> None:
    """Depth, finite numbers and well-formed strings, walked without recursion."""
    pending: list[tuple[Any, int]] = [(raw, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise MalformedRequest(
                    f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                pending.append((item, depth + 1))
        elif isinstance(value, str):
            _check_text(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise MalformedRequest("the request body holds a number too large to represent")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedRequest("the request body holds a lone UTF-16 surrogate") from None


class _NotANumber(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> Any:
    raise _NotANumber(name)


def _parse_query(route: Route, request: flask.Request) -> Any:
    if route.query is None:
        return None
    values: dict[str, Any] = {}
    for name, items in request.args.to_dict(flat=False).items():
        values[name] = items[0] if len(items) == 1 else items
    try:
        return route.query.model_validate(values)
    except ValidationError as exc:
        errors = field_errors(exc, prefix="query.")
        raise ValidationFailed(f"{len(errors)} query parameter(s) are invalid.", errors) from None


def _json_response(status: int, body: Any, headers: Mapping[str, str]) -> flask.Response:
    if status == 204:
        return flask.Response(status=204, headers=dict(headers))
    return flask.Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=dict(headers),
        mimetype="application/json",
    )


def problem_response(problem: Problem) -> flask.Response:
    """A flask response carrying `problem` as application/problem+json."""
    return flask.Response(
        problem.json(),
        status=problem.status,
        headers=dict(problem.headers),
        content_type=PROBLEM_CONTENT_TYPE,
    )
