"""What a first real `pulumi up` of an entity needs beyond what argument names show: builds
that can read their source, grants that have taken effect before they are used, public
functions that domain-restricted sharing admits, Pub/Sub's service agent, a budget in the
billing account's currency, pinned secrets, the regional Pub/Sub endpoint, Identity
Platform, and retention ops may lock."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

import pytest

from infra.components.function.identity import IAM_PROPAGATION
from infra.components.function.service import REGIONAL_PUBSUB_ENDPOINT
from infra.offline import RegisteredResource, Simulation
from infra.program import BillingCurrencyMismatch
from shared.deployment import service_name, subscription_name
from shared.topology import FUNCTIONS, REGION, Function
from tests.infra.queries import FUNCTION, RUN_INVOKER, deployed_function, functions_of, grants

SLEEP = "time:index/sleep:Sleep"
IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
TAG_BINDING = "gcp:tags/locationTagBinding:LocationTagBinding"


def by_urn(simulation: Simulation) -> dict[str, RegisteredResource]:
    return {r.urn: r for r in simulation.resources}


def waits_for(simulation: Simulation, resource: RegisteredResource) -> list[RegisteredResource]:
    """The IAM waits `resource` depends on."""
    resources = by_urn(simulation)
    return [resources[u] for u in resource.dependencies if resources[u].type == SLEEP]


def seconds(duration: str) -> int:
    return int(duration.removesuffix("s"))


def only(simulation: Simulation, type_: str) -> RegisteredResource:
    (resource,) = simulation.of_type(type_)
    return resource


# --- builds ---------------------------------------------------------------------------------


def test_the_builder_reads_the_sources_cloud_functions_copies_and_no_other_bucket(simulations):
    simulation = simulations["p2p-lending"]
    number = only(simulation, "gcp:organizations/project:Project").outputs["number"]
    builder = "serviceAccount:function-builder@patungan-p2p-lending-prod.iam.gserviceaccount.com"
    mine = {(g.type, g.role, g.target) for g in grants(simulation) if g.member == builder}
    assert mine == {
        (IAM_MEMBER, "roles/logging.logWriter", "patungan-p2p-lending-prod"),
        (IAM_MEMBER, "roles/storage.objectViewer", "patungan-p2p-lending-prod"),
        (
            "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
            "roles/artifactregistry.writer",
            "functions",
        ),
        (
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            "roles/storage.objectViewer",
            "patungan-p2p-lending-prod-function-sources",
        ),
    }
    (conditioned,) = [
        r
        for r in simulation.of_type(IAM_MEMBER)
        if r.get("member") == builder and r.get("role") == "roles/storage.objectViewer"
    ]
    bucket = f"projects/_/buckets/gcf-v2-sources-{number}-{REGION}"
    assert conditioned.get("condition.expression") == (
        f'resource.name == "{bucket}" || resource.name.startsWith("{bucket}/objects/")'
    )


def test_each_function_is_built_only_after_its_grants_and_the_builders_have_taken_effect(
    simulations,
):
    simulation = simulations["cooperative"]
    resources = by_urn(simulation)
    builder_grants = {
        r.urn
        for r in simulation.resources
        if "function-builder@" in str(r.get("member") or "") and r.type.startswith("gcp:")
    }
    for fn in FUNCTIONS:
        function = deployed_function(simulation, fn)
        (wait,) = waits_for(simulation, function)
        # About two minutes is how long a grant takes to apply, often; seven, sometimes.
        assert seconds(wait.get("createDuration")) == seconds(IAM_PROPAGATION) >= 120
        waited_on = set(wait.dependencies)
        assert builder_grants <= waited_on
        runtime = f"serviceAccount:{function.get('serviceConfig.serviceAccountEmail')}"
        runtime_grants = {
            r.urn for r in simulation.resources if r.get("member") == runtime and r.get("role")
        }
        assert runtime_grants and runtime_grants <= waited_on, fn.name
        assert all(resources[u].get("role") for u in waited_on)  # grants, nothing else


# --- invocation: public edge, push and Scheduler --------------------------------------------


def test_public_functions_are_tagged_for_the_one_sharing_exception_before_allusers_is_granted(
    simulations: Mapping[str, Simulation], organization: Simulation
):
    tag_value = organization.exports["public_invoker_tag_value"]
    for simulation in simulations.values():
        resources = by_urn(simulation)
        number = only(simulation, "gcp:organizations/project:Project").outputs["number"]
        public = [r for r in simulation.of_type(RUN_INVOKER) if r.get("member") == "allUsers"]
        assert {r.get("name") for r in public} == {
            service_name(fn) for fn in functions_of(simulation) if fn.client_facing
        }
        for grant in public:
            (wait,) = waits_for(simulation, grant)
            (binding,) = [resources[u] for u in wait.dependencies]
            assert binding.type == TAG_BINDING
            assert binding.get("tagValue") == tag_value
            assert binding.get("location") == REGION
            assert binding.get("parent") == (
                f"//run.googleapis.com/projects/{number}/locations/{REGION}/services/"
                f"{grant.get('name')}"
            )
        # Nothing but a client-facing function's service is tagged.
        assert len(simulation.of_type(TAG_BINDING)) == len(public)


def test_a_push_subscription_starts_once_its_pusher_may_invoke_and_the_agent_may_dead_letter(
    simulations,
):
    simulation = simulations["p2p-lending"]  # a licence deploying every event function
    resources = by_urn(simulation)
    agent = only(simulation, "gcp:projects/serviceIdentity:ServiceIdentity")
    assert agent.get("service") == "pubsub.googleapis.com"
    assert {fn for fn in functions_of(simulation) if fn.kind == "event"} == {
        fn for fn in FUNCTIONS if fn.kind == "event"
    }
    for fn in (fn for fn in FUNCTIONS if fn.kind == "event"):
        for topic in fn.consumes:
            (push,) = [
                s
                for s in simulation.of_type("gcp:pubsub/subscription:Subscription")
                if s.get("name") == subscription_name(fn, topic)
            ]
            (wait,) = waits_for(simulation, push)
            waited = {(resources[u].type, resources[u].get("role")) for u in wait.dependencies}
            assert waited == {
                (RUN_INVOKER, "roles/run.invoker"),
                ("gcp:pubsub/topicIAMMember:TopicIAMMember", "roles/pubsub.publisher"),
            }
    # The agent is granted through its own output, never a guessed address.
    for g in grants(simulation):
        if "gcp-sa-pubsub" in g.member:
            assert g.member == agent.outputs["member"]


def test_a_scheduler_job_starts_once_its_account_may_invoke(simulations):
    simulation = simulations["p2p-lending"]
    resources = by_urn(simulation)
    jobs = simulation.of_type("gcp:cloudscheduler/job:Job")
    assert len(jobs) == len([fn for fn in FUNCTIONS if fn.schedule])
    for job in jobs:
        (wait,) = waits_for(simulation, job)
        (grant,) = [resources[u] for u in wait.dependencies]
        assert grant.type == RUN_INVOKER
        assert grant.get("member") == (
            f"serviceAccount:{job.get('httpTarget.oidcToken.serviceAccountEmail')}"
        )
        assert json.loads(base64.b64decode(job.get("httpTarget.body"))) == {}


# --- budget currency ------------------------------------------------------------------------


def test_the_budget_is_written_in_the_billing_accounts_currency(simulations):
    for simulation in simulations.values():
        budget = only(simulation, "gcp:billing/budget:Budget")
        assert budget.get("amount.specifiedAmount.currencyCode") == "IDR"
        # Offline, the account's currency is an assumption, and the simulation says so.
        assert any("is taken to bill in IDR" in problem for problem in simulation.problems)


def test_a_billing_account_in_another_currency_stops_the_deploy_before_any_budget(simulate_stack):
    # The engine reports the check's failure on the budget that waits for it.
    with pytest.raises(
        ValueError, match=r"cooperative-budget(.|\n)*bills in USD, but the manifest"
    ):
        simulate_stack("cooperative", billing_currency="USD")
    assert issubclass(BillingCurrencyMismatch, ValueError)


# --- secrets, Pub/Sub endpoint, Identity Platform, retention --------------------------------

WEBHOOK_KEY = "payment-webhook-hmac-key"
PAYMENTS = Function("payments", "http", "Payment gateway webhooks.", secrets=(WEBHOOK_KEY,))


@pytest.fixture(scope="module")
def payments_tree(source_tree, tmp_path_factory):
    from dataclasses import replace

    from tests.infra.sources import write_function_stubs

    tree = replace(source_tree, functions_dir=tmp_path_factory.mktemp("payments"))
    write_function_stubs(tree.functions_dir, (*FUNCTIONS, PAYMENTS))
    return tree


def mounts(simulation: Simulation) -> dict[str, str]:
    function = deployed_function(simulation, PAYMENTS)
    return {
        m["key"]: m["version"]
        for m in function.get("serviceConfig.secretEnvironmentVariables") or []
    }


def test_an_overlapping_key_mounts_its_previous_version_while_a_rotation_lasts(
    simulate_stack, payments_tree
):
    steady = simulate_stack("p2p-lending", functions=(*FUNCTIONS, PAYMENTS), tree=payments_tree)
    # No rotation under way: both variables hold the one current version.
    assert mounts(steady) == {
        "PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY": "1",
        "PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY_PREVIOUS": "1",
    }
    rotating = simulate_stack(
        "p2p-lending",
        functions=(*FUNCTIONS, PAYMENTS),
        tree=payments_tree,
        config_overrides={
            f"patungan:secret-{WEBHOOK_KEY}": "the-new-key",
            f"patungan:secret-{WEBHOOK_KEY}-previous": "the-old-key",
        },
    )
    versions = {
        v.name.rsplit("-", 1)[-1]: v.outputs["version"]
        for v in rotating.of_type("gcp:secretmanager/secretVersion:SecretVersion")
        if WEBHOOK_KEY.replace("-", "") in v.name.replace("-", "")
    }
    current, previous = versions["key"], versions["previous"]
    assert current != previous
    assert mounts(rotating) == {
        "PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY": current,
        "PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY_PREVIOUS": previous,
    }


def test_functions_that_publish_use_the_regional_pubsub_endpoint(simulations):
    for simulation in simulations.values():
        for fn in functions_of(simulation):
            env = deployed_function(simulation, fn).get("serviceConfig.environmentVariables")
            expected = REGIONAL_PUBSUB_ENDPOINT if fn.publishes else None
            assert env.get("PATUNGAN_PUBSUB_ENDPOINT") == expected, fn.name
    assert REGIONAL_PUBSUB_ENDPOINT == "asia-southeast2-pubsub.googleapis.com:443"


def test_identity_platform_issues_the_tokens_client_facing_functions_verify(simulations):
    for simulation in simulations.values():
        project = simulation.deployment.manifest.project_id
        config = only(simulation, "gcp:identityplatform/config:Config")
        assert config.get("project") == project
        assert config.get("signIn.email.enabled") is True
        assert config.get("smsRegionConfig.allowlistOnly.allowedRegions") == ["ID"]
        for fn in (f for f in functions_of(simulation) if f.client_facing and f.verifies_tokens):
            env = deployed_function(simulation, fn).get("serviceConfig.environmentVariables")
            assert env["PATUNGAN_AUTH_ISSUER"] == f"https://securetoken.google.com/{project}"


def test_retention_is_unlocked_unless_ops_lock_it(
    simulations, simulate_stack, tmp_path, deployable_entities
):
    def locks(simulation: Simulation) -> tuple[object, object]:
        (documents,) = [
            b
            for b in simulation.of_type("gcp:storage/bucket:Bucket")
            if str(b.get("name")).endswith("-documents")
        ]
        logs = only(simulation, "gcp:logging/projectBucketConfig:ProjectBucketConfig")
        return documents.get("retentionPolicy.isLocked"), logs.get("locked")

    assert locks(simulations["cooperative"]) == (False, False)
    for path in deployable_entities.glob("*.json"):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["lock_retention"] = manifest["entity_id"] == "cooperative"
        (tmp_path / path.name).write_text(json.dumps(manifest), encoding="utf-8")
    assert locks(simulate_stack("cooperative", entities_dir=tmp_path)) == (True, True)


DEFAULT_SERVICE_ACCOUNTS = (
    "-compute@developer.gserviceaccount.com",
    "@appspot.gserviceaccount.com",
    "@cloudbuild.gserviceaccount.com",
)


def test_no_default_service_account_is_granted_anything(simulations):
    # The folder stops Google's own Editor grant to them (test_organization.py); the stack
    # never grants them a role either: builds and functions run as accounts of their own.
    for simulation in simulations.values():
        for g in grants(simulation):
            assert not g.member.endswith(DEFAULT_SERVICE_ACCOUNTS), g
        for function in simulation.of_type(FUNCTION):
            assert not str(function.get("serviceConfig.serviceAccountEmail")).endswith(
                DEFAULT_SERVICE_ACCOUNTS
            )
            assert "function-builder@" in str(function.get("buildConfig.serviceAccount"))
