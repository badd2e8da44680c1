"""Data residency: where every resource type the program may create keeps its data.

Indonesian regulators require financial data to stay in Indonesia, so every
resource with a location must sit in asia-southeast2 (Jakarta). `RULES` maps
each resource type token to the rule that decides whether a registered
resource complies:

- `Located(field)`: the location input must be set and be asia-southeast2 (a
  missing location is a failure: provider defaults are not a residency plan);
- `StoredIn`: a topic's message storage policy allows asia-southeast2 only;
- `ReplicatedIn`: a secret is replicated (user-managed) to asia-southeast2
  only — automatic replication is a failure;
- `RoutedTo`: a log sink's destination is a log bucket in asia-southeast2;
- `Inside(field, types)`: the resource keeps its data inside another
  registered resource (an object in its bucket, a subscription on its topic);
- `Global(reason)`: identity, policy, billing and API state that holds no
  customer data and has no location to choose;
- `Component`: Patungan's own component types, which create nothing.

`violations(resources)` returns one sentence per problem, including every
resource whose type has no rule — a new resource type cannot slip through
without someone deciding where its data lives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.topology import REGION


class ResourceView(Protocol):
    """What residency needs from a registered resource."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...
    @property
    def outputs(self) -> Mapping[str, Any]: ...


def field(resource: ResourceView, path: str) -> Any:
    """The input at a dotted camelCase path (`messageStoragePolicy.allowedPersistenceRegions`)."""
    value: Any = resource.inputs
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _in_region(value: object) -> bool:
    return isinstance(value, str) and value.lower() == REGION


class Rule(Protocol):
    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]: ...
    def location(self, resource: ResourceView) -> str: ...


@dataclass(frozen=True)
class Located:
    path: str

    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]:
        value = field(resource, self.path)
        if value is None:
            return [f"has no location ({self.path} is not set)"]
        if not _in_region(value):
            return [f"is in {value!r} ({self.path}), outside {REGION}"]
        return []

    def location(self, resource: ResourceView) -> str:
        return str(field(resource, self.path) or "unset").lower()


@dataclass(frozen=True)
class StoredIn:
    path: str = "messageStoragePolicy.allowedPersistenceRegions"

    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]:
        regions = field(resource, self.path)
        if not regions:
            return [f"has no message storage policy ({self.path} is not set)"]
        outside = [r for r in regions if not _in_region(r)]
        return [f"may store messages in {outside}, outside {REGION}"] if outside else []

    def location(self, resource: ResourceView) -> str:
        return ",".join(field(resource, self.path) or ["unset"])


@dataclass(frozen=True)
class ReplicatedIn:
    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]:
        if field(resource, "replication.auto") is not None:
            return ["uses automatic replication (copies anywhere Google chooses)"]
        replicas = field(resource, "replication.userManaged.replicas") or []
        if not replicas:
            return ["has no user-managed replica location"]
        outside = [r.get("location") for r in replicas if not _in_region(r.get("location"))]
        return [f"is replicated to {outside}, outside {REGION}"] if outside else []

    def location(self, resource: ResourceView) -> str:
        replicas = field(resource, "replication.userManaged.replicas") or []
        return ",".join(str(r.get("location")) for r in replicas) or "automatic"


@dataclass(frozen=True)
class RoutedTo:
    path: str = "destination"

    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]:
        destination = field(resource, self.path)
        if not isinstance(destination, str) or f"/locations/{REGION}/" not in destination:
            return [f"routes logs to {destination!r}, not a log bucket in {REGION}"]
        return []

    def location(self, resource: ResourceView) -> str:
        destination = str(field(resource, self.path))
        return destination.split("/locations/")[-1].split("/")[0] if destination else "unset"


@dataclass(frozen=True)
class Inside:
    path: str
    container_types: tuple[str, ...]
    container_keys: tuple[str, ...] = ("id", "name")

    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]:
        reference = field(resource, self.path)
        container = index.find(reference, self.container_types, self.container_keys)
        if container is None:
            return [f"lives in {reference!r} ({self.path}), which this stack does not create"]
        return []

    def location(self, resource: ResourceView) -> str:
        return f"in {str(field(resource, self.path)).rsplit('/', 1)[-1]}"


@dataclass(frozen=True)
class Global:
    reason: str

    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]:
        return []

    def location(self, resource: ResourceView) -> str:
        return "global"


@dataclass(frozen=True)
class Component:
    def problems(self, resource: ResourceView, index: ResourceIndex) -> list[str]:
        return []

    def location(self, resource: ResourceView) -> str:
        return "-"


class ResourceIndex:
    """Registered resources by type, to resolve what a resource lives inside."""

    def __init__(self, resources: Iterable[ResourceView]) -> None:
        self._by_type: dict[str, list[ResourceView]] = {}
        for resource in resources:
            self._by_type.setdefault(resource.type, []).append(resource)

    def find(
        self, reference: object, types: Sequence[str], keys: Sequence[str]
    ) -> ResourceView | None:
        for type_ in types:
            for candidate in self._by_type.get(type_, []):
                values = [candidate.outputs.get(k) for k in keys] + [
                    candidate.inputs.get(k) for k in keys
                ]
                if reference is not None and reference in values:
                    return candidate
        return None


