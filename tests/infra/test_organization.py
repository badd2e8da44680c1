"""The organisation's bootstrap stack (infra/bootstrap): Pulumi's own state in Jakarta, one folder
per entity whose policies and logging settings its project inherits, and a deployer that
entity stacks impersonate with no organisation-wide role."""

from __future__ import annotations

import json

import pytest
import yaml

from infra.manifest import known_entities
from infra.offline import (
    BOOTSTRAP_DIR,
    REPOSITORY,
    Simulation,
    bootstrap_reference,
    read_stack_file,
)
from infra.organization import (
    BOOTSTRAP_OUTPUTS,
    DEPLOYER_HOME_APIS,
    OrganizationError,
    load_organization,
)
from infra.residency import violations
from shared.topology import REGION

DEPLOYER = "serviceAccount:patungan-deployer@patungan-admin.iam.gserviceaccount.com"
POLICY = "gcp:orgpolicy/policy:Policy"


def only(simulation: Simulation, type_: str):
    (resource,) = simulation.of_type(type_)
    return resource


def test_it_keeps_everything_it_creates_in_jakarta(organization: Simulation):
    assert violations(organization.resources) == []


def test_pulumi_state_and_its_secrets_key_live_in_jakarta_and_cannot_be_deleted(organization):
    bucket = only(organization, "gcp:storage/bucket:Bucket")
    assert bucket.get("location") == REGION.upper() and bucket.protect
    assert bucket.get("versioning.enabled") is True
    assert bucket.get("publicAccessPrevention") == "enforced"
    ring = only(organization, "gcp:kms/keyRing:KeyRing")
    key = only(organization, "gcp:kms/cryptoKey:CryptoKey")
    assert ring.get("location") == REGION and ring.protect and key.protect
    assert organization.exports["secrets_provider"] == (
        f"gcpkms://projects/patungan-admin/locations/{REGION}/keyRings/pulumi/cryptoKeys/"
        "stack-secrets"
    )


def test_the_deployers_home_project_has_every_api_its_own_calls_are_billed_to(organization):
    services = {
        r.get("service")
        for r in organization.of_type("gcp:projects/service:Service")
        if r.get("project") == "patungan-admin"
    }
    assert services == set(DEPLOYER_HOME_APIS)
    assert {
        "cloudresourcemanager.googleapis.com",
        "cloudbilling.googleapis.com",
        "billingbudgets.googleapis.com",
        "orgpolicy.googleapis.com",
        "iamcredentials.googleapis.com",
    } <= services


def test_each_entity_gets_a_folder_that_pins_locations_and_stops_default_grants(organization):
    folders = {
        r.get("displayName"): r for r in organization.of_type("gcp:organizations/folder:Folder")
    }
    assert set(folders) == set(known_entities())
    assert set(organization.exports["entity_folders"]) == set(known_entities())
    for entity, folder in folders.items():
        parent = f"folders/{folder.outputs['folderId']}"
        policies = {
            str(p.get("name")).rsplit("/", 1)[-1]: p.get("spec.rules")
            for p in organization.of_type(POLICY)
            if p.get("parent") == parent
        }
        assert policies["gcp.resourceLocations"] == [
            {"values": {"allowedValues": ["in:asia-southeast2-locations"]}}
        ]
        assert policies["compute.skipDefaultNetworkCreation"] == [{"enforce": "TRUE"}]
        assert policies["iam.automaticIamGrantsForDefaultServiceAccounts"] == [{"enforce": "TRUE"}]
        assert folder.protect, entity


def test_domain_restricted_sharing_admits_allusers_only_on_the_public_invoker_tag(organization):
    tag_key = only(organization, "gcp:tags/tagKey:TagKey")
    assert tag_key.get("shortName") == "public-invoker"
    assert only(organization, "gcp:tags/tagValue:TagValue").get("shortName") == "allowed"
    for policy in organization.of_type(POLICY):
        if str(policy.get("name")).endswith("/iam.allowedPolicyMemberDomains"):
            exception, everyone_else = policy.get("spec.rules")
            assert exception == {
                "allowAll": "TRUE",
                "condition": {
                    "title": "Client-facing functions",
                    "expression": "resource.matchTag('246813579024/public-invoker', 'allowed')",
                },
            }
            assert everyone_else == {"values": {"allowedValues": ["C01b2c3d4"]}}


