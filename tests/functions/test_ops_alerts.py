"""`ops_alerts` through functions-framework: Cloud Billing's push in, the ops channel told,
once per threshold per period; malformed notifications acknowledged, outages redelivered,
strangers refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shared.settings import ConfigurationError, OpsAlertsSettings, load_settings
from shared.topology import BUDGET_ALERTS_TOPIC
from tests.unit.ops.test_budget_alerts import ATTRIBUTES, SAMPLE_DATA


def budget_push(message_id: str = "m-1", **changes: Any) -> dict[str, Any]:
    """The push of a notification on `billing.budget-alerts`, as Pub/Sub sends it."""
    data = {**SAMPLE_DATA, **changes}
    return {
        "message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "attributes": ATTRIBUTES,
            "messageId": message_id,
        },
        "subscription": f"projects/p/subscriptions/push.ops_alerts.{BUDGET_ALERTS_TOPIC}",
        "deliveryAttempt": 1,
    }


def test_a_crossed_threshold_is_told_to_ops_once(platform):
    ops = platform.client("ops_alerts")
    for message_id in ("m-1", "m-2", "m-3"):  # Cloud Billing repeats itself through the day
        push = budget_push(message_id, alertThresholdExceeded=0.9)
        assert ops.post("/", json=push, headers=platform.pushed()).status_code == 200
    (message,) = platform.ops_channel.messages
    assert message.title.startswith("[p2p] Budget 'patungan-p2p-lending-prod monthly' has passed")
    assert "IDR 27,345,678 spent of IDR 30,000,000" in message.text


def test_a_routine_update_is_acknowledged_and_tells_nothing(platform):
    answer = platform.client("ops_alerts").post("/", json=budget_push(), headers=platform.pushed())
    assert answer.status_code == 200
    assert platform.ops_channel.messages == []


def test_a_malformed_notification_is_acknowledged_without_effect(platform):
    push = budget_push(currencyCode="rupiah", alertThresholdExceeded=0.9)
    answer = platform.client("ops_alerts").post("/", json=push, headers=platform.pushed())
    assert answer.status_code == 200  # retrying cannot make it readable
    assert platform.ops_channel.messages == []


def test_a_channel_outage_answers_500_so_pubsub_redelivers(platform):
    ops = platform.client("ops_alerts")
    push = budget_push(alertThresholdExceeded=1.0)
    platform.ops_channel.fail_next(1)
    assert ops.post("/", json=push, headers=platform.pushed()).status_code == 500
    assert ops.post("/", json=push, headers=platform.pushed()).status_code == 200
    assert [m.severity for m in platform.ops_channel.messages] == ["critical"]


def test_only_its_push_subscription_may_deliver(platform):
    push = budget_push(alertThresholdExceeded=0.9)
    answer = platform.client("ops_alerts").post("/", json=push)
    assert answer.status_code == 401
    assert platform.ops_channel.messages == []


@pytest.mark.parametrize(
    ("env", "url", "accepted"),
    [
        ("prod", "https://chat.googleapis.com/v1/spaces/A/messages?key=k", True),
        ("prod", "http://hooks.example/ops", False),
        ("local", "http://127.0.0.1:8091/webhooks/ops", True),
        ("local", "ftp://127.0.0.1/ops", False),
    ],
)
def test_the_webhook_must_be_https_in_the_cloud(monkeypatch, env, url, accepted):
    for name, value in {
        "PATUNGAN_ENV": env,
        "PATUNGAN_ENTITY": "p2p-lending",
        "PATUNGAN_GCP_PROJECT": "patungan-p2p-lending-prod",
        "PATUNGAN_AUTH_ISSUER": "https://accounts.google.com",
        "PATUNGAN_AUTH_AUDIENCE": "https://ops-alerts-1.asia-southeast2.run.app",
        "PATUNGAN_AUTH_JWKS_URL": "https://www.googleapis.com/oauth2/v3/certs",
        "PATUNGAN_PUSH_INVOKER": "push-ops-alerts@patungan-p2p-lending-prod.iam.gserviceaccount",
        "PATUNGAN_OPS_WEBHOOK_URL": url,
    }.items():
        monkeypatch.setenv(name, value)
    if accepted:
        assert load_settings(OpsAlertsSettings).ops_webhook_url.get_secret_value() == url
    else:
        with pytest.raises(ConfigurationError, match="PATUNGAN_OPS_WEBHOOK_URL") as refused:
            load_settings(OpsAlertsSettings)
        assert url not in str(refused.value)  # a credential: never echoed
