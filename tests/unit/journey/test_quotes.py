"""The public calculator: worked examples, the cap check it reports, and what it refuses."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.domain.errors import ValidationFailed
from shared.services.quotes import QuoteRequest, quote_loan
from tests.unit.journey.world import JourneyWorld


def terms_request(**terms: object) -> QuoteRequest:
    body: dict[str, object] = {
        "principal": 10_000_000,
        "tenor": 12,
        "disbursement_date": "2026-01-15",
        "terms": {"interest_method": "annuity", "rate_per_month": "0.015", "purpose": "productive"},
    }
    extra = terms.pop("request", {})
    assert isinstance(extra, dict)
    body.update(extra)
    body["terms"] = {**body["terms"], **terms}  # type: ignore[dict-item]
    return QuoteRequest.model_validate(body)


def test_annuity_worked_example_equal_installments_and_the_last_one_clears_the_balance():
    answer = quote_loan(terms_request(), uow=None)  # explicit terms: no store at all

    # The level payment P·r / (1 − (1 + r)^−n), rounded half-up to the rupiah.
    rate = Decimal("0.015")
    level = Decimal(10_000_000) * rate / (1 - (1 + rate) ** -12)
    payment = int(level.quantize(Decimal(1), ROUND_HALF_UP))
    first = answer.installments[0]
    assert (first.number, first.due_date) == (1, date(2026, 2, 15))
    assert first.interest == 150_000  # 1.5% of the opening balance
    assert first.principal == payment - 150_000
    assert first.total == payment
    assert first.balance_after == 10_000_000 - first.principal
    assert len(answer.installments) == 12
    assert answer.installments[-1].balance_after == 0
    assert sum(i.principal for i in answer.installments) == 10_000_000
    assert answer.totals.principal == 10_000_000
    assert answer.totals.interest == sum(i.interest for i in answer.installments)
    assert answer.totals.payable == 10_000_000 + answer.totals.interest + answer.totals.fees
    assert answer.cap_check.compliant
    assert answer.product_id is None


def test_fees_count_the_origination_fee_and_every_service_fee():
    answer = quote_loan(
        terms_request(fees={"origination_fee_rate": "0.02", "service_fee_per_installment": 5_000}),
        uow=None,
    )
    assert answer.origination_fee == 200_000
    assert all(i.fees == 5_000 for i in answer.installments)
    assert answer.totals.fees == 200_000 + 12 * 5_000
    # Each service fee carries VAT on its 2026/27 due date: 5,000 × 11/12 × 12% = 550.
    assert all(i.fee_vat == 550 for i in answer.installments)
    assert all(i.total == i.principal + i.interest + 5_550 for i in answer.installments)
    # The origination fee's VAT counts too: 200,000 × 11/12 × 12% = 22,000.
    assert answer.origination_fee_vat == 22_000
    assert answer.totals.fee_vat == 12 * 550 + 22_000
    assert answer.totals.payable == (
        10_000_000 + answer.totals.interest + 200_000 + 12 * 5_000 + 12 * 550 + 22_000
    )
    assert answer.net_disbursement == 10_000_000 - 200_000 - answer.origination_fee_vat
    days = (answer.maturity_date - date(2026, 1, 15)).days
    # The daily cost rate leaves the VAT out: a tax is not manfaat ekonomi.
    expected = Decimal(answer.totals.interest + answer.totals.fees) / (10_000_000 * days)
    assert answer.daily_cost_rate == str(expected.quantize(Decimal("1E-10"), ROUND_HALF_UP))


def test_a_yearly_rate_is_twelve_monthly_rates_for_monthly_methods():
    monthly = quote_loan(terms_request(), uow=None)
    yearly = quote_loan(terms_request(rate_per_month=None, rate_per_year="0.18"), uow=None)
    assert yearly.installments == monthly.installments


def test_bullet_worked_example_interest_by_actual_days_over_365():
    answer = quote_loan(
        terms_request(
            interest_method="bullet",
            rate_per_month=None,
            rate_per_year="0.12",
            request={"principal": 100_000_000, "tenor": 30},
        ),
        uow=None,
    )
    (only,) = answer.installments
    assert only.due_date == date(2026, 2, 14)
    assert only.interest == 986_301  # 100,000,000 × 12% × 30 / 365 = 986,301.37
    assert only.principal == 100_000_000
    assert answer.tenor_unit == "day"
    assert answer.rate_period == "year"


def test_terms_over_the_daily_cap_are_quoted_with_the_violated_rule_and_its_source():
    answer = quote_loan(terms_request(rate_per_month="0.06"), uow=None)
    assert not answer.cap_check.compliant
    (violation,) = answer.cap_check.violations
    assert violation.rule == "daily_cost"
    assert "SEOJK" in violation.source
    # SEOJK 19/SEOJK.06/2025's row for micro borrowers (the terms' default productive
    # segment) over six months or longer: 0.1% a day.
    assert violation.limit == "0.001"
    assert Decimal(violation.actual or "0") > Decimal("0.001")


def test_the_caps_in_force_on_the_disbursement_date_apply():
    # 7% a month over 3 months costs about 0.156% a day: over the 2023 circular's 0.1% in
    # June 2025, inside SEOJK 19/SEOJK.06/2025's 0.275% for micro borrowers under six
    # months (in force from 2025-07-31) in June 2026.
    in_2025, in_2026 = (
        quote_loan(
            terms_request(rate_per_month="0.07", request={"disbursement_date": on, "tenor": 3}),
            uow=None,
        )
        for on in ("2025-06-15", "2026-06-15")
    )
    assert [v.rule for v in in_2025.cap_check.violations] == ["daily_cost"]
    assert in_2026.cap_check.compliant


@pytest.mark.parametrize(
    ("terms", "request_fields"),
    [
        ({"rate_per_year": "0.18"}, {}),  # two rates
        ({"rate_per_month": None}, {}),  # no rate
        ({"rate_per_month": 0.015}, {}),  # a float is not exact
        ({"rate_per_month": "1.5"}, {}),  # 150% a month
        ({"rounding_unit": 10}, {}),
        ({"purpose": "gambling"}, {}),
        ({}, {"tenor": 121}),  # monthly tenors stop at 120 months
        ({}, {"principal": 0}),
        ({}, {"principal": "10000000"}),  # amounts are integers, not strings
        ({}, {"product_id": "working-capital-annuity"}),  # a product *or* terms
        ({}, {"disbursement_date": "15/01/2026"}),
    ],
)
def test_malformed_requests_are_refused_before_anything_is_priced(terms, request_fields):
    with pytest.raises(ValidationError):
        terms_request(**terms, request=request_fields)


def test_a_catalogue_product_is_quoted_at_its_maximum_rate_and_rounding():
    world = JourneyWorld()
    request = QuoteRequest.model_validate(
        {
            "principal": 50_000_000,
            "tenor": 6,
            "disbursement_date": "2026-12-01",
            "product_id": "working-capital-annuity",
        }
    )
    answer = quote_loan(request, world.uow)
    assert answer.product_id == "working-capital-annuity"
    assert answer.rate == "0.016"
    assert all(i.total % 100 == 0 for i in answer.installments[:-1])  # rounded to Rp 100
    assert answer.cap_check.compliant


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"product_id": "payday-loan"}, "product_id"),
        ({"product_id": "working-capital-annuity", "principal": 5_000_000}, "principal"),
        ({"product_id": "working-capital-annuity", "tenor": 7}, "tenor"),
    ],
)
def test_a_product_quote_names_what_does_not_fit_the_product(fields, bad_field):
    world = JourneyWorld()
    request = QuoteRequest.model_validate(
        {"principal": 50_000_000, "tenor": 6, "disbursement_date": "2026-12-01", **fields}
    )
    with pytest.raises(ValidationFailed) as refused:
        quote_loan(request, world.uow)
    assert bad_field in refused.value.field_errors


@settings(max_examples=60, deadline=None)
@given(
    principal=st.integers(min_value=1_000_000, max_value=2_000_000_000),
    tenor=st.integers(min_value=1, max_value=36),
    rate=st.decimals(min_value="0", max_value="0.05", places=4),
    method=st.sampled_from(["annuity", "equal_principal", "flat"]),
    unit=st.sampled_from([1, 100, 1000]),
    origination=st.decimals(min_value="0", max_value="0.05", places=3),
    service_fee=st.integers(min_value=0, max_value=50_000),
)
def test_every_quote_adds_up(principal, tenor, rate, method, unit, origination, service_fee):
    answer = quote_loan(
        terms_request(
            interest_method=method,
            rate_per_month=str(rate),
            rounding_unit=unit,
            fees={
                "origination_fee_rate": str(origination),
                "service_fee_per_installment": service_fee,
            },
            request={"principal": principal, "tenor": tenor},
        ),
        uow=None,
    )
    lines = answer.installments
    assert [i.number for i in lines] == list(range(1, tenor + 1))
    assert sum(i.principal for i in lines) == principal == answer.totals.principal
    assert all(i.total == i.principal + i.interest + i.fees + i.fee_vat for i in lines)
    assert all(a.balance_after >= b.balance_after >= 0 for a, b in pairwise(lines))
    assert lines[-1].balance_after == 0
    assert answer.totals.interest == sum(i.interest for i in lines)
    assert answer.totals.fees == answer.origination_fee + tenor * service_fee
    assert answer.totals.fee_vat == sum(i.fee_vat for i in lines) + answer.origination_fee_vat
    assert answer.totals.payable == (
        principal + answer.totals.interest + answer.totals.fees + answer.totals.fee_vat
    )
    # What the installments bill plus the origination fee and its VAT taken from the payout.
    assert answer.totals.payable == (
        sum(i.total for i in lines) + answer.origination_fee + answer.origination_fee_vat
    )
    assert answer.cap_check.compliant == (answer.cap_check.violations == ())


def test_a_disbursement_date_outside_this_century_is_refused():
    with pytest.raises(ValidationError):
        terms_request(request={"disbursement_date": "9999-12-01"})
