"""Staff and the founding admins: two bootstrapped by ops, every later one granted by two."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.errors import Conflict, ValidationFailed
from shared.records.users import UserDirectory
from shared.services.users import StaffIdentity, bootstrap_admin_super
from tests.unit.journey.world import JourneyWorld

FIRST = StaffIdentity(
    user_id="ops-siti",
    full_name="Siti Rahma",
    birth_date=date(1985, 7, 5),
    nik="3174054507850001",
    phone="081234567890",
)


def bootstrap(world: JourneyWorld, staff: StaffIdentity = FIRST):  # type: ignore[no-untyped-def]
    return bootstrap_admin_super(
        world.uow, staff, vault=world.vault, clock=world.clock, verified_by="ops: KTP seen"
    )


def test_the_first_admin_super_is_bootstrapped_with_a_verified_identity():
    world = JourneyWorld()
    view = bootstrap(world)
    assert view.role == "admin.super" and view.identity_verified
    record = UserDirectory(world.uow).lookup("ops-siti")
    assert record is not None and record.role == "admin.super"
    stored = world.uow.documents("users")["ops-siti"]
    assert stored["identity_verified_by"] == "ops: KTP seen"
    assert "3174054507850001" not in str(stored)


def test_two_founders_are_bootstrapped_and_then_no_more():
    world = JourneyWorld()
    bootstrap(world)
    bootstrap(world, FIRST.model_copy(update={"user_id": "ops-budi", "nik": "3174050507850002"}))
    third = FIRST.model_copy(update={"user_id": "ops-citra", "nik": "3174054507850003"})
    with pytest.raises(Conflict, match="founding admin"):
        bootstrap(world, third)


def test_a_founder_cannot_be_bootstrapped_twice():
    world = JourneyWorld()
    bootstrap(world)
    with pytest.raises(Conflict, match="already registered"):
        bootstrap(world)


def test_a_bootstrapped_identity_is_validated_like_a_registration():
    with pytest.raises(ValidationFailed):
        bootstrap(JourneyWorld(), FIRST.model_copy(update={"nik": "3174054507850099"[:15]}))
