"""Pulumi components: one class per logical thing an entity stack is made of.

- `EntityProject`: the entity's GCP project and what fences it in (APIs,
  location policy, budget and its alert topic, regional logs).
- `Platform`: the shared data and messaging (Firestore, buckets, topics,
  secrets, the build identity) and one `DeployedFunction` per planned function.
- `DeployedFunction` (a package, one module per concern): a Cloud Function, its
  identity and grants, and how it is invoked (public edge, push subscriptions or
  Scheduler job).
- `Observability`: alert policies, Data Access audit logs, Firestore backups and
  Essential Contacts.

The organisation's bootstrap stack has its own component, `infra.organization.Organization`.

Every child resource has `parent=self`; names come from the entity prefix.
"""

from infra.components.entity_project import PLATFORM_APIS, EntityProject
from infra.components.function import DeployedFunction
from infra.components.observability import Observability
from infra.components.platform import Platform

__all__ = ["PLATFORM_APIS", "DeployedFunction", "EntityProject", "Observability", "Platform"]
