"""Names: Pulumi resource names and GCP ids, derived from the topology, never invented.

Pulumi resource names (the URN's last part) are `<prefix>-<kind>-<slug>` where
the prefix is the entity id: readable in a preview and stable across runs
(never built from time or randomness). GCP ids follow each service's rules and
are derived by the platform plan (`shared/deployment.py`), which the local
runner shares:

- Pub/Sub topic and subscription ids keep the topology's names (dots are valid).
- Function names use hyphens (`loan_applications` → `loan-applications`) so
  that the function and its underlying Cloud Run service share one name; the
  entry point stays the Python name (`service_name`).
- Service account ids have the strictest rules (6-30 characters, lowercase
  letters, digits and hyphens, starting with a letter): `account_id` shortens
  long names with a hash suffix so they stay unique and valid.

`naming_problems` lists collisions a topology would cause after derivation;
the preflight refuses a stack with any.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.deployment import (
    PUSH_ACCOUNT,
    RUNTIME_ACCOUNT,
    SCHEDULER_ACCOUNT,
    account_id,
    service_name,
    slug,
)
from shared.topology import Function, Topic

BUILD_ACCOUNT_ID = "function-builder"  # builds every function's container


def resource_name(prefix: str, kind: str, *parts: str) -> str:
    """The Pulumi resource name of a `kind` of thing, e.g. `p2p-lending-topic-loan-submitted`."""
    return "-".join([prefix, kind, *(slug(part) for part in parts if part)])


def naming_problems(functions: Iterable[Function], topics: Iterable[Topic]) -> list[str]:
    """Derived names that would collide or be invalid, as sentences (empty when sound)."""
    problems: list[str] = []
    # Each kind of id lives in its own namespace; only same-kind ids can collide.
    seen: dict[tuple[str, str], str] = {}
    for fn in functions:
        try:
            derived = [
                ("function", service_name(fn)),
                ("account", account_id(RUNTIME_ACCOUNT, fn.name)),
            ]
            if fn.kind == "event":
                derived.append(("account", account_id(PUSH_ACCOUNT, fn.name)))
            if fn.schedule:
                derived.append(("account", account_id(SCHEDULER_ACCOUNT, fn.name)))
        except ValueError as exc:
            problems.append(str(exc))
            continue
        derived.append(("resource", slug(fn.name)))
        for key in derived:
            if key in seen and seen[key] != fn.name:
                problems.append(f"functions {seen[key]!r} and {fn.name!r} both derive {key[1]!r}")
            seen[key] = fn.name
    topic_slugs: dict[str, str] = {}
    for t in topics:
        s = slug(t.name)
        if s in topic_slugs:
            problems.append(f"topics {topic_slugs[s]!r} and {t.name!r} both derive {s!r}")
        topic_slugs[s] = t.name
    return problems
