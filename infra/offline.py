"""Run the Pulumi programs offline, under `pulumi.runtime.set_mocks`, and record what they register.

No CLI, no provider plugin, no credentials: `simulate(stack)` reads
`Pulumi.<stack>.yaml` the way the CLI would hand it to the program, resets the
Pulumi runtime (so several stacks can be simulated one after another in one
process), runs `infra.program.run` against a mock engine, and returns every
registered resource with its inputs, the outputs the mocks computed, its
parent, provider, protection and dependencies, and the stack's exports.
`simulate_organization()` does the same for the bootstrap stack
(`infra.organization.run_bootstrap`); its exports are what an entity stack's
StackReference reads (`simulate(..., stack_outputs=...)`), so the two programs
are checked together, as they run for real.

The mocks compute the outputs a real provider would (project numbers, service
account emails, topic ids, function URLs, ...) deterministically from the
inputs, so the program's wiring can be checked end to end. Values that cannot
exist offline are replaced, and `Simulation.problems` says so: encrypted stack
secrets become placeholders, the billing account's currency is the one given
(`billing_currency`, IDR by default), and with `preview_with_placeholders=True` a
missing function folder becomes a placeholder archive.

Used by the infra tests and by `scripts/infra_plan.py` (`nox -s plan`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.sync_await import _ensure_event_loop

from infra.archives import SourceTree
from infra.manifest import ENTITIES_DIR
from infra.organization import ORGANIZATION_FILE, run_bootstrap
from infra.program import PLACEHOLDER_SECRET, run
from infra.residency import field as input_at
from shared.topology import FUNCTIONS, SECRETS, TOPICS, Function, Secret, Topic

REPOSITORY = Path(__file__).resolve().parent.parent
PROJECT_NAME = "patungan"  # Pulumi.yaml `name`
BOOTSTRAP_PROJECT = "patungan-bootstrap"  # infra/bootstrap/Pulumi.yaml `name`
BOOTSTRAP_DIR = REPOSITORY / "infra" / "bootstrap"
STACK = "pulumi:pulumi:Stack"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
MASKED = "[secret]"
OFFLINE_BILLING_CURRENCY = "IDR"
GET_BILLING_ACCOUNT = "gcp:organizations/getBillingAccount:getBillingAccount"


class Deployed(Protocol):
    """What a program run returns: its stack exports and the problems a preview accepted."""

    @property
    def exports(self) -> Mapping[str, Any]: ...
    @property
    def problems(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class RegisteredResource:
    """One resource as the engine would have received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str  # the parent's URN ("" for the stack's direct children)
    provider: str  # provider reference "<urn>::<id>" ("" for components and providers)
    protect: bool
    dependencies: tuple[str, ...]  # URNs this resource waits for
    inputs: Mapping[str, Any]  # camelCase, as the provider sees them; secrets masked
    outputs: Mapping[str, Any]

    def get(self, path: str) -> Any:
        """An input at a dotted camelCase path, or None."""
        return input_at(self, path)


@dataclass(frozen=True)
class Simulation:
    """A stack's program run offline."""

    stack: str
    resources: tuple[RegisteredResource, ...]
    problems: tuple[str, ...]  # preflight problems accepted to preview, and offline substitutes
    deployment: Any  # what the program returned: `Deployment`, or `Bootstrap`
    exports: Mapping[str, Any] = field(default_factory=dict)  # the stack outputs, resolved

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_]


def read_stack_file(path: Path) -> tuple[dict[str, Any], set[str]]:
    """A stack file's config (values as the engine passes them) and its encrypted keys."""
    if not path.is_file():
        raise FileNotFoundError(f"no stack file {path}")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config: dict[str, Any] = {}
    encrypted: set[str] = set()
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, Mapping) and "secure" in value:
            encrypted.add(key)
        config[key] = value
    return config, encrypted


