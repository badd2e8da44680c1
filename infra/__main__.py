"""Entry point of `pulumi up -s <entity>` (Pulumi.yaml: `main: infra/`).

Pulumi runs this file as a script with `infra/` on the path, so the repository
root is put first on `sys.path` to import `infra` and `shared` as packages.
Everything else happens in `infra.program.run`.
"""

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from infra.archives import SourceTree  # noqa: E402 — needs the path set above
from infra.program import run  # noqa: E402

run(
    SourceTree.of_repository(REPOSITORY),
    archive_dir=REPOSITORY / ".local" / "function-archives",
)
