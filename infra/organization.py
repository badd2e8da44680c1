"""The organisation's bootstrap stack: what every entity stack stands on, run once per organisation.

`pulumi up` in `infra/bootstrap/` (its own Pulumi project, `patungan-bootstrap`)
deploys the organisation manifest `infra/organization.json` as one
`Organization` component:

- in the admin project (created by hand first, infra/README.md "First deploy"):
  the APIs the deployer's calls are billed to (`DEPLOYER_HOME_APIS`), the Pulumi
  state bucket and the KMS key that encrypts stack secrets, both in asia-southeast2;
- the deployer service account, which entity stacks impersonate, and workload
  identity federation so CI (GitHub Actions, one repository) acts as it without a key;
- one folder per entity manifest, whose policies every entity project inherits:
  resource locations pinned to asia-southeast2, no default network, no automatic
  Editor grant to default service accounts, and domain-restricted sharing with one
  exception, a tag (`public-invoker=allowed`) that only client-facing functions'
  Cloud Run services carry, so they alone may grant `allUsers` the invoker role;
  and the folder's logging settings, so `_Default` and `_Required` log buckets of
  every project created inside are in asia-southeast2 too;
- the deployer's grants: on each folder, create projects and link their billing;
  on the billing account, link and budget; on the tag value, bind it; on the state
  bucket and the key, read and write state. Organisation-wide roles it has none.

Entity stacks read the outputs (`BOOTSTRAP_OUTPUTS`) through a StackReference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_gcp as gcp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.manifest import ENTITIES_DIR, known_entities, load_manifest
from infra.naming import resource_name
from shared.topology import REGION

ORGANIZATION_FILE = Path(__file__).resolve().parent / "organization.json"
PREFIX = "org"
LOCATIONS = f"in:{REGION}-locations"
DEPLOYER_ACCOUNT = "patungan-deployer"
PUBLIC_INVOKER_TAG = ("public-invoker", "allowed")  # key short name, value short name
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The admin project is the deployer's home project: calls that are not billed to the project
# they act on (creating projects, linking billing, budgets, Identity Platform's admin API,
# organisation policies, minting tokens by impersonation or federation) need these there.
DEPLOYER_HOME_APIS = (
    "serviceusage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudbilling.googleapis.com",
    "billingbudgets.googleapis.com",
    "orgpolicy.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "identitytoolkit.googleapis.com",
    "storage.googleapis.com",
    "cloudkms.googleapis.com",
)
# Boolean constraints every entity folder enforces.
ENFORCED_CONSTRAINTS = (
    # auto_create_network=False still enables Compute; never make its default network.
    "compute.skipDefaultNetworkCreation",
    # Compute's default service account would otherwise be made Editor of the project.
    "iam.automaticIamGrantsForDefaultServiceAccounts",
)
DEPLOYER_FOLDER_ROLES = (
    "roles/resourcemanager.projectCreator",
    "roles/billing.projectManager",
)
DEPLOYER_BILLING_ROLES = ("roles/billing.user", "roles/billing.costsManager")
BOOTSTRAP_OUTPUTS = (
    "admin_project",
    "deployer_email",
    "entity_folders",
    "public_invoker_tag_value",
    "state_bucket",
    "secrets_provider",
    "workload_identity_provider",
)


class OrganizationError(ValueError):
    """The organisation manifest is missing or invalid; the message says what."""


class OrganizationManifest(BaseModel):
    """The organisation Patungan's entities live in, and who runs their stacks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organization_id: str = Field(pattern=r"^[0-9]{6,20}$")
    customer_id: str = Field(
        pattern=r"^C[0-9a-z]{6,12}$",
        description="The Cloud Identity customer id domain-restricted sharing allows.",
    )
    billing_account: str = Field(pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
    admin_project_id: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    state_bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
    github_repository: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="owner/name: the only repository whose workflows may act as the deployer.",
    )
    operators: str = Field(
        pattern=r"^group:[^@\s]+@[^@\s]+$",
        description="The group whose members may impersonate the deployer.",
    )

    def placeholder_problems(self) -> list[str]:
        """Values still as committed (all zeros, `.invalid`): a real bootstrap needs them set."""
        problems = [
            f"{name} {value} is a placeholder"
            for name, value in (
                ("organization_id", self.organization_id),
                ("billing_account", self.billing_account),
                ("customer_id", self.customer_id),
            )
            if set(value) <= {"0", "-", "C"}
        ]
        if self.operators.endswith(".invalid"):
            problems.append(f"operators {self.operators} is a placeholder")
        return problems


def load_organization(path: Path = ORGANIZATION_FILE) -> OrganizationManifest:
    try:
        return OrganizationManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise OrganizationError(f"{path}: {exc}") from None


