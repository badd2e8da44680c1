"""The platform plan: what each function is deployed with, derived once from the topology
(shared/deployment.py). Infra and the local runner both read it; these are its own rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.deployment import (
    SCHEDULER_MAX_DOUBLINGS,
    SecretMount,
    Source,
    Variable,
    plan_function,
    platform_plan,
)
from shared.topology import FUNCTIONS, SECRETS, TOPICS, Function, Secret, function

P2P = "lpbbti"
NAMES_EVERY_FUNCTION_GETS = [
    "PATUNGAN_ENV",
    "PATUNGAN_ENTITY",
    "PATUNGAN_GCP_PROJECT",
    "PATUNGAN_FUNCTION_NAME",
]


def names(variables: tuple[Variable, ...]) -> list[str]:
    return [v.name for v in variables]


def test_every_function_knows_where_it_runs_and_who_it_is():
    for planned in platform_plan(P2P).functions:
        assert names(planned.environment)[:4] == NAMES_EVERY_FUNCTION_GETS
        assert [v.source for v in planned.environment[:4]] == [
            Source.ENVIRONMENT,
            Source.ENTITY,
            Source.PROJECT,
            Source.FUNCTION_NAME,
        ]


def test_client_facing_functions_verify_user_tokens_scheduled_and_event_ones_google_tokens():
    quote = plan_function(function("loan_quote"))
    assert {v.name: v.source for v in quote.environment[4:]} == {
        "PATUNGAN_AUTH_ISSUER": Source.USER_TOKEN_ISSUER,
        "PATUNGAN_AUTH_AUDIENCE": Source.USER_TOKEN_AUDIENCE,
        "PATUNGAN_AUTH_JWKS_URL": Source.USER_TOKEN_KEYS,
    }
    # The gateway's callbacks carry its signature, not a token: no issuer is configured.
    webhook = plan_function(function("payment_webhook"))
    assert not {v.name for v in webhook.environment} & {
        "PATUNGAN_AUTH_ISSUER",
        "PATUNGAN_AUTH_JWKS_URL",
    }
    relay = plan_function(function("outbox_relay"))
    assert {v.name: v.source for v in relay.environment[4:]} == {
        "PATUNGAN_PUBSUB_ENDPOINT": Source.PUBSUB_ENDPOINT,
        "PATUNGAN_AUTH_ISSUER": Source.SERVICE_TOKEN_ISSUER,
        "PATUNGAN_AUTH_AUDIENCE": Source.SCHEDULER_TOKEN_AUDIENCE,
        "PATUNGAN_AUTH_JWKS_URL": Source.SERVICE_TOKEN_KEYS,
        "PATUNGAN_SCHEDULER_INVOKER": Source.SCHEDULER_ACCOUNT,
    }
    # An event function accepts its push subscriptions' tokens alone: the same issuer and
    # keys as a Scheduler job's, its own URL as audience, the push account as invoker.
    scoring = plan_function(function("scoring"))
    auth = {v.name: v.source for v in scoring.environment if "AUTH" in v.name or "PUSH" in v.name}
    assert auth == {
        "PATUNGAN_AUTH_ISSUER": Source.SERVICE_TOKEN_ISSUER,
        "PATUNGAN_AUTH_AUDIENCE": Source.PUSH_TOKEN_AUDIENCE,
        "PATUNGAN_AUTH_JWKS_URL": Source.SERVICE_TOKEN_KEYS,
        "PATUNGAN_PUSH_INVOKER": Source.PUSH_ACCOUNT,
    }


def test_documents_providers_and_publishing_follow_what_the_function_touches():
    applications = plan_function(function("loan_applications"))
    assert {"PATUNGAN_DOCUMENTS_BUCKET", "PATUNGAN_STORAGE_SIGNER_EMAIL"} <= set(
        names(applications.environment)
    )
    users, quote = plan_function(function("users")), plan_function(function("loan_quote"))
    assert "PATUNGAN_PROVIDERS_URL" in names(users.environment)  # it holds the provider key
    assert "PATUNGAN_PROVIDERS_URL" not in names(quote.environment)
    # Only functions that publish are pointed at the regional endpoint, and offline it stays
    # unset (the emulator host decides where they publish).
    endpoint = [v for v in applications.environment if v.name == "PATUNGAN_PUBSUB_ENDPOINT"]
    assert endpoint == [Variable("PATUNGAN_PUBSUB_ENDPOINT", Source.PUBSUB_ENDPOINT, True)]
    assert "PATUNGAN_PUBSUB_ENDPOINT" not in names(quote.environment)


def test_fill_puts_each_sources_value_and_leaves_out_an_optional_one_without_a_value():
    applications = plan_function(function("loan_applications"))
    values = {source: f"<{source}>" for source in Source} | {Source.PUBSUB_ENDPOINT: None}
    filled = applications.fill(values.get)
    assert filled["PATUNGAN_DOCUMENTS_BUCKET"] == "<documents_bucket>"
    assert "PATUNGAN_PUBSUB_ENDPOINT" not in filled
    with pytest.raises(ValueError, match="loan_applications: PATUNGAN_DOCUMENTS_BUCKET needs a"):
        applications.fill((values | {Source.DOCUMENTS_BUCKET: None}).get)


def test_secrets_are_mounted_at_their_current_version_and_overlapping_keys_at_the_previous_too():
    scoring = plan_function(function("scoring"))
    assert scoring.secrets == (
        SecretMount("PATUNGAN_PROVIDER_API_KEY", "provider-api-key", "current"),
        SecretMount("PATUNGAN_PII_KEY", "pii-encryption-key", "current"),
        SecretMount("PATUNGAN_PII_KEY_PREVIOUS", "pii-encryption-key", "previous"),
        SecretMount("PATUNGAN_PII_LOOKUP_KEY", "pii-lookup-key", "current"),
    )
    webhook = next(s for s in SECRETS if s.name == "payment-webhook-hmac-key")
    payments = Function("payments", "http", "x", secrets=(webhook.name,))
    assert plan_function(payments).secrets == (
        SecretMount("PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY", webhook.name, "current"),
        SecretMount("PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY_PREVIOUS", webhook.name, "previous"),
    )
    single = (*SECRETS, Secret("plain", "x", "PATUNGAN_PLAIN"))
    plain = Function("plain_user", "http", "x", secrets=("plain",))
    assert plan_function(plain, secrets=single).secrets == (
        SecretMount("PATUNGAN_PLAIN", "plain", "current"),
    )


def test_an_event_function_gets_one_push_subscription_and_dead_letter_topic_per_topic():
    notices = Function(
        "funding_release", "event", "x", consumes=("loan.cancelled", "loan.offer_accepted")
    )
    planned = plan_function(notices)
    assert [
        (s.name, s.topic, s.dead_letter_topic, s.hold_subscription) for s in planned.subscriptions
    ] == [
        (
            "push.funding_release.loan.cancelled",
            "loan.cancelled",
            "dead-letter.funding_release.loan.cancelled",
            "dead-letter.funding_release.loan.cancelled.hold",
        ),
        (
            "push.funding_release.loan.offer_accepted",
            "loan.offer_accepted",
            "dead-letter.funding_release.loan.offer_accepted",
            "dead-letter.funding_release.loan.offer_accepted.hold",
        ),
    ]
    assert {s.invoker_account for s in planned.subscriptions} == {"push-funding-release"}
    assert planned.invoked_by == "push" and not planned.public_ingress


def test_a_push_subscription_names_its_topic_in_the_path_and_retries_as_the_topology_says():
    scoring = function("scoring")
    (push,) = plan_function(scoring).subscriptions
    # functions-framework reads the topic from the path to fill the CloudEvent's source.
    assert push.path("patungan-p2p-lending-prod") == (
        "/projects/patungan-p2p-lending-prod/topics/loan.submitted"
    )
    assert push.ack_deadline_s == scoring.ack_deadline_s >= scoring.timeout_s
    assert (push.min_backoff_s, push.max_backoff_s) == (
        scoring.min_backoff_s,
        scoring.max_backoff_s,
    )
    assert push.max_delivery_attempts == scoring.max_delivery_attempts


def test_subscriptions_and_dead_letter_topics_never_collide_across_the_platform():
    plan = platform_plan(P2P)
    subscriptions = [s.name for s in plan.subscriptions] + [
        s.hold_subscription for s in plan.subscriptions
    ]
    assert len(subscriptions) == len(set(subscriptions))
    assert not set(plan.dead_letter_topics) & set(plan.topics)
    assert plan.topics == tuple(t.name for t in TOPICS)


def test_the_outbox_relay_runs_every_minute_in_jakarta_as_its_own_account():
    relay = function("outbox_relay")
    job = plan_function(relay).job
    assert job is not None
    assert (job.name, job.schedule, job.time_zone) == ("outbox-relay", "* * * * *", "Asia/Jakarta")
    assert (job.http_method, job.body) == ("POST", b"{}")
    assert job.invoker_account == "cron-outbox-relay"
    # Attempted as often as a push delivery; Scheduler's backoff doubles five times.
    assert job.retry_count == relay.max_delivery_attempts - 1
    assert (job.min_backoff_s, job.max_backoff_s) == (relay.min_backoff_s, relay.max_backoff_s)
    assert job.max_doublings == SCHEDULER_MAX_DOUBLINGS == 5
    assert job.attempt_deadline_s == relay.timeout_s + 30


@pytest.mark.parametrize(
    ("timeout_s", "deadline_s"), [(1, 31), (60, 90), (1800, 1800), (3600, 1800)]
)
def test_a_jobs_attempt_deadline_covers_the_timeout_within_what_scheduler_allows(
    timeout_s, deadline_s
):
    sweep = Function("sweep", "http", "x", schedule="0 1 * * *", timeout_s=timeout_s)
    job = plan_function(sweep).job
    assert job is not None and job.attempt_deadline_s == deadline_s


def test_only_a_scheduled_function_has_a_job_and_only_client_facing_ones_are_public():
    for planned in platform_plan(P2P).functions:
        fn = planned.function
        assert (planned.job is not None) == (fn.schedule is not None)
        assert planned.public_ingress == fn.client_facing


def test_a_bank_deploys_no_lender_functions_and_a_p2p_lender_and_a_cooperative_do():
    portfolio = Function(
        "lender_portfolio", "http", "Lenders read their portfolio.", serves="lenders"
    )
    functions = (*FUNCTIONS, portfolio)
    for licence in ("lpbbti", "koperasi_sektor_jasa_keuangan"):
        deployed = [p.name for p in platform_plan(licence, functions=functions).functions]
        assert deployed == [fn.name for fn in functions]
    for licence in ("bank_umum", "bpr", "lkm"):
        deployed = [p.name for p in platform_plan(licence, functions=functions).functions]
        assert deployed == [fn.name for fn in functions if fn.serves != "lenders"]
        assert "lender_tax" not in deployed
        with pytest.raises(KeyError, match="deploys no function 'lender_portfolio'"):
            platform_plan(licence, functions=functions).function("lender_portfolio")


def test_an_entity_may_keep_functions_warm_but_only_functions_it_deploys():
    assert platform_plan(P2P).function("loan_quote").min_instances == 0
    warm = platform_plan(P2P, min_instances={"loan_quote": 1})
    assert warm.function("loan_quote").min_instances == 1
    assert warm.function("users").min_instances == 0
    portfolio = Function("lender_portfolio", "http", "x", serves="lenders")
    with pytest.raises(KeyError, match=r"does not deploy: \['lender_portfolio'\]"):
        platform_plan(
            "bank_umum", functions=(*FUNCTIONS, portfolio), min_instances={"lender_portfolio": 1}
        )
    topology_warm = replace(function("loan_quote"), min_instances=2)
    assert plan_function(topology_warm).min_instances == 2
