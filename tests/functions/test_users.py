"""`users` through functions-framework: registration, `/me`, admin.super's tools, status codes."""

from __future__ import annotations

from typing import Any

from tests.functions.conftest import Platform, idempotent, problem


def registration(platform: Platform, persona: str = "strong_msme", **overrides: Any) -> Any:
    body = platform.world.registration(persona).model_dump(mode="json")
    body.update(overrides)
    return body


def register(platform: Platform, sub: str = "u-siti", key: str = "k-1", **overrides: Any) -> Any:
    return platform.client("users").post(
        "/",
        json=registration(platform, **overrides),
        headers=idempotent(key, platform.bearer(sub, role=None)),
    )


def test_a_signed_in_person_registers_and_reads_themselves_masked(platform):
    answer = register(platform)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["id"] == "u-siti"
    assert body["nik_masked"] == "3174********0001"
    assert "3174054507850001" not in answer.get_data(as_text=True)

    me = platform.client("users").get("/me", headers=platform.bearer("u-siti", role=None))
    assert me.status_code == 200
    assert me.get_json() == body


def test_a_repeated_registration_with_the_same_key_replays_the_first_answer(platform):
    first = register(platform)
    again = register(platform)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    registered = set(platform.world.uow.documents("users")) - {"reviewer-1", "fin-1", "fin-2"}
    assert registered == {"u-siti"}


def test_the_same_key_with_another_body_is_refused(platform):
    register(platform)
    body = problem(register(platform, full_name="Siti R."), 422)
    assert body["type"].endswith("idempotency-key-reused")


def test_registration_needs_an_idempotency_key_and_a_token(platform):
    users = platform.client("users")
    body = registration(platform)
    assert problem(users.post("/", json=body, headers=platform.bearer("u-1", None)), 400)
    missing_token = users.post("/", json=body, headers={"Idempotency-Key": "k"})
    assert problem(missing_token, 401)
    assert missing_token.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_identity_data_is_a_422_naming_each_field(platform):
    body = problem(register(platform, nik="3174054507850000", phone="021-555"), 422)
    assert set(body["errors"]) == {"nik", "phone"}
    assert "3174054507850000" not in str(body)


def test_malformed_and_out_of_range_input_is_a_4xx_problem(platform):
    users = platform.client("users")
    headers = idempotent("k", platform.bearer("u-1", None))
    assert problem(users.post("/", data="{", headers=headers, content_type="application/json"), 400)
    assert problem(users.post("/", data="role=borrower", headers=headers), 415)
    wrong = problem(register(platform, role="admin.super"), 422)
    assert "role" in wrong["errors"]


def test_a_second_account_with_the_same_nik_is_a_409(platform):
    register(platform)
    assert problem(register(platform, sub="u-other", key="k-2"), 409)


def test_when_the_civil_registry_is_down_registration_is_a_503_to_retry(platform):
    platform.world.registry.down = True
    answer = register(platform)
    assert problem(answer, 503)
    assert int(answer.headers["Retry-After"]) > 0
    platform.world.registry.down = False
    assert register(platform).status_code == 201  # the same key works once it is back


def test_admin_tools_are_for_admin_super_only(platform):
    register(platform)
    users = platform.client("users")
    as_borrower = platform.bearer("u-siti")
    assert problem(users.get("/u-siti", headers=as_borrower), 403)
    assert problem(users.get("/u-siti"), 401)
    admin = platform.bearer(platform.world.staff("admin-1", "admin.super"))
    assert users.get("/u-siti", headers=admin).get_json()["role"] == "borrower"
    assert problem(users.get("/nobody", headers=admin), 404)
    found = users.post("/lookup", json={"nik": "3174054507850001"}, headers=admin)
    assert found.get_json()["id"] == "u-siti"


def test_a_token_role_claim_grants_nothing_the_stored_record_does_not(platform):
    users = platform.client("users")
    claims_super = platform.bearer("nobody-registered", "admin.super")
    refused = problem(users.get("/nobody-registered", headers=claims_super), 403)
    assert "register first" in refused["detail"]
    assert users.get("/me/permissions", headers=claims_super).get_json() == {
        "role": None,
        "permissions": [],
    }


