"""The preflight: one entity's stack can never be applied to another entity's project.

Refusals go through the real program path (`infra.program.run` under mocks),
so a refused stack registers nothing; the valid committed stacks pass.
"""

from __future__ import annotations

import json
import runpy

import pulumi
import pytest

from infra.archives import SourceTree
from infra.manifest import ENTITIES_DIR, ResourceParent, known_entities, load_manifest
from infra.offline import REPOSITORY, bootstrap_reference, read_stack_file, start_mock_engine
from infra.preflight import PreflightRefused, StackRequest, identity_problems, readiness_problems
from shared.topology import FUNCTIONS, SECRETS, TOPICS, Function, Secret

BOOTSTRAP = bootstrap_reference()


def committed_request(stack: str) -> StackRequest:
    config, _ = read_stack_file(REPOSITORY / f"Pulumi.{stack}.yaml")
    return StackRequest(
        stack=stack,
        entity=config.get("patungan:entity"),
        project=config.get("gcp:project"),
        region=config.get("gcp:region"),
    )


@pytest.mark.parametrize("stack", known_entities())
def test_each_committed_stack_agrees_with_its_manifest(stack):
    assert identity_problems(committed_request(stack), load_manifest(stack)) == []


def test_every_manifest_has_a_stack_file_and_every_stack_file_a_manifest():
    stacks = {
        p.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for p in REPOSITORY.glob("Pulumi.*.yaml")
    }
    assert stacks == set(known_entities())
    assert len(stacks) >= 3


def test_a_stack_pointed_at_another_entitys_project_is_refused(simulate_stack):
    with pytest.raises(PreflightRefused) as refused:
        simulate_stack("p2p-lending", config_overrides={"gcp:project": "patungan-cooperative-prod"})
    assert refused.value.problems == [
        "stack 'p2p-lending' targets project 'patungan-cooperative-prod' (gcp:project) but "
        "entity 'p2p-lending' lives in 'patungan-p2p-lending-prod'"
    ]


def test_a_stack_file_copied_from_another_entity_is_refused(simulate_stack):
    cooperative = REPOSITORY / "Pulumi.cooperative.yaml"
    with pytest.raises(PreflightRefused) as refused:
        simulate_stack("msme-banking", stack_file=cooperative)
    assert refused.value.problems == [
        "stack 'msme-banking' sets patungan:entity to 'cooperative': a stack deploys the entity "
        "of the same name",
        "stack 'msme-banking' targets project 'patungan-cooperative-prod' (gcp:project) but "
        "entity 'msme-banking' lives in 'patungan-msme-banking-prod'",
    ]


def test_a_stack_without_a_manifest_is_refused(simulate_stack):
    with pytest.raises(PreflightRefused, match=r"no entity manifest .*auto-invest\.json"):
        simulate_stack(
            "auto-invest",
            stack_file=REPOSITORY / "Pulumi.p2p-lending.yaml",
            config_overrides={"patungan:entity": "auto-invest"},
        )


def test_another_region_is_refused(simulate_stack):
    with pytest.raises(PreflightRefused) as refused:
        simulate_stack("cooperative", config_overrides={"gcp:region": "asia-southeast1"})
    assert refused.value.problems == [
        "gcp:region is 'asia-southeast1'; Patungan runs only in asia-southeast2"
    ]


@pytest.mark.parametrize("stack", known_entities())
def test_each_stack_file_disables_the_gcp_default_provider(stack):
    # Belt and braces: the program already routes every resource through its own provider.
    config, _ = read_stack_file(REPOSITORY / f"Pulumi.{stack}.yaml")
    assert "gcp" in config["pulumi:disable-default-providers"]


def test_a_deploy_needs_every_function_folder_and_names_the_missing_ones(
    simulate_stack, source_tree, tmp_path
):
    partial = SourceTree(
        tmp_path, source_tree.shared_dir, source_tree.pyproject, source_tree.lock_file
    )
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "main.py").write_text("def users(request):\n    return 'ok'\n")
    with pytest.raises(PreflightRefused) as refused:
        simulate_stack("cooperative", tree=partial)
    assert refused.value.problems == [
        f"function source missing: {tmp_path / fn.name / 'main.py'}"
        for fn in FUNCTIONS
        if fn.name != "users"
    ]


