"""Names derived from the topology are valid GCP ids and never collide silently."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.naming import naming_problems, resource_name
from shared.deployment import (
    ACCOUNT_ID_PATTERN,
    PUSH_ACCOUNT,
    RUNTIME_ACCOUNT,
    SCHEDULER_ACCOUNT,
    account_id,
    service_name,
    slug,
)
from shared.topology import FUNCTIONS, TOPICS, Function, Topic

function_names = st.from_regex(r"[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,8}){0,4}", fullmatch=True)


def test_worked_examples():
    scoring = next(fn for fn in FUNCTIONS if fn.name == "scoring")
    assert account_id(RUNTIME_ACCOUNT, "scoring") == "fn-scoring"
    assert account_id(PUSH_ACCOUNT, "loan_applications") == "push-loan-applications"
    assert account_id(RUNTIME_ACCOUNT, "kyc") == "fn-kyc"
    assert account_id(RUNTIME_ACCOUNT, "ab") == "fn-ab-sa"  # ids are at least 6 characters
    assert service_name(scoring) == "scoring"
    assert slug("loan.offer_accepted") == "loan-offer-accepted"
    assert (
        resource_name("p2p-lending", "topic", "loan.submitted")
        == "p2p-lending-topic-loan-submitted"
    )


def test_a_long_name_is_shortened_with_a_hash_and_stays_distinct():
    one = account_id(SCHEDULER_ACCOUNT, "lender_withdrawal_confirmations")
    two = account_id(SCHEDULER_ACCOUNT, "lender_withdrawal_cancellations")
    assert len(one) <= 30 and len(two) <= 30
    assert one.startswith("cron-lender-withdrawal")
    assert one != two


@given(
    prefix=st.sampled_from([RUNTIME_ACCOUNT, PUSH_ACCOUNT, SCHEDULER_ACCOUNT]), name=function_names
)
def test_every_function_name_gives_a_valid_service_account_id(prefix, name):
    derived = account_id(prefix, name)
    assert ACCOUNT_ID_PATTERN.match(derived)
    assert 6 <= len(derived) <= 30
    assert account_id(prefix, name) == derived  # stable: never time or randomness


@given(name=function_names)
def test_every_function_name_gives_a_valid_cloud_run_service_name(name):
    derived = service_name(Function(name, "http", "x"))
    assert set(derived) <= set(string.ascii_lowercase + string.digits + "-")
    assert derived[0].isalpha() and len(derived) <= 49


def test_the_declared_topology_derives_no_collisions():
    assert naming_problems(FUNCTIONS, TOPICS) == []


def test_names_that_only_differ_by_punctuation_are_reported():
    functions = (Function("loan_x", "http", "x"), Function("loan__x", "http", "x"))
    topics = (Topic("loan.x_y", "x"), Topic("loan.x.y", "y"))
    problems = naming_problems(functions, topics)
    assert "functions 'loan_x' and 'loan__x' both derive 'loan-x'" in problems
    assert "topics 'loan.x_y' and 'loan.x.y' both derive 'loan-x-y'" in problems


def test_a_name_cloud_run_cannot_take_is_reported():
    too_long = Function("a" * 60, "http", "x")
    with pytest.raises(ValueError, match="cannot be a Cloud Run service name"):
        service_name(too_long)
    assert naming_problems((too_long,), ()) != []
