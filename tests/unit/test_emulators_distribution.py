"""`emulators/` is a product of its own: the `patungan-emulators` distribution.

Other teams `pip install` it without the lending system, so nothing under
`emulators/` may import the lending code, the wheel must hold the emulators and
sandboxes (with their data files) and nothing else, and what it declares it
needs must be what this repository pins.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import emulators

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "emulators"
LENDING_PACKAGES = {"shared", "functions", "infra", "scripts", "tests"}


def imported_top_levels(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_under_emulators_imports_the_lending_code():
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_levels(path) & LENDING_PACKAGES)
        for path in sorted(PACKAGE.rglob("*.py"))
    }

    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_import_scan_sees_an_import_of_shared(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom shared.domain import scoring\nimport shared.ports as p\n")

    assert imported_top_levels(module) == {"os", "shared"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip_wheel, "--no-deps", "--no-build-isolation", "-w", str(out), str(PACKAGE)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("patungan_emulators-*.whl")
    return built


def test_the_wheel_holds_the_emulators_and_sandboxes_and_no_lending_code(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = HeaderParser().parsestr(
            archive.read(f"patungan_emulators-{emulators.__version__}.dist-info/METADATA").decode()
        )

    top_levels = {name.split("/")[0] for name in names}
    assert top_levels == {"emulators", f"patungan_emulators-{emulators.__version__}.dist-info"}
    for expected in (
        "emulators/firestore/engine.py",
        "emulators/pubsub/broker.py",
        "emulators/storage/__main__.py",
        "emulators/sandboxes/providers/server.py",
        "emulators/sandboxes/providers/personas.json",
        "emulators/sandboxes/payment_gateway/server.py",
        "emulators/sandboxes/payment_gateway/README.md",
        "emulators/README.md",
    ):
        assert expected in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".toml")]
    assert (metadata["Name"], metadata["Version"]) == ("patungan-emulators", emulators.__version__)
    assert "Local, wire-compatible Firestore" in metadata["Summary"]


def test_the_unpacked_wheel_runs_without_the_repository(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    # Import every module from the unpacked wheel alone (-P: no script directory,
    # cwd elsewhere, no PYTHONPATH) and load the sandbox's own persona data.
    probe = """
import importlib, pkgutil, sys
import emulators
assert emulators.__file__.startswith(sys.argv[1]), emulators.__file__
for module in pkgutil.walk_packages(emulators.__path__, "emulators."):
    importlib.import_module(module.name)
from emulators.sandboxes.providers.records import SandboxRecords
records = SandboxRecords.load()
leaked = sorted(name for name in sys.modules if name.split(".")[0] in {"shared", "functions"})
print(len(records.personas), leaked)
"""
    result = subprocess.run(
        [sys.executable, "-P", "-c", probe, str(tmp_path)],
        cwd=tmp_path.parent,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3 []"


def test_what_the_distribution_requires_is_what_the_repository_pins():
    declared = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.split(";")[0].strip().partition("==")
            pins[name.lower()] = version

    unsatisfied = [
        str(requirement)
        for requirement in map(Requirement, declared)
        if not requirement.specifier.contains(pins.get(requirement.name.lower(), "0"))
    ]

    assert unsatisfied == []
