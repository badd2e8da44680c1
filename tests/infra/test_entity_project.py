"""The entity project: its own project, labels, budget, APIs, location policy, logs and data stores.

Costs split per entity because each entity is one project, labelled with it,
paying through its budget filtered to that project alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from infra.components.entity_project import PLATFORM_APIS
from infra.offline import Simulation
from shared.topology import REGION, TOPICS

PROJECT = "gcp:organizations/project:Project"
BUDGET = "gcp:billing/budget:Budget"
SERVICE = "gcp:projects/service:Service"
PROVIDER = "pulumi:providers:gcp"


def only(simulation: Simulation, type_: str):
    (resource,) = simulation.of_type(type_)
    return resource


def test_each_entity_gets_its_own_project_labelled_with_it(simulations: Mapping[str, Simulation]):
    projects = set()
    for stack, simulation in simulations.items():
        manifest = simulation.deployment.manifest
        project = only(simulation, PROJECT)
        assert project.get("projectId") == f"patungan-{stack}-{manifest.env}"
        assert project.get("labels") == {
            "entity": stack,
            "env": manifest.env,
            "cost-center": manifest.cost_center,
        }
        assert project.get("billingAccount") == manifest.billing.account_id
        assert project.get("autoCreateNetwork") is False
        projects.add(project.get("projectId"))
    assert len(projects) == len(simulations)


def test_the_project_cannot_be_deleted_by_a_stack_operation(simulations: Mapping[str, Simulation]):
    for simulation in simulations.values():
        project = only(simulation, PROJECT)
        assert project.get("deletionPolicy") == "PREVENT"
        assert project.protect


def test_the_project_sits_in_the_entity_folder_the_bootstrap_stack_made(
    simulations: Mapping[str, Simulation], organization: Simulation
):
    folders = organization.exports["entity_folders"]
    assert len(set(folders.values())) == len(folders)
    for stack, simulation in simulations.items():
        assert simulation.deployment.manifest.parent is None
        project = only(simulation, PROJECT)
        assert project.get("folderId") == folders[stack]
        assert project.get("orgId") is None


def test_a_manifest_may_still_name_its_own_parent(simulate_stack, tmp_path, deployable_entities):
    import json

    for path in deployable_entities.glob("*.json"):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest["entity_id"] == "cooperative":
            manifest["parent"] = {"kind": "organization", "id": "555555555555"}
        (tmp_path / path.name).write_text(json.dumps(manifest), encoding="utf-8")
    project = only(simulate_stack("cooperative", entities_dir=tmp_path), PROJECT)
    assert (project.get("orgId"), project.get("folderId")) == ("555555555555", None)


def test_every_resource_goes_through_the_entity_provider_which_labels_it(
    simulations: Mapping[str, Simulation],
):
    for stack, simulation in simulations.items():
        manifest = simulation.deployment.manifest
        provider = only(simulation, PROVIDER)
        assert provider.get("project") == manifest.project_id
        assert provider.get("region") == REGION
        assert json.loads(provider.get("defaultLabels")) == manifest.labels
        # Impersonating the deployer the bootstrap stack made: no credentials of its own.
        assert provider.get("impersonateServiceAccount") == (
            "patungan-deployer@patungan-admin.iam.gserviceaccount.com"
        )
        assert provider.get("billingProject") is None
        assert provider.get("userProjectOverride") is None
        reference = f"{provider.urn}::{provider.outputs['id']}"
        strays = [
            r.name
            for r in simulation.resources
            if r.custom and r.type.startswith("gcp:") and r.provider != reference
        ]
        assert strays == [], stack


def test_every_resource_belongs_to_a_patungan_component(simulations: Mapping[str, Simulation]):
    simulation = simulations["cooperative"]
    components = {
        "patungan:infra:EntityProject",
        "patungan:infra:Platform",
        "patungan:infra:Observability",
    }
    for resource in simulation.resources:
        parent_type = resource.parent.split("::")[2].split("$")[-1]
        if (
            resource.type in (PROVIDER, "pulumi:pulumi:StackReference")
            or resource.type in components
        ):
            assert parent_type == "pulumi:pulumi:Stack", resource.name
        else:
            assert parent_type.startswith("patungan:infra:"), resource.name
        assert resource.name.split("-")[0] == "cooperative", "names come from the entity prefix"


def test_resource_names_are_unique_and_repeatable(simulations, simulate_stack):
    first = simulations["msme-banking"]
    urns = [r.urn for r in first.resources]
    assert len(urns) == len(set(urns))
    again = simulate_stack("msme-banking")
    assert [r.urn for r in again.resources] == urns
    assert [r.inputs for r in again.resources] == [r.inputs for r in first.resources]


def test_apis_are_enabled_in_dependency_order_and_never_disabled_on_destroy(
    simulations: Mapping[str, Simulation],
):
    simulation = simulations["p2p-lending"]
    services = {r.get("service"): r for r in simulation.of_type(SERVICE)}
    assert set(services) == {api.service for api in PLATFORM_APIS}
    enabled_before: set[str] = set()
    for api in PLATFORM_APIS:
        assert set(api.needs) <= enabled_before, f"{api.service} declared before what it needs"
        enabled_before.add(api.service)
        service = services[api.service]
        assert service.get("disableOnDestroy") is False
        assert {services[need].urn for need in api.needs} <= set(service.dependencies)


def test_an_entity_stack_sets_no_organisation_policy_it_inherits_its_folders(
    simulations: Mapping[str, Simulation],
):
    # Policies are the bootstrap stack's (tests/infra/test_organization.py): entity deployers
    # need no Organization Policy Administrator role.
    for simulation in simulations.values():
        assert simulation.of_type("gcp:orgpolicy/policy:Policy") == []


def test_the_budget_of_an_entity_watches_exactly_its_own_project(
    simulations: Mapping[str, Simulation],
):
    numbers = {s: only(sim, PROJECT).outputs["number"] for s, sim in simulations.items()}
    assert len(set(numbers.values())) == len(numbers)
    for stack, simulation in simulations.items():
        budget = only(simulation, BUDGET)
        assert budget.get("budgetFilter.projects") == [f"projects/{numbers[stack]}"]
        manifest = simulation.deployment.manifest
        assert budget.get("billingAccount") == manifest.billing.account_id
        assert budget.get("amount.specifiedAmount") == {
            "currencyCode": "IDR",
            "units": str(manifest.budget.amount),
        }


def test_budget_alerts_fire_on_actual_and_forecast_spend_into_a_topic(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        budget = only(simulation, BUDGET)
        manifest = simulation.deployment.manifest
        rules = budget.get("thresholdRules")
        assert {r["spendBasis"] for r in rules} == {"CURRENT_SPEND", "FORECASTED_SPEND"}
        assert [r["thresholdPercent"] for r in rules] == [
            float(t.fraction) for t in manifest.budget.thresholds
        ]
        topic = budget.get("allUpdatesRule.pubsubTopic")
        assert topic == f"projects/{manifest.project_id}/topics/billing.budget-alerts"
        assert ("roles/pubsub.publisher", "billing.budget-alerts") in {
            (r.get("role"), r.get("topic"))
            for r in simulation.of_type("gcp:pubsub/topicIAMMember:TopicIAMMember")
            if r.get("member") == "serviceAccount:billing-budget-alert@system.gserviceaccount.com"
        }


def test_logs_go_to_a_regional_bucket_through_the_default_sink(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        project_id = simulation.deployment.manifest.project_id
        bucket = only(simulation, "gcp:logging/projectBucketConfig:ProjectBucketConfig")
        sink = only(simulation, "gcp:logging/projectSink:ProjectSink")
        assert bucket.get("location") == REGION
        assert bucket.get("retentionDays") == simulation.deployment.manifest.log_retention_days
        assert sink.get("name") == "_Default"
        assert sink.get("destination") == (
            f"logging.googleapis.com/projects/{project_id}/locations/{REGION}/buckets/"
            f"{bucket.get('bucketId')}"
        )


def test_firestore_is_native_with_recovery_and_delete_protection(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        database = only(simulation, "gcp:firestore/database:Database")
        assert database.get("type") == "FIRESTORE_NATIVE"
        assert database.get("locationId") == REGION
        assert database.get("pointInTimeRecoveryEnablement") == "POINT_IN_TIME_RECOVERY_ENABLED"
        assert database.get("deleteProtectionState") == "DELETE_PROTECTION_ENABLED"
        assert database.get("deletionPolicy") == "PREVENT"
        assert database.protect


def test_buckets_are_private_uniform_and_documents_are_retained(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        manifest = simulation.deployment.manifest
        buckets = {b.get("name"): b for b in simulation.of_type("gcp:storage/bucket:Bucket")}
        assert set(buckets) == {
            f"{manifest.project_id}-documents",
            f"{manifest.project_id}-function-sources",
        }
        for bucket in buckets.values():
            assert bucket.get("uniformBucketLevelAccess") is True
            assert bucket.get("publicAccessPrevention") == "enforced"
        documents = buckets[f"{manifest.project_id}-documents"]
        assert documents.get("retentionPolicy.retentionPeriod") == str(
            manifest.documents_retention_days * 86_400
        )
        assert documents.protect


def test_every_topology_topic_exists_once_with_messages_kept_in_jakarta(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        names = [t.get("name") for t in simulation.of_type("gcp:pubsub/topic:Topic")]
        topics = {t.get("name"): t for t in simulation.of_type("gcp:pubsub/topic:Topic")}
        for declared in TOPICS:
            assert names.count(declared.name) == 1, declared.name
            storage = topics[declared.name].get("messageStoragePolicy")
            if declared.published_by is None:
                assert storage == {
                    "allowedPersistenceRegions": [REGION],
                    "enforceInTransit": True,
                }
            else:  # Cloud Billing publishes from outside the region: stored in Jakarta only
                assert storage == {"allowedPersistenceRegions": [REGION]}


def test_secrets_are_replicated_only_to_jakarta_and_protected(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        secrets = simulation.of_type("gcp:secretmanager/secret:Secret")
        assert secrets
        for secret in secrets:
            assert secret.get("replication") == {
                "userManaged": {"replicas": [{"location": REGION}]}
            }
            assert secret.get("deletionProtection") is True
        for version in simulation.of_type("gcp:secretmanager/secretVersion:SecretVersion"):
            assert version.get("secretData") == "[secret]", "values stay secret in state"