BUCKET = "gcp:storage/bucket:Bucket"
DATABASE = "gcp:firestore/database:Database"
TOPIC = "gcp:pubsub/topic:Topic"
SECRET = "gcp:secretmanager/secret:Secret"  # noqa: S105 — a type token
KEY_RING = "gcp:kms/keyRing:KeyRing"
_IDENTITY = Global("IAM bindings and identities are global and hold no customer data")
_MONITORING = Global("monitoring configuration; alerts carry metrics, never customer data")

RULES: dict[str, Rule] = {
    "patungan:infra:EntityProject": Component(),
    "patungan:infra:Platform": Component(),
    "patungan:infra:Function": Component(),
    "patungan:infra:Observability": Component(),
    "patungan:infra:Organization": Component(),
    "pulumi:pulumi:StackReference": Global("reads another stack's outputs"),
    "time:index/sleep:Sleep": Global("a wait for IAM to propagate holds nothing"),
    "pulumi:providers:gcp": Located("region"),
    "gcp:organizations/project:Project": Global("a project is a container; its policy pins it"),
    "gcp:projects/service:Service": Global("enabling an API stores no data"),
    "gcp:orgpolicy/policy:Policy": Global("an organisation policy is configuration"),
    "gcp:organizations/folder:Folder": Global("a folder is a container; its policies pin it"),
    # Where Cloud Logging creates the log buckets of the folder's projects (_Default, _Required).
    "gcp:logging/folderSettings:FolderSettings": Located("storageLocation"),
    "gcp:tags/tagKey:TagKey": Global("a tag is configuration"),
    "gcp:tags/tagValue:TagValue": Global("a tag is configuration"),
    "gcp:tags/locationTagBinding:LocationTagBinding": Located("location"),
    # Sign-in identities (e-mail, phone) are kept by Identity Platform, a global service:
    # infra/README.md, "Identity Platform", records the decision and what stays in Jakarta.
    "gcp:identityplatform/config:Config": Global("documented: sign-in identities only"),
    "gcp:monitoring/notificationChannel:NotificationChannel": _MONITORING,
    "gcp:monitoring/alertPolicy:AlertPolicy": _MONITORING,
    "gcp:logging/metric:Metric": Global("counts log lines; the logs stay in their bucket"),
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": Global("says which audit logs are written"),
    "gcp:essentialcontacts/contact:Contact": Global("who Google notifies; holds no platform data"),
    KEY_RING: Located("location"),
    "gcp:kms/cryptoKey:CryptoKey": Inside("keyRing", (KEY_RING,)),
    "gcp:billing/budget:Budget": Global("budgets live on the billing account"),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": Located("location"),
    "gcp:logging/projectSink:ProjectSink": RoutedTo(),
    DATABASE: Located("locationId"),
    # Index and TTL configuration of the database: they hold nothing outside it.
    "gcp:firestore/field:Field": Inside("database", (DATABASE,), ("name",)),
    "gcp:firestore/index:Index": Inside("database", (DATABASE,), ("name",)),
    # Backups are stored in the database's own location.
    "gcp:firestore/backupSchedule:BackupSchedule": Inside("database", (DATABASE,), ("name",)),
    BUCKET: Located("location"),
    "gcp:storage/bucketObject:BucketObject": Inside("bucket", (BUCKET,), ("name",)),
    "gcp:artifactregistry/repository:Repository": Located("location"),
    TOPIC: StoredIn(),
    "gcp:pubsub/subscription:Subscription": Inside("topic", (TOPIC,)),
    SECRET: ReplicatedIn(),
    "gcp:secretmanager/secretVersion:SecretVersion": Inside("secret", (SECRET,)),
    "gcp:cloudfunctionsv2/function:Function": Located("location"),
    "gcp:cloudscheduler/job:Job": Located("region"),
    "gcp:serviceaccount/account:Account": _IDENTITY,
    "gcp:projects/iAMMember:IAMMember": _IDENTITY,
    "gcp:pubsub/topicIAMMember:TopicIAMMember": _IDENTITY,
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": _IDENTITY,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _IDENTITY,
    "gcp:secretmanager/secretIamMember:SecretIamMember": _IDENTITY,
    "gcp:serviceaccount/iAMMember:IAMMember": _IDENTITY,
    "gcp:projects/serviceIdentity:ServiceIdentity": _IDENTITY,
    # Never created (the least-privilege policy refuses it), but where it lives is decided.
    "gcp:serviceaccount/key:Key": _IDENTITY,
    "gcp:folder/iAMMember:IAMMember": _IDENTITY,
    "gcp:billing/accountIamMember:AccountIamMember": _IDENTITY,
    "gcp:tags/tagValueIamMember:TagValueIamMember": _IDENTITY,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _IDENTITY,
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": _IDENTITY,
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": _IDENTITY,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": Located("location"),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": Located("location"),
}


def violations(resources: Sequence[ResourceView]) -> list[str]:
    """Every residency problem among `resources`, one sentence each; empty means compliant."""
    index = ResourceIndex(resources)
    found: list[str] = []
    for resource in resources:
        rule = RULES.get(resource.type)
        if rule is None:
            found.append(
                f"{resource.type} {resource.name!r} has no residency rule: decide where its "
                "data lives and add it to infra/residency.py"
            )
            continue
        found.extend(
            f"{resource.type} {resource.name!r} {p}" for p in rule.problems(resource, index)
        )
    return found


def location_of(resource: ResourceView) -> str:
    """The location column of the offline plan."""
    rule = RULES.get(resource.type)
    return rule.location(resource) if rule else "NO RULE"
