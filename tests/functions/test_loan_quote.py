"""`loan_quote` through functions-framework: public, configuration-free for explicit terms."""

from __future__ import annotations

import os

from tests.functions.conftest import load_function, problem

TERMS = {
    "principal": 10_000_000,
    "tenor": 12,
    "disbursement_date": "2026-01-15",
    "terms": {
        "interest_method": "annuity",
        "rate_per_month": "0.015",
        "rounding_unit": 100,
        "purpose": "productive",
        "fees": {"origination_fee_rate": "0.01"},
    },
}


def test_explicit_terms_need_no_configuration_network_or_database(monkeypatch):
    for name in list(os.environ):
        if name.startswith("PATUNGAN_") or name.endswith("_EMULATOR_HOST"):
            monkeypatch.delenv(name)
    app, _ = load_function("loan_quote")  # a fresh instance, nothing overridden
    answer = app.test_client().post("/", json=TERMS)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert set(body["installments"][0]) == {
        "number",
        "due_date",
        "principal",
        "interest",
        "fees",
        "fee_vat",
        "total",
        "balance_after",
    }
    assert set(body["totals"]) == {"principal", "interest", "fees", "fee_vat", "payable"}
    assert isinstance(body["daily_cost_rate"], str)
    assert body["cap_check"] == {"compliant": True, "violations": [], "notes": []}
    # A token cannot be verified without auth settings: the caller is told to drop it.
    with_token = app.test_client().post("/", json=TERMS, headers={"Authorization": "Bearer x.y.z"})
    assert problem(with_token, 401)


def test_a_service_fee_is_quoted_with_its_vat_in_every_installment_and_the_payable(platform):
    """Rp 10,000 service fee, due 2026-02-15 to 2027-01-15: VAT 10,000 × 11/12 × 12% = 1,100.

    Payable = principal + interest + fees (1% origination = 100,000, plus 12 × 10,000)
    + their VAT: the service fees' 12 × 1,100 = 13,200 and the origination fee's
    100,000 × 11/12 × 12% = 11,000 (`origination_fee_vat`, taken from the payout).
    """
    fees = {"origination_fee_rate": "0.01", "service_fee_per_installment": 10_000}
    body = {**TERMS, "terms": {**TERMS["terms"], "fees": fees}}
    answer = platform.client("loan_quote").post("/", json=body)
    assert answer.status_code == 200, answer.get_json()
    quoted = answer.get_json()
    for line in quoted["installments"]:
        assert (line["fees"], line["fee_vat"]) == (10_000, 1_100)
        assert line["total"] == line["principal"] + line["interest"] + 10_000 + 1_100
    totals = quoted["totals"]
    assert (totals["fees"], totals["fee_vat"]) == (100_000 + 120_000, 13_200 + 11_000)
    assert totals["payable"] == 10_000_000 + totals["interest"] + 220_000 + 24_200
    assert quoted["origination_fee_vat"] == 11_000
    without_fee = platform.client("loan_quote").post("/", json=TERMS).get_json()
    # No service fee: the only VAT is the origination fee's.
    assert without_fee["totals"]["fee_vat"] == without_fee["origination_fee_vat"] == 11_000
    assert all(line["fee_vat"] == 0 for line in without_fee["installments"])
    assert without_fee["totals"]["payable"] == (
        10_000_000 + without_fee["totals"]["interest"] + without_fee["totals"]["fees"] + 11_000
    )


def test_a_breach_is_answered_with_the_rule_and_its_source(platform):
    body = {**TERMS, "terms": {**TERMS["terms"], "rate_per_month": "0.06"}}
    answer = platform.client("loan_quote").post("/", json=body)
    assert answer.status_code == 200
    (violation,) = answer.get_json()["cap_check"]["violations"]
    assert violation["rule"] == "daily_cost"
    assert "SEOJK" in violation["source"]


def test_a_catalogue_product_is_read_from_the_store(platform):
    body = {
        "principal": 100_000_000,
        "tenor": 60,
        "disbursement_date": "2026-12-01",
        "product_id": "invoice-financing-bullet",
    }
    answer = platform.client("loan_quote").post("/", json=body)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["product_id"] == "invoice-financing-bullet"
    assert answer.get_json()["rate_period"] == "year"
    unknown = problem(
        platform.client("loan_quote").post("/", json={**body, "product_id": "x"}), 422
    )
    assert "product_id" in unknown["errors"]


def test_bad_input_is_a_4xx_problem_never_a_500(platform):
    quote = platform.client("loan_quote")
    float_rate = {**TERMS, "terms": {**TERMS["terms"], "rate_per_month": 0.015}}
    assert "terms.rate_per_month" in problem(quote.post("/", json=float_rate), 422)["errors"]
    negative = problem(quote.post("/", json={**TERMS, "principal": -1}), 422)
    assert "principal" in negative["errors"]
    assert problem(quote.post("/", data="[1,", content_type="application/json"), 400)
    assert problem(quote.post("/", json=[1, 2]), 422)
    assert problem(quote.get("/"), 405)


def test_a_valid_token_is_accepted_and_a_forged_one_refused(platform):
    quote = platform.client("loan_quote")
    signed = quote.post("/", json=TERMS, headers=platform.bearer("admin-1", "admin.credit"))
    assert signed.status_code == 200
    assert problem(quote.post("/", json=TERMS, headers={"Authorization": "Bearer nope"}), 401)
