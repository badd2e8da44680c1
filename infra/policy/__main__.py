"""Entry point of the `patungan` policy pack (`pulumi preview --policy-pack infra/policy`).

The rules are `infra.policies`; the repository root is put first on the path so
they, and the residency rules they reuse, import from the checkout.
"""

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402 — needs the path set above

from infra.policies import policies  # noqa: E402

PolicyPack(
    name="patungan",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
)
