"""Observability, per entity stack: ops hear about dead letters, failing functions and jobs and
reconciliation drift; reads of personal data and keys are audited; Firestore is backed up
daily; Google's own notices reach the entity's ops and billing contacts."""

from __future__ import annotations

from collections.abc import Mapping

from infra.components.observability import (
    RECONCILIATION_DRIFT_FILTER,
    RECONCILIATION_DRIFT_METRIC,
)
from infra.offline import Simulation

ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"


def alerts(simulation: Simulation) -> dict[str, dict]:
    return {
        r.name.removeprefix(f"{simulation.stack}-alert-"): r.inputs
        for r in simulation.of_type(ALERT)
    }


def test_every_alert_reaches_every_ops_contact_with_its_runbook(simulations):
    for stack, simulation in simulations.items():
        ops = simulation.deployment.manifest.contacts.ops
        channels = simulation.of_type(CHANNEL)
        assert sorted(c.get("labels.email_address") for c in channels) == sorted(ops)
        names = sorted(c.outputs["name"] for c in channels)
        found = alerts(simulation)
        assert set(found) == {
            "dead-letters",
            "function-5xx",
            "scheduler-failures",
            "reconciliation-drift",
        }, stack
        for policy in found.values():
            assert sorted(policy["notificationChannels"]) == names
            assert policy["documentation"]["content"]


def test_the_alerts_watch_what_they_are_named_for(simulations: Mapping[str, Simulation]):
    found = alerts(simulations["p2p-lending"])

    def threshold(key: str) -> dict:
        (condition,) = found[key]["conditions"]
        return condition["conditionThreshold"]

    dead = threshold("dead-letters")
    assert 'subscription_id = starts_with("dead-letter.")' in dead["filter"]
    assert "num_undelivered_messages" in dead["filter"] and dead["thresholdValue"] == 0
    failing = threshold("function-5xx")
    assert 'response_code_class = "5xx"' in failing["filter"]
    assert failing["aggregations"][0]["perSeriesAligner"] == "ALIGN_RATE"
    drift = threshold("reconciliation-drift")
    assert drift["filter"] == (
        f'metric.type = "logging.googleapis.com/user/{RECONCILIATION_DRIFT_METRIC}"'
    )
    (scheduler,) = found["scheduler-failures"]["conditions"]
    assert scheduler["conditionMatchedLog"]["filter"] == (
        'resource.type = "cloud_scheduler_job" AND severity >= ERROR'
    )
    # A log-matched condition must say how often it may notify.
    assert found["scheduler-failures"]["alertStrategy"]["notificationRateLimit"]["period"]


def test_reconciliation_drift_is_counted_from_the_log_line_the_job_writes(simulations):
    simulation = simulations["cooperative"]
    (metric,) = simulation.of_type("gcp:logging/metric:Metric")
    assert metric.get("name") == RECONCILIATION_DRIFT_METRIC
    assert (
        metric.get("filter")
        == RECONCILIATION_DRIFT_FILTER
        == ('jsonPayload.event="reconciliation.drift"')
    )
    (alert,) = [a for a in simulation.of_type(ALERT) if a.name.endswith("reconciliation-drift")]
    assert metric.urn in alert.dependencies  # the alert names a metric that exists


def test_reads_and_writes_of_personal_data_keys_and_documents_are_audited(simulations):
    for simulation in simulations.values():
        configs = {
            r.get("service"): sorted(c["logType"] for c in r.get("auditLogConfigs"))
            for r in simulation.of_type("gcp:projects/iAMAuditConfig:IAMAuditConfig")
        }
        assert configs == {
            key: ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]
            for key in (
                "datastore.googleapis.com",
                "secretmanager.googleapis.com",
                "storage.googleapis.com",
            )
        }


def test_firestore_is_backed_up_daily_for_as_long_as_the_manifest_says(simulations):
    for simulation in simulations.values():
        (schedule,) = simulation.of_type("gcp:firestore/backupSchedule:BackupSchedule")
        (database,) = simulation.of_type("gcp:firestore/database:Database")
        assert schedule.get("database") == database.get("name")
        assert schedule.get("dailyRecurrence") == {}
        days = simulation.deployment.manifest.backup_retention_days
        assert schedule.get("retention") == f"{days * 86_400}s"


def test_googles_notices_reach_ops_and_billing(simulations):
    simulation = simulations["msme-banking"]
    contacts = simulation.deployment.manifest.contacts
    found = {
        r.get("email"): sorted(r.get("notificationCategorySubscriptions"))
        for r in simulation.of_type("gcp:essentialcontacts/contact:Contact")
    }
    assert found == {
        **{
            key: ["SECURITY", "SUSPENSION", "TECHNICAL", "TECHNICAL_INCIDENTS"]
            for key in contacts.ops
        },
        **{email: ["BILLING"] for email in contacts.billing},
    }