class Organization(pulumi.ComponentResource):
    """Folders, policies, the deployer and Pulumi's own state: see the module docstring."""

    def __init__(
        self,
        name: str,
        manifest: OrganizationManifest,
        entities: tuple[str, ...],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("patungan:infra:Organization", name, None, opts)
        self._name = name
        self.manifest = manifest
        org = f"organizations/{manifest.organization_id}"
        self.apis = [
            gcp.projects.Service(
                resource_name(name, "api", api.removesuffix(".googleapis.com")),
                project=manifest.admin_project_id,
                service=api,
                disable_on_destroy=False,
                opts=self._child(),
            )
            for api in DEPLOYER_HOME_APIS
        ]
        self.state_bucket = gcp.storage.Bucket(
            resource_name(name, "bucket", "pulumi-state"),
            project=manifest.admin_project_id,
            name=manifest.state_bucket,
            location=REGION.upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),  # state history
            force_destroy=False,
            opts=self._child(protect=True, depends_on=self.apis),
        )
        keyring = gcp.kms.KeyRing(
            resource_name(name, "keyring", "pulumi"),
            project=manifest.admin_project_id,
            name="pulumi",
            location=REGION,
            opts=self._child(protect=True, depends_on=self.apis),
        )
        self.secrets_key = gcp.kms.CryptoKey(
            resource_name(name, "key", "pulumi-secrets"),
            name="stack-secrets",
            key_ring=keyring.id,
            rotation_period=f"{90 * 86_400}s",
            opts=self._child(protect=True),
        )
        self.deployer = gcp.serviceaccount.Account(
            resource_name(name, "account", "deployer"),
            project=manifest.admin_project_id,
            account_id=DEPLOYER_ACCOUNT,
            display_name="Deploys the Patungan entity stacks (impersonated, never keyed)",
            opts=self._child(depends_on=self.apis),
        )
        self.tag_value = self._public_invoker_tag(org)
        self.folders = {entity: self._entity_folder(org, entity) for entity in entities}
        self.workload_identity_provider = self._github_federation()
        self._deployer_grants()
        self.outputs: dict[str, pulumi.Input[Any]] = {
            "admin_project": manifest.admin_project_id,
            "deployer_email": self.deployer.email,
            "entity_folders": {entity: folder.folder_id for entity, folder in self.folders.items()},
            "public_invoker_tag_value": self.tag_value.name,
            "state_bucket": self.state_bucket.url,
            "secrets_provider": self.secrets_key.id.apply(lambda key: f"gcpkms://{key}"),
            "workload_identity_provider": self.workload_identity_provider.name,
        }
        self.register_outputs(self.outputs)

    def _child(self, **options: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **options)  # type: ignore[arg-type]

    def _public_invoker_tag(self, org: str) -> gcp.tags.TagValue:
        key_name, value_name = PUBLIC_INVOKER_TAG
        key = gcp.tags.TagKey(
            resource_name(self._name, "tag-key", key_name),
            parent=org,
            short_name=key_name,
            description="Only Cloud Run services of client-facing functions carry it: they "
            "alone may let allUsers invoke (they authenticate every request in code).",
            opts=self._child(),
        )
        return gcp.tags.TagValue(
            resource_name(self._name, "tag-value", key_name, value_name),
            parent=key.name,
            short_name=value_name,
            opts=self._child(),
        )

    def _entity_folder(self, org: str, entity: str) -> gcp.organizations.Folder:
        folder = gcp.organizations.Folder(
            resource_name(self._name, "folder", entity),
            display_name=entity,
            parent=org,
            deletion_protection=True,
            opts=self._child(protect=True),
        )
        parent = folder.folder_id.apply(lambda number: f"folders/{number}")
        policy = self._folder_policies(entity, parent)
        gcp.logging.FolderSettings(
            resource_name(self._name, "folder-logging", entity),
            folder=folder.folder_id,
            storage_location=REGION,
            opts=self._child(),
        )
        for role in DEPLOYER_FOLDER_ROLES:
            gcp.folder.IAMMember(
                resource_name(self._name, "grant", entity, role.rsplit("/", 1)[-1]),
                folder=parent,
                role=role,
                member=self.deployer.member,
                opts=self._child(depends_on=policy),
            )
        return folder

    def _folder_policies(
        self, entity: str, parent: pulumi.Output[str]
    ) -> list[gcp.orgpolicy.Policy]:
        def policy(constraint: str, spec: gcp.orgpolicy.PolicySpecArgs) -> gcp.orgpolicy.Policy:
            return gcp.orgpolicy.Policy(
                resource_name(self._name, "policy", entity, constraint),
                name=parent.apply(lambda p: f"{p}/policies/{constraint}"),
                parent=parent,
                spec=spec,
                opts=self._child(),
            )

        key_name, value_name = PUBLIC_INVOKER_TAG
        rules = gcp.orgpolicy.PolicySpecRuleArgs
        return [
            policy(
                "gcp.resourceLocations",
                gcp.orgpolicy.PolicySpecArgs(
                    rules=[
                        rules(
                            values=gcp.orgpolicy.PolicySpecRuleValuesArgs(
                                allowed_values=[LOCATIONS]
                            )
                        )
                    ]
                ),
            ),
            *(
                policy(constraint, gcp.orgpolicy.PolicySpecArgs(rules=[rules(enforce="TRUE")]))
                for constraint in ENFORCED_CONSTRAINTS
            ),
            policy(
                "iam.allowedPolicyMemberDomains",
                gcp.orgpolicy.PolicySpecArgs(
                    rules=[
                        rules(
                            condition=gcp.orgpolicy.PolicySpecRuleConditionArgs(
                                title="Client-facing functions",
                                expression=(
                                    f"resource.matchTag('{self.manifest.organization_id}/"
                                    f"{key_name}', '{value_name}')"
                                ),
                            ),
                            allow_all="TRUE",
                        ),
                        rules(
                            values=gcp.orgpolicy.PolicySpecRuleValuesArgs(
                                allowed_values=[self.manifest.customer_id]
                            )
                        ),
                    ]
                ),
            ),
        ]

    def _github_federation(self) -> gcp.iam.WorkloadIdentityPoolProvider:
        manifest = self.manifest
        pool = gcp.iam.WorkloadIdentityPool(
            resource_name(self._name, "identity-pool", "github"),
            project=manifest.admin_project_id,
            workload_identity_pool_id="github",
            display_name="GitHub Actions",
            opts=self._child(depends_on=self.apis),
        )
        provider = gcp.iam.WorkloadIdentityPoolProvider(
            resource_name(self._name, "identity-provider", "github"),
            project=manifest.admin_project_id,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="github-actions",
            attribute_mapping={
                "google.subject": "assertion.sub",
                "attribute.repository": "assertion.repository",
            },
            # Tokens of this repository's workflows only: any other repository is refused.
            attribute_condition=f"assertion.repository == '{manifest.github_repository}'",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=GITHUB_ISSUER),
            opts=self._child(),
        )
        gcp.serviceaccount.IAMMember(
            resource_name(self._name, "grant", "deployer", "github"),
            service_account_id=self.deployer.name,
            role="roles/iam.workloadIdentityUser",
            member=pool.name.apply(
                lambda p: (
                    f"principalSet://iam.googleapis.com/{p}/attribute.repository/"
                    f"{manifest.github_repository}"
                )
            ),
            opts=self._child(),
        )
        return provider

    def _deployer_grants(self) -> None:
        manifest, member = self.manifest, self.deployer.member
        gcp.serviceaccount.IAMMember(
            resource_name(self._name, "grant", "deployer", "operators"),
            service_account_id=self.deployer.name,
            role="roles/iam.serviceAccountTokenCreator",
            member=manifest.operators,
            opts=self._child(),
        )
        for role in DEPLOYER_BILLING_ROLES:
            gcp.billing.AccountIamMember(
                resource_name(self._name, "grant", "billing", role.rsplit("/", 1)[-1]),
                billing_account_id=manifest.billing_account,
                role=role,
                member=member,
                opts=self._child(),
            )
        gcp.tags.TagValueIamMember(
            resource_name(self._name, "grant", "public-invoker-tag"),
            tag_value=self.tag_value.name,
            role="roles/resourcemanager.tagUser",
            member=member,
            opts=self._child(),
        )
        gcp.storage.BucketIAMMember(
            resource_name(self._name, "grant", "pulumi-state"),
            bucket=self.state_bucket.name,
            # Read, write and delete state objects; not the bucket's IAM (objectAdmin would).
            role="roles/storage.objectUser",
            member=member,
            opts=self._child(),
        )
        for who, principal in (("deployer", member), ("operators", manifest.operators)):
            gcp.kms.CryptoKeyIAMMember(
                resource_name(self._name, "grant", "pulumi-secrets", who),
                crypto_key_id=self.secrets_key.id,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                member=principal,
                opts=self._child(),
            )
        # Quota for what the deployer's own calls cost (its home project: the module docstring).
        gcp.projects.IAMMember(
            resource_name(self._name, "grant", "deployer", "quota"),
            project=manifest.admin_project_id,
            role="roles/serviceusage.serviceUsageConsumer",
            member=member,
            opts=self._child(),
        )


