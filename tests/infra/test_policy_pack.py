"""The CrossGuard policy pack (infra/policy, rules in infra/policies.py) run offline: its real
policy objects validate every stack's mocked resources, exactly as the engine hands them over
on a preview, and refuse the mistakes they exist for."""

from __future__ import annotations

import runpy
from collections.abc import Mapping

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.offline import REPOSITORY, RegisteredResource, Simulation
from infra.policies import policies
from tests.infra.queries import hand_made

POLICY_NAMES = {"residency", "least-privilege", "labels"}


def options(resource: RegisteredResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent or None,
    )


def violations_of(resources: list[RegisteredResource]) -> dict[str, list[str]]:
    """Every policy run over `resources` as a preview would: policy name -> violations."""
    found: dict[str, list[str]] = {}

    def reporter(policy: str):
        def report(message: str, urn: str | None = None) -> None:
            found.setdefault(policy, []).append(message)

        return report

    for policy in policies():
        assert policy.enforcement_level == EnforcementLevel.MANDATORY
        if isinstance(policy, StackValidationPolicy):
            # A stack policy sees each resource's output properties (its id among them).
            stack = [
                PolicyResource(r.type, r.outputs, r.urn, r.name, options(r), None, None, [], {})
                for r in resources
            ]
            policy.validate(StackValidationArgs(stack), reporter(policy.name))
        else:
            assert isinstance(policy, ResourceValidationPolicy)
            for r in resources:
                args = ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, options(r), None)
                policy.validate(args, reporter(policy.name))
    return found


def test_the_pack_holds_the_three_mandatory_policies():
    assert {p.name for p in policies()} == POLICY_NAMES


def test_every_entity_stack_passes_the_pack(simulations: Mapping[str, Simulation]):
    for stack, simulation in simulations.items():
        assert violations_of(list(simulation.resources)) == {}, stack


def test_the_bootstrap_stack_passes_the_pack(organization: Simulation):
    assert violations_of(list(organization.resources)) == {}


@pytest.mark.parametrize(
    ("bad", "policy", "complaint"),
    [
        (hand_made("gcp:storage/bucket:Bucket", location="US"), "residency", "is in 'US'"),
        (hand_made("gcp:compute/network:Network"), "residency", "has no residency rule"),
        (
            hand_made("gcp:projects/iAMMember:IAMMember", role="roles/editor", member="user:x@y.z"),
            "least-privilege",
            "grants roles/editor",
        ),
        (
            hand_made(
                "gcp:projects/iAMMember:IAMMember",
                role="roles/secretmanager.admin",
                member="serviceAccount:fn@p.iam.gserviceaccount.com",
            ),
            "least-privilege",
            "grants roles/secretmanager.admin",
        ),
        (
            hand_made(
                "gcp:storage/bucketIAMMember:BucketIAMMember",
                role="roles/storage.objectViewer",
                member="allUsers",
            ),
            "least-privilege",
            "makes roles/storage.objectViewer public (allUsers)",
        ),
        (hand_made("gcp:serviceaccount/key:Key"), "least-privilege", "keys are never made"),
        (
            hand_made(
                "pulumi:providers:gcp",
                project="patungan-x-prod",
                region="asia-southeast2",
                defaultLabels='{"entity": "x", "env": "prod"}',
            ),
            "labels",
            "no cost-center label",
        ),
        (
            hand_made(
                "gcp:organizations/project:Project",
                projectId="patungan-x-prod",
                labels={"entity": "x"},
            ),
            "labels",
            "no env, cost-center label",
        ),
    ],
)
def test_the_pack_refuses_what_it_exists_for(
    simulations: Mapping[str, Simulation], bad, policy, complaint
):
    found = violations_of([*simulations["p2p-lending"].resources, bad])
    assert list(found) == [policy]
    (message,) = found[policy]
    assert complaint in message


def test_a_public_invoker_on_a_functions_service_is_the_one_allowed_public_grant():
    invoker = hand_made(
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
        role="roles/run.invoker",
        member="allUsers",
        location="asia-southeast2",
    )
    assert "least-privilege" not in violations_of([invoker])


def test_the_pack_entry_point_builds_its_pack_from_these_policies(monkeypatch):
    built = {}

    class RecordingPack:
        def __init__(self, name, enforcement_level, policies):
            built.update(name=name, level=enforcement_level, names={p.name for p in policies})

    import pulumi_policy

    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordingPack)
    runpy.run_path(str(REPOSITORY / "infra" / "policy"), run_name="__main__")
    assert built == {"name": "patungan", "level": EnforcementLevel.MANDATORY, "names": POLICY_NAMES}
