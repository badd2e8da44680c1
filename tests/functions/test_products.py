"""`products` through functions-framework: versions proposed by one admin.super, activated
by another, never edited; retired products take no applications."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.conftest import Platform, idempotent, problem


@pytest.fixture
def platform(platform: Platform) -> Platform:
    platform.world.staff("super-1", "admin.super")
    platform.world.staff("super-2", "admin.super")
    platform.world.register("strong_msme")
    return platform


def current(platform: Platform, product_id: str = "working-capital-annuity") -> dict[str, Any]:
    answer = platform.client("products").get(f"/{product_id}", headers=platform.bearer("super-1"))
    assert answer.status_code == 200, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def propose(platform: Platform, product: dict[str, Any], key: str, by: str = "super-1") -> Any:
    return platform.client("products").post(
        "/", json={"product": product}, headers=idempotent(key, platform.bearer(by))
    )


def decide(platform: Platform, version: int, action: str, key: str, by: str) -> Any:
    return platform.client("products").post(
        f"/working-capital-annuity/versions/{version}/{action}",
        headers=idempotent(key, platform.bearer(by)),
    )


def test_a_new_version_is_proposed_by_one_admin_super_and_activated_by_another(platform):
    product = current(platform)["entry"]["product"]
    cheaper = {**product, "max_rate": "0.015"}
    proposed = propose(platform, cheaper, "p-1")
    assert proposed.status_code == 201, proposed.get_json()
    version = proposed.get_json()["version"]
    assert (version, proposed.get_json()["state"]) == (2, "proposed")
    assert current(platform)["entry"]["version"] == 1  # not in force until activated

    own = decide(platform, version, "activate", "a-1", by="super-1")
    assert "maker-checker" in problem(own, 403)["detail"]
    activated = decide(platform, version, "activate", "a-2", by="super-2")
    assert activated.get_json()["state"] == "active"
    history = current(platform)
    assert history["entry"]["version"] == 2
    assert history["entry"]["product"]["max_rate"] == "0.015"
    states = {v["version"]: v["state"] for v in history["versions"]}
    assert states == {1: "superseded", 2: "active"}


def test_a_version_that_breaks_the_caps_is_refused_with_the_rules(platform):
    product = current(platform)["entry"]["product"]
    usurious = propose(platform, {**product, "max_rate": "0.06", "min_rate": "0.05"}, "p-1")
    refused = problem(usurious, 422)
    assert refused["type"] == "urn:patungan:problem:cap-exceeded"
    assert "per day" in refused["detail"]
    assert [v["version"] for v in current(platform)["versions"]] == [1]


def test_a_loan_keeps_the_version_it_was_priced_with(platform):
    loan_id = platform.world.submit("strong_msme")
    product = current(platform)["entry"]["product"]
    propose(platform, {**product, "origination_fee_rate": "0.01"}, "p-1")
    decide(platform, 2, "activate", "a-1", by="super-2")
    assert platform.world.loan(loan_id).product_version == 1


def test_a_retired_product_takes_no_applications(platform):
    retired = platform.client("products").post(
        "/working-capital-annuity/retire", headers=idempotent("r-1", platform.bearer("super-1"))
    )
    assert retired.get_json()["active"] is False
    body = platform.world.application("strong_msme").model_dump(mode="json")
    refused = platform.client("loan_applications").post(
        "/", json=body, headers=idempotent("s-1", platform.bearer("strong_msme"))
    )
    assert "product_id" in problem(refused, 422)["errors"]


def test_only_product_managers_reach_the_catalogue(platform):
    products = platform.client("products")
    assert problem(products.get("/", headers=platform.bearer("strong_msme")), 403)
    assert problem(products.get("/", headers=platform.bearer("reviewer-1")), 403)
    listed = products.get("/", headers=platform.bearer("super-2")).get_json()
    assert "working-capital-annuity" in [entry["id"] for entry in listed["products"]]
