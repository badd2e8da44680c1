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

# Property tests check behaviour, not speed: CI's machine is shared and slow at times, so no
# example has a deadline and slow data generation is no failure (speed has its benchmarks).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "patungan",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("patungan")
