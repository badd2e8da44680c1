"""The OpenAPI 3.1 document is built from the routers' models, resolves completely, and a
stale copy in the repository is detected."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.openapi import build_openapi, openapi_drift, render, write_openapi
from shared.http.router import Router


@pytest.fixture(scope="module")
def document(sample_app: Any) -> dict[str, Any]:
    _, module = sample_app
    return build_openapi([module.router])


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_it_is_an_openapi_3_1_document_whose_references_all_resolve(document):
    assert document["openapi"] == "3.1.0"
    assert {"title", "version"} <= set(document["info"])
    for ref in refs(document):
        assert resolve(document, ref) is not None
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for op in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_paths_are_prefixed_by_the_function_and_keep_their_parameters(document):
    assert set(document["paths"]) == {
        "/sample_loans/loans",
        "/sample_loans/loans/{loan_id}",
        "/sample_loans/loans/{loan_id}/cancel",
        "/sample_loans/registrations",
        "/sample_loans/quote",
    }
    read = document["paths"]["/sample_loans/loans/{loan_id}"]["get"]
    assert read["parameters"] == [
        {"name": "loan_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


def test_a_creating_route_documents_its_body_response_key_roles_and_problems(document):
    submit = document["paths"]["/sample_loans/loans"]["post"]

    assert submit["summary"] == "Submit a loan draft."
    assert "publishes loan.submitted" in submit["description"]
    body = resolve(document, submit["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert body["required"] == ["principal", "tenor"]
    assert body["properties"]["principal"]["exclusiveMinimum"] == 0
    accepted = submit["responses"]["202"]["content"]["application/json"]["schema"]
    assert set(resolve(document, accepted["$ref"])["properties"]) == {
        "loan_id",
        "borrower_id",
        "principal",
        "tenor",
        "state",
    }
    assert {p["name"] for p in submit["parameters"]} == {"Idempotency-Key"}
    assert submit["security"] == [{"bearer": []}]
    assert submit["x-roles"] == ["borrower"]
    assert {"400", "401", "403", "409", "422", "503"} <= set(submit["responses"])
    problem = resolve(document, submit["responses"]["422"]["$ref"])
    assert "application/problem+json" in problem["content"]


def test_query_models_become_query_parameters(document):
    listing = document["paths"]["/sample_loans/loans"]["get"]
    by_name = {p["name"]: p for p in listing["parameters"]}
    assert set(by_name) == {"state", "limit"}
    assert by_name["limit"]["in"] == "query" and not by_name["limit"]["required"]


def test_a_public_route_makes_the_token_optional(document):
    assert document["paths"]["/sample_loans/quote"]["get"]["security"] == [{}, {"bearer": []}]


def test_the_file_in_the_repository_is_checked_for_staleness(document, tmp_path: Path):
    path = tmp_path / "docs" / "openapi.json"
    assert "does not exist" in (openapi_drift(path, document) or "")

    assert write_openapi(path, document) is True
    assert openapi_drift(path, document) is None
    assert write_openapi(path, document) is False  # unchanged, not rewritten

    stale = json.loads(path.read_text())
    del stale["paths"]["/sample_loans/quote"]
    path.write_text(render(stale))
    drift = openapi_drift(path, document)
    assert drift is not None
    assert "/sample_loans/quote" in drift and "--write" in drift


def test_the_document_is_deterministic(sample_app):
    _, module = sample_app
    assert render(build_openapi([module.router])) == render(build_openapi([module.router]))


def test_route_declarations_are_checked_when_the_module_is_imported():
    router: Router[Any] = Router("f")
    with pytest.raises(ValueError, match="exactly one of"):
        router.get("/x")(lambda call: None)
    with pytest.raises(ValueError, match="exactly one of"):
        router.get("/x", public=True, permission=Permission.LOAN_APPLY)(lambda call: None)
    with pytest.raises(ValueError, match="scoped to a caller"):
        router.post("/x", public=True, idempotent=True, response=dict)(lambda call: None)
    with pytest.raises(ValueError, match="stores a response"):
        router.post("/x", permission=Permission.LOAN_APPLY, idempotent=True)(lambda call: None)
    router.get("/x", public=True)(lambda call: None)
    with pytest.raises(ValueError, match="declared twice"):
        router.get("/x", public=True)(lambda call: None)
    with pytest.raises(ValueError, match="names no parameter"):
        router.get("/y/{month}", public=True, path_patterns={"day": "^[0-9]+$"})


def test_lazy_builds_once_even_when_first_requests_race_and_can_be_overridden():
    built: list[int] = []
    barrier = threading.Barrier(8)

    def build() -> object:
        built.append(1)
        return object()

    lazy: Lazy[object] = Lazy(build)
    results: list[object] = []

    def first_request() -> None:
        barrier.wait()
        results.append(lazy.get())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len({id(r) for r in results}) == 1

    replacement = object()
    with lazy.override(replacement):
        assert lazy.get() is replacement
    assert lazy.get() is results[0]