def simulate(
    stack: str,
    *,
    archive_dir: Path,
    tree: SourceTree | None = None,
    stack_file: Path | None = None,
    config_overrides: Mapping[str, Any] | None = None,  # a None value unsets the key
    functions: Sequence[Function] = FUNCTIONS,
    topics: Sequence[Topic] = TOPICS,
    secrets: Sequence[Secret] = SECRETS,
    entities_dir: Path = ENTITIES_DIR,
    preview_with_placeholders: bool = False,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    billing_currency: str = OFFLINE_BILLING_CURRENCY,
) -> Simulation:
    """Run the entity program for `stack` under mocks and return what it registered.

    `stack_outputs` answers StackReferences by name (the bootstrap stack's exports:
    `simulate_organization().exports`). Raises what the program raises
    (`PreflightRefused` first of all).
    """
    config, encrypted = read_stack_file(stack_file or REPOSITORY / f"Pulumi.{stack}.yaml")
    return _simulate(
        stack,
        PROJECT_NAME,
        config,
        encrypted,
        config_overrides,
        lambda: run(
            tree or SourceTree.of_repository(REPOSITORY),
            archive_dir,
            functions=functions,
            topics=topics,
            secrets=secrets,
            entities_dir=entities_dir,
            preview_with_placeholders=preview_with_placeholders,
        ),
        PlatformMocks(stack_outputs or {}, billing_currency),
    )


def simulate_organization(
    *,
    stack: str = "org",
    manifest_path: Path = ORGANIZATION_FILE,
    entities_dir: Path = ENTITIES_DIR,
    preview_with_placeholders: bool = False,
    config_overrides: Mapping[str, Any] | None = None,
) -> Simulation:
    """Run the bootstrap program (infra/bootstrap) for `stack` under mocks."""
    config, encrypted = read_stack_file(BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml")
    return _simulate(
        stack,
        BOOTSTRAP_PROJECT,
        config,
        encrypted,
        config_overrides,
        lambda: run_bootstrap(
            manifest_path, entities_dir, preview_with_placeholders=preview_with_placeholders
        ),
        PlatformMocks({}, OFFLINE_BILLING_CURRENCY),
    )


def bootstrap_reference(stack: str = "org") -> str:
    """The name entity stacks give their StackReference to the bootstrap stack (self-managed)."""
    return f"organization/{BOOTSTRAP_PROJECT}/{stack}"


def _simulate(
    stack: str,
    project: str,
    config: dict[str, Any],
    encrypted: set[str],
    config_overrides: Mapping[str, Any] | None,
    program: Callable[[], Deployed],
    mocks: PlatformMocks,
) -> Simulation:
    substitutes: list[str] = []
    for key in sorted(encrypted):
        # Offline there is no key to decrypt with: the value is a placeholder.
        config[key] = PLACEHOLDER_SECRET
        substitutes.append(f"offline: {key} is encrypted; a placeholder stands in")
    for key, value in (config_overrides or {}).items():
        if value is None:
            config.pop(key, None)  # as if never set
        else:
            config[key] = value
    monitor = start_mock_engine(stack, config, encrypted, mocks=mocks, project=project)
    deployments: list[Deployed] = []
    exports: dict[str, Any] = {}

    def deploy() -> pulumi.Output[Any]:
        deployed = program()
        deployments.append(deployed)
        # Returned, so the test runner waits for every export to resolve.
        return pulumi.Output.all(**deployed.exports).apply(exports.update)

    pulumi.runtime.test(deploy)()  # type: ignore[no-untyped-call]  # untyped in the SDK
    deployment = deployments[0]
    substitutes += mocks.substitutes
    return Simulation(
        stack=stack,
        resources=tuple(sorted(monitor.recorded, key=lambda r: r.urn)),
        problems=(*deployment.problems, *substitutes),
        deployment=deployment,
        exports=_plain(exports),
    )


def start_mock_engine(
    stack: str,
    config: Mapping[str, Any],
    secret_keys: Iterable[str] = (),
    *,
    mocks: PlatformMocks | None = None,
    project: str = PROJECT_NAME,
) -> RecordingMonitor:
    """Point the Pulumi runtime at a fresh mock engine for `stack` with `config`.

    The runtime keeps its root stack, monitor and configuration globally; all
    three are replaced, so runs never see each other's resources or settings.
    """
    engine_config = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }
    mocks = mocks or PlatformMocks({}, OFFLINE_BILLING_CURRENCY)
    monitor = RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(engine_config, sorted(secret_keys))
    return monitor


