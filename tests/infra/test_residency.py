"""Residency: everything an entity stack creates keeps its data in Jakarta (asia-southeast2).

The walk covers every registered resource; a location outside the region, a
location-bearing resource without a location, and a resource type nobody has
written a rule for are all failures. The invalid cases below are built by
hand, one per rule, next to the real stacks that must pass.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from infra.offline import Simulation
from infra.residency import RULES, violations
from shared.topology import REGION
from tests.infra.queries import hand_made


def test_every_entity_stack_keeps_every_resource_in_jakarta(simulations: Mapping[str, Simulation]):
    assert set(simulations) == {"cooperative", "msme-banking", "p2p-lending"}
    for stack, simulation in simulations.items():
        assert violations(simulation.resources) == [], stack


def test_the_walk_covers_every_location_bearing_kind_the_program_creates(
    simulations: Mapping[str, Simulation],
):
    types = {r.type for s in simulations.values() for r in s.resources}
    for located in (
        "gcp:cloudfunctionsv2/function:Function",
        "gcp:firestore/database:Database",
        "gcp:storage/bucket:Bucket",
        "gcp:pubsub/topic:Topic",
        "gcp:secretmanager/secret:Secret",
        "gcp:logging/projectBucketConfig:ProjectBucketConfig",
        "gcp:artifactregistry/repository:Repository",
    ):
        assert located in types
    assert types <= RULES.keys()


@pytest.mark.parametrize(
    ("bad", "complaint"),
    [
        (hand_made("gcp:storage/bucket:Bucket", location="US"), "is in 'US'"),
        (hand_made("gcp:storage/bucket:Bucket"), "has no location"),
        (
            hand_made("gcp:cloudfunctionsv2/function:Function", location="asia-southeast1"),
            "outside asia-southeast2",
        ),
        (hand_made("gcp:firestore/database:Database", locationId="nam5"), "is in 'nam5'"),
        (hand_made("gcp:cloudscheduler/job:Job"), "has no location"),
        (hand_made("gcp:pubsub/topic:Topic", name="t"), "has no message storage policy"),
        (
            hand_made(
                "gcp:pubsub/topic:Topic",
                messageStoragePolicy={"allowedPersistenceRegions": [REGION, "us-central1"]},
            ),
            "may store messages in ['us-central1']",
        ),
        (
            hand_made("gcp:secretmanager/secret:Secret", replication={"auto": {}}),
            "uses automatic replication",
        ),
        (
            hand_made(
                "gcp:secretmanager/secret:Secret",
                replication={"userManaged": {"replicas": [{"location": "europe-west1"}]}},
            ),
            "is replicated to ['europe-west1']",
        ),
        (
            hand_made(
                "gcp:logging/projectSink:ProjectSink",
                destination="logging.googleapis.com/projects/p/locations/global/buckets/_Default",
            ),
            "not a log bucket in asia-southeast2",
        ),
        (
            hand_made("gcp:pubsub/subscription:Subscription", topic="projects/p/topics/elsewhere"),
            "which this stack does not create",
        ),
        (hand_made("gcp:compute/network:Network"), "has no residency rule"),
        (hand_made("pulumi:providers:gcp", region="us-central1"), "is in 'us-central1'"),
    ],
)
def test_a_resource_outside_jakarta_or_without_a_rule_is_reported(bad, complaint):
    problems = violations([bad])
    assert len(problems) == 1
    assert complaint in problems[0]
    assert bad.type in problems[0]


def test_the_same_resources_placed_in_jakarta_pass():
    topic = hand_made(
        "gcp:pubsub/topic:Topic",
        "topic",
        messageStoragePolicy={"allowedPersistenceRegions": [REGION]},
    )
    compliant = [
        hand_made("gcp:storage/bucket:Bucket", location="ASIA-SOUTHEAST2"),
        hand_made("gcp:cloudfunctionsv2/function:Function", location=REGION),
        hand_made("gcp:firestore/database:Database", locationId=REGION),
        hand_made("gcp:cloudscheduler/job:Job", region=REGION),
        topic,
        hand_made("gcp:pubsub/subscription:Subscription", topic=topic.outputs["id"]),
        hand_made(
            "gcp:secretmanager/secret:Secret",
            replication={"userManaged": {"replicas": [{"location": REGION}]}},
        ),
        hand_made(
            "gcp:logging/projectSink:ProjectSink",
            destination=f"logging.googleapis.com/projects/p/locations/{REGION}/buckets/logs",
        ),
    ]
    assert violations(compliant) == []
