"""One OpenAPI 3.1 document for every HTTP function, built from the routers' pydantic models.

Each HTTP function's `main.py` exposes its `Router` as the module attribute
`router`. `build_openapi(routers)` turns their routes into one document:

- paths are `/<function>/<route path>`, as the functions are reached on
  `https://asia-southeast2-<project>.cloudfunctions.net/<function>/...`
  (the local runner serves each function on its own port at `/<route path>`);
- request bodies, query parameters and responses come from the route's
  `body`, `query` and `response` models (pydantic's JSON Schema, which is
  OpenAPI 3.1's dialect), shared under `components/schemas`;
- every route lists the problem documents it can answer (RFC 9457), the bearer
  security it needs with its roles (`x-roles`), and the `Idempotency-Key`
  header when it is idempotent.

The document lives in the repository (`docs/openapi.json`) so clients can read
it without running anything:

    python -m shared.http.openapi --write        # regenerate docs/openapi.json
    python -m shared.http.openapi --check        # exit 1 if it is stale

and a test keeps it honest: `assert openapi_drift(PATH) is None` (the message
says how to regenerate).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from shared.http.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX
from shared.http.router import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN, Route, Router
from shared.topology import FUNCTIONS, REGION

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = ROOT / "docs" / "openapi.json"
OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"
_REF = "#/components/schemas/{model}"

_STATUS_TEXT = {
    400: "Malformed request (unparseable JSON, missing Idempotency-Key).",
    401: "Missing, expired or invalid bearer token.",
    403: "The caller's role lacks the permission, the account is deactivated, or "
    "maker-checker refuses (nobody confirms their own request or decides their own case).",
    404: "Not found, or not visible to the caller.",
    405: "Method not allowed on this path.",
    409: "Conflicts with the current state (the problem says which), or still in flight.",
    413: "Request body too large.",
    415: "Request body is not application/json.",
    422: "Validation failed (see `errors`), a rule or cap refused it, or a reused key.",
    431: "The Authorization header is longer than any token the platform issues.",
    503: "Temporarily unavailable (contention, or the store or the token issuer's keys out of "
    "reach); retry after Retry-After seconds.",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": [PROBLEM_TYPE_PREFIX + "x"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Field path → what is wrong with it (validation problems).",
        },
        "current_state": {"type": "string", "description": "For an illegal transition."},
    },
}


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


Mode = Literal["validation", "serialization"]


def _model_uses(routes: Iterable[Route]) -> list[tuple[type[BaseModel], Mode]]:
    uses: list[tuple[type[BaseModel], Mode]] = []
    for route in routes:
        for model, mode in (
            (route.body, "validation"),
            (route.query, "validation"),
            (route.response, "serialization"),
        ):
            if _is_model(model) and (model, mode) not in uses:
                uses.append((model, mode))  # type: ignore[arg-type]
    return uses


def _responses(route: Route, refs: dict[tuple[Any, str], dict[str, Any]]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": route.summary}
    if route.response is not None:
        if _is_model(route.response):
            schema = refs[(route.response, "serialization")]
        else:
            schema = TypeAdapter(route.response).json_schema(
                mode="serialization", ref_template=_REF
            )
        success["content"] = {"application/json": {"schema": schema}}
    statuses = {405, 503}
    if set(route.path_params) - set(route.path_patterns) or route.not_found:
        statuses.add(404)  # a path parameter names something that may not exist
    if route.path_patterns:
        statuses.add(422)
    if route.body is not None:
        statuses |= {400, 413, 415, 422}
    if route.query is not None:
        statuses.add(422)
    if route.permission is not None or route.signed_in:
        statuses |= {401, 403, 431}
    if route.signed:
        statuses.add(401)
    if route.idempotent:
        statuses |= {400, 409, 422}
    if route.conflict:
        statuses.add(409)
    responses: dict[str, Any] = {str(route.status): success}
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    return responses


def _path_schema(route: Route, name: str) -> dict[str, Any]:
    pattern = route.path_patterns.get(name)
    return {"type": "string"} if pattern is None else {"type": "string", "pattern": pattern}


def _operation(
    router: Router[Any], route: Route, refs: dict[tuple[Any, str], dict[str, Any]]
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{router.function}.{route.handler.__name__}",
        "summary": route.summary,
        "tags": [router.function],
    }
    if route.description:
        operation["description"] = route.description
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(route, name)}
        for name in route.path_params
    ]
    if route.query is not None:
        query_schema = route.query.model_json_schema(mode="validation", ref_template=_REF)
        required = set(query_schema.get("required", ()))
        for name, schema in query_schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": schema}
            )
    if route.idempotent:
        parameters.append(
            {
                "name": IDEMPOTENCY_KEY_HEADER,
                "in": "header",
                "required": True,
                "description": "A fresh UUID per intended operation; repeats return the "
                "first response, reuse with another body is a 422.",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": IDEMPOTENCY_KEY_PATTERN,
                },
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    operation["responses"] = _responses(route, refs)
    if route.permission is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-permission"] = route.permission.value
        operation["x-roles"] = sorted(route.roles or ())
    elif route.signed_in:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = ["any signed-in user, registered or not"]
    elif route.signed:
        operation["security"] = [{}]  # no token: the partner's signature headers instead
        operation["x-signed"] = "X-TIMESTAMP and X-SIGNATURE over the request as sent"
    else:
        operation["security"] = [{}, {"bearer": []}]  # a token is optional
    return operation


def build_openapi(
    routers: Sequence[Router[Any]], *, title: str = "Patungan", version: str = API_VERSION
) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing every route of `routers`."""
    routes = [route for router in routers for route in router.routes]
    key_map, definitions = models_json_schema(_model_uses(routes), ref_template=_REF)
    refs: dict[tuple[Any, str], dict[str, Any]] = {
        (model, mode): dict(schema) for (model, mode), schema in key_map.items()
    }
    schemas: dict[str, Any] = dict(sorted(definitions.get("$defs", {}).items()))
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for router in routers:
        for route in router.routes:
            path = f"/{router.function}{'' if route.path == '/' else route.path}"
            paths.setdefault(path, {})[route.method.lower()] = _operation(router, route, refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "HTTP functions of the Patungan P2P lending platform. Amounts are "
            "integer rupiah; rates are decimal strings; errors are RFC 9457 problem documents.",
        },
        "servers": [
            {
                "url": f"https://{REGION}-{{project}}.cloudfunctions.net",
                "variables": {"project": {"default": "patungan-p2p-prod"}},
            }
        ],
        "tags": [
            {"name": router.function, "description": router.description or router.function}
            for router in routers
        ],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "responses": {
                f"Problem{status}": {
                    "description": text,
                    "content": {
                        PROBLEM_CONTENT_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}
                    },
                }
                for status, text in _STATUS_TEXT.items()
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Identity Platform ID token (locally: python -m scripts.token).",
                }
            },
        },
    }


