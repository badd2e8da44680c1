"""Fixtures for the plumbing tests: a token issuer, an in-memory platform, the sample function."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.plumbing.support import SAMPLE_FUNCTION, Issuer, Platform, new_private_key


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer(new_private_key(), new_private_key())


@pytest.fixture
def platform(issuer: Issuer) -> Platform:
    return Platform(issuer)


@pytest.fixture(scope="session")
def sample_app() -> Any:
    import functions_framework

    app = functions_framework.create_app("sample_loans", str(SAMPLE_FUNCTION))
    return app, sys.modules["main"]


@pytest.fixture
def sample(sample_app: Any, platform: Platform) -> Iterator[Any]:
    """A test client of the sample function, its services faked by `platform`."""
    app, module = sample_app
    with module.services.override(platform.services()):
        yield app.test_client()
