"""`lender_tax`: a treaty rate or an exemption lowers withholding only once `admin.finance`
verified the document, and only on the days it covers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.tax import WithholdingArticle, withholding_rule_for
from shared.records.tax_documents import TaxDocumentRecord
from shared.records.users import LenderProfile, UserRecord
from shared.services.lender_tax import tax_profile_on
from shared.services.users import register_user
from tests.functions.conftest import Platform, idempotent, problem

CERTIFICATE = {
    "kind": "certificate_of_domicile",
    "content_type": "application/pdf",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "country": "SG",
    "treaty_rate": "0.10",
}


def register_non_resident(platform: Platform, user_id: str = "u-sg") -> None:
    w = platform.world
    registration = w.lender_registration(
        nik=None,
        npwp=None,
        passport={"number": "E1234567X", "country": "SG"},
        foreign_tax_id="S1234567D",
        lender_profile=LenderProfile(residency="non_resident", country="SG"),
    )
    register_user(w.uow, registration, user_id, vault=w.vault, registry=w.registry, clock=w.clock)


def file(platform: Platform, body: dict[str, Any], user: str = "u-sg", key: str = "f-1") -> Any:
    return platform.client("lender_tax").post(
        "/", json=body, headers=idempotent(key, platform.bearer(user))
    )


def profile(platform: Platform, user_id: str, on: date) -> Any:
    user = UserRecord.model_validate(platform.world.uow.documents("users")[user_id])
    documents = [
        TaxDocumentRecord.model_validate(d)
        for d in platform.world.uow.documents("tax_documents").values()
    ]
    return tax_profile_on(user, documents, on)


def test_a_treaty_rate_applies_once_verified_and_only_on_its_dates(platform):
    register_non_resident(platform)
    filed = file(platform, CERTIFICATE)
    assert filed.status_code == 201, filed.get_json()
    document = filed.get_json()["document"]
    assert document["state"] == "pending"
    assert withholding_rule_for(profile(platform, "u-sg", date(2026, 6, 1))).rate == Decimal("0.20")

    tax = platform.client("lender_tax")
    early = tax.post(
        f"/{document['id']}/verify",
        json={"narrative": "certificate of domicile, IRAS stamp checked"},
        headers=idempotent("v-0", platform.bearer("fin-1")),
    )
    assert "not been uploaded" in problem(early, 409)["detail"]
    platform.world.storage.put(document["object_name"], b"%PDF-1.7 ...", "application/pdf")
    verified = tax.post(
        f"/{document['id']}/verify",
        json={"narrative": "certificate of domicile, IRAS stamp checked"},
        headers=idempotent("v-1", platform.bearer("fin-1")),
    )
    assert verified.get_json()["state"] == "verified"

    in_force = withholding_rule_for(profile(platform, "u-sg", date(2026, 6, 1)))
    assert (in_force.article, in_force.rate) == (WithholdingArticle.PPH_26_TREATY, Decimal("0.10"))
    lapsed = withholding_rule_for(profile(platform, "u-sg", date(2027, 1, 1)))
    assert (lapsed.article, lapsed.rate) == (WithholdingArticle.PPH_26, Decimal("0.20"))


def test_only_admin_finance_decides_and_never_on_their_own_document(platform):
    register_non_resident(platform)
    document = file(platform, CERTIFICATE).get_json()["document"]
    tax = platform.client("lender_tax")
    decision = {"narrative": "looks fine to me, honestly"}
    as_lender = tax.post(
        f"/{document['id']}/verify",
        json=decision,
        headers=idempotent("v-1", platform.bearer("u-sg")),
    )
    assert problem(as_lender, 403)
    platform.world.staff("u-sg", "admin.finance")  # the lender later joined finance
    own = tax.post(
        f"/{document['id']}/reject",
        json=decision,
        headers=idempotent("v-2", platform.bearer("u-sg")),
    )
    assert "you are the subject" in problem(own, 403)["detail"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"treaty_rate": "0.25"}, "never applies"),
        ({"valid_to": "2025-12-31"}, "before valid_from"),
        ({"country": None}, "country and treaty rate"),
    ],
)
def test_a_certificate_states_a_consistent_treaty_rate(platform, changes, field):
    register_non_resident(platform)
    assert field in str(problem(file(platform, {**CERTIFICATE, **changes}), 422)["errors"])


def test_residents_file_no_certificate_and_borrowers_no_tax_documents(platform):
    platform.world.register("strong_msme")
    assert problem(file(platform, CERTIFICATE, user="strong_msme"), 403)
    w = platform.world
    resident = w.lender_registration("thin_file")
    register_user(w.uow, resident, "u-id", vault=w.vault, registry=w.registry, clock=w.clock)
    refused = problem(file(platform, CERTIFICATE, user="u-id"), 422)
    assert "non-resident" in refused["detail"]


def test_a_resident_institution_is_exempt_once_its_letter_is_verified(platform):
    w = platform.world
    bank = w.lender_registration(
        nik=None,
        birth_date=None,
        npwp="01.234.567.4-901.000",
        lender_profile=LenderProfile(
            kind="institution",
            residency="resident",
            institution_name="PT Bank Contoh Tbk",
            withholding_exemption_basis="interest received by a bank, art. 23(4)a UU PPh",
        ),
    )
    register_user(w.uow, bank, "u-bank", vault=w.vault, registry=w.registry, clock=w.clock)
    letter = {k: v for k, v in CERTIFICATE.items() if k not in ("country", "treaty_rate")}
    document = file(platform, {**letter, "kind": "withholding_exemption"}, user="u-bank").get_json()
    assert withholding_rule_for(profile(platform, "u-bank", date(2026, 6, 1))).rate == Decimal(
        "0.15"
    )
    w.storage.put(document["document"]["object_name"], b"%PDF", "application/pdf")
    platform.client("lender_tax").post(
        f"/{document['document']['id']}/verify",
        json={"narrative": "OJK banking licence and the exemption letter checked"},
        headers=idempotent("v-1", platform.bearer("fin-1")),
    )
    exempt = withholding_rule_for(profile(platform, "u-bank", date(2026, 6, 1)))
    assert (exempt.article, exempt.rate) == (WithholdingArticle.EXEMPT, Decimal(0))


def test_admin_finance_reads_a_lenders_documents_and_hears_404_for_nobody(platform):
    register_non_resident(platform)
    file(platform, CERTIFICATE)
    tax = platform.client("lender_tax")
    finance = platform.bearer("fin-1", "admin.finance")
    listed = tax.get("/lenders/u-sg", headers=finance)
    assert [d["kind"] for d in listed.get_json()["documents"]] == ["certificate_of_domicile"]
    assert "no user" in problem(tax.get("/lenders/u-nobody", headers=finance), 404)["detail"]
