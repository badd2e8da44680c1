"""Every field a function stores or computes with has bounds: a value past them is a 422
naming the field, never a 500 from the arithmetic or the store, and never echoed back."""

from __future__ import annotations

import pytest

from tests.functions.conftest import Platform, idempotent, problem
from tests.functions.test_loan_quote import TERMS


@pytest.fixture
def platform(platform: Platform) -> Platform:
    platform.world.register("strong_msme")
    return platform


def quote_with(platform: Platform, **terms: object) -> dict:  # type: ignore[type-arg]
    body = {**TERMS, "terms": {**TERMS["terms"], **terms}}
    return problem(platform.client("loan_quote").post("/", json=body), 422)


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"rate_per_month": "1E-30"}, "terms.rate_per_month"),
        ({"rate_per_month": "0." + "1" * 5000}, "terms.rate_per_month"),
        (
            {"fees": {"service_fee_per_installment": 10**30}},
            "terms.fees.service_fee_per_installment",
        ),
        ({"fees": {"origination_fee_rate": "1E-40"}}, "terms.fees.origination_fee_rate"),
    ],
    ids=["tiny-rate", "5000-digit-rate", "huge-fee", "tiny-fee-rate"],
)
def test_a_rate_or_fee_past_its_bounds_is_422_naming_the_field(platform, terms, field):
    refused = quote_with(platform, **terms)

    assert field in refused["errors"]
    assert "1111111111111111" not in str(refused)  # the input is not echoed back


def submit(platform: Platform, key: str, **changes: object):  # type: ignore[no-untyped-def]
    body = platform.world.application("strong_msme").model_dump(mode="json")
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return platform.client("loan_applications").post(
        "/", json=body, headers=idempotent(key, platform.bearer("strong_msme"))
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"product_id": "x/y"}, "product_id"),
        ({"product_id": "__x__"}, "product_id"),
        ({"principal": 10**30}, "principal"),
        ({"collateral__value": 10**30}, "collateral.value"),
        ({"capital__inventory_value": 10**19}, "capital.inventory_value"),
        ({"capital__owner_equity": -(10**30)}, "capital.owner_equity"),
        ({"collateral__description": "van\u202eneve"}, "collateral.description"),
        ({"collateral__description": "line\x00break"}, "collateral.description"),
    ],
    ids=[
        "slash-id",
        "reserved-id",
        "principal",
        "collateral",
        "inventory",
        "equity",
        "bidi",
        "nul",
    ],
)
def test_an_application_field_past_its_bounds_is_422_naming_it(platform, change, field):
    answer = submit(platform, "bounded-1", **change)

    assert field in problem(answer, 422)["errors"]
    assert platform.world.uow.documents("loans") == {}


def test_an_uploaded_file_keeps_only_a_safe_base_name(platform):
    loan_id = submit(platform, "upload-loan").get_json()["loan_id"]
    answer = platform.client("loan_applications").post(
        f"/{loan_id}/documents",
        json={
            "kind": "invoice",
            "content_type": "application/pdf",
            "file_name": "../../etc/passwd",
        },
        headers=idempotent("upload-1", platform.bearer("strong_msme")),
    )
    assert answer.status_code == 201, answer.get_json()
    (document,) = platform.world.uow.documents("loans")[loan_id]["documents"]
    assert document["file_name"] == "passwd"
    assert ".." not in document["object_name"]


@pytest.mark.parametrize("name", ["Siti\u202eAminah", "Siti\nAminah", "Siti\x07"])
def test_a_name_with_control_or_bidi_characters_is_422(platform, name):
    registration = platform.world.registration("thin_file").model_dump(mode="json")
    registration["full_name"] = name
    answer = platform.client("users").post(
        "/", json=registration, headers=idempotent("reg-1", platform.bearer("thin_file", None))
    )
    assert "full_name" in problem(answer, 422)["errors"]


def test_a_declared_figure_beyond_fifty_times_the_principal_is_422(platform):
    body = platform.world.application("strong_msme").model_dump(mode="json")
    body["capital"]["owner_equity"] = 51 * body["principal"]
    answer = platform.client("loan_applications").post(
        "/", json=body, headers=idempotent("inflated", platform.bearer("strong_msme"))
    )
    assert "capital.owner_equity cannot exceed 50 times" in str(problem(answer, 422)["errors"])


def test_the_application_names_the_borrower_segment_its_product_lends_to(platform):
    body = platform.world.application("strong_msme").model_dump(mode="json")
    body["borrower_segment"] = "medium"  # working-capital-annuity lends to micro borrowers
    answer = platform.client("loan_applications").post(
        "/", json=body, headers=idempotent("segment", platform.bearer("strong_msme"))
    )
    assert "borrower_segment" in problem(answer, 422)["errors"]
    body["borrower_segment"] = "micro"
    accepted = platform.client("loan_applications").post(
        "/", json=body, headers=idempotent("segment-2", platform.bearer("strong_msme"))
    )
    assert accepted.status_code == 202
    (loan,) = platform.world.uow.documents("loans").values()
    assert loan["borrower_segment"] == "micro"
