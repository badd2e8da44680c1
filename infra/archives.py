"""Function source archives: deterministic zips named by the hash of what is inside them.

A function's archive holds, at its root, everything in `functions/<name>/`
(so `main.py` with the entry point `<name>` sits where Cloud Functions looks
for it), the whole `shared/` package, and a `requirements.txt` pinning the
runtime dependencies exactly as `requirements.lock` does: the closure of
pyproject's `[project].dependencies`, without the dev, emulator or infra tools.

Determinism: entries are sorted, every timestamp is 1980-01-01, permissions
and the creating system are fixed, caches (`__pycache__`, `*.pyc`) and hidden
files are left out. The archive's name carries a SHA-256 over the entries'
paths and bytes (not over the zip, so a different zlib cannot rename it):
unchanged code keeps its name and `pulumi up` redeploys nothing; any change to
the function, to `shared/` or to a pin gives a new name, a new upload and a
new revision.

A missing `functions/<name>/main.py` raises `MissingFunctionSource` naming the
folder; `missing_sources` lists every such function up front for the preflight.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.topology import Function

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--
_UNIX = 3  # ZipInfo.create_system for Unix, whatever machine builds the archive
_REQUIREMENTS = "requirements.txt"


class MissingFunctionSource(FileNotFoundError):
    """A function in the topology has no `functions/<name>/main.py` to deploy."""


class ArchiveConflict(ValueError):
    """Two sources would write the same path into an archive."""


@dataclass(frozen=True)
class SourceTree:
    """Where function code, the shared package and the dependency pins are read from."""

    functions_dir: Path
    shared_dir: Path
    pyproject: Path
    lock_file: Path

    @classmethod
    def of_repository(cls, root: Path) -> SourceTree:
        return cls(
            functions_dir=root / "functions",
            shared_dir=root / "shared",
            pyproject=root / "pyproject.toml",
            lock_file=root / "requirements.lock",
        )

    def function_dir(self, fn: Function) -> Path:
        return self.functions_dir / fn.name


@dataclass(frozen=True)
class FunctionArchive:
    """A built archive on disk and the name it is uploaded under."""

    function: str
    path: Path
    digest: str  # hex SHA-256 over the entries' paths and contents

    @property
    def object_name(self) -> str:
        """The Cloud Storage object name: the function and its content hash."""
        return f"{self.function}/{self.function}-{self.digest[:32]}.zip"


def missing_sources(functions: Iterable[Function], tree: SourceTree) -> list[str]:
    """`functions/<name>/main.py` paths the topology needs and the tree lacks."""
    return [
        str(tree.function_dir(fn) / "main.py")
        for fn in functions
        if not (tree.function_dir(fn) / "main.py").is_file()
    ]


def runtime_requirements(pyproject: Path, lock_file: Path) -> str:
    """requirements.txt text: every locked package the runtime dependencies need, pinned.

    The closure is read from the lock's `# via` annotations: a package belongs
    when pyproject's `[project].dependencies` names it, or when a package that
    belongs pulls it in.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    roots = {_requirement_name(spec) for spec in project["dependencies"]}
    pins, parents = _parse_lock(lock_file.read_text(encoding="utf-8"))
    unknown = roots - pins.keys()
    if unknown:
        raise ValueError(f"{lock_file} does not pin runtime dependencies {sorted(unknown)}")
    needed = set(roots)
    changed = True
    while changed:
        changed = False
        for name, via in parents.items():
            if name not in needed and via & needed:
                needed.add(name)
                changed = True
    lines = [
        "# Generated from requirements.lock by infra/archives.py: the runtime closure of",
        "# pyproject.toml [project].dependencies. Do not edit; change pyproject and re-lock.",
        *(pins[name] for name in sorted(needed)),
    ]
    return "\n".join(lines) + "\n"


def archive_entries(fn: Function, tree: SourceTree, requirements: str) -> list[tuple[str, bytes]]:
    """The (path in archive, bytes) pairs of `fn`'s archive, sorted by path."""
    source = tree.function_dir(fn)
    if not (source / "main.py").is_file():
        raise MissingFunctionSource(
            f"{fn.name!r} is in shared/topology.py but {source / 'main.py'} does not exist: "
            f"add the function (entry point {fn.name!r}) or remove it from the topology"
        )
    entries: dict[str, bytes] = {}
    for arcname, path in _files(source, prefix=""):
        if arcname == _REQUIREMENTS:
            raise ArchiveConflict(
                f"{path}: function dependencies are pinned centrally (pyproject.toml and "
                "requirements.lock); remove the per-function requirements.txt"
            )
        entries[arcname] = path.read_bytes()
    for arcname, path in _files(tree.shared_dir, prefix="shared/"):
        if arcname in entries:
            raise ArchiveConflict(f"{source} contains {arcname!r}, which shared/ also provides")
        entries[arcname] = path.read_bytes()
    entries[_REQUIREMENTS] = requirements.encode()
    return sorted(entries.items())


def content_digest(entries: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 over each entry's path and the SHA-256 of its bytes, in order."""
    outer = hashlib.sha256()
    for arcname, data in entries:
        outer.update(arcname.encode())
        outer.update(b"\0")
        outer.update(hashlib.sha256(data).digest())
    return outer.hexdigest()


def zip_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip of `entries` whose bytes depend on nothing but the entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = _FILE_MODE
            info.create_system = _UNIX
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def build_archive(fn: Function, tree: SourceTree, out_dir: Path) -> FunctionArchive:
    """Write `fn`'s archive into `out_dir` (once per content) and describe it."""
    entries = archive_entries(fn, tree, runtime_requirements(tree.pyproject, tree.lock_file))
    digest = content_digest(entries)
    path = out_dir / f"{fn.name}-{digest}.zip"
    if not path.is_file():
        out_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(zip_bytes(entries))
        partial.replace(path)  # atomic: a crash never leaves a truncated archive under the name
    return FunctionArchive(function=fn.name, path=path, digest=digest)


def _files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        if path.is_file() and path.suffix not in {".pyc", ".pyo"}:
            yield prefix + relative.as_posix(), path


def _requirement_name(spec: str) -> str:
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    if not match:
        raise ValueError(f"cannot read a package name from {spec!r}")
    return _normalise(match.group(1))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse_lock(text: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """The pin line of each package and the packages its `# via` comment names."""
    pins: dict[str, str] = {}
    parents: dict[str, set[str]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("#"):
            current = _requirement_name(line)
            pins[current] = line
            parents[current] = set()
            continue
        if current is None:
            continue
        comment = line.lstrip("#").strip()
        if comment.startswith("via"):
            comment = comment.removeprefix("via").strip()
        if comment and "(" not in comment:  # "patungan (pyproject.toml)" is the project itself
            parents[current].add(_normalise(comment))
    return pins, parents
