"""Routing inside one HTTP function: the most specific template wins, whatever the order."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.permissions import Permission
from shared.http.errors import MethodNotAllowed, RouteNotFound
from shared.http.router import Router

READ = Permission.USER_READ_ANY


def users_router() -> Router[Any]:
    # Declared in the order that once sent `GET /me` to the admin-only read.
    router: Router[Any] = Router("users")
    router.get("/{user_id}", permission=READ)(lambda call: "read")
    router.get("/me", signed_in=True)(lambda call: "me")
    router.post("/{user_id}/deactivate", permission=READ)(lambda call: "deactivate")
    router.post("/lookup", permission=READ)(lambda call: "lookup")
    return router


def test_a_literal_path_beats_a_parameter_declared_before_it():
    route, params = users_router().match("GET", "/me")

    assert route.path == "/me"
    assert params == {}


def test_a_parameter_still_matches_everything_else():
    route, params = users_router().match("GET", "/u-42")

    assert route.path == "/{user_id}"
    assert params == {"user_id": "u-42"}


def test_a_literal_post_route_is_not_taken_for_a_parameter():
    assert users_router().match("POST", "/lookup")[0].path == "/lookup"
    assert users_router().match("POST", "/u-1/deactivate")[0].path == "/{user_id}/deactivate"


def test_a_known_path_with_another_method_is_405_naming_the_allowed_ones():
    with pytest.raises(MethodNotAllowed) as refused:
        users_router().match("DELETE", "/u-1")
    assert refused.value.allowed == ("GET",)


def test_head_is_not_answered_by_a_get_route():
    with pytest.raises(MethodNotAllowed) as refused:
        users_router().match("HEAD", "/me")
    assert refused.value.allowed == ("GET",)


def test_an_unknown_path_is_not_found():
    with pytest.raises(RouteNotFound):
        users_router().match("GET", "/u-1/unknown")


def test_a_route_declared_after_the_first_request_is_routed_too():
    router = users_router()
    router.match("GET", "/me")
    router.get("/{user_id}/loans", permission=READ)(lambda call: "loans")

    assert router.match("GET", "/u-1/loans")[0].path == "/{user_id}/loans"


def test_a_literal_path_is_never_taken_for_a_parameter_with_another_method():
    # As OpenAPI matches: the path first, then the method (found by the fuzzing harness).
    with pytest.raises(MethodNotAllowed) as refused:
        users_router().match("GET", "/lookup")
    assert refused.value.allowed == ("POST",)


def test_the_literal_wins_at_the_first_segment_where_two_templates_differ():
    router: Router[Any] = Router("loans")
    router.get("/{loan_id}/schedule", permission=READ)(lambda call: "schedule")
    router.get("/drafts/{draft_id}", permission=READ)(lambda call: "draft")

    assert router.match("GET", "/drafts/schedule")[0].path == "/drafts/{draft_id}"
    assert router.match("GET", "/l-1/schedule")[0].path == "/{loan_id}/schedule"


def test_a_parameter_is_one_non_empty_segment_and_a_trailing_slash_is_ignored():
    router = users_router()
    assert router.match("POST", "/u-1/deactivate/")[1] == {"user_id": "u-1"}
    with pytest.raises(RouteNotFound):
        router.match("POST", "//deactivate")
    with pytest.raises(RouteNotFound):
        router.match("GET", "/u-1/deactivate/extra")
    with pytest.raises(RouteNotFound):
        router.match("GET", "/")  # nothing is declared at the root


def test_a_parameter_may_be_part_of_a_segment():
    router: Router[Any] = Router("reports")
    router.get("/reports/{month}.csv", permission=READ)(lambda call: "csv")

    assert router.match("GET", "/reports/2026-01.csv")[1] == {"month": "2026-01"}
    with pytest.raises(RouteNotFound):
        router.match("GET", "/reports/2026-01.json")
