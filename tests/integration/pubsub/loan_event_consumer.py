"""A functions-framework CloudEvent function that the push tests deliver to.

Loaded with `functions_framework.create_app("record_loan_event", <this file>)`.
It appends every CloudEvent to the Flask app's `config["RECEIVED_EVENTS"]`
(the test that built the app reads it there), and raises on the first delivery
of a message whose attribute `fail_first` is `yes`, so the framework answers
500 and Pub/Sub must redeliver.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import current_app


@functions_framework.cloud_event
def record_loan_event(cloud_event: CloudEvent) -> None:
    received = current_app.config["RECEIVED_EVENTS"]
    received.append(cloud_event)
    attributes = cloud_event.data["message"].get("attributes", {})
    deliveries = sum(1 for event in received if event["id"] == cloud_event["id"])
    if attributes.get("fail_first") == "yes" and deliveries == 1:
        raise RuntimeError("transient failure on the first delivery")
