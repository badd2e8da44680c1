"""The local platform is wired by the platform plan (shared/deployment.py), the one the Pulumi
program deploys: every planned push subscription exists on the emulator as planned (pushing
with the planned account's OIDC token, for the audience its function verifies), every
planned Scheduler job runs locally as planned, and every function gets the planned
variables with local values plus only the offline extras."""

from __future__ import annotations

import httpx
import pytest

from scripts.token import DEV_KEY_ID
from shared.deployment import HOLD_ACK_DEADLINE_S, LOCAL_ONLY_VARIABLES, SUBSCRIPTION_RETENTION_S

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def test_every_planned_push_subscription_is_wired_as_planned(local_platform):
    plan = local_platform.plan
    _, subscriber = local_platform.pubsub_clients()
    assert plan.subscriptions, "the borrower journey has at least the scoring consumer"
    for planned in plan.subscriptions:
        local = subscriber.get_subscription(
            subscription=local_platform.subscription_path(planned.name), timeout=10
        )
        assert local.topic == local_platform.topic_path(planned.topic)
        assert local.ack_deadline_seconds == planned.ack_deadline_s
        assert local.retry_policy.minimum_backoff.seconds == planned.min_backoff_s
        assert local.retry_policy.maximum_backoff.seconds == planned.max_backoff_s
        assert local.dead_letter_policy.max_delivery_attempts == planned.max_delivery_attempts
        assert local.dead_letter_policy.dead_letter_topic == local_platform.topic_path(
            planned.dead_letter_topic
        )
        assert local.message_retention_duration.total_seconds() == SUBSCRIPTION_RETENTION_S
        # The path names the topic, so functions-framework can put it in the CloudEvent's
        # source (emulators/README.md, "Push"); the cloud pushes to the same path.
        assert local.push_config.push_endpoint == (
            local_platform.url(planned.function) + planned.path(local_platform.config.project)
        )
        # Signed as the planned push account, for the audience the function verifies.
        env = local_platform.environment_of(planned.function)
        token = local.push_config.oidc_token
        assert token.service_account_email == env["PATUNGAN_PUSH_INVOKER"]
        assert token.service_account_email.split("@")[0] == planned.invoker_account
        assert (
            token.audience == env["PATUNGAN_AUTH_AUDIENCE"] == local_platform.url(planned.function)
        )
        hold = subscriber.get_subscription(
            subscription=local_platform.subscription_path(planned.hold_subscription), timeout=10
        )
        assert hold.topic == local_platform.topic_path(planned.dead_letter_topic)
        assert hold.ack_deadline_seconds == HOLD_ACK_DEADLINE_S


def test_every_planned_scheduler_job_runs_locally_as_planned(local_platform):
    plan = local_platform.plan
    local_jobs = {job.name: job for job in local_platform.scheduled_jobs}
    scheduled = [planned for planned in plan.functions if planned.job is not None]
    assert scheduled and set(local_jobs) == {planned.name for planned in scheduled}
    for planned in scheduled:
        job, local = planned.job, local_jobs[planned.name]
        env = local_platform.environment_of(planned.name)
        assert (local.schedule, local.time_zone) == (job.schedule, job.time_zone)
        assert local.url == local_platform.url(planned.name)
        # As whom: the planned account, in the local project, for the audience it verifies.
        assert local.invoker == env["PATUNGAN_SCHEDULER_INVOKER"]
        assert local.invoker.split("@")[0] == job.invoker_account
        assert local.audience == env["PATUNGAN_AUTH_AUDIENCE"]
        assert (local.retry.retry_count, local.retry.max_doublings) == (
            job.retry_count,
            job.max_doublings,
        )
        assert (local.retry.min_backoff_s, local.retry.max_backoff_s) == (
            job.min_backoff_s,
            job.max_backoff_s,
        )
        assert local.attempt_deadline_s == job.attempt_deadline_s


def test_every_function_runs_with_the_planned_names_and_only_the_offline_extras(local_platform):
    for planned in local_platform.plan.functions:
        env = local_platform.environment_of(planned.name)
        names = {v.name for v in planned.environment} | {m.variable for m in planned.secrets}
        # The regional Pub/Sub endpoint is the one planned variable a local run leaves unset:
        # the emulator host decides where it publishes.
        assert names - set(env) <= {"PATUNGAN_PUBSUB_ENDPOINT"}, planned.name
        assert set(env) - names <= LOCAL_ONLY_VARIABLES, planned.name


def test_token_keys_are_fetched_from_the_dev_issuers_jwks_as_from_identity_platforms(
    local_platform,
):
    urls = {
        env["PATUNGAN_AUTH_JWKS_URL"]
        for planned in local_platform.plan.functions
        if "PATUNGAN_AUTH_JWKS_URL" in (env := local_platform.environment_of(planned.name))
    }
    (url,) = urls
    (key,) = httpx.get(url, trust_env=False, timeout=5).json()["keys"]
    assert (key["kid"], key["kty"], key["alg"]) == (DEV_KEY_ID, "RSA", "RS256")
