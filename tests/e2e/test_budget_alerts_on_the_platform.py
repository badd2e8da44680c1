"""On the running platform, a budget notification published as Cloud Billing publishes it
reaches `ops_alerts` through its (token-verified) push subscription and the ops channel
hears of the threshold once, however often Cloud Billing repeats it.

Each test uses a threshold no other test uses: the platform is shared for the session, and
a threshold is told once per budget period.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from infra.manifest import load_manifest
from scripts.budget_alert import publish_budget_notification, sample_budget_notification

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def publish(platform, threshold: str, *, forecast: bool = False) -> None:
    data, attributes = sample_budget_notification(
        load_manifest(platform.config.entity), Decimal(threshold), forecast=forecast
    )
    publish_budget_notification(
        platform.cloud_env["PUBSUB_EMULATOR_HOST"], platform.config.project, data, attributes
    )


def about(platform, needle: str) -> list[dict]:
    return [m for m in platform.ops_messages() if needle in (m["text"] or "")]


def wait_for(platform, needle: str, count: int, timeout_s: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while len(found := about(platform, needle)) < count:
        assert time.monotonic() < deadline, f"ops did not hear {count} × {needle!r} in time"
        time.sleep(0.1)
    return found


def test_a_budget_threshold_reaches_ops_once_however_often_it_is_notified(
    local_platform, platform_pubsub
):
    needle = "actual spend threshold 75%"
    publish(local_platform, "0.75")
    [told] = wait_for(local_platform, needle, 1)
    assert f"Entity {local_platform.config.entity}:" in told["text"]
    assert "75%" in told["text"].splitlines()[0]

    publish(local_platform, "0.75")  # Cloud Billing repeats itself several times a day
    subscription = platform_pubsub.push_subscription("ops_alerts")
    deadline = time.monotonic() + 20
    while platform_pubsub.stats(subscription)["acknowledged"] < 2:
        assert time.monotonic() < deadline, "the repeated notification was not acknowledged"
        time.sleep(0.1)
    assert len(about(local_platform, needle)) == 1

    publish(local_platform, "0.75", forecast=True)  # another basis: told
    wait_for(local_platform, "forecast spend threshold 75%", 1)