class RecordingMonitor(MockMonitor):
    """The mock engine, also keeping what each registration asked for."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RegisteredResource] = []

    def RegisterResource(self, request: Any) -> Any:  # the engine's gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == STACK:
            return response
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        inputs = _plain(rpc.deserialize_properties(request.object))
        registration = self.resources.get(response.urn)
        self.recorded.append(
            RegisteredResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                provider=request.provider,
                protect=bool(request.protect),
                dependencies=tuple(request.dependencies),
                inputs=inputs,
                outputs={**_plain(registration.state), "id": registration.id}
                if registration
                else {},
            )
        )
        return response


class PlatformMocks(Mocks):
    """Outputs a real GCP provider would compute, derived deterministically from inputs.

    The one thing the programs read from the cloud, the billing account's currency, is
    answered with `billing_currency`; StackReferences with `stack_outputs`.
    """

    def __init__(
        self, stack_outputs: Mapping[str, Mapping[str, Any]], billing_currency: str
    ) -> None:
        self.stack_outputs = stack_outputs
        self.billing_currency = billing_currency
        self.substitutes: list[str] = []
        self._versions: dict[str, int] = {}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == GET_BILLING_ACCOUNT:
            account = args.args.get("billingAccount")
            self.substitutes.append(
                f"offline: billing account {account} is taken to bill in {self.billing_currency}"
            )
            return {
                "id": account,
                "name": f"billingAccounts/{account}",
                "currencyCode": self.billing_currency,
                "open": True,
            }, []
        # Nothing else is read from the cloud; any other invoke is a bug to surface.
        raise RuntimeError(f"unexpected provider call {args.token} in an offline run")

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        outputs = dict(inputs)
        project = _unwrap(inputs.get("project") or inputs.get("projectId") or "")
        identifier = f"{args.name}-id"
        kind = args.typ
        if kind == STACK_REFERENCE:
            name = str(inputs.get("name") or args.resource_id or args.name)
            if name not in self.stack_outputs:
                raise RuntimeError(f"no offline outputs for stack reference {name!r}")
            return name, {
                "name": name,
                "outputs": dict(self.stack_outputs[name]),
                "secretOutputNames": [],
            }
        if kind == "gcp:organizations/project:Project":
            outputs["number"] = project_number(str(inputs["projectId"]))
            identifier = f"projects/{inputs['projectId']}"
        elif kind == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            identifier = f"projects/{project}/serviceAccounts/{email}"
            outputs |= {"email": email, "member": f"serviceAccount:{email}", "name": identifier}
        elif kind == "gcp:pubsub/topic:Topic":
            identifier = f"projects/{project}/topics/{inputs['name']}"
        elif kind == "gcp:pubsub/subscription:Subscription":
            identifier = f"projects/{project}/subscriptions/{inputs['name']}"
        elif kind == "gcp:secretmanager/secret:Secret":
            identifier = f"projects/{project}/secrets/{inputs['secretId']}"
            outputs["name"] = identifier
        elif kind == "gcp:secretmanager/secretVersion:SecretVersion":
            # Secret Manager numbers each secret's versions from 1, in creation order.
            secret = str(_unwrap(inputs["secret"]))
            self._versions[secret] = self._versions.get(secret, 0) + 1
            outputs["version"] = str(self._versions[secret])
            identifier = f"{secret}/versions/{outputs['version']}"
        elif kind == "gcp:storage/bucket:Bucket":
            identifier = str(inputs["name"])
            outputs["url"] = f"gs://{inputs['name']}"
        elif kind == "gcp:artifactregistry/repository:Repository":
            identifier = (
                f"projects/{project}/locations/{inputs['location']}"
                f"/repositories/{inputs['repositoryId']}"
            )
            outputs["name"] = inputs["repositoryId"]
        elif kind == "gcp:cloudfunctionsv2/function:Function":
            identifier = (
                f"projects/{project}/locations/{inputs['location']}/functions/{inputs['name']}"
            )
            digest = hashlib.sha256(f"{project}/{inputs['name']}".encode()).hexdigest()[:10]
            outputs["serviceConfig"] = {
                **inputs.get("serviceConfig", {}),
                "uri": f"https://{inputs['name']}-{digest}-et.a.run.app",
                "service": f"projects/{project}/locations/{inputs['location']}"
                f"/services/{inputs['name']}",
            }
            outputs["url"] = (
                f"https://{inputs['location']}-{project}.cloudfunctions.net/{inputs['name']}"
            )
        elif kind == "gcp:firestore/database:Database":
            identifier = f"projects/{project}/databases/{inputs['name']}"
        elif kind == "gcp:logging/projectBucketConfig:ProjectBucketConfig":
            identifier = (
                f"projects/{project}/locations/{inputs['location']}/buckets/{inputs['bucketId']}"
            )
            outputs["name"] = identifier
        elif kind == "gcp:billing/budget:Budget":
            identifier = f"billingAccounts/{inputs['billingAccount']}/budgets/{args.name}"
            outputs["name"] = identifier
        elif kind == "gcp:projects/serviceIdentity:ServiceIdentity":
            number = project_number(str(project))
            service = str(inputs["service"]).split(".")[0]
            email = f"service-{number}@gcp-sa-{service}.iam.gserviceaccount.com"
            outputs |= {"email": email, "member": f"serviceAccount:{email}"}
        elif kind == "gcp:organizations/folder:Folder":
            number = project_number(f"folder/{inputs['displayName']}")
            identifier = f"folders/{number}"
            outputs |= {"folderId": number, "name": identifier}
        elif kind in ("gcp:tags/tagKey:TagKey", "gcp:tags/tagValue:TagValue"):
            collection = "tagKeys" if kind.endswith("TagKey") else "tagValues"
            identifier = f"{collection}/{project_number(args.name)}"
            outputs["name"] = identifier
        elif kind == "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
            identifier = (
                f"projects/{project_number(str(project))}/locations/global/"
                f"workloadIdentityPools/{inputs['workloadIdentityPoolId']}"
            )
            outputs["name"] = identifier
        elif kind == "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
            identifier = (
                f"projects/{project_number(str(project))}/locations/global/workloadIdentityPools/"
                f"{inputs['workloadIdentityPoolId']}/providers/"
                f"{inputs['workloadIdentityPoolProviderId']}"
            )
            outputs["name"] = identifier
        elif kind == "gcp:kms/keyRing:KeyRing":
            identifier = (
                f"projects/{project}/locations/{inputs['location']}/keyRings/{inputs['name']}"
            )
        elif kind == "gcp:kms/cryptoKey:CryptoKey":
            identifier = f"{_unwrap(inputs['keyRing'])}/cryptoKeys/{inputs['name']}"
        elif kind == "gcp:monitoring/notificationChannel:NotificationChannel":
            identifier = f"projects/{project}/notificationChannels/{project_number(args.name)}"
            outputs["name"] = identifier
        elif kind == "gcp:logging/metric:Metric":
            identifier = f"projects/{project}/metrics/{inputs['name']}"
        return identifier, outputs


def project_number(project_id: str) -> str:
    """The mock's project number: twelve digits, stable per project id, distinct across ids."""
    return str(int(hashlib.sha256(project_id.encode()).hexdigest()[:12], 16) % 10**12).zfill(12)


def _unwrap(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def _plain(value: Any) -> Any:
    """JSON-friendly: secrets masked, assets as their path, everything else as is."""
    if rpc.is_rpc_secret(value):
        return MASKED
    if isinstance(value, pulumi.FileAsset):
        return {"asset": str(value.path)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
