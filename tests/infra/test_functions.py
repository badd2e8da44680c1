"""Functions: every topology function deployed once per entity, reachable only as intended,
and allowed to touch only what the topology says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from infra.components.function.schedule import scheduled_function_url
from infra.components.function.service import GOOGLE_OIDC_ISSUER, GOOGLE_OIDC_KEYS_URL
from infra.offline import RegisteredResource, Simulation
from shared.deployment import (
    dead_letter_topic,
    plan_function,
    service_name,
    subscription_name,
)
from shared.topology import (
    BUDGET_ALERTS_TOPIC,
    FUNCTIONS,
    REGION,
    SCHEDULER_TIME_ZONE,
    TOPICS,
    Function,
    secret,
)
from tests.infra.queries import (
    FUNCTION,
    RUN_INVOKER,
    SUBSCRIPTION,
    deployed_function,
    functions_of,
    grants,
    push_subscription,
    runtime_member,
    topic_by_id,
)
from tests.infra.sources import write_function_stubs

EVENT_FUNCTIONS = [fn for fn in FUNCTIONS if fn.kind == "event"]
PUBLIC_EVERYONE = {"allUsers", "allAuthenticatedUsers"}


def test_every_topology_function_is_deployed_exactly_once_per_entity(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        deployed = sorted(str(r.get("name")) for r in simulation.of_type(FUNCTION))
        assert deployed == sorted(service_name(fn) for fn in functions_of(simulation))


def test_each_function_runs_as_declared_with_its_own_account(
    simulations: Mapping[str, Simulation],
):
    simulation = simulations["p2p-lending"]
    accounts = set()
    for fn in FUNCTIONS:
        deployed = deployed_function(simulation, fn)
        assert deployed.get("location") == REGION
        assert deployed.get("buildConfig.runtime") == "python312"
        assert deployed.get("buildConfig.entryPoint") == fn.name
        assert deployed.get("buildConfig.serviceAccount").endswith(
            "/serviceAccounts/function-builder@patungan-p2p-lending-prod.iam.gserviceaccount.com"
        )
        assert deployed.get("serviceConfig.availableMemory") == f"{fn.memory_mb}Mi"
        assert deployed.get("serviceConfig.timeoutSeconds") == fn.timeout_s
        assert deployed.get("serviceConfig.maxInstanceCount") == fn.max_instances
        accounts.add(deployed.get("serviceConfig.serviceAccountEmail"))
    assert len(accounts) == len(FUNCTIONS)


def test_functions_are_configured_for_their_own_entity(simulations: Mapping[str, Simulation]):
    for stack, simulation in simulations.items():
        manifest = simulation.deployment.manifest
        for fn in functions_of(simulation):
            env = deployed_function(simulation, fn).get("serviceConfig.environmentVariables")
            assert env["PATUNGAN_ENTITY"] == stack
            assert env["PATUNGAN_ENV"] == manifest.env
            assert env["PATUNGAN_GCP_PROJECT"] == manifest.project_id
            assert env["PATUNGAN_FUNCTION_NAME"] == fn.name
            if fn.client_facing and fn.verifies_tokens:
                assert env["PATUNGAN_AUTH_AUDIENCE"] == manifest.project_id
            elif fn.client_facing:  # a partner's signed callbacks: no token is ever read
                assert "PATUNGAN_AUTH_AUDIENCE" not in env
            elif fn.schedule:  # the Scheduler job's OIDC token names the function's URL
                assert env["PATUNGAN_AUTH_AUDIENCE"] == scheduled_function_url(
                    manifest.project_id, plan_function(fn)
                )
            # The entity's own providers, for the functions that hold their API key.
            assert env.get("PATUNGAN_PROVIDERS_URL") == (
                manifest.providers_url if "provider-api-key" in fn.secrets else None
            )
            assert env.get("PATUNGAN_PAYMENT_GATEWAY_URL") == (
                manifest.payment_gateway_url if "payment-gateway-api-key" in fn.secrets else None
            )


def test_every_consumed_topic_has_a_push_subscription_that_dead_letters(
    simulations: Mapping[str, Simulation],
):
    assert EVENT_FUNCTIONS
    simulation = simulations["p2p-lending"]  # a licence deploying every event function
    project = simulation.deployment.manifest.project_id
    (project_resource,) = simulation.of_type("gcp:organizations/project:Project")
    number = project_resource.outputs["number"]
    agent_member = f"serviceAccount:service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"
    for fn, consumed in ((event, topic) for event in EVENT_FUNCTIONS for topic in event.consumes):
        # The deterministic run.app URL: known before the function exists, so the function
        # is told the audience it verifies (Cloud Run accepts it as well as the one it reports).
        uri = f"https://{service_name(fn)}-{number}.{REGION}.run.app"
        topic_name = f"projects/{project}/topics/{consumed}"
        push = push_subscription(simulation, fn, consumed)
        assert push.get("topic") == topic_name
        # Pushed to the function at the topic's path, as the local runner does, so that
        # functions-framework names the topic in the CloudEvent's source; the OIDC
        # audience Cloud Run checks, and the function checks again, is the URL itself.
        assert push.get("pushConfig.pushEndpoint") == f"{uri}/{topic_name}"
        assert push.get("pushConfig.oidcToken.audience") == uri
        env = deployed_function(simulation, fn).get("serviceConfig.environmentVariables")
        pusher = push.get("pushConfig.oidcToken.serviceAccountEmail")
        assert pusher.startswith(f"push-{service_name(fn)}@")
        assert (env["PATUNGAN_AUTH_AUDIENCE"], env["PATUNGAN_PUSH_INVOKER"]) == (uri, pusher)
        assert (env["PATUNGAN_AUTH_ISSUER"], env["PATUNGAN_AUTH_JWKS_URL"]) == (
            GOOGLE_OIDC_ISSUER,
            GOOGLE_OIDC_KEYS_URL,
        )
        assert push.get("retryPolicy.minimumBackoff") == f"{fn.min_backoff_s}s"
        assert push.get("retryPolicy.maximumBackoff") == f"{fn.max_backoff_s}s"
        assert push.get("deadLetterPolicy.maxDeliveryAttempts") == fn.max_delivery_attempts
        dead_letters = topic_by_id(simulation, push.get("deadLetterPolicy.deadLetterTopic"))
        assert dead_letters.get("name") == dead_letter_topic(fn, consumed)
        # Dead letters are kept, not dropped: something subscribes to the dead-letter topic.
        assert [
            s.get("name")
            for s in simulation.of_type(SUBSCRIPTION)
            if s.get("topic") == dead_letters.outputs["id"]
        ] == [f"{dead_letter_topic(fn, consumed)}.hold"]
        # Dead-lettering acts as the Pub/Sub service agent.
        bindings = {(g.role, g.member, g.target) for g in grants(simulation)}
        assert ("roles/pubsub.publisher", agent_member, dead_letter_topic(fn, consumed)) in bindings
        assert (
            "roles/pubsub.subscriber",
            agent_member,
            subscription_name(fn, consumed),
        ) in bindings


def test_only_client_facing_http_functions_let_everyone_invoke(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        open_to_all = {g.target for g in grants(simulation) if g.member in PUBLIC_EVERYONE}
        assert open_to_all == {
            service_name(fn) for fn in functions_of(simulation) if fn.client_facing
        }
        for g in grants(simulation):
            if g.member in PUBLIC_EVERYONE:
                assert (g.type, g.role) == (RUN_INVOKER, "roles/run.invoker")


def test_event_functions_are_invoked_only_by_their_push_identity_over_internal_ingress(
    simulations: Mapping[str, Simulation],
):
    simulation = simulations["cooperative"]
    for fn in EVENT_FUNCTIONS:
        invokers = {
            g.member
            for g in grants(simulation)
            if g.type == RUN_INVOKER and g.target == service_name(fn)
        }
        pushers = {
            push_subscription(simulation, fn, topic).get("pushConfig.oidcToken.serviceAccountEmail")
            for topic in fn.consumes
        }
        assert invokers == {f"serviceAccount:{email}" for email in pushers}
        assert invokers != {runtime_member(simulation, fn)}, "the pusher is not the function itself"
        assert deployed_function(simulation, fn).get("serviceConfig.ingressSettings") == (
            "ALLOW_INTERNAL_ONLY"
        )


@pytest.mark.parametrize("forbidden", ["roles/owner", "roles/editor"])
def test_no_service_account_is_owner_or_editor(simulations, forbidden):
    for simulation in simulations.values():
        assert [g for g in grants(simulation) if g.role == forbidden] == []


def test_no_service_account_holds_any_admin_role(simulations: Mapping[str, Simulation]):
    for simulation in simulations.values():
        assert [g for g in grants(simulation) if "admin" in g.role.lower()] == []


def test_a_function_publishes_only_to_the_topics_the_topology_names(
    simulations: Mapping[str, Simulation],
):
    simulation = simulations["p2p-lending"]
    all_grants = grants(simulation)
    for fn in FUNCTIONS:
        member = runtime_member(simulation, fn)
        publishes_to = {
            g.target
            for g in all_grants
            if g.member == member and g.role == "roles/pubsub.publisher"
        }
        assert publishes_to == set(fn.publishes), fn.name
        # And never through a project-wide Pub/Sub role, which would reach every topic.
        assert not [
            g
            for g in all_grants
            if g.member == member
            and g.type == "gcp:projects/iAMMember:IAMMember"
            and g.role.startswith("roles/pubsub.")
        ]


def test_a_function_reads_only_its_declared_secrets_mounted_at_a_pinned_version(
    simulations: Mapping[str, Simulation],
):
    simulation = simulations["p2p-lending"]
    versions = {
        str(v.get("secret")).rsplit("/", 1)[-1]: v.outputs["version"]
        for v in simulation.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    }
    for fn in FUNCTIONS:
        member = runtime_member(simulation, fn)
        readable = {
            g.target
            for g in grants(simulation)
            if g.member == member and g.role == "roles/secretmanager.secretAccessor"
        }
        assert readable == set(fn.secrets)
        mounted = deployed_function(simulation, fn).get("serviceConfig.secretEnvironmentVariables")
        # Pinned, never "latest": a rotation changes the function, which rolls a new revision,
        # instead of old and new instances holding different keys.
        # With no previous value in the stack, an overlapping key's previous mount is the
        # current version.
        assert {(m["key"], m["secret"], m["version"]) for m in mounted or []} == {
            (variable, name, versions[name])
            for name in fn.secrets
            for variable in (secret(name).env_var, secret(name).previous_env_var)
            if variable
        }


def test_data_access_follows_the_topology(simulations: Mapping[str, Simulation]):
    simulation = simulations["p2p-lending"]
    documents = simulation.deployment.manifest.project_id + "-documents"
    expected_firestore = {
        "read": {"roles/datastore.viewer"},
        "read_write": {"roles/datastore.user"},
        "none": set(),
    }
    expected_documents = {
        "none": set(),
        "read": {"roles/storage.objectViewer"},
        "read_write": {"roles/storage.objectViewer", "roles/storage.objectCreator"},
    }
    for fn in FUNCTIONS:
        mine = [g for g in grants(simulation) if g.member == runtime_member(simulation, fn)]
        assert {
            g.role for g in mine if g.role.startswith("roles/datastore.")
        } == expected_firestore[fn.firestore]
        assert {g.role for g in mine if g.target == documents} == expected_documents[fn.documents]
        signers = {g.target for g in mine if g.role == "roles/iam.serviceAccountTokenCreator"}
        own_account = "projects/{p}/serviceAccounts/{e}".format(
            p=simulation.deployment.manifest.project_id,
            e=runtime_member(simulation, fn).removeprefix("serviceAccount:"),
        )
        assert signers == ({own_account} if fn.signs_document_urls else set())


NIGHTLY_REPORT = Function(
    "nightly_report",
    "http",
    "Daily: a report of yesterday's loans.",
    schedule="0 1 * * *",
    publishes=("loan.scored",),
)
REMINDERS = Function(
    "payment_reminders",
    "event",
    "Remind borrowers of what they owe: when approved, and when an offer is accepted.",
    consumes=("loan.approved", "loan.offer_accepted"),
    max_delivery_attempts=7,
)


PORTFOLIO = Function(
    "lender_portfolio",
    "http",
    "Lenders read their balances and outstanding principal per loan.",
    serves="lenders",
)
GROWN = (*FUNCTIONS, NIGHTLY_REPORT, REMINDERS, PORTFOLIO)


@pytest.fixture(scope="module")
def grown_tree(source_tree, tmp_path_factory):
    tree = replace(source_tree, functions_dir=tmp_path_factory.mktemp("grown"))
    write_function_stubs(tree.functions_dir, GROWN)
    return tree


@pytest.fixture(scope="module")
def grown_topology(simulate_stack, grown_tree) -> Simulation:
    """The p2p stack after someone adds a scheduled job, a consumer and a lender function."""
    return simulate_stack("p2p-lending", functions=GROWN, tree=grown_tree)


def test_a_bank_deploys_no_lender_function_and_the_p2p_and_cooperative_entities_do(
    simulate_stack, grown_tree, grown_topology
):
    assert deployed_function(grown_topology, PORTFOLIO).get("name") == "lender-portfolio"
    cooperative = simulate_stack("cooperative", functions=GROWN, tree=grown_tree)
    assert deployed_function(cooperative, PORTFOLIO)
    bank = simulate_stack("msme-banking", functions=GROWN, tree=grown_tree)
    deployed = {str(r.get("name")) for r in bank.of_type(FUNCTION)}
    assert {"lender-portfolio", "lender-tax"}.isdisjoint(deployed)
    assert deployed == {service_name(fn) for fn in GROWN if fn.serves != "lenders"}
    # Nor anything of it: no account, no grant, no archive of the lender function.
    assert not [r for r in bank.resources if "lender-portfolio" in r.name]


def test_a_function_added_to_the_topology_is_deployed_without_touching_infra(grown_topology):
    deployed = {str(r.get("name")) for r in grown_topology.of_type(FUNCTION)}
    assert {"nightly-report", "payment-reminders"} <= deployed
    # One push subscription and one dead-letter topic per consumed topic.
    pushes = [push_subscription(grown_topology, REMINDERS, t) for t in REMINDERS.consumes]
    assert [p.get("deadLetterPolicy.maxDeliveryAttempts") for p in pushes] == [7, 7]
    assert len({p.get("deadLetterPolicy.deadLetterTopic") for p in pushes}) == 2


def scheduler_job(simulation: Simulation, fn: Function) -> RegisteredResource:
    (job,) = [
        j
        for j in simulation.of_type("gcp:cloudscheduler/job:Job")
        if j.get("name") == service_name(fn)
    ]
    return job


def assert_invoked_only_by_its_job_on_jakarta_time(simulation: Simulation, fn: Function) -> None:
    job = scheduler_job(simulation, fn)
    assert job.get("region") == REGION
    assert job.get("timeZone") == SCHEDULER_TIME_ZONE == "Asia/Jakarta"
    assert job.get("schedule") == fn.schedule
    url = scheduled_function_url(simulation.deployment.manifest.project_id, plan_function(fn))
    assert job.get("httpTarget.uri") == job.get("httpTarget.oidcToken.audience") == url
    assert job.get("httpTarget.httpMethod") == "POST"
    caller = job.get("httpTarget.oidcToken.serviceAccountEmail")
    invokers = {
        g.member
        for g in grants(simulation)
        if g.type == RUN_INVOKER and g.target == service_name(fn)
    }
    assert invokers == {f"serviceAccount:{caller}"}
    deployed = deployed_function(simulation, fn)
    assert deployed.get("serviceConfig.ingressSettings") == "ALLOW_INTERNAL_ONLY"
    # The function checks the same token in code: Google's issuer, its URL, the job's account.
    env = deployed.get("serviceConfig.environmentVariables")
    assert env["PATUNGAN_AUTH_ISSUER"] == GOOGLE_OIDC_ISSUER
    assert env["PATUNGAN_AUTH_JWKS_URL"] == GOOGLE_OIDC_KEYS_URL
    assert env["PATUNGAN_AUTH_AUDIENCE"] == url
    assert env["PATUNGAN_SCHEDULER_INVOKER"] == caller


def test_a_scheduled_function_runs_on_jakarta_time_invoked_only_by_its_job(grown_topology):
    assert_invoked_only_by_its_job_on_jakarta_time(grown_topology, NIGHTLY_REPORT)


@pytest.mark.parametrize("stack", ["p2p-lending", "msme-banking", "cooperative"])
def test_every_entity_relays_its_outbox_every_minute_in_jakarta(
    simulations: Mapping[str, Simulation], stack: str
):
    simulation = simulations[stack]
    relay = next(fn for fn in FUNCTIONS if fn.name == "outbox_relay")
    assert_invoked_only_by_its_job_on_jakarta_time(simulation, relay)
    assert scheduler_job(simulation, relay).get("schedule") == "* * * * *"
    mine = [g for g in grants(simulation) if g.member == runtime_member(simulation, relay)]
    # It may publish whatever a producer left behind, and mark it published.
    # (Not to a topic published from outside the platform: Cloud Billing's is its own.)
    assert {g.target for g in mine if g.role == "roles/pubsub.publisher"} == {
        t.name for t in TOPICS if t.published_by is None
    }
    assert {g.role for g in mine if g.role.startswith("roles/datastore.")} == {
        "roles/datastore.user"
    }


def test_cloud_billings_budget_notifications_reach_ops_alerts_in_every_entity(
    simulations: Mapping[str, Simulation],
):
    ops_alerts = next(fn for fn in FUNCTIONS if fn.name == "ops_alerts")
    for stack, simulation in simulations.items():
        assert ops_alerts in functions_of(simulation), stack  # every licence deploys it
        (budget,) = simulation.of_type("gcp:billing/budget:Budget")
        budget_topic = topic_by_id(simulation, budget.get("allUpdatesRule.pubsubTopic"))
        # The budget's own topic, the one the topology names, is fed to ops_alerts alone.
        assert budget_topic.get("name") == BUDGET_ALERTS_TOPIC
        feeds = [
            s.get("name")
            for s in simulation.of_type(SUBSCRIPTION)
            if s.get("topic") == budget_topic.outputs["id"]
        ]
        assert feeds == [subscription_name(ops_alerts, BUDGET_ALERTS_TOPIC)], stack
        push = push_subscription(simulation, ops_alerts, BUDGET_ALERTS_TOPIC)
        assert push.get("pushConfig.pushEndpoint").startswith("https://ops-alerts-")
        assert push.get("deadLetterPolicy.maxDeliveryAttempts") == ops_alerts.max_delivery_attempts
        # It posts to the ops channel whose webhook URL (a credential) is a mounted secret.
        mounts = deployed_function(simulation, ops_alerts).get(
            "serviceConfig.secretEnvironmentVariables"
        )
        assert [m["key"] for m in mounts] == ["PATUNGAN_OPS_WEBHOOK_URL"]
