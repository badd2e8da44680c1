"""`python -m scripts.budget_alert`: play Cloud Billing on the local platform, and show what
ops are told.

    python -m scripts.budget_alert --threshold 0.9 [--forecast] [--entity p2p-lending]
        [--pubsub 127.0.0.1:8085] [--ops http://127.0.0.1:8091] [--project patungan-local]
        [--wait 10]

Publishes to the running platform's `billing.budget-alerts` topic a budget notification
shaped as Cloud Billing's (schema 1.0: `budgetId`, `billingAccountId` and
`schemaVersion` attributes; `budgetDisplayName`, `costAmount`, `costIntervalStart`,
`budgetAmount`, `budgetAmountType`, `currencyCode` and the threshold crossed as data)
for the entity's budget (its manifest's amount and currency, this month): spend at
`--threshold` of the budget, crossing that threshold of actual spend — or, with
`--forecast`, of forecast spend. `ops_alerts` receives it through its push subscription
and posts to the ops-notifications sandbox; this command then prints the ops messages
that arrive within `--wait` seconds. Publish the same threshold twice and the second is
not told: ops hear of each threshold once per budget period.

The defaults reach a platform started with `python3 dev.py up` (default ports).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from emulators.local_cloud import DEFAULT_PROJECT, PUBSUB_DEFAULT_PORT
from emulators.sandboxes.ops_notifications import DEFAULT_PORT as OPS_DEFAULT_PORT
from infra.manifest import EntityManifest, load_manifest
from scripts.platform_runner import LOCAL_ENTITY, emulator_pubsub_clients, ops_messages
from shared.topology import BUDGET_ALERTS_TOPIC


def sample_budget_notification(
    manifest: EntityManifest,
    threshold: Decimal,
    *,
    forecast: bool = False,
    now: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The data and attributes of the notification Cloud Billing would send about the
    entity's budget once spend (or its forecast) crossed `threshold` this month."""
    now = now or datetime.now(UTC)
    budget = Decimal(manifest.budget.amount)
    # Cloud Billing counts a month from midnight Pacific time: 08:00 UTC.
    period_start = datetime(now.year, now.month, 1, 8, tzinfo=UTC)
    spent = budget * threshold * (Decimal("0.8") if forecast else Decimal(1))
    data: dict[str, Any] = {
        "budgetDisplayName": manifest.budget_name,
        "costAmount": float(spent),
        "costIntervalStart": period_start.isoformat().replace("+00:00", "Z"),
        "budgetAmount": float(budget),
        "budgetAmountType": "SPECIFIED_AMOUNT",
        "currencyCode": manifest.budget.currency,
        ("forecastThresholdExceeded" if forecast else "alertThresholdExceeded"): float(threshold),
    }
    attributes = {
        # One budget per entity project: a stable id for it.
        "budgetId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"budget:{manifest.project_id}")),
        "billingAccountId": manifest.billing.account_id,
        "schemaVersion": "1.0",
    }
    return json.dumps(data).encode(), attributes


def publish_budget_notification(
    pubsub_address: str, project: str, data: bytes, attributes: dict[str, str]
) -> str:
    """Publish as Cloud Billing does, to the platform's budget topic; the message id."""
    publisher, _ = emulator_pubsub_clients(pubsub_address)
    answer = publisher.publish(
        topic=f"projects/{project}/topics/{BUDGET_ALERTS_TOPIC}",
        messages=[{"data": data, "attributes": attributes}],
        timeout=10,
    )
    return str(answer.message_ids[0])


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.budget_alert",
        description="Publish a sample budget notification; print what ops are told.",
    )
    parser.add_argument(
        "--threshold", type=Decimal, default=Decimal("0.9"), help="fraction, e.g. 0.9 or 1.0"
    )
    parser.add_argument("--forecast", action="store_true", help="a forecast spend threshold")
    parser.add_argument("--entity", default=LOCAL_ENTITY)
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    parser.add_argument("--pubsub", default=f"127.0.0.1:{PUBSUB_DEFAULT_PORT}")
    parser.add_argument("--ops", default=f"http://127.0.0.1:{OPS_DEFAULT_PORT}")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for ops")
    args = parser.parse_args(argv)
    if not Decimal(0) < args.threshold <= Decimal(10):
        parser.error("--threshold must be a fraction above 0 and at most 10")
    return args


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    data, attributes = sample_budget_notification(
        load_manifest(args.entity), args.threshold, forecast=args.forecast
    )
    seen = len(ops_messages(args.ops))
    message_id = publish_budget_notification(args.pubsub, args.project, data, attributes)
    print(f"published budget notification {message_id} to {BUDGET_ALERTS_TOPIC}:")
    print(f"  {data.decode()}")
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        arrived = ops_messages(args.ops)[seen:]
        if arrived:
            for message in arrived:
                print(f"ops were told ({message['received_at']}):\n{message['text']}")
            return 0
        time.sleep(0.2)
    print(
        f"no ops message within {args.wait:g} s: this threshold was told before in this "
        "period, or ops_alerts is not running (see its output)"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
