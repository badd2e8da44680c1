"""The OpenAPI document in docs/openapi.json describes the functions as they are now."""

from __future__ import annotations

from shared.http.openapi import DEFAULT_PATH, build_openapi, load_routers, openapi_drift


def test_the_committed_openapi_document_is_current():
    assert openapi_drift(DEFAULT_PATH) is None


def test_every_journey_route_is_documented_with_its_roles_and_idempotency():
    document = build_openapi(load_routers())
    submit = document["paths"]["/loan_applications"]["post"]
    assert submit["x-roles"] == ["borrower"]
    assert "Idempotency-Key" in [p["name"] for p in submit.get("parameters", [])]
    assert "202" in submit["responses"]
    quote = document["paths"]["/loan_quote"]["post"]
    assert {} in quote["security"]  # public: a token is optional
    schemas = document["components"]["schemas"]
    assert {"installments", "totals", "daily_cost_rate", "cap_check"} <= set(
        schemas["QuoteResponse"]["properties"]
    )


def test_a_products_rates_are_documented_as_the_decimal_strings_it_takes():
    product = build_openapi(load_routers())["components"]["schemas"]["LoanProduct"]["properties"]
    rates = [name for name in product if name.endswith("_rate") or "_rate_" in name]
    assert {"min_rate", "max_rate", "late_fee_rate_per_day"} <= set(rates)
    assert {product[name]["type"] for name in rates} == {"string"}
