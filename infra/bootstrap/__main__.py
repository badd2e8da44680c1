"""Entry point of `pulumi up -s org` in infra/bootstrap (the organisation's bootstrap stack).

Pulumi runs this file with infra/bootstrap/ on the path; the repository root is put
first so `infra` and `shared` import as packages. Everything else is
`infra.organization.run_bootstrap`.
"""

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from infra.organization import run_bootstrap  # noqa: E402 — needs the path set above

run_bootstrap()
