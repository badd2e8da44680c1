"""The publisher publishes through the endpoint the settings name: the regional one the
deployment sets (messages stay in Jakarta in transit), the global one when unset, and the
emulator whenever PUBSUB_EMULATOR_HOST is set. The real Pub/Sub client is built (with
anonymous credentials in place of a machine's) and asked where it connects."""

from __future__ import annotations

from typing import Any

import google.auth
import pytest
from google.auth.credentials import AnonymousCredentials

from shared.adapters.pubsub import pubsub_publisher
from shared.settings import ConfigurationError, PlatformSettings, load_settings

REGIONAL = "asia-southeast2-pubsub.googleapis.com:443"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("PUBSUB_EMULATOR_HOST", "PATUNGAN_PUBSUB_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATUNGAN_ENTITY", "p2p-lending")
    monkeypatch.setenv("PATUNGAN_GCP_PROJECT", "patungan-p2p-lending-prod")
    # No machine credentials here: the client is built as the cloud would, anonymously.
    monkeypatch.setattr(
        google.auth, "default", lambda *args, **kwargs: (AnonymousCredentials(), None)
    )
    return monkeypatch


def connected_to(environment: pytest.MonkeyPatch, **variables: str) -> Any:
    for name, value in variables.items():
        environment.setenv(name, value)
    client = pubsub_publisher(load_settings(PlatformSettings))._publisher()
    return client.target


def test_the_deployed_publisher_uses_the_regional_endpoint(environment):
    target = connected_to(environment, PATUNGAN_ENV="prod", PATUNGAN_PUBSUB_ENDPOINT=REGIONAL)
    assert target == REGIONAL


def test_without_an_endpoint_it_publishes_through_the_global_one(environment):
    assert connected_to(environment, PATUNGAN_ENV="prod") == "pubsub.googleapis.com:443"


def test_the_emulator_host_wins_over_the_endpoint_locally(environment):
    target = connected_to(
        environment,
        PATUNGAN_ENV="local",
        PATUNGAN_PUBSUB_ENDPOINT=REGIONAL,
        PUBSUB_EMULATOR_HOST="127.0.0.1:8085",
    )
    assert target == "127.0.0.1:8085"


@pytest.mark.parametrize(
    "endpoint", ["https://asia-southeast2-pubsub.googleapis.com", "pubsub/v1", "-bad:443"]
)
def test_an_endpoint_that_is_not_host_and_port_is_refused_at_start(environment, endpoint):
    environment.setenv("PATUNGAN_ENV", "prod")
    environment.setenv("PATUNGAN_PUBSUB_ENDPOINT", endpoint)
    with pytest.raises(ConfigurationError, match="PATUNGAN_PUBSUB_ENDPOINT"):
        load_settings(PlatformSettings)
