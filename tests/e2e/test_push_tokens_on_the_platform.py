"""On the running platform, an event function accepts the pushes of its planned subscription
alone: the emulator signs them as Google does, the function verifies them through the code it
runs in the cloud, and a push it cannot verify is refused and kept — never acknowledged."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.journey.test_scoring_through_push import wait_until

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


@pytest.mark.parametrize(
    ("oidc_token", "refusal"),
    [
        (None, "HTTP 401"),  # no token at all
        # Signed by the same key, for the right audience, but as another account.
        ({"service_account_email": "push-intruder@patungan-local.iam.gserviceaccount.com"}, "403"),
    ],
    ids=["no-token", "another-account"],
)
def test_a_push_from_an_unplanned_subscription_is_refused_and_kept(
    local_platform, platform_pubsub, oidc_token, refusal
):
    publisher, subscriber = local_platform.pubsub_clients()
    scoring = local_platform.url("scoring")
    topic = local_platform.topic_path(f"probe.{uuid.uuid4().hex[:8]}")
    name = local_platform.subscription_path(f"probe.{uuid.uuid4().hex[:8]}")
    push_config = {"push_endpoint": f"{scoring}/{local_platform.topic_path('loan.submitted')}"}
    if oidc_token is not None:
        push_config["oidc_token"] = {**oidc_token, "audience": scoring}
    publisher.create_topic(name=topic, timeout=10)
    subscriber.create_subscription(
        request={
            "name": name,
            "topic": topic,
            "push_config": push_config,
            "retry_policy": {"minimum_backoff": {"seconds": 1}},
        },
        timeout=10,
    )
    try:
        # Junk: had the push been accepted, scoring would acknowledge it as malformed.
        publisher.publish(topic=topic, messages=[{"data": b"junk"}], timeout=10)
        stats = wait_until(lambda: (s := platform_pubsub.stats(name))["nacked"] >= 2 and s)
        assert stats["acknowledged"] == 0 and stats["backlog"] == 1
        assert refusal in stats["last_push_error"]
    finally:
        subscriber.delete_subscription(subscription=name, timeout=10)
        publisher.delete_topic(topic=topic, timeout=10)