@dataclass(frozen=True)
class Bootstrap:
    """What `run_bootstrap` deployed, and the stack outputs entity stacks read."""

    manifest: OrganizationManifest
    organization: Organization
    exports: dict[str, pulumi.Input[Any]]
    problems: tuple[str, ...]


def run_bootstrap(
    manifest_path: Path = ORGANIZATION_FILE,
    entities_dir: Path = ENTITIES_DIR,
    *,
    preview_with_placeholders: bool = False,
) -> Bootstrap:
    """Deploy the organisation, or refuse while the manifest carries placeholders."""
    manifest = load_organization(manifest_path)
    problems = manifest.placeholder_problems()
    if problems and not preview_with_placeholders:
        raise OrganizationError(f"{manifest_path}: refusing to bootstrap: " + "; ".join(problems))
    entities = tuple(known_entities(entities_dir))
    for entity in entities:
        load_manifest(entity, entities_dir)  # a folder per valid entity only
    provider = gcp.Provider(
        resource_name(PREFIX, "provider"),
        region=REGION,
        billing_project=manifest.admin_project_id,
        user_project_override=True,
    )
    organization = Organization(
        PREFIX, manifest, entities, opts=pulumi.ResourceOptions(providers=[provider])
    )
    for key, value in organization.outputs.items():
        pulumi.export(key, value)
    return Bootstrap(manifest, organization, organization.outputs, tuple(problems))
