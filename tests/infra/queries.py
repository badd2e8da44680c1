"""Questions the infra tests ask of a simulated stack, phrased once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.offline import RegisteredResource, Simulation
from shared.deployment import service_name, subscription_name
from shared.topology import Function

FUNCTION = "gcp:cloudfunctionsv2/function:Function"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
TOPIC = "gcp:pubsub/topic:Topic"
RUN_INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
IAM_TYPES = (
    "gcp:projects/iAMMember:IAMMember",
    "gcp:pubsub/topicIAMMember:TopicIAMMember",
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
    "gcp:storage/bucketIAMMember:BucketIAMMember",
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
    RUN_INVOKER,
)


@dataclass(frozen=True)
class Grant:
    """One IAM binding: who may do what on which resource."""

    type: str
    role: str
    member: str
    target: str  # the topic, subscription, bucket, secret, service... or project it is on


def grants(simulation: Simulation) -> list[Grant]:
    found = []
    for r in simulation.resources:
        if r.type in IAM_TYPES:
            target = next(
                str(r.get(key))
                for key in (
                    "topic",
                    "subscription",
                    "bucket",
                    "secretId",
                    "repository",
                    "serviceAccountId",
                    "name",
                    "project",
                )
                if r.get(key) is not None
            )
            found.append(Grant(r.type, str(r.get("role")), str(r.get("member")), target))
    return found


def functions_of(simulation: Simulation) -> list[Function]:
    """The functions the simulated entity's licence deploys (its platform plan)."""
    from infra.program import entity_plan

    return [planned.function for planned in entity_plan(simulation.deployment.manifest).functions]


def deployed_function(simulation: Simulation, fn: Function) -> RegisteredResource:
    matches = [r for r in simulation.of_type(FUNCTION) if r.get("name") == service_name(fn)]
    assert len(matches) == 1, f"{fn.name} deployed {len(matches)} times"
    return matches[0]


def runtime_member(simulation: Simulation, fn: Function) -> str:
    email = deployed_function(simulation, fn).get("serviceConfig.serviceAccountEmail")
    return f"serviceAccount:{email}"


def push_subscription(simulation: Simulation, fn: Function, topic: str) -> RegisteredResource:
    """The push subscription feeding `topic` to event function `fn`."""
    name = subscription_name(fn, topic)
    matches = [s for s in simulation.of_type(SUBSCRIPTION) if s.get("name") == name]
    assert len(matches) == 1, f"{fn.name} has {len(matches)} push subscriptions to {topic}"
    return matches[0]


def service_uri(simulation: Simulation, fn: Function) -> str:
    return str(deployed_function(simulation, fn).outputs["serviceConfig"]["uri"])


def topic_by_id(simulation: Simulation, topic_id: str) -> RegisteredResource:
    matches = [t for t in simulation.of_type(TOPIC) if t.outputs["id"] == topic_id]
    assert len(matches) == 1, f"{len(matches)} topics with id {topic_id!r}"
    return matches[0]


def hand_made(type_: str, name: str = "thing", **inputs: Any) -> RegisteredResource:
    """A resource as the engine would register it, built by hand for a rule to judge."""
    return RegisteredResource(
        urn=f"urn:pulumi:test::patungan::{type_}::{name}",
        type=type_,
        name=name,
        custom=True,
        parent="",
        provider="",
        protect=False,
        dependencies=(),
        inputs=inputs,
        outputs={"id": f"{name}-id", **inputs},
    )
