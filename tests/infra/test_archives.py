"""Function source archives: the same code always makes the same archive under the same name,
and any change to the function, to shared/ or to a pin makes a new one.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from infra.archives import (
    ZIP_EPOCH,
    ArchiveConflict,
    MissingFunctionSource,
    SourceTree,
    build_archive,
    runtime_requirements,
)
from infra.offline import REPOSITORY, Simulation
from shared.topology import FUNCTIONS, function
from tests.infra.queries import functions_of

SCORING = function("scoring")


@pytest.fixture
def tree(tmp_path: Path) -> SourceTree:
    """A small tree of our own: one function, a two-module shared package, the real pins."""
    functions = tmp_path / "functions"
    (functions / "scoring").mkdir(parents=True)
    (functions / "scoring" / "main.py").write_text("def scoring(event):\n    return None\n")
    (functions / "scoring" / "helpers.json").write_text('{"weights": [1, 2]}\n')
    shared = tmp_path / "shared"
    (shared / "domain").mkdir(parents=True)
    (shared / "__init__.py").write_text("")
    (shared / "domain" / "__init__.py").write_text("")
    (shared / "domain" / "money.py").write_text("RUPIAH = 1\n")
    pyproject = tmp_path / "pyproject.toml"
    lock = tmp_path / "requirements.lock"
    shutil.copy(REPOSITORY / "pyproject.toml", pyproject)
    shutil.copy(REPOSITORY / "requirements.lock", lock)
    return SourceTree(functions, shared, pyproject, lock)


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_an_archive_holds_the_function_at_its_root_shared_and_the_pins(tree, tmp_path):
    archive = build_archive(SCORING, tree, tmp_path / "out")
    content = entries(archive.path)
    assert list(content) == sorted(content)
    assert list(content) == [
        "helpers.json",
        "main.py",
        "requirements.txt",
        "shared/__init__.py",
        "shared/domain/__init__.py",
        "shared/domain/money.py",
    ]
    assert content["main.py"] == b"def scoring(event):\n    return None\n"
    assert content["requirements.txt"].decode() == runtime_requirements(
        tree.pyproject, tree.lock_file
    )
    with zipfile.ZipFile(archive.path) as opened:
        assert {info.date_time for info in opened.infolist()} == {ZIP_EPOCH}


def test_the_archive_is_named_by_its_content_hash(tree, tmp_path):
    archive = build_archive(SCORING, tree, tmp_path / "out")
    assert archive.object_name == f"scoring/scoring-{archive.digest[:32]}.zip"
    assert archive.path.name == f"scoring-{archive.digest}.zip"
    assert len(archive.digest) == 64


def test_building_twice_gives_the_same_bytes_and_name_whenever_and_wherever(tree, tmp_path):
    first = build_archive(SCORING, tree, tmp_path / "one")
    for path in [*tree.functions_dir.rglob("*"), *tree.shared_dir.rglob("*")]:
        os.utime(path, (1_700_000_000, 1_700_000_000))  # a fresh checkout has other times
    second = build_archive(SCORING, tree, tmp_path / "two")
    assert second.object_name == first.object_name
    assert second.path.read_bytes() == first.path.read_bytes()


def test_caches_and_hidden_files_never_change_the_archive(tree, tmp_path):
    clean = build_archive(SCORING, tree, tmp_path / "clean")
    (tree.shared_dir / "__pycache__").mkdir()
    (tree.shared_dir / "__pycache__" / "money.cpython-311.pyc").write_bytes(b"\x00compiled")
    (tree.functions_dir / "scoring" / ".env").write_text("SECRET=1\n")
    (tree.functions_dir / "scoring" / "stale.pyc").write_bytes(b"\x00")
    dirty = build_archive(SCORING, tree, tmp_path / "dirty")
    assert dirty.digest == clean.digest
    assert "shared/__pycache__/money.cpython-311.pyc" not in entries(dirty.path)


@pytest.mark.parametrize(
    "change",
    [
        lambda tree: (tree.functions_dir / "scoring" / "main.py").write_text(
            "def scoring(e):\n    return 1\n"
        ),
        lambda tree: (tree.shared_dir / "domain" / "money.py").write_text("RUPIAH = 2\n"),
        lambda tree: (tree.shared_dir / "domain" / "caps.py").write_text("CAP = 1\n"),
        lambda tree: tree.lock_file.write_text(
            tree.lock_file.read_text().replace("pydantic==", "pydantic==9", 1)
        ),
    ],
    ids=["function code", "shared code", "new shared module", "a pinned version"],
)
def test_any_change_to_what_ships_gives_a_new_name(tree, tmp_path, change):
    before = build_archive(SCORING, tree, tmp_path / "before")
    change(tree)
    after = build_archive(SCORING, tree, tmp_path / "after")
    assert after.object_name != before.object_name


def test_the_runtime_pins_are_the_locked_closure_of_the_runtime_dependencies():
    pins = runtime_requirements(REPOSITORY / "pyproject.toml", REPOSITORY / "requirements.lock")
    names = {line.split("==")[0] for line in pins.splitlines() if not line.startswith("#")}
    locked = (REPOSITORY / "requirements.lock").read_text()
    for runtime in ("functions-framework", "grpcio", "protobuf", "pydantic", "pyjwt"):
        assert runtime in names
        version = next(
            line.split("==")[1].split()[0]
            for line in locked.splitlines()
            if line.startswith(f"{runtime}==")
        )
        assert f"{runtime}=={version}" in pins
    assert "google-api-core" in names  # pulled in by the Pub/Sub and Storage clients
    assert "google-cloud-firestore" not in names  # the functions speak its gRPC API themselves
    for tool in ("pulumi", "pulumi-gcp", "pytest", "nox", "ruff", "mypy", "hypothesis"):
        assert tool not in names


def test_a_missing_function_folder_is_named(tree, tmp_path):
    with pytest.raises(
        MissingFunctionSource, match=r"functions/loan_review/main\.py does not exist"
    ):
        build_archive(function("loan_review"), tree, tmp_path / "out")


def test_a_per_function_requirements_file_is_refused(tree, tmp_path):
    (tree.functions_dir / "scoring" / "requirements.txt").write_text("requests\n")
    with pytest.raises(ArchiveConflict, match="pinned centrally"):
        build_archive(SCORING, tree, tmp_path / "out")


def test_a_function_file_that_shadows_shared_is_refused(tree, tmp_path):
    (tree.functions_dir / "scoring" / "shared").mkdir()
    (tree.functions_dir / "scoring" / "shared" / "__init__.py").write_text("")
    with pytest.raises(ArchiveConflict, match=r"shared/__init__\.py"):
        build_archive(SCORING, tree, tmp_path / "out")


def test_the_stack_uploads_each_archive_and_builds_the_function_from_it(
    simulations: Mapping[str, Simulation],
):
    simulation = simulations["p2p-lending"]
    objects = {
        o.get("name"): o for o in simulation.of_type("gcp:storage/bucketObject:BucketObject")
    }
    for fn in FUNCTIONS:
        deployed = next(
            f
            for f in simulation.of_type("gcp:cloudfunctionsv2/function:Function")
            if f.get("buildConfig.entryPoint") == fn.name
        )
        name = deployed.get("buildConfig.source.storageSource.object")
        uploaded = objects[name]
        assert name.startswith(f"{fn.name}/{fn.name}-")
        archive = Path(uploaded.get("source.asset"))
        assert archive.is_file()
        assert "main.py" in entries(archive)
        assert deployed.get("buildConfig.source.storageSource.bucket") == uploaded.get("bucket")


def test_every_entity_ships_the_same_code_of_the_functions_it_deploys(
    simulations: Mapping[str, Simulation],
):
    # An archive is named by its content: the same function is the same object everywhere.
    names = {
        stack: {o.get("name") for o in s.of_type("gcp:storage/bucketObject:BucketObject")}
        for stack, s in simulations.items()
    }
    everywhere = set.intersection(*names.values())
    for stack, simulation in simulations.items():
        deployed = {fn.name for fn in functions_of(simulation)}
        assert {name.split("/")[0] for name in names[stack]} == deployed
    shared_by_all = set.intersection(
        *({fn.name for fn in functions_of(s)} for s in simulations.values())
    )
    assert {name.split("/")[0] for name in everywhere} == shared_by_all