def test_a_deploy_needs_a_value_for_every_secret_a_function_mounts(simulate_stack, stack_secrets):
    first = SECRETS[0]
    assert any(first.name in fn.secrets for fn in FUNCTIONS)
    with pytest.raises(PreflightRefused) as refused:
        simulate_stack("cooperative", config_overrides={f"patungan:secret-{first.name}": None})
    assert refused.value.problems == [
        f"secret {first.name!r} has no value: pulumi config set --secret --stack cooperative "
        f"patungan:secret-{first.name} <value>"
    ]


# A secret declared ahead of the function that will mount it (no function mounts it yet).
UNMOUNTED = Secret("future-partner-key", "A partner key no function reads yet.", "PATUNGAN_FUTURE")
WEBHOOK_KEY = UNMOUNTED.name
WITH_UNMOUNTED = (*SECRETS, UNMOUNTED)


def test_a_secret_no_function_mounts_needs_no_value_and_waits_empty(simulate_stack):
    assert not any(WEBHOOK_KEY in fn.secrets for fn in FUNCTIONS)
    deployed = simulate_stack(
        "cooperative",
        config_overrides={f"patungan:secret-{WEBHOOK_KEY}": None},
        secrets=WITH_UNMOUNTED,
    )
    secrets = {s.get("secretId") for s in deployed.of_type("gcp:secretmanager/secret:Secret")}
    assert secrets == {s.name for s in WITH_UNMOUNTED}
    versions = deployed.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert sorted(str(v.get("secret")).rsplit("/", 1)[-1] for v in versions) == sorted(
        s.name for s in SECRETS
    )


def test_once_a_function_mounts_a_secret_the_deploy_needs_its_value(
    source_tree, deployable_entities
):
    manifest = load_manifest("cooperative", deployable_entities)
    payments = Function("payments", "http", "A partner's webhooks.", secrets=(WEBHOOK_KEY,))
    request = StackRequest(
        "cooperative",
        "cooperative",
        manifest.project_id,
        secrets_with_values=frozenset(s.name for s in SECRETS if s.name != WEBHOOK_KEY),
        bootstrap_stack=BOOTSTRAP,
    )
    assert (
        readiness_problems(request, manifest, source_tree, FUNCTIONS, TOPICS, WITH_UNMOUNTED) == []
    )
    assert readiness_problems(
        request, manifest, source_tree, (*FUNCTIONS, payments), TOPICS, WITH_UNMOUNTED
    ) == [
        f"function source missing: {source_tree.functions_dir / 'payments' / 'main.py'}",
        f"secret {WEBHOOK_KEY!r} has no value: pulumi config set --secret --stack cooperative "
        f"patungan:secret-{WEBHOOK_KEY} <value>",
    ]


def test_placeholder_ids_and_providers_url_are_not_deployable(source_tree, deployable_entities):
    real = load_manifest("cooperative", deployable_entities)
    request = StackRequest(
        "cooperative",
        "cooperative",
        real.project_id,
        secrets_with_values=frozenset(s.name for s in SECRETS),
        bootstrap_stack=BOOTSTRAP,
    )
    assert readiness_problems(request, real, source_tree, FUNCTIONS, TOPICS, SECRETS) == []
    placeholder = real.model_copy(
        update={
            "billing": real.billing.model_copy(update={"account_id": "000000-000000-000000"}),
            "parent": ResourceParent(kind="organization", id="000000000000"),
            "providers_url": "https://credit-data.cooperative.invalid",
            "contacts": real.contacts.model_copy(update={"ops": ("ops@cooperative.invalid",)}),
        }
    )
    assert readiness_problems(request, placeholder, source_tree, FUNCTIONS, TOPICS, SECRETS) == [
        "cooperative: billing account 000000-000000-000000 is a placeholder; put the real "
        "account id in the manifest",
        "cooperative: organization id 000000000000 is a placeholder; put the real id in the "
        "manifest",
        "cooperative: contacts ops@cooperative.invalid are placeholders; put the entity's ops "
        "and billing contacts in the manifest",
        "cooperative: providers_url https://credit-data.cooperative.invalid is a placeholder; "
        "put the credit-data providers' real URL in the manifest",
    ]


