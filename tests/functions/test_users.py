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
    assert list(platform.world.uow.documents("users")) == ["u-siti"]


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
    admin = platform.bearer("admin-1", "admin.super")
    assert users.get("/u-siti", headers=admin).get_json()["role"] == "borrower"
    assert problem(users.get("/nobody", headers=admin), 404)
    found = users.post("/lookup", json={"nik": "3174054507850001"}, headers=admin)
    assert found.get_json()["id"] == "u-siti"


def test_a_deactivated_user_is_refused_at_once_and_a_role_change_applies_at_once(platform):
    register(platform)
    users = platform.client("users")
    admin = platform.bearer("admin-1", "admin.super")
    siti = platform.bearer("u-siti")
    assert users.post("/u-siti/deactivate", headers=admin).get_json()["active"] is False
    assert problem(users.get("/me", headers=siti), 403)
    assert users.post("/u-siti/reactivate", headers=admin).status_code == 200
    assert users.get("/me", headers=siti).status_code == 200

    changed = users.put("/u-siti/role", json={"role": "admin.credit"}, headers=admin)
    assert changed.get_json()["role"] == "admin.credit"
    review = platform.client("loan_review")
    assert review.get("/", headers=siti).status_code == 200  # the token still says borrower
    assert problem(users.put("/u-siti/role", json={"role": "pirate"}, headers=admin), 422)


def test_an_admin_cannot_deactivate_themselves(platform):
    register(platform, sub="admin-1")
    users = platform.client("users")
    promoted = users.put(
        "/admin-1/role",
        json={"role": "admin.super"},
        headers=platform.bearer("root", "admin.super"),
    )
    assert promoted.get_json()["role"] == "admin.super"
    own = problem(
        users.post("/admin-1/deactivate", headers=platform.bearer("admin-1", "admin.super")), 403
    )
    assert "own account" in own["detail"]
