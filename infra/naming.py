"""Names: Pulumi resource names and GCP ids, derived from the topology, never invented.

Pulumi resource names (the URN's last part) are `<prefix>-<kind>-<slug>` where
the prefix is the entity id: readable in a preview and stable across runs
(never built from time or randomness). GCP ids follow each service's rules:

- Pub/Sub topic and subscription ids keep the topology's names (dots are valid).
- Function names use hyphens (`loan_applications` → `loan-applications`) so
  that the function and its underlying Cloud Run service share one name; the
  entry point stays the Python name.
- Service account ids have the strictest rules (6-30 characters, lowercase
  letters, digits and hyphens, starting with a letter): `account_id` shortens
  long names with a hash suffix so they stay unique and valid.

`naming_problems` lists collisions a topology would cause after derivation;
the preflight refuses a stack with any.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from shared.topology import Function, Topic

ACCOUNT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# Cloud Run service names: up to 49 characters (functions share their service's name).
FUNCTION_ID_PATTERN = re.compile(r"^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$")

# Prefixes of the service accounts this program creates.
RUNTIME_ACCOUNT = "fn"  # the identity a function runs as
PUSH_ACCOUNT = "push"  # the OIDC identity of an event function's push subscription
SCHEDULER_ACCOUNT = "cron"  # the OIDC identity of a scheduled function's Scheduler job
BUILD_ACCOUNT_ID = "function-builder"  # builds every function's container


def slug(value: str) -> str:
    """Lowercase letters, digits, single hyphens: `loan.offer_accepted` → `loan-offer-accepted`."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def resource_name(prefix: str, kind: str, *parts: str) -> str:
    """The Pulumi resource name of a `kind` of thing, e.g. `p2p-lending-topic-loan-submitted`."""
    return "-".join([prefix, kind, *(slug(part) for part in parts if part)])


def function_id(fn: Function) -> str:
    """The GCP name of the function and of its Cloud Run service."""
    name = fn.name.replace("_", "-").lower()
    if not FUNCTION_ID_PATTERN.match(name):
        raise ValueError(f"function {fn.name!r} cannot be a Cloud Run service name ({name!r})")
    return name


def account_id(prefix: str, name: str) -> str:
    """A valid, stable service account id for `name` under `prefix` (e.g. `fn-scoring`).

    Names that would be too long keep their readable start and end in six hex
    characters of their hash, so two long names that share a start stay apart.
    """
    base = f"{prefix}-{slug(name)}".strip("-")
    if len(base) < 6:
        base = f"{base}-sa"
    if len(base) > 30:
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        base = f"{base[:23].rstrip('-')}-{digest}"
    if not ACCOUNT_ID_PATTERN.match(base):
        raise ValueError(f"cannot derive a service account id from {prefix!r} and {name!r}")
    return base


def naming_problems(functions: Iterable[Function], topics: Iterable[Topic]) -> list[str]:
    """Derived names that would collide or be invalid, as sentences (empty when sound)."""
    problems: list[str] = []
    # Each kind of id lives in its own namespace; only same-kind ids can collide.
    seen: dict[tuple[str, str], str] = {}
    for fn in functions:
        try:
            derived = [
                ("function", function_id(fn)),
                ("account", account_id(RUNTIME_ACCOUNT, fn.name)),
            ]
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if fn.kind == "event":
            derived.append(("account", account_id(PUSH_ACCOUNT, fn.name)))
        if fn.schedule:
            derived.append(("account", account_id(SCHEDULER_ACCOUNT, fn.name)))
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