def test_a_stack_without_its_bootstrap_stack_is_refused(simulate_stack):
    with pytest.raises(PreflightRefused) as refused:
        simulate_stack("p2p-lending", config_overrides={"patungan:bootstrapStack": None})
    assert refused.value.problems == [
        "stack 'p2p-lending' names no bootstrap stack: pulumi config set --stack p2p-lending "
        "patungan:bootstrapStack organization/patungan-bootstrap/<stack> (the deployer it "
        "impersonates and the folder its project goes in come from there)"
    ]


def test_the_committed_manifests_wait_for_their_real_ids_and_providers_url():
    for entity in known_entities():
        manifest = load_manifest(entity)
        request = StackRequest(entity, entity, manifest.project_id, bootstrap_stack=BOOTSTRAP)
        problems = readiness_problems(
            request, manifest, SourceTree.of_repository(REPOSITORY), (), (), ()
        )
        assert [
            p.split(" is a placeholder")[0].split(" are placeholders")[0] for p in problems
        ] == [
            f"{entity}: billing account 000000-000000-000000",
            f"{entity}: contacts ops@{entity}.invalid, billing@{entity}.invalid",
            f"{entity}: providers_url https://credit-data.{entity}.invalid",
            f"{entity}: payment_gateway_url https://payment-gateway.{entity}.invalid",
        ]


def test_offline_previews_may_proceed_with_placeholders_but_say_so(simulate_stack, tmp_path):
    empty = SourceTree(
        tmp_path,
        REPOSITORY / "shared",
        REPOSITORY / "pyproject.toml",
        REPOSITORY / "requirements.lock",
    )
    preview = simulate_stack("cooperative", tree=empty, preview_with_placeholders=True)
    assert len([p for p in preview.problems if p.startswith("function source missing")]) == len(
        FUNCTIONS
    )
    assert len(preview.of_type("gcp:cloudfunctionsv2/function:Function")) == len(FUNCTIONS)


def test_manifest_files_are_json_objects_named_after_their_entity():
    for entity in known_entities():
        document = json.loads((ENTITIES_DIR / f"{entity}.json").read_text(encoding="utf-8"))
        assert document["entity_id"] == entity


def test_the_pulumi_entry_point_runs_the_preflight_before_creating_anything():
    # What `pulumi up -s auto-invest` would do with `main: infra/`: run the directory.
    monitor = start_mock_engine("auto-invest", {"patungan:entity": "auto-invest"})
    entry_point = REPOSITORY / "infra"
    with pytest.raises(PreflightRefused, match=r"no entity manifest .*auto-invest\.json"):
        pulumi.runtime.test(lambda: runpy.run_path(str(entry_point), run_name="__main__"))()
    assert monitor.recorded == []


@pytest.fixture
def entities_with(deployable_entities, tmp_path):
    """A copy of the deployable manifests with one entity's fields changed."""

    def change(entity: str, **fields: object):
        for path in deployable_entities.glob("*.json"):
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if manifest["entity_id"] == entity:
                manifest |= fields
            (tmp_path / path.name).write_text(json.dumps(manifest), encoding="utf-8")
        return tmp_path

    return change


def test_an_entity_keeps_the_functions_it_wants_warm_at_the_cost_it_chose(
    simulate_stack, entities_with
):
    warm = simulate_stack(
        "p2p-lending", entities_dir=entities_with("p2p-lending", min_instances={"loan_quote": 1})
    )
    counts = {
        r.get("name"): r.get("serviceConfig.minInstanceCount")
        for r in warm.of_type("gcp:cloudfunctionsv2/function:Function")
    }
    assert counts["loan-quote"] == 1
    assert {name: n for name, n in counts.items() if name != "loan-quote"} == dict.fromkeys(
        (name for name in counts if name != "loan-quote"), 0
    )


def test_warm_instances_for_a_function_not_deployed_or_beyond_its_maximum_are_refused(
    simulate_stack, entities_with
):
    with pytest.raises(PreflightRefused) as refused:
        simulate_stack(
            "msme-banking",
            entities_dir=entities_with(
                "msme-banking", min_instances={"loan_quote": 21, "lender_portfolio": 1}
            ),
        )
    assert refused.value.problems == [
        "msme-banking: min instances for functions licence 'bank_umum' does not deploy: "
        "['lender_portfolio']",
        "msme-banking: min_instances 21 for 'loan_quote' exceeds its max instances 20",
    ]
