"""The local platform runs the production code path: each function reads the same variables
the Pulumi program gives it in the cloud (only where values point differs, by a short
documented list), each push subscription retries and dead-letters as deployed, and the
local Cloud Scheduler runs each scheduled function as its deployed job does.

Production's side comes from the real Pulumi program run offline under mocks
(`infra.offline.simulate`, placeholders allowed: nothing is deployed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.offline import Simulation, simulate
from scripts.local_scheduler import DEFAULT_MAX_DOUBLINGS
from scripts.platform_runner import LOCAL_ENTITY, function_environment
from scripts.token import DevKeys
from shared.topology import FUNCTIONS, Function, dead_letter_topic, subscription_name

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

FUNCTION = "gcp:cloudfunctionsv2/function:Function"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
SCHEDULER_JOB = "gcp:cloudscheduler/job:Job"
# Locally a value is reached another way: (what production sets, what the runner sets).
SUBSTITUTES = {
    "PATUNGAN_AUTH_JWKS_URL": "PATUNGAN_AUTH_PUBLIC_KEY_FILE",  # Identity Platform → dev issuer
    "PATUNGAN_STORAGE_SIGNER_EMAIL": "PATUNGAN_STORAGE_SIGNING_KEY_FILE",  # signBlob → key file
}
EMULATOR_HOSTS = {"FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    yield simulate(
        LOCAL_ENTITY,
        archive_dir=tmp_path_factory.mktemp("archives"),
        preview_with_placeholders=True,
    )


def deployed(production: Simulation, fn: Function):
    gcp_name = fn.name.replace("_", "-")
    (resource,) = [r for r in production.of_type(FUNCTION) if r.get("name") == gcp_name]
    return resource


def push_path(endpoint: str, function_url: str, project: str) -> str:
    """What a push endpoint adds to its function's URL, with the project id written `{project}`."""
    assert endpoint.startswith(function_url + "/"), (endpoint, function_url)
    return endpoint.removeprefix(function_url).replace(
        f"/projects/{project}/", "/projects/{project}/"
    )


def production_variables(production: Simulation, fn: Function) -> set[str]:
    resource = deployed(production, fn)
    plain = set(resource.get("serviceConfig.environmentVariables") or {})
    mounted = {s["key"] for s in resource.get("serviceConfig.secretEnvironmentVariables") or []}
    return plain | mounted


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda fn: fn.name)
def test_each_function_reads_the_variables_production_gives_it(production, fn, tmp_path: Path):
    local = function_environment(
        fn,
        project="patungan-local",
        entity=LOCAL_ENTITY,
        emulators={name: "127.0.0.1:1" for name in EMULATOR_HOSTS},
        keys=DevKeys.ensure(tmp_path),
        providers_url="http://127.0.0.1:8090",
        documents_bucket="patungan-local-documents",
    )
    expected = {SUBSTITUTES.get(name, name) for name in production_variables(production, fn)}

    assert set(local) - EMULATOR_HOSTS == expected


def test_each_push_subscription_retries_and_dead_letters_as_deployed(production, local_platform):
    _, subscriber = local_platform.pubsub_clients()
    for fn in (fn for fn in FUNCTIONS if fn.kind == "event"):
        (cloud,) = [
            s for s in production.of_type(SUBSCRIPTION) if s.get("name") == subscription_name(fn)
        ]
        local = subscriber.get_subscription(
            subscription=local_platform.subscription_path(subscription_name(fn)), timeout=10
        )

        assert local.topic == local_platform.topic_path(str(fn.consumes))
        assert local.ack_deadline_seconds == cloud.get("ackDeadlineSeconds")
        assert f"{local.retry_policy.minimum_backoff.seconds}s" == cloud.get(
            "retryPolicy.minimumBackoff"
        )
        assert f"{local.retry_policy.maximum_backoff.seconds}s" == cloud.get(
            "retryPolicy.maximumBackoff"
        )
        assert local.dead_letter_policy.max_delivery_attempts == cloud.get(
            "deadLetterPolicy.maxDeliveryAttempts"
        )
        assert local.dead_letter_policy.dead_letter_topic == local_platform.topic_path(
            dead_letter_topic(fn)
        )
        # The push path names the topic, so functions-framework can put it in the
        # CloudEvent's source (emulators/README.md, "Push").
        assert local.push_config.push_endpoint == (
            f"{local_platform.url(fn.name)}/{local_platform.topic_path(str(fn.consumes))}"
        )
        # ... and the deployed push path is the same one: what follows each side's function
        # URL differs only by the project id (infra/components/function.py).
        assert push_path(
            local.push_config.push_endpoint,
            local_platform.url(fn.name),
            local_platform.config.project,
        ) == push_path(
            cloud.get("pushConfig.pushEndpoint"),
            str(deployed(production, fn).outputs["serviceConfig"]["uri"]),
            production.deployment.manifest.project_id,
        )


def test_each_scheduled_function_is_run_locally_as_its_scheduler_job_runs_it(
    production, local_platform
):
    scheduled = [fn for fn in FUNCTIONS if fn.schedule]
    local_jobs = {job.name: job for job in local_platform.scheduled_jobs}
    assert scheduled and set(local_jobs) == {fn.name for fn in scheduled}
    for fn in scheduled:
        function = deployed(production, fn)
        (cloud,) = [
            j for j in production.of_type(SCHEDULER_JOB) if j.get("name") == function.get("name")
        ]
        cloud_env = function.get("serviceConfig.environmentVariables")
        local_env = local_platform.environment_of(fn.name)
        local = local_jobs[fn.name]

        # When: the same cron expression read in the same time zone (the test platform
        # only replaces the clock's tick, `schedule_every_s`).
        assert local.schedule == cloud.get("schedule") == fn.schedule
        assert local.time_zone == cloud.get("timeZone")
        # Where: a POST to the function's own root, nothing after its URL.
        assert cloud.get("httpTarget.httpMethod") == "POST"
        assert cloud.get("httpTarget.uri").endswith(f".cloudfunctions.net/{function.get('name')}")
        assert local.url == local_platform.url(fn.name)
        # As whom: a token for the audience the function verifies, naming the account the
        # function was told is its scheduler (the same account id, each side's project).
        assert cloud.get("httpTarget.oidcToken.audience") == cloud_env["PATUNGAN_AUTH_AUDIENCE"]
        assert local.audience == local_env["PATUNGAN_AUTH_AUDIENCE"]
        cloud_account = cloud.get("httpTarget.oidcToken.serviceAccountEmail")
        assert cloud_account == cloud_env["PATUNGAN_SCHEDULER_INVOKER"]
        assert local.invoker == local_env["PATUNGAN_SCHEDULER_INVOKER"]
        assert local.invoker.split("@")[0] == cloud_account.split("@")[0]
        # How it retries and how long an attempt may take.
        assert local.retry.retry_count == cloud.get("retryConfig.retryCount")
        assert f"{local.retry.min_backoff_s:g}s" == cloud.get("retryConfig.minBackoffDuration")
        assert f"{local.retry.max_backoff_s:g}s" == cloud.get("retryConfig.maxBackoffDuration")
        assert cloud.get("retryConfig.maxDoublings") is None  # Scheduler's default, then:
        assert local.retry.max_doublings == DEFAULT_MAX_DOUBLINGS == 5
        assert f"{local.attempt_deadline_s:g}s" == cloud.get("attemptDeadline")
