"""Registration and user administration: identity rules, personal data at rest, roles."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError

from shared.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.records.users import USER_IDENTITIES, USERS, LenderProfile, UserDirectory
from shared.services.users import (
    CivilRegistryUnavailable,
    NikLookup,
    RoleChange,
    change_role,
    find_user_by_nik,
    my_profile,
    register_user,
    set_user_active,
)
from tests.unit.journey.world import JourneyWorld

SITI_NIK = "3174054507850001"


def register(world: JourneyWorld, registration, user_id: str = "u-1"):
    return register_user(
        world.uow,
        registration,
        user_id,
        vault=world.vault,
        registry=world.registry,
        clock=world.clock,
    )


def test_a_borrower_registers_and_sees_identifiers_only_masked():
    world = JourneyWorld()
    view = register(world, world.registration("strong_msme"))
    assert view.role == "borrower"
    assert view.nik_masked == "3174********0001"
    assert view.npwp_masked == "3174********0001"  # a resident individual's NPWP is the NIK
    assert view.bank_account.account_number_masked == "******4567"
    assert view.phone == "+6281211110001"
    assert view.identity_verified
    assert SITI_NIK not in view.model_dump_json()


def test_nik_npwp_and_account_number_are_never_stored_in_clear_but_can_be_decrypted():
    world = JourneyWorld()
    register(world, world.registration("strong_msme"))
    stored = world.uow.documents(USERS)["u-1"]
    everything = json.dumps(
        [world.uow.documents(USERS), world.uow.documents(USER_IDENTITIES)], default=str
    )
    assert SITI_NIK not in everything
    assert "8831234567" not in everything
    assert world.vault.decrypt("nik", stored["nik_encrypted"]) == SITI_NIK
    assert world.vault.decrypt("account_number", stored["bank_account"]["account_number_encrypted"])
    assert stored["nik_hash"] == world.vault.lookup_hash("nik", SITI_NIK)


def test_a_nik_registers_once_across_the_platform():
    world = JourneyWorld()
    register(world, world.registration("strong_msme"), "u-1")
    with pytest.raises(Conflict, match="NIK is already registered"):
        register(world, world.registration("strong_msme"), "u-2")
    assert list(world.uow.documents(USERS)) == ["u-1"]


def test_an_account_registers_once():
    world = JourneyWorld()
    register(world, world.registration("strong_msme"), "u-1")
    with pytest.raises(Conflict, match="already registered"):
        register(world, world.registration("thin_file"), "u-1")


def test_every_identity_problem_is_reported_at_once_by_field():
    world = JourneyWorld()
    bad = world.registration(
        "strong_msme",
        birth_date=date(1985, 7, 6),  # the NIK encodes 05-07-85
        phone="12345",
    )
    with pytest.raises(ValidationFailed) as refused:
        register(world, bad)
    assert set(refused.value.field_errors) == {"nik", "phone"}
    assert "does not match the stated date of birth" in refused.value.field_errors["nik"]
    assert world.uow.documents(USERS) == {}


def test_a_resident_individuals_npwp_must_be_their_nik():
    world = JourneyWorld()
    with pytest.raises(ValidationFailed) as refused:
        register(world, world.registration("strong_msme", npwp="3174054507850002"))
    assert "npwp" in refused.value.field_errors


def test_a_borrower_may_give_their_business_entitys_old_form_npwp():
    world = JourneyWorld()
    view = register(
        world, world.registration("strong_msme", taxpayer="entity", npwp="01.300.108.6-101.000")
    )
    assert view.npwp_masked == "0013********1000"


def test_users_must_be_eighteen():
    world = JourneyWorld()
    world.registry.people["3174054507090001"] = ("Adik Siti", date(2009, 7, 5))
    minor = world.registration(
        "strong_msme", nik="3174054507090001", npwp="3174054507090001", birth_date=date(2009, 7, 5)
    )
    with pytest.raises(ValidationFailed) as refused:
        register(world, minor)
    assert "minimum age is 18" in refused.value.field_errors["birth_date"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"full_name": "Siti Aminah"}, "full_name"), ({"nik": "3174054507850002"}, "nik")],
)
def test_the_civil_registry_must_confirm_the_person(overrides, field):
    world = JourneyWorld()
    if "nik" in overrides:
        overrides["npwp"] = overrides["nik"]
    with pytest.raises(ValidationFailed) as refused:
        register(world, world.registration("strong_msme", **overrides))
    assert field in refused.value.field_errors


def test_when_the_civil_registry_is_down_nothing_is_stored_and_the_client_may_retry():
    world = JourneyWorld()
    world.registry.down = True
    with pytest.raises(CivilRegistryUnavailable) as unavailable:
        register(world, world.registration("strong_msme"))
    assert unavailable.value.retry_after_s > 0
    assert world.uow.documents(USERS) == {}
    world.registry.down = False
    assert register(world, world.registration("strong_msme")).identity_verified


def test_lenders_state_their_tax_residency():
    world = JourneyWorld()
    view = register(world, world.lender_registration())
    assert view.role == "lender"
    assert view.lender_profile == LenderProfile(residency="resident")
    assert view.borrower_profile is None


def test_a_lender_profile_says_consistently_who_lends():
    assert LenderProfile(residency="non_resident", country="SG").country == "SG"
    with pytest.raises(ValidationError, match="country is ID"):
        LenderProfile(residency="non_resident")
    with pytest.raises(ValidationError, match="institution_name"):
        LenderProfile(kind="institution", residency="resident")
    with pytest.raises(ValidationError, match="PPh 23"):
        LenderProfile(residency="resident", withholding_exemption_basis="a bank (PPh 23(4)a)")
    bank = LenderProfile(
        kind="institution",
        residency="resident",
        institution_name="PT Bank Contoh Tbk",
        withholding_exemption_basis="interest paid to a bank, PPh 23(4)a",
    )
    assert bank.withholding_exemption_basis is not None


def test_a_non_resident_lender_registers_with_a_passport_and_waits_for_verification():
    world = JourneyWorld()
    registration = world.lender_registration(
        nik=None,
        npwp=None,
        passport={"number": "E1234567X", "country": "SG"},
        foreign_tax_id="S1234567D",
        lender_profile=LenderProfile(residency="non_resident", country="SG"),
    )
    view = register(world, registration, "u-sg")
    assert (
        view.nik_masked is None and view.passport_masked and "1234567" not in view.passport_masked
    )
    assert view.identity_verified is False
    stored = world.uow.documents("users")["u-sg"]
    assert "E1234567X" not in str(stored) and "S1234567D" not in str(stored)
    assert world.registry.calls == []  # no civil registry for a passport
    again = world.lender_registration(
        nik=None,
        npwp=None,
        passport={"number": "E1234567X", "country": "SG"},
        foreign_tax_id="S7654321D",
        lender_profile=LenderProfile(residency="non_resident", country="SG"),
    )
    with pytest.raises(Conflict, match="passport"):
        register(world, again, "u-sg-2")


def test_an_institution_registers_with_its_npwp():
    world = JourneyWorld()
    registration = world.lender_registration(
        nik=None,
        birth_date=None,
        npwp="01.234.567.4-901.000",
        lender_profile=LenderProfile(
            kind="institution", residency="resident", institution_name="PT Dana Koperasi"
        ),
    )
    view = register(world, registration, "u-pt")
    assert view.npwp_masked is not None and view.identity_verified is False


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"nik": None}, "needs nik"),
        ({"passport": {"number": "E1234567X", "country": "SG"}}, "non-resident individuals"),
        ({"bank_account": None}, "bank account"),
    ],
)
def test_each_kind_of_registrant_gives_exactly_its_identifiers(changes, said):
    with pytest.raises(ValidationError, match=said):
        JourneyWorld().lender_registration(**changes)


def test_the_profile_must_fit_the_role():
    world = JourneyWorld()
    with pytest.raises(ValidationError, match="borrower_profile"):
        world.registration("strong_msme", borrower_profile=None)
    with pytest.raises(ValidationError, match="lender_profile"):
        world.registration("strong_msme", role="lender")


def test_my_profile_before_registering_is_not_found():
    with pytest.raises(NotFound, match="POST /users"):
        my_profile(JourneyWorld().uow, "u-1")


def test_deactivation_and_role_changes_apply_through_the_caller_directory():
    world = JourneyWorld()
    register(world, world.registration("strong_msme"), "u-1")
    directory = UserDirectory(world.uow)
    record = directory.lookup("u-1")
    assert record is not None
    assert (record.role, record.active) == ("borrower", True)

    set_user_active(world.uow, "u-1", active=False, admin_id="admin-1", clock=world.clock)
    record = directory.lookup("u-1")
    assert record is not None
    assert not record.active

    set_user_active(world.uow, "u-1", active=True, admin_id="admin-1", clock=world.clock)
    change_role(world.uow, "u-1", RoleChange(role="staff"), admin_id="admin-1", clock=world.clock)
    record = directory.lookup("u-1")
    assert record is not None
    assert (record.role, record.active) == ("staff", True)
    assert directory.lookup("nobody") is None


def test_an_admin_cannot_deactivate_or_promote_themselves():
    world = JourneyWorld()
    register(world, world.registration("strong_msme"), "admin-1")
    with pytest.raises(Forbidden):
        set_user_active(world.uow, "admin-1", active=False, admin_id="admin-1", clock=world.clock)
    with pytest.raises(Forbidden):
        change_role(
            world.uow,
            "admin-1",
            RoleChange(role="admin.super"),
            admin_id="admin-1",
            clock=world.clock,
        )


def test_a_borrower_or_lender_role_needs_its_profile():
    world = JourneyWorld()
    register(world, world.registration("strong_msme"), "u-1")
    with pytest.raises(ValidationFailed) as refused:
        change_role(world.uow, "u-1", RoleChange(role="lender"), admin_id="a", clock=world.clock)
    assert "role" in refused.value.field_errors


def test_an_admin_finds_a_user_by_nik_however_it_is_written():
    world = JourneyWorld()
    register(world, world.registration("strong_msme"), "u-1")
    found = find_user_by_nik(world.uow, world.vault, NikLookup(nik="3174 0545 0785 0001"))
    assert found.id == "u-1"
    with pytest.raises(NotFound):
        find_user_by_nik(world.uow, world.vault, NikLookup(nik="3374021403987003"))