def test_a_deactivated_user_is_refused_at_once_and_a_role_change_applies_at_once(platform):
    register(platform)
    users = platform.client("users")
    admin = platform.bearer(platform.world.staff("admin-1", "admin.super"))
    siti = platform.bearer("u-siti")
    assert users.post("/u-siti/deactivate", headers=admin).get_json()["active"] is False
    assert problem(users.get("/me", headers=siti), 403)
    assert users.post("/u-siti/reactivate", headers=admin).status_code == 200
    assert users.get("/me", headers=siti).status_code == 200

    platform.world.register("thin_file", "u-rudi")
    rudi = platform.bearer("u-rudi")
    changed = users.put("/u-rudi/role", json={"role": "staff"}, headers=admin)
    assert changed.get_json()["role"] == "staff"
    assert users.get("/me/permissions", headers=rudi).get_json()["permissions"] == []
    assert problem(users.put("/u-siti/role", json={"role": "pirate"}, headers=admin), 422)


def test_an_admin_role_is_never_set_directly(platform):
    register(platform)
    admin = platform.bearer(platform.world.staff("admin-1", "admin.super"))
    refused = problem(
        platform.client("users").put("/u-siti/role", json={"role": "admin.credit"}, headers=admin),
        422,
    )
    assert "role-grants" in refused["errors"]["role"]


def test_an_admin_cannot_deactivate_themselves(platform):
    admin = platform.bearer(platform.world.staff("admin-1", "admin.super"))
    own = problem(platform.client("users").post("/admin-1/deactivate", headers=admin), 403)
    assert "you are the subject" in own["detail"]


def grant(platform: Platform, admin: str, user: str, role: str, key: str) -> Any:
    return platform.client("users").post(
        f"/{user}/role-grants",
        json={"role": role, "narrative": "joins the finance team this month"},
        headers=idempotent(key, platform.bearer(admin)),
    )


def test_an_admin_role_is_proposed_by_one_admin_super_and_approved_by_another(platform):
    users = platform.client("users")
    register(
        platform, sub="u-ani", role="staff", bank_account=None, borrower_profile=None, npwp=None
    )
    ani = platform.bearer("u-ani")
    assert users.get("/me/permissions", headers=ani).get_json() == {
        "role": "staff",
        "permissions": [],
    }
    platform.world.staff("super-1", "admin.super")
    platform.world.staff("super-2", "admin.super")

    proposed = grant(platform, "super-1", "u-ani", "admin.finance", "g-1")
    assert proposed.status_code == 201, proposed.get_json()
    grant_id = proposed.get_json()["id"]
    assert proposed.get_json()["state"] == "pending"
    assert users.get("/me/permissions", headers=ani).get_json()["permissions"] == []

    own = users.post(
        f"/role-grants/{grant_id}/approve", headers=idempotent("a-1", platform.bearer("super-1"))
    )
    assert "maker-checker" in problem(own, 403)["detail"]
    approved = users.post(
        f"/role-grants/{grant_id}/approve", headers=idempotent("a-2", platform.bearer("super-2"))
    )
    assert approved.get_json()["state"] == "approved"
    assert approved.get_json()["checked"]["by"] == "super-2"
    assert (
        "certificate.verify" in users.get("/me/permissions", headers=ani).get_json()["permissions"]
    )
    again = users.post(
        f"/role-grants/{grant_id}/reject", headers=idempotent("a-3", platform.bearer("super-2"))
    )
    assert "already approved" in problem(again, 409)["detail"]


def test_nobody_grants_themselves_a_role_nor_grants_a_borrower_one(platform):
    register(platform)
    platform.world.staff("super-1", "admin.super")
    own = problem(grant(platform, "super-1", "super-1", "admin.credit", "g-1"), 403)
    assert "you are the subject" in own["detail"]
    borrower = problem(grant(platform, "super-1", "u-siti", "admin.credit", "g-2"), 409)
    assert "staff" in borrower["detail"]