def test_every_log_bucket_of_an_entity_project_is_created_in_jakarta(organization):
    settings = organization.of_type("gcp:logging/folderSettings:FolderSettings")
    folders = {
        f.outputs["folderId"] for f in organization.of_type("gcp:organizations/folder:Folder")
    }
    assert {s.get("folder") for s in settings} == folders
    assert {s.get("storageLocation") for s in settings} == {REGION}


def test_the_deployer_holds_no_organisation_wide_role(organization):
    granted = [
        (r.type, r.get("role")) for r in organization.resources if r.get("member") == DEPLOYER
    ]
    assert sorted(granted) == sorted(
        [
            ("gcp:billing/accountIamMember:AccountIamMember", "roles/billing.costsManager"),
            ("gcp:billing/accountIamMember:AccountIamMember", "roles/billing.user"),
            *(
                ("gcp:folder/iAMMember:IAMMember", role)
                for role in ("roles/billing.projectManager", "roles/resourcemanager.projectCreator")
                for _ in known_entities()
            ),
            (
                "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
                "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            ),
            ("gcp:projects/iAMMember:IAMMember", "roles/serviceusage.serviceUsageConsumer"),
            ("gcp:storage/bucketIAMMember:BucketIAMMember", "roles/storage.objectUser"),
            ("gcp:tags/tagValueIamMember:TagValueIamMember", "roles/resourcemanager.tagUser"),
        ]
    )
    assert organization.of_type("gcp:organizations/iAMMember:IAMMember") == []


def test_only_the_repositorys_workflows_and_the_operators_may_act_as_the_deployer(organization):
    provider = only(
        organization, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
    )
    assert provider.get("attributeCondition") == "assertion.repository == 'patungan/patungan'"
    assert provider.get("oidc.issuerUri") == "https://token.actions.githubusercontent.com"
    members = {
        r.get("role"): r.get("member")
        for r in organization.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    }
    assert members["roles/iam.workloadIdentityUser"].startswith(
        "principalSet://iam.googleapis.com/"
    )
    assert members["roles/iam.workloadIdentityUser"].endswith(
        "/workloadIdentityPools/github/attribute.repository/patungan/patungan"
    )
    assert members["roles/iam.serviceAccountTokenCreator"] == "group:patungan-ops@patungan.example"
    # Keys are never made: impersonation and federation only.
    assert organization.of_type("gcp:serviceaccount/key:Key") == []


def test_it_exports_what_entity_stacks_read(organization):
    assert set(organization.exports) == set(BOOTSTRAP_OUTPUTS)
    assert organization.exports["deployer_email"] == DEPLOYER.removeprefix("serviceAccount:")


def test_every_entity_stack_reads_this_bootstrap_stack():
    project = yaml.safe_load((BOOTSTRAP_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))
    stacks = sorted(p.name for p in BOOTSTRAP_DIR.glob("Pulumi.*.yaml"))
    assert stacks == ["Pulumi.org.yaml"]
    assert bootstrap_reference() == f"organization/{project['name']}/org"
    for entity in known_entities():
        config, _ = read_stack_file(REPOSITORY / f"Pulumi.{entity}.yaml")
        assert config["patungan:bootstrapStack"] == bootstrap_reference()


def test_the_committed_organisation_is_refused_until_its_real_ids_are_filled_in(tmp_path):
    from infra.offline import simulate_organization

    with pytest.raises(OrganizationError, match="organization_id 000000000000 is a placeholder"):
        simulate_organization()
    preview = simulate_organization(preview_with_placeholders=True)
    assert "operators group:patungan-ops@patungan.invalid is a placeholder" in preview.problems
    broken = json.loads((REPOSITORY / "infra" / "organization.json").read_text(encoding="utf-8"))
    broken["github_repository"] = "no slash"
    (tmp_path / "organization.json").write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(OrganizationError, match="github_repository"):
        load_organization(tmp_path / "organization.json")
