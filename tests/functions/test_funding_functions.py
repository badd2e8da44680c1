"""`loan_funding` through functions-framework: what a lender's client hears when a request
meets a rule, each answer one the document describes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.http.openapi import build_openapi, load_routers
from tests.functions.conftest import Platform, problem
from tests.unit.journey.money_desk import MoneyDesk


@pytest.fixture
def funding(platform: Platform) -> Any:
    w = platform.world
    MoneyDesk(w.uow, clock=w.clock, ids=w.ids, vault=w.vault, storage=w.storage).lender(
        "ani", "1110001111"
    )
    return platform.client("loan_funding")


def test_auto_invest_rules_under_the_smallest_commitment_are_refused_naming_the_field(
    platform: Platform, funding: Any
) -> None:
    ani = platform.bearer("ani", "lender")
    assert (
        "no auto-invest rules" in problem(funding.get("/auto-invest", headers=ani), 404)["detail"]
    )
    rules = {"enabled": True, "grades": ["A"], "tenors": [6], "max_total": 5_000_000}
    refused = funding.put("/auto-invest", json={**rules, "max_per_loan": 1}, headers=ani)
    assert "Rp 100,000" in problem(refused, 422)["errors"]["max_per_loan"]
    accepted = funding.put("/auto-invest", json={**rules, "max_per_loan": 100_000}, headers=ani)
    assert accepted.status_code == 200, accepted.get_data(as_text=True)


def test_accepting_agreement_versions_that_are_not_current_is_a_documented_409(
    platform: Platform, funding: Any
) -> None:
    stale = {"lender_agreement": "v0", "risk_disclosure": "v0"}
    refused = funding.post("/agreements", json=stale, headers=platform.bearer("ani", "lender"))
    assert "read those versions" in problem(refused, 409)["detail"]
    paths = build_openapi(load_routers())["paths"]
    assert "409" in paths["/loan_funding/agreements"]["post"]["responses"]
    assert "404" in paths["/loan_funding/auto-invest"]["get"]["responses"]
