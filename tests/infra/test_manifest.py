"""Entity manifests: what an entity is, where it lives and what it may spend — validated at load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.manifest import ManifestError, OjkLicence, known_entities, load_manifest
from shared.topology import SERVED_UNDER


def test_the_committed_entities_are_a_p2p_lender_an_msme_bank_and_a_cooperative():
    licences = {entity: load_manifest(entity).ojk_licence for entity in known_entities()}
    assert licences == {
        "p2p-lending": OjkLicence.LPBBTI,
        "msme-banking": OjkLicence.BANK_UMUM,
        "cooperative": OjkLicence.KOPERASI_SEKTOR_JASA_KEUANGAN,
    }


def test_every_licence_a_manifest_may_name_says_which_functions_it_deploys():
    assert {licence.value for licence in OjkLicence} == set(SERVED_UNDER)


def test_a_manifest_derives_its_project_and_labels():
    manifest = load_manifest("msme-banking")
    assert manifest.project_id == "patungan-msme-banking-prod"
    assert manifest.labels == {
        "entity": "msme-banking",
        "env": "prod",
        "cost-center": "cc-msme-banking",
    }
    assert manifest.budget.currency == manifest.billing.currency == "IDR"


def valid() -> dict[str, Any]:
    return {
        "entity_id": "auto-invest",
        "display_name": "Patungan Auto Invest",
        "legal_name": "PT Patungan Investasi Otomatis",
        "ojk_licence": "lpbbti",
        "env": "staging",
        "contacts": {"ops": ["ops@auto-invest.example"], "billing": ["finance@example.co.id"]},
        "billing": {"account_id": "01A2B3-C4D5E6-F7A8B9", "currency": "IDR"},
        "budget": {
            "amount": 5_000_000,
            "currency": "IDR",
            "thresholds": [
                {"fraction": "0.8", "basis": "actual"},
                {"fraction": "1", "basis": "forecast"},
            ],
        },
        "cost_center": "cc-auto-invest",
        "products": ["working-capital-annuity"],
        "documents_retention_days": 3650,
        "log_retention_days": 30,
        "providers_url": "https://credit-data.example.co.id/v1",
        "payment_gateway_url": "https://payment-gateway.example.co.id/snap",
        "escrow_account": {
            "bank_code": "008",
            "bank_name": "Bank Mandiri",
            "account_number": "1230004567890",
            "account_name": "PT Patungan Investasi Otomatis (escrow)",
        },
    }


def write(directory: Path, document: dict[str, Any], name: str = "auto-invest") -> Path:
    (directory / f"{name}.json").write_text(json.dumps(document), encoding="utf-8")
    return directory


def test_a_valid_new_entity_loads(tmp_path):
    manifest = load_manifest("auto-invest", write(tmp_path, valid()))
    assert manifest.project_id == "patungan-auto-invest-staging"
    # Unless told otherwise: in its bootstrap folder, nothing warm, retention unlocked.
    assert manifest.parent is None
    assert manifest.min_instances == {}
    assert manifest.lock_retention is False
    assert manifest.backup_retention_days == 14


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        (
            lambda m: m["budget"].update(currency="USD"),
            "the budget is in USD but billing account 01A2B3-C4D5E6-F7A8B9 bills in IDR",
        ),
        (
            lambda m: m.pop("escrow_account"),
            "a lpbbti entity holds lenders' money: name its escrow_account",
        ),
        (
            lambda m: m.update(entity_id="a-very-long-entity-name"),
            "project id 'patungan-a-very-long-entity-name-staging' is longer than 30 characters",
        ),
        (
            lambda m: m["budget"].update(thresholds=[{"fraction": "1", "basis": "actual"}] * 2),
            "at least one actual and one forecast threshold",
        ),
        (lambda m: m.update(entity_id="P2P_Lending"), "entity_id: String should match pattern"),
        (lambda m: m["billing"].update(account_id="not-an-account"), "billing.account_id"),
        (lambda m: m.update(ojk_licence="bank_gelap"), "ojk_licence"),
        (lambda m: m.update(cost_center="Cost Center!"), "cost_center"),
        (lambda m: m.update(products=[]), "products"),
        (lambda m: m.update(products=["cooperative-flat", "cooperative-flat"]), "listed twice"),
        (lambda m: m.update(surprise=True), "surprise: Extra inputs are not permitted"),
        (lambda m: m["budget"].update(amount=0), "budget.amount"),
        (lambda m: m.update(env="production"), "env"),
        # Scoring sends NIKs to the providers: never in clear text, never a malformed URL.
        (lambda m: m.update(providers_url="http://credit-data.example.co.id"), "providers_url"),
        (lambda m: m.update(providers_url="credit-data.example.co.id"), "providers_url"),
        (lambda m: m.update(providers_url="https://user@credit-data.example"), "providers_url"),
        (lambda m: m["contacts"].update(ops=[]), "contacts.ops"),
        (lambda m: m["contacts"].update(billing=["finance"]), "contacts.billing.0"),
        (lambda m: m.update(min_instances={"loan_quote": -1}), "min_instances.loan_quote"),
        (lambda m: m.update(backup_retention_days=99), "backup_retention_days"),
    ],
)
def test_an_invalid_manifest_is_refused_with_the_reason(tmp_path, edit, complaint):
    document = valid()
    edit(document)
    name = document["entity_id"] if document["entity_id"] != "P2P_Lending" else "auto-invest"
    with pytest.raises(ManifestError) as refused:
        load_manifest(name, write(tmp_path, document, name))
    assert complaint in str(refused.value)
    assert f"{name}.json" in str(refused.value)


def test_a_manifest_must_be_named_after_its_entity(tmp_path):
    write(tmp_path, valid(), name="robo-advisor")
    with pytest.raises(ManifestError, match=r"the file must be named auto-invest\.json"):
        load_manifest("robo-advisor", tmp_path)


def test_a_missing_manifest_lists_the_known_entities(tmp_path):
    write(tmp_path, valid())
    with pytest.raises(ManifestError, match=r"no entity manifest .*known entities: auto-invest"):
        load_manifest("ghost", tmp_path)


def test_a_manifest_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "auto-invest.json").write_text("entity_id: auto-invest\n")
    with pytest.raises(ManifestError, match="is not valid JSON"):
        load_manifest("auto-invest", tmp_path)
