"""Root conftest: loads every fixture module in tests/fixtures/ as a pytest plugin.

Each emulator (and later, the local platform) owns one module there, so suites
can use any fixture without importing it and modules never edit each other.
"""

from pathlib import Path

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)
