"""Function folders for a temporary source tree: one tiny entry point per function."""

from __future__ import annotations

from pathlib import Path

from shared.topology import Function


def write_function_stubs(functions_dir: Path, functions: tuple[Function, ...]) -> None:
    for fn in functions:
        folder = functions_dir / fn.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.py").write_text(
            f"def {fn.entry_point}(request):\n    return 'ok'\n", encoding="utf-8"
        )