def load_routers(root: Path = ROOT) -> list[Router[Any]]:
    """The `router` of every HTTP function in the topology whose `main.py` exists."""
    routers: list[Router[Any]] = []
    for function in FUNCTIONS:
        source = root / function.source_dir / "main.py"
        if function.kind != "http" or not source.exists():
            continue
        module_name = f"patungan_openapi_{function.name}_main"
        spec = importlib.util.spec_from_file_location(module_name, source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # pydantic resolves annotations through sys.modules
        if str(source.parent) not in sys.path:
            sys.path.append(str(source.parent))  # as functions-framework does
        spec.loader.exec_module(module)
        router = getattr(module, "router", None)
        if not isinstance(router, Router):
            raise TypeError(f"{source} must expose its Router as the attribute `router`")
        routers.append(router)
    return routers


def render(document: dict[str, Any]) -> str:
    """The document as the repository stores it (stable formatting, trailing newline)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def openapi_drift(path: Path = DEFAULT_PATH, document: dict[str, Any] | None = None) -> str | None:
    """None when `path` holds exactly `document` (default: built from the functions);
    otherwise a sentence saying what differs and how to regenerate it."""
    expected = render(document if document is not None else build_openapi(load_routers()))
    if not path.exists():
        return f"{path} does not exist; run: python -m shared.http.openapi --write"
    current = path.read_text()
    if current == expected:
        return None
    stale = sorted(
        set(json.loads(expected).get("paths", {})) ^ set(json.loads(current).get("paths", {}))
    )
    hint = f" (paths added or removed: {', '.join(stale)})" if stale else ""
    return f"{path} is stale{hint}; run: python -m shared.http.openapi --write"


def write_openapi(path: Path = DEFAULT_PATH, document: dict[str, Any] | None = None) -> bool:
    """Write the document to `path`; True when the file changed."""
    text = render(document if document is not None else build_openapi(load_routers()))
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.http.openapi", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the document")
    action.add_argument("--check", action="store_true", help="exit 1 when it is stale")
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    if args.check:
        drift = openapi_drift(args.output)
        sys.stderr.write(f"{drift or f'{args.output} is current'}\n")
        return 1 if drift else 0
    changed = write_openapi(args.output)
    sys.stderr.write(f"{args.output} {'written' if changed else 'already current'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
