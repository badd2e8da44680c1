"""Offline preview of what `pulumi up -s <entity>` would create: `nox -s plan -- <entity>`.

Runs the real Pulumi program under mocks (no CLI, no plugin, no credentials),
after the organisation's bootstrap program whose outputs the entity stack reads,
and prints, for review before anyone touches Google Cloud (`org` previews the
bootstrap stack itself):

- the preflight problems a real `pulumi up` would refuse on (placeholders stand
  in for missing function folders and unset secrets so the review can go on);
- one row per resource: type, name, location, key settings;
- the residency verdict (infra/residency.py) and a count per resource type.

Usage: `python -m scripts.infra_plan <entity>|org [--strict]`. Exit status: 0
when the plan printed, 1 with `--strict` when the preflight or residency found
problems, 2 for an unknown entity.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infra.manifest import known_entities
from infra.offline import (
    RegisteredResource,
    Simulation,
    bootstrap_reference,
    simulate,
    simulate_organization,
)
from infra.preflight import PreflightRefused
from infra.residency import location_of, violations

ORGANIZATION = "org"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "entity",
        nargs="?",
        help=f"one of: {', '.join(known_entities())}, or {ORGANIZATION} (the bootstrap stack)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when `pulumi up` would refuse the stack"
    )
    args = parser.parse_args(argv)
    if args.entity not in (*known_entities(), ORGANIZATION):
        parser.print_usage(sys.stderr)
        print(
            f"unknown entity {args.entity!r}; known: {', '.join(known_entities())}", file=sys.stderr
        )
        return 2
    organization = simulate_organization(preview_with_placeholders=True)
    if args.entity == ORGANIZATION:
        plan = organization
        print(
            f"Offline plan of the bootstrap stack {plan.stack!r}: organisation "
            f"{plan.deployment.manifest.organization_id}, under Pulumi mocks\n"
        )
    else:
        with tempfile.TemporaryDirectory(prefix="patungan-plan-") as archives:
            try:
                plan = _entity_plan(args.entity, Path(archives), organization)
            except PreflightRefused as refused:
                print(refused, file=sys.stderr)
                return 1
        manifest = plan.deployment.manifest
        print(
            f"Offline plan of stack {plan.stack!r}: entity {manifest.entity_id} "
            f"({manifest.legal_name}, {manifest.ojk_licence.value}) -> project "
            f"{manifest.project_id}, under Pulumi mocks\n"
        )
    resources = [r for r in plan.resources if r.custom]
    if plan.problems:
        print("Preflight: `pulumi up` would refuse this stack until these are fixed:")
        for problem in plan.problems:
            print(f"  - {problem}")
        print()
    print(_table(resources))
    residency = violations(plan.resources)
    print()
    if residency:
        print("Residency: VIOLATIONS")
        for problem in residency:
            print(f"  - {problem}")
    else:
        print("Residency: every location-bearing resource is in asia-southeast2.")
    print("\nResources per type:")
    counts = Counter(_short_type(r.type) for r in resources)
    for type_, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:4d}  {type_}")
    print(f"  {len(resources):4d}  total")
    return 1 if args.strict and (plan.problems or residency) else 0


def _entity_plan(entity: str, archives: Path, organization: Simulation) -> Simulation:
    return simulate(
        entity,
        archive_dir=archives,
        preview_with_placeholders=True,
        stack_outputs={bootstrap_reference(): organization.exports},
    )


def _table(resources: list[RegisteredResource]) -> str:
    rows = [("TYPE", "NAME", "LOCATION", "KEY SETTINGS")]
    for resource in sorted(resources, key=lambda r: (_short_type(r.type), _name(r))):
        rows.append(
            (
                _short_type(resource.type),
                _name(resource),
                location_of(resource),
                _settings(resource),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
        for row in rows
    )


def _short_type(token: str) -> str:
    """`gcp:pubsub/topic:Topic` → `pubsub/Topic`."""
    if token.startswith("pulumi:providers:"):
        return f"provider/{token.rsplit(':', 1)[-1]}"
    package, module = token.split(":")[0], token.split(":")[1].split("/")[0]
    return f"{package if module == 'index' else module}/{token.rsplit(':', 1)[-1]}"


def _name(resource: RegisteredResource) -> str:
    """The name GCP will show (bindings have none: their Pulumi name), else the Pulumi name."""
    if resource.get("role"):
        return resource.name
    for key in ("projectId", "accountId", "secretId", "bucketId", "repositoryId", "service"):
        if resource.get(key):
            return str(resource.get(key))
    return str(resource.get("name") or resource.get("displayName") or resource.name)


def _iam(r: RegisteredResource) -> str:
    target = next(
        (
            str(r.get(k))
            for k in ("topic", "subscription", "bucket", "secretId", "repository", "name")
            if r.get(k)
        ),
        str(r.get("project") or r.get("serviceAccountId") or ""),
    )
    return f"{r.get('role')} -> {r.get('member')} on {target}"


def _thresholds(r: RegisteredResource) -> str:
    rules = r.get("thresholdRules") or []
    return ", ".join(
        f"{'actual' if rule['spendBasis'] == 'CURRENT_SPEND' else 'forecast'} "
        f"{rule['thresholdPercent']:.0%}"
        for rule in rules
    )


_SETTINGS: dict[str, Callable[[RegisteredResource], str]] = {
    "gcp:organizations/project:Project": lambda r: (
        f"labels {_labels(r.get('labels'))}; autoCreateNetwork={r.get('autoCreateNetwork')}; "
        f"deletionPolicy={r.get('deletionPolicy')}; protect={r.protect}"
    ),
    "gcp:projects/service:Service": lambda r: f"disableOnDestroy={r.get('disableOnDestroy')}",
    "gcp:orgpolicy/policy:Policy": lambda r: (
        f"{str(r.get('name')).rsplit('/', 1)[-1]}: "
        + "; ".join(_policy_rule(rule) for rule in r.get("spec.rules") or [])
    ),
    "time:index/sleep:Sleep": lambda r: f"waits {r.get('createDuration')} after its grants",
    "gcp:monitoring/alertPolicy:AlertPolicy": lambda r: (
        f"{r.get('displayName')} -> {len(r.get('notificationChannels') or [])} channel(s)"
    ),
    "gcp:firestore/backupSchedule:BackupSchedule": lambda r: (
        f"daily, kept {int(str(r.get('retention')).rstrip('s')) // 86400} days"
    ),
    "gcp:tags/locationTagBinding:LocationTagBinding": lambda r: (
        f"{r.get('tagValue')} on {r.get('parent')}"
    ),
    "gcp:billing/budget:Budget": lambda r: (
        f"{r.get('amount.specifiedAmount.currencyCode')} "
        f"{int(r.get('amount.specifiedAmount.units')):,}/month for "
        f"{r.get('budgetFilter.projects')}; {_thresholds(r)} -> "
        f"{r.get('allUpdatesRule.pubsubTopic')}"
    ),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": lambda r: (
        f"retention {r.get('retentionDays'):.0f} days"
    ),
    "gcp:logging/projectSink:ProjectSink": lambda r: f"-> {r.get('destination')}",
    "gcp:firestore/database:Database": lambda r: (
        f"{r.get('type')}; {r.get('pointInTimeRecoveryEnablement')}; "
        f"{r.get('deleteProtectionState')}; protect={r.protect}"
    ),
    "gcp:firestore/field:Field": lambda r: (
        f"{r.get('collection')}.{r.get('field')}: "
        f"{'TTL' if r.get('ttlConfig') is not None else 'no TTL'}; "
        f"single-field indexes {'off' if r.get('indexConfig') == {} else 'default'}"
    ),
    "gcp:firestore/index:Index": lambda r: (
        f"{r.get('collection')} ("
        + ", ".join(
            f"{f['fieldPath']} {(f.get('order') or f.get('arrayConfig') or '').lower()}"
            for f in r.get("fields") or []
        )
        + f"); scope {r.get('queryScope')}"
    ),
    "gcp:storage/bucket:Bucket": lambda r: (
        f"uniformAccess={r.get('uniformBucketLevelAccess')}; "
        f"publicAccessPrevention={r.get('publicAccessPrevention')}; "
        f"{_retention(r.get('retentionPolicy.retentionPeriod'))}; protect={r.protect}"
    ),
    "gcp:storage/bucketObject:BucketObject": lambda r: f"source {Path(r.get('source.asset')).name}",
    "gcp:artifactregistry/repository:Repository": lambda r: (
        f"{r.get('format')}; cleanup {[p['id'] for p in r.get('cleanupPolicies') or []]}"
    ),
    "gcp:pubsub/topic:Topic": lambda r: (
        f"stored in {r.get('messageStoragePolicy.allowedPersistenceRegions')}; "
        f"retention {r.get('messageRetentionDuration') or 'default'}"
    ),
    "gcp:pubsub/subscription:Subscription": lambda r: (
        f"push -> {r.get('pushConfig.pushEndpoint')} as "
        f"{r.get('pushConfig.oidcToken.serviceAccountEmail')}; "
        f"ack deadline {r.get('ackDeadlineSeconds'):.0f}s; backoff "
        f"{r.get('retryPolicy.minimumBackoff')}..{r.get('retryPolicy.maximumBackoff')}; "
        f"dead letter after {r.get('deadLetterPolicy.maxDeliveryAttempts'):.0f} -> "
        f"{r.get('deadLetterPolicy.deadLetterTopic')}"
        if r.get("pushConfig")
        else f"pull; keeps messages {r.get('messageRetentionDuration')}"
    ),
    "gcp:secretmanager/secret:Secret": lambda r: (
        "user-managed replicas "
        f"{[x['location'] for x in r.get('replication.userManaged.replicas') or []]}"
    ),
    "gcp:secretmanager/secretVersion:SecretVersion": lambda r: (
        f"value {r.get('secretData')}; deletionPolicy={r.get('deletionPolicy')}"
    ),
    "gcp:cloudfunctionsv2/function:Function": lambda r: (
        f"{r.get('buildConfig.runtime')} {r.get('buildConfig.entryPoint')}; "
        f"{r.get('serviceConfig.availableMemory')}, {r.get('serviceConfig.timeoutSeconds'):.0f}s, "
        f"max {r.get('serviceConfig.maxInstanceCount'):.0f}; "
        f"{r.get('serviceConfig.ingressSettings')}; "
        f"as {r.get('serviceConfig.serviceAccountEmail')}; "
        f"source {r.get('buildConfig.source.storageSource.object')}"
    ),
    "gcp:cloudscheduler/job:Job": lambda r: (
        f"{r.get('schedule')} {r.get('timeZone')} -> {r.get('httpTarget.uri')} as "
        f"{r.get('httpTarget.oidcToken.serviceAccountEmail')}"
    ),
    "gcp:serviceaccount/account:Account": lambda r: str(r.get("displayName")),
    "pulumi:providers:gcp": lambda r: (
        f"project {r.get('project')}; region {r.get('region')}; labels {r.get('defaultLabels')}"
    ),
}


def _policy_rule(rule: Mapping[str, Any]) -> str:
    if rule.get("enforce"):
        return "enforced"
    if rule.get("allowAll"):
        condition = (rule.get("condition") or {}).get("expression", "always")
        return f"allow all where {condition}"
    return f"allowed {rule.get('values', {}).get('allowedValues')}"


def _retention(seconds: str | None) -> str:
    return f"retention {int(seconds) // 86400} days" if seconds else "no retention policy"


def _labels(labels: Mapping[str, Any] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def _settings(resource: RegisteredResource) -> str:
    describe = _SETTINGS.get(resource.type)
    if describe is not None:
        return describe(resource)
    if resource.get("role"):
        return _iam(resource)
    return ""


if __name__ == "__main__":
    sys.exit(main())
