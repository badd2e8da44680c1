"""The topology's access declarations (what each function touches) are checked like its wiring."""

from __future__ import annotations

from dataclasses import replace

from shared.topology import (
    FUNCTIONS,
    SECRETS,
    TOPICS,
    Function,
    function,
    secret,
    validate_topology,
)


def test_every_secret_a_function_reads_is_declared_with_its_variable():
    for fn in FUNCTIONS:
        for name in fn.secrets:
            assert secret(name).env_var.startswith("PATUNGAN_")
    assert secret("pii-encryption-key").env_var == "PATUNGAN_PII_KEY"
    assert {s.name for s in SECRETS} >= {"payment-webhook-hmac-key", "provider-api-key"}


def test_client_facing_means_http_and_not_scheduled():
    assert function("loan_quote").client_facing
    assert not function("scoring").client_facing
    nightly = Function("nightly_report", "http", "x", schedule="0 1 * * *")
    assert not nightly.client_facing
    assert replace(nightly, schedule=None).client_facing


def test_access_mistakes_are_reported():
    broken = (
        *FUNCTIONS,
        Function("reads_unknown", "http", "x", secrets=("no-such-secret",)),
        Function(
            "scheduled_event", "event", "x", consumes=("loan.submitted",), schedule="* * * * *"
        ),
        Function("scheduled_public", "http", "x", public=True, schedule="0 0 * * *"),
        Function("signs_nothing", "http", "x", signs_document_urls=True),
    )
    errors = validate_topology(broken, TOPICS)
    assert errors == [
        "'reads_unknown' reads undeclared secret 'no-such-secret'",
        "only http functions can be scheduled ('scheduled_event')",
        "a scheduled function cannot be public ('scheduled_public')",
        "'signs_nothing' signs document URLs but has no access to documents",
    ]


def test_a_secret_declared_twice_is_reported():
    assert validate_topology(FUNCTIONS, TOPICS, (*SECRETS, SECRETS[0])) == [
        f"secret {SECRETS[0].name!r} is declared more than once"
    ]


def test_a_scheduled_function_cannot_ask_for_more_runs_than_cloud_scheduler_makes():
    nightly = Function("nightly_report", "http", "x", schedule="0 1 * * *")
    for attempts in (5, 6):
        sound = replace(nightly, max_delivery_attempts=attempts)
        assert validate_topology((*FUNCTIONS, sound), TOPICS) == []
    too_many = replace(nightly, max_delivery_attempts=7)
    assert validate_topology((*FUNCTIONS, too_many), TOPICS) == [
        "'nightly_report': Cloud Scheduler runs a job at most 6 times"
    ]
