"""Where the HTTP edge and docs/openapi.json once disagreed (found by tests/fuzz/): what the
document allows is what the edge accepts, and every refusal is a problem document."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from shared.http.openapi import build_openapi
from shared.http.problems import PROBLEM_CONTENT_TYPE


@pytest.mark.parametrize(
    "key", ["k-1", "~", "x" * 255, "", "x" * 256, "a b", "é", "tab\there"], ids=repr
)
def test_an_idempotency_key_is_accepted_exactly_when_the_document_allows_it(
    sample_app: Any, sample: Any, issuer: Any, key: str
):
    _, module = sample_app
    submit = build_openapi([module.router])["paths"]["/sample_loans/loans"]["post"]
    (header,) = [p for p in submit["parameters"] if p["name"] == "Idempotency-Key"]
    documented = jsonschema.Draft202012Validator(header["schema"]).is_valid(key)

    response = sample.post(
        "/loans",
        json={"principal": 5_000_000, "tenor": 6},
        headers={**issuer.bearer("u-borrower"), "Idempotency-Key": key},
    )

    assert (response.status_code == 202) == documented, response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/loans%0A", "/loans/%0A/cancel", "/favicon.ico"])
def test_a_path_the_framework_itself_refuses_is_a_404_problem(sample: Any, path: str):
    response = sample.get(path)

    assert response.status_code == 404
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.get_json()["type"] == "urn:patungan:problem:route-not-found"


def test_404_is_documented_where_a_route_can_answer_it_and_503_everywhere(sample_app: Any):
    _, module = sample_app
    paths = build_openapi([module.router])["paths"]

    assert "404" not in paths["/sample_loans/loans"]["get"]["responses"]  # a list
    assert "404" in paths["/sample_loans/loans/{loan_id}"]["get"]["responses"]
    for item in paths.values():
        for operation in item.values():
            assert "503" in operation["responses"]  # the store or the keys may be out of reach
