"""The Pulumi program that deploys Patungan: one stack, one GCP project per business entity.

`Pulumi.yaml` at the repository root points `main` here; `__main__.py` is what
`pulumi up -s <entity>` runs. What each entity deploys and how it is wired is the
platform plan (`shared/deployment.py`), which the local runner shares. Modules:

- `manifest`: the typed entity manifest (`entities/<entity>.json`) — who the
  entity is, where its project lives, who pays and how much it may spend.
- `preflight`: refuses to deploy when the stack, the manifest and the target
  project disagree, or when something a deploy needs is missing.
- `archives`: deterministic, content-hash-named function source archives.
- `naming`: Pulumi resource names and GCP ids derived from the topology.
- `components`: `EntityProject`, `Platform`, `DeployedFunction` and `Observability`.
- `program`: reads the stack configuration in one place and composes the components.
- `organization`: the organisation's bootstrap stack (`bootstrap/`), which entity
  stacks read through a StackReference.
- `residency`: the location rule for every resource type the programs may create.
- `policies`: the CrossGuard policy pack's rules (`policy/`).
- `offline`: runs the programs under `pulumi.runtime.set_mocks` (tests, `nox -s plan`).

See `infra/README.md` for how ops run it.
"""
