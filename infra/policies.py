"""Policy as code: the rules every stack's real preview is held to (CrossGuard, `pulumi-policy`).

`infra/policy/` is the policy pack `pulumi preview --policy-pack infra/policy`
runs (CI runs it on every entity stack and on the bootstrap stack). Its rules
are these, all mandatory:

- `residency`: every resource keeps its data in asia-southeast2 — the same
  rules as the offline check (`infra.residency.violations`), over every resource
  of the stack, a resource type without a rule included;
- `least-privilege`: no IAM binding grants owner, editor or an admin role; nobody
  but `allUsers` on a function's Cloud Run invoker role is public (and that one
  only where domain-restricted sharing's tag allows it); no service account key;
- `labels`: every entity provider labels what it creates with `entity`, `env`
  and `cost-center`, and so does every project.

The functions here take plain resource views, so the tests run the very same
policies over every stack's mocked resources (tests/infra/test_policy_pack.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.residency import violations

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
FORBIDDEN_ROLES = ("roles/owner", "roles/editor")
PUBLIC_INVOKER = ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "roles/run.invoker")
REQUIRED_LABELS = ("entity", "env", "cost-center")
GCP_PROVIDER = "pulumi:providers:gcp"
PROJECT = "gcp:organizations/project:Project"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"


@dataclass(frozen=True)
class Resource:
    """What the rules read of a resource: its type, name and properties (camelCase).

    A resource policy sees the resource's inputs; a stack policy its output properties,
    which hold the inputs and what the provider computed (the `id` containers are found by).
    """

    type: str
    name: str
    inputs: Mapping[str, Any]

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self.inputs


def privilege_problems(resource: Resource) -> list[str]:
    """Why `resource` grants more than least privilege allows (empty when it does not)."""
    if resource.type == SERVICE_ACCOUNT_KEY:
        return [f"{resource.name}: service account keys are never made (impersonate instead)"]
    role, member = resource.inputs.get("role"), resource.inputs.get("member")
    if not isinstance(role, str):
        return []
    problems = []
    if role in FORBIDDEN_ROLES or "admin" in role.lower():
        problems.append(f"{resource.name}: grants {role}")
    if member in PUBLIC_MEMBERS and (resource.type, role) != PUBLIC_INVOKER:
        problems.append(f"{resource.name}: makes {role} public ({member})")
    return problems


def label_problems(resource: Resource) -> list[str]:
    """Missing cost labels on an entity provider (default labels) or a project."""
    if resource.type == GCP_PROVIDER:
        if not resource.inputs.get("project"):
            return []  # the bootstrap stack's organisation-wide provider
        labels = resource.inputs.get("defaultLabels") or {}
    elif resource.type == PROJECT:
        labels = resource.inputs.get("labels") or {}
    else:
        return []
    if isinstance(labels, str):  # the engine passes a provider's maps as JSON
        import json

        labels = json.loads(labels)
    missing = [label for label in REQUIRED_LABELS if not labels.get(label)]
    return [f"{resource.name}: no {', '.join(missing)} label"] if missing else []


def _view(args: ResourceValidationArgs) -> Resource:
    return Resource(args.resource_type, args.name, args.props)


def _resource_policy(name: str, description: str, rule: Any) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for problem in rule(_view(args)):
            report_violation(problem, args.urn)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def _residency(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = [Resource(r.resource_type, r.name, r.props) for r in args.resources]
    for problem in violations(resources):
        report_violation(problem, None)


def policies() -> list[Policy]:
    """The pack's policies (infra/policy/__main__.py), every one mandatory."""
    return [
        StackValidationPolicy(
            name="residency",
            description="Every resource keeps its data in asia-southeast2 (infra/residency.py).",
            validate=_residency,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        _resource_policy(
            "least-privilege",
            "No owner, editor or admin role, no public grant but a function's invoker, no keys.",
            privilege_problems,
        ),
        _resource_policy(
            "labels",
            "Entity providers and projects carry the entity, env and cost-center labels.",
            label_problems,
        ),
    ]
