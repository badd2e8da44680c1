"""Loan products as data, and the quotes they give (docs/lending-rules.md#loan-products)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from shared.domain.caps import check_product
from shared.domain.errors import ValidationFailed
from shared.domain.products import (
    BorrowerSegment,
    Purpose,
    TenorUnit,
    daily_cost_rate,
    parse_catalogue,
    parse_product,
    quote,
)
from shared.domain.schedule import InterestMethod

CATALOGUE_PATH = Path(__file__).parents[3] / "shared" / "domain" / "data" / "products.json"

WORKING_CAPITAL = {
    "id": "working-capital",
    "name": "Modal kerja",
    "purpose": "productive",
    "borrower_segment": "micro",
    "min_principal": 10_000_000,
    "max_principal": 500_000_000,
    "interest_method": "annuity",
    "tenor_unit": "month",
    "tenors": [3, 6, 12],
    "min_rate": "0.0125",
    "max_rate": "0.016",
    "origination_fee_rate": "0.02",
    "lender_platform_fee_rate": "0.10",
    "late_fee_rate_per_day": "0.0005",
    "grace_days": 3,
    "rounding_unit": 100,
    "funding_window_days": 14,
}

COOPERATIVE_FLAT = {
    **WORKING_CAPITAL,
    "id": "cooperative-flat",
    "borrower_segment": "cooperative",
    "interest_method": "flat",
    "tenors": [6, 12],
    "min_rate": "0.008",
    "max_rate": "0.011",
    "origination_fee_rate": "0.01",
    "service_fee_per_installment": 5_000,
    "min_principal": 5_000_000,
}


# --- the product model -------------------------------------------------------------------


def test_a_valid_product_parses_with_exact_decimal_rates():
    product = parse_product(WORKING_CAPITAL)
    assert product.max_rate == Decimal("0.016")
    assert product.tenors == (3, 6, 12)
    assert product.purpose is Purpose.PRODUCTIVE
    assert product.borrower_segment is BorrowerSegment.MICRO
    assert product.rate_period == "month"
    assert product.day_count.days_in_year == 365  # actual/365 unless the product says otherwise


def test_bullet_products_count_days_and_price_per_year():
    product = parse_product(
        {**WORKING_CAPITAL, "interest_method": "bullet", "tenor_unit": "day", "tenors": [30, 60]}
    )
    assert product.rate_period == "year"
    assert product.tenor_unit is TenorUnit.DAY


def test_products_are_immutable():
    product = parse_product(WORKING_CAPITAL)
    with pytest.raises(ValueError, match="frozen"):
        product.max_rate = Decimal("0.5")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"max_principal": 5_000_000}, "max_principal", "at least min_principal"),
        ({"min_principal": 0}, "min_principal", "greater than 0"),
        ({"min_principal": True}, "min_principal", "valid integer"),
        ({"min_principal": "10000000"}, "min_principal", "valid integer"),
        ({"max_rate": 0.016}, "max_rate", "not a float"),
        ({"origination_fee_rate": 0}, "origination_fee_rate", "send a string"),
        ({"max_rate": "1.2"}, "max_rate", "less than 1"),
        ({"min_rate": "-0.01"}, "min_rate", "greater than or equal to 0"),
        ({"min_rate": "0.02"}, "max_rate", "at least min_rate"),
        ({"tenors": [12, 6]}, "tenors", "increasing order"),
        ({"tenors": [6, 6]}, "tenors", "without repeats"),
        ({"tenors": []}, "tenors", "at least 1 item"),
        ({"tenors": [0, 6]}, "tenors.0", "greater than 0"),
        ({"tenor_unit": "day"}, "tenor_unit", "annuity tenors are counted in months"),
        ({"interest_method": "bullet"}, "tenor_unit", "bullet tenors are counted in days"),
        ({"interest_method": "daily"}, "interest_method", "annuity"),
        ({"purpose": "speculative"}, "purpose", "productive"),
        ({"rounding_unit": 10}, "rounding_unit", "1, 100 or 1000"),
        ({"grace_days": -1}, "grace_days", "greater than or equal to 0"),
        ({"funding_window_days": 0}, "funding_window_days", "greater than or equal to 1"),
        ({"service_fee_per_installment": -5}, "service_fee_per_installment", "greater than"),
        ({"id": "Working Capital"}, "id", "pattern"),
        ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_an_invalid_product_is_refused_naming_the_field(change, field, message):
    with pytest.raises(ValidationFailed) as raised:
        parse_product({**WORKING_CAPITAL, **change})
    assert raised.value.detail == "invalid loan product"
    assert message in raised.value.field_errors[field]


def test_a_missing_field_is_named():
    data = dict(WORKING_CAPITAL)
    del data["late_fee_rate_per_day"]
    with pytest.raises(ValidationFailed) as raised:
        parse_product(data)
    assert raised.value.field_errors == {"late_fee_rate_per_day": "Field required"}


# --- the catalogue -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_catalogue():
    return parse_catalogue(CATALOGUE_PATH.read_bytes())


def test_sample_catalogue_offers_the_four_interest_methods(sample_catalogue):
    by_method = {p.interest_method: p for p in sample_catalogue.products}
    assert set(by_method) == set(InterestMethod)
    bullet = by_method[InterestMethod.BULLET]
    assert bullet.purpose is Purpose.PRODUCTIVE and bullet.tenor_unit is TenorUnit.DAY
    assert by_method[InterestMethod.ANNUITY].purpose is Purpose.PRODUCTIVE
    assert by_method[InterestMethod.FLAT].borrower_segment is BorrowerSegment.COOPERATIVE


def test_sample_catalogue_charges_realistic_fees(sample_catalogue):
    for product in sample_catalogue.products:
        assert Decimal(0) < product.origination_fee_rate <= Decimal("0.05"), product.id
        assert Decimal(0) < product.lender_platform_fee_rate <= Decimal("0.25"), product.id
        assert product.max_principal <= 2_000_000_000, product.id  # POJK 10/2022 borrower cap


def test_sample_catalogue_complies_with_the_2026_caps(sample_catalogue):
    for product in sample_catalogue.products:
        check = check_product(product, on=date(2026, 1, 1))
        assert check.compliant, [v.detail for v in check.violations]


def test_catalogue_parses_from_text_bytes_or_decoded_data():
    text = CATALOGUE_PATH.read_text()
    assert (
        parse_catalogue(text) == parse_catalogue(json.loads(text)) == parse_catalogue(text.encode())
    )


def test_catalogue_finds_products_by_id(sample_catalogue):
    assert sample_catalogue.get("cooperative-flat").interest_method is InterestMethod.FLAT
    with pytest.raises(ValidationFailed) as raised:
        sample_catalogue.get("payday-loan")
    assert "cooperative-flat" in raised.value.field_errors["product_id"]


def test_catalogue_refuses_repeated_ids():
    with pytest.raises(ValidationFailed) as raised:
        parse_catalogue({"products": [WORKING_CAPITAL, WORKING_CAPITAL]})
    assert "repeated: working-capital" in raised.value.field_errors["(root)"]


def test_catalogue_names_the_bad_product_by_position():
    with pytest.raises(ValidationFailed) as raised:
        parse_catalogue({"products": [WORKING_CAPITAL, {**COOPERATIVE_FLAT, "max_rate": 0.011}]})
    assert "products.1.max_rate" in raised.value.field_errors


def test_catalogue_refuses_invalid_json():
    with pytest.raises(ValidationFailed, match="invalid product catalogue"):
        parse_catalogue(b"{not json")


# --- quotes ------------------------------------------------------------------------------


def test_flat_quote_worked_example():
    """Rp 10,000,000 over 12 months, flat 1.1% a month, 1% origination, Rp 5,000 service fee."""
    product = parse_product(COOPERATIVE_FLAT)
    offer = quote(product, 10_000_000, 12, date(2026, 3, 10), Decimal("0.011"))
    assert offer.total_interest == 12 * 110_000
    assert offer.origination_fee == 100_000
    assert offer.borrower_fees == 100_000 + 12 * 5_000
    assert offer.cost_of_credit == 1_320_000 + 160_000
    assert offer.tenor_days == 365  # 2026-03-10 to 2027-03-10
    assert offer.daily_cost_rate == Decimal(1_480_000) / (Decimal(10_000_000) * 365)
    # VAT 2026: 12% on 11/12 of the fee = 11,000 (tax.py); both leave with the payout.
    assert offer.origination_fee_vat == 11_000
    assert offer.net_disbursement == 10_000_000 - 100_000 - 11_000
    # Each Rp 5,000 service fee carries VAT on its 2026/27 due date: 5,000 × 11/12 × 12% = 550.
    assert offer.schedule.total_fee_vat == 12 * 550
    assert offer.total_repayment == 10_000_000 + 1_320_000 + 60_000 + 12 * 550


def test_the_service_fee_vat_is_paid_but_is_not_manfaat_ekonomi(sample_catalogue):
    """Expansion product: Rp 100,000,000 over 12 months at 1% a month, disbursed 2026-01-20.

    Every installment bills the Rp 10,000 service fee and, on its 2026/27 due date, the
    VAT on it: 10,000 × 11/12 × 12% = 1,100. Through the installments the borrower pays
    the principal, interest of 6,500,000 (1% of the declining balance, rounded to the
    1,000), 12 × 10,000 = 120,000 of service fees and 12 × 1,100 = 13,200 of VAT.
    The cost of credit (OJK's *manfaat ekonomi*, which leaves taxes out) is interest +
    1.5% origination (1,500,000) + service fees = 8,120,000, with or without the VAT,
    so the daily cost rate the caps compare is 8,120,000 / (100,000,000 × 365 days).
    """
    product = sample_catalogue.get("expansion-equal-principal")
    offer = quote(product, 100_000_000, 12, date(2026, 1, 20), Decimal("0.01"))
    assert [i.fees for i in offer.schedule.installments] == [10_000] * 12
    assert [i.fee_vat for i in offer.schedule.installments] == [1_100] * 12
    first = offer.schedule.installments[0]
    assert (first.principal, first.interest) == (8_333_000, 1_000_000)
    assert first.total == 8_333_000 + 1_000_000 + 10_000 + 1_100
    assert offer.total_interest == 6_500_000
    assert offer.schedule.total_fee_vat == 13_200
    assert offer.total_repayment == 100_000_000 + 6_500_000 + 120_000 + 13_200
    assert offer.borrower_fees == 1_500_000 + 120_000
    assert offer.cost_of_credit == 8_120_000
    assert offer.daily_cost_rate == Decimal(8_120_000) / (Decimal(100_000_000) * 365)


def test_a_product_without_a_service_fee_bills_no_fee_vat():
    offer = quote(parse_product(WORKING_CAPITAL), 20_000_000, 6, date(2026, 1, 31))
    assert offer.schedule.total_fee_vat == 0
    assert offer.total_repayment == 20_000_000 + offer.total_interest


def test_quote_vat_follows_the_rate_on_the_disbursement_date():
    product = parse_product(COOPERATIVE_FLAT)
    assert quote(product, 10_000_000, 12, date(2021, 6, 1)).origination_fee_vat == 10_000  # 10%
    assert quote(product, 10_000_000, 12, date(2023, 6, 1)).origination_fee_vat == 11_000  # 11%


def test_quote_without_a_rate_shows_the_most_the_loan_can_cost():
    product = parse_product(WORKING_CAPITAL)
    assert quote(product, 10_000_000, 12, date(2026, 1, 1)).rate == product.max_rate
    lower = quote(product, 10_000_000, 12, date(2026, 1, 1), Decimal("0.0125"))
    assert lower.rate == Decimal("0.0125")
    assert lower.total_interest < quote(product, 10_000_000, 12, date(2026, 1, 1)).total_interest


def test_quote_carries_what_the_cap_check_needs():
    product = parse_product(WORKING_CAPITAL)
    offer = quote(product, 20_000_000, 6, date(2026, 1, 31))
    assert (offer.purpose, offer.borrower_segment) == (product.purpose, product.borrower_segment)
    assert offer.late_fee_rate_per_day == product.late_fee_rate_per_day
    assert offer.disbursement_date == date(2026, 1, 31)
    assert offer.schedule.maturity_date == date(2026, 7, 31)
    dumped = offer.model_dump(mode="json")
    assert dumped["principal"] == 20_000_000
    assert dumped["rate"] == "0.016"
    assert isinstance(dumped["daily_cost_rate"], str)


@pytest.mark.parametrize(
    ("principal", "tenor", "rate", "fields"),
    [
        (9_999_999, 12, None, {"principal"}),
        (500_000_001, 12, None, {"principal"}),
        (10_000_000.0, 12, None, {"principal"}),
        (10_000_000, 9, None, {"tenor"}),
        (10_000_000, 12, Decimal("0.02"), {"rate"}),
        (10_000_000, 12, Decimal("0.01"), {"rate"}),
        (5, 7, Decimal("0.5"), {"principal", "tenor", "rate"}),
    ],
)
def test_a_request_outside_the_product_is_refused_naming_every_field(
    principal, tenor, rate, fields
):
    product = parse_product(WORKING_CAPITAL)
    with pytest.raises(ValidationFailed) as raised:
        quote(product, principal, tenor, date(2026, 1, 1), rate)
    assert set(raised.value.field_errors) == fields


def test_daily_cost_rate_needs_a_positive_principal_and_tenor():
    assert daily_cost_rate(85_000, 1_000_000, 90) == Decimal(85_000) / Decimal(90_000_000)
    with pytest.raises(ValidationFailed):
        daily_cost_rate(1, 0, 30)
    with pytest.raises(ValidationFailed):
        daily_cost_rate(1, 1_000_000, 0)
