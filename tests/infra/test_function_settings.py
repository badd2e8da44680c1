"""Each function's plan names exactly the configuration its settings class reads, and both
consumers' values of it load: the cloud's in every entity stack, the local runner's offline.

Which settings a function reads is asked of the function itself: its
`functions/<name>/main.py` is loaded and told to build its dependencies, with
`load_settings` intercepted to note each settings class it loads (and to stop
there, before any client is built). Then, for every function:

- the plan's variables plus its secret mounts are all read by those settings
  (nothing stale, nothing ignored) and set every required setting;
- the deployed environment (the plan filled with the cloud's values, in every
  entity stack) loads in the stack's cloud `env`, where emulator hosts, key
  files, the local dev token issuer and plain-http key URLs are refused;
- the local runner's environment (the plan filled with local values, plus the
  emulator hosts and the dev signer's key) loads offline.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

import pytest
from pydantic import AliasChoices

import shared.settings
from infra.offline import REPOSITORY, Simulation
from scripts.platform_runner import LocalValues, local_environment
from scripts.token import DevKeys
from shared.deployment import LOCAL_ONLY_VARIABLES, plan_function
from shared.http.lazy import Lazy
from shared.platform.callers import TokenVerifier
from shared.settings import (
    ConfigurationError,
    DocumentStorageSettings,
    HttpSettings,
    PiiSettings,
    PlatformSettings,
    PushSettings,
    load_settings,
)
from shared.topology import FUNCTIONS, Function, secret
from tests.infra.queries import deployed_function, functions_of

SettingsClasses = tuple[type[PlatformSettings], ...]


# --- what a function reads ----------------------------------------------------------------------


class _SettingsLoaded(Exception):
    """Stops a function's dependency builder once it has asked for its settings."""


def settings_read_by(fn: Function) -> SettingsClasses:
    """Every settings class `fn` loads, building its dependencies as its first request would."""
    module = _load_function_module(fn)
    loaded: list[type[PlatformSettings]] = []

    def note(settings_class: type[PlatformSettings], **overrides: object) -> PlatformSettings:
        loaded.append(settings_class)
        raise _SettingsLoaded

    with pytest.MonkeyPatch.context() as patch, _root_logging_restored():
        patch.setattr(shared.settings, "load_settings", note)
        try:
            services = module.services.get()
        except _SettingsLoaded:
            return tuple(loaded)
        # Built without configuration (the public calculator): its parts load settings on
        # first use — the catalogue on a product quote, the verifier on a token.
        for part in dataclasses.fields(services):
            value = getattr(services, part.name)
            with contextlib.suppress(_SettingsLoaded):
                if isinstance(value, Lazy):
                    value.get()
                elif isinstance(value, TokenVerifier):
                    value.verify("a-token")
    return tuple(loaded)


def _load_function_module(fn: Function) -> ModuleType:
    name = f"_settings_probe_{fn.name}"
    spec = importlib.util.spec_from_file_location(name, REPOSITORY / fn.source_dir / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pydantic resolve annotations through it
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _root_logging_restored() -> Iterator[None]:
    """Building services configures structured logging for the process: undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(scope="module")
def settings_of() -> dict[str, SettingsClasses]:
    return {fn.name: settings_read_by(fn) for fn in FUNCTIONS}


# --- what a deployment sets, and whether the settings accept it -------------------------------


@dataclasses.dataclass(frozen=True)
class Setting:
    """One settings field as the environment spells it (the first name is the one to set)."""

    names: tuple[str, ...]
    required: bool


def settings_fields(settings_class: type[PlatformSettings]) -> list[Setting]:
    found = []
    for field_name, info in settings_class.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str):
            names: tuple[str, ...] = (alias,)
        elif isinstance(alias, AliasChoices):
            names = tuple(str(choice) for choice in alias.choices)
        else:
            names = (f"PATUNGAN_{field_name}",)
        found.append(Setting(tuple(n.upper() for n in names), info.is_required()))
    return found


def readable_by(classes: Sequence[type[PlatformSettings]]) -> set[str]:
    return {name for c in classes for f in settings_fields(c) for name in f.names}


def configuration_problems(
    classes: Sequence[type[PlatformSettings]], environment: Mapping[str, str]
) -> list[str]:
    """What is wrong with running code that loads `classes` in exactly `environment`."""
    fields = [f for c in classes for f in settings_fields(c)]
    readable = readable_by(classes)
    problems = [
        f"{name} is set but no settings class of the function reads it"
        for name in sorted(environment)
        if name.upper() not in readable
    ]
    problems += [
        f"{f.names[0]} is required and not set"
        for f in fields
        if f.required and not {n.upper() for n in environment} & set(f.names)
    ]
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.upper() in readable or name.upper().startswith("PATUNGAN_"):
                patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        for settings_class in classes:
            try:
                load_settings(settings_class)
            except ConfigurationError as refused:
                problems.append(str(refused))
    return problems


def deployed_environment(
    simulation: Simulation, fn: Function, secret_values: Mapping[str, str]
) -> dict[str, str]:
    """The function's variables plus its mounted secrets, with the values the stack holds."""
    deployed = deployed_function(simulation, fn)
    environment = dict(deployed.get("serviceConfig.environmentVariables") or {})
    for mount in deployed.get("serviceConfig.secretEnvironmentVariables") or []:
        environment[mount["key"]] = secret_values[mount["secret"]]
    return environment


@pytest.fixture(scope="module")
def secret_values(stack_secrets: Mapping[str, str]) -> dict[str, str]:
    """Secret name → the value the stacks set (`patungan:secret-<name>`)."""
    return {key.removeprefix("patungan:secret-"): value for key, value in stack_secrets.items()}


# --- the tests ----------------------------------------------------------------------------------


def test_the_probe_finds_the_settings_each_kind_of_function_loads(settings_of):
    def loads(name: str, kind: type[PlatformSettings]) -> bool:
        return any(issubclass(c, kind) for c in settings_of[name])

    assert loads("loan_applications", HttpSettings)
    assert loads("loan_applications", DocumentStorageSettings)
    assert loads("users", HttpSettings) and loads("users", PiiSettings)
    # An event function verifies its pushes' tokens through the same settings.
    assert loads("scoring", PiiSettings) and loads("scoring", PushSettings)
    assert loads("loan_review", HttpSettings)
    # The calculator: the catalogue on a product quote, the verifier when a token is sent.
    assert PlatformSettings in settings_of["loan_quote"]
    assert loads("loan_quote", HttpSettings)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda fn: fn.name)
def test_each_functions_plan_names_exactly_what_its_settings_read(
    fn: Function, settings_of: Mapping[str, SettingsClasses]
):
    planned = plan_function(fn)
    named = {v.name for v in planned.environment} | {m.variable for m in planned.secrets}
    readable = readable_by(settings_of[fn.name])
    assert named <= readable, f"{fn.name} is planned {sorted(named - readable)}, never read"
    required = {
        f.names[0]
        for c in settings_of[fn.name]
        for f in settings_fields(c)
        if f.required and not {"FIRESTORE_EMULATOR_HOST"} & set(f.names)
    }
    assert required <= named, f"{fn.name} needs {sorted(required - named)}"


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda fn: fn.name)
def test_each_function_is_deployed_with_exactly_what_its_settings_read(
    fn: Function,
    settings_of: Mapping[str, SettingsClasses],
    simulations: Mapping[str, Simulation],
    secret_values: Mapping[str, str],
):
    classes = settings_of[fn.name]
    assert classes, f"{fn.name} loaded no settings class"
    for stack, simulation in simulations.items():
        if fn not in functions_of(simulation):
            continue  # the entity's licence does not deploy it
        assert simulation.deployment.manifest.env not in shared.settings.OFFLINE_ENVIRONMENTS
        environment = deployed_environment(simulation, fn, secret_values)
        assert configuration_problems(classes, environment) == [], stack


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda fn: fn.name)
def test_each_function_runs_locally_with_its_plan_and_only_the_offline_extras(
    fn: Function, settings_of: Mapping[str, SettingsClasses], tmp_path_factory
):
    planned = plan_function(fn)
    values = LocalValues(
        project="patungan-local",
        entity="p2p-lending",
        jwks_url="http://127.0.0.1:1/jwks.json",
        documents_bucket="patungan-local-documents",
        providers_url="http://127.0.0.1:8090",
        payment_gateway_url="http://127.0.0.1:8092",
        function_urls={fn.name: "http://127.0.0.1:8201"},
        ops_webhook_url="http://127.0.0.1:8091/webhooks/ops",
        notifications_url="http://127.0.0.1:8091/v1/notifications",
    )
    keys = DevKeys.ensure(tmp_path_factory.mktemp("dev-keys"))
    emulators = {name: "127.0.0.1:1" for name in LOCAL_ONLY_VARIABLES if name.endswith("_HOST")}
    local = local_environment(planned, values, keys, emulators)
    planned_names = {v.name for v in planned.environment} | {m.variable for m in planned.secrets}
    # The same names as in the cloud, less the endpoint the emulator host replaces...
    assert planned_names - set(local) <= {"PATUNGAN_PUBSUB_ENDPOINT"}
    # ... plus only what exists offline, which the settings refuse in the cloud.
    assert set(local) - planned_names <= LOCAL_ONLY_VARIABLES
    assert configuration_problems(settings_of[fn.name], local) == []


def test_secrets_reach_a_function_only_as_the_variables_its_settings_read(settings_of):
    for fn in FUNCTIONS:
        readable = readable_by(settings_of[fn.name])
        assert {secret(name).env_var for name in fn.secrets} <= readable, fn.name


@pytest.fixture(scope="module")
def scoring_in_p2p(
    simulations: Mapping[str, Simulation], secret_values: Mapping[str, str]
) -> dict[str, str]:
    return deployed_environment(
        simulations["p2p-lending"], next(f for f in FUNCTIONS if f.name == "scoring"), secret_values
    )


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            {"PATUNGAN_PROVIDERS_URL": None},
            "PATUNGAN_PROVIDERS_URL is required and not set",
        ),
        ({"PATUNGAN_PII_KEY": None}, "PATUNGAN_PII_KEY is required and not set"),
        (
            {"PATUNGAN_PII_KEY": base64.b64encode(b"too short").decode()},
            "PATUNGAN_PII_KEY must decode to 32 bytes",
        ),
        (
            {"FIRESTORE_EMULATOR_HOST": "localhost:8080"},
            "emulators are for local and test runs only",
        ),
        (
            {"PATUNGAN_PRODUCTS": "working-capital-annuity"},
            "PATUNGAN_PRODUCTS is set but no settings class of the function reads it",
        ),
        (
            {"PATUNGAN_PUSH_INVOKER": None},
            "PATUNGAN_PUSH_INVOKER is required and not set",
        ),
        (
            {"PATUNGAN_AUTH_ISSUER": "https://patungan.local/dev-issuer"},
            "the local dev token issuer is configured while PATUNGAN_ENV=prod",
        ),
        (
            {"PATUNGAN_AUTH_JWKS_URL": "http://keys.example"},
            "PATUNGAN_AUTH_JWKS_URL must be https in the cloud",
        ),
    ],
)
def test_the_check_names_what_a_deployment_gets_wrong(
    settings_of: Mapping[str, SettingsClasses],
    scoring_in_p2p: Mapping[str, str],
    change: Mapping[str, Any],
    complaint: str,
):
    environment = {k: v for k, v in scoring_in_p2p.items() if change.get(k, "") is not None}
    environment |= {k: v for k, v in change.items() if v is not None}
    problems = configuration_problems(settings_of["scoring"], environment)
    assert any(complaint in p for p in problems), problems


def test_documents_are_signed_through_iam_in_the_cloud_never_with_a_key_file(
    settings_of: Mapping[str, SettingsClasses],
    simulations: Mapping[str, Simulation],
    secret_values: Mapping[str, str],
):
    applications = next(f for f in FUNCTIONS if f.name == "loan_applications")
    deployed = deployed_environment(simulations["cooperative"], applications, secret_values)
    assert deployed["PATUNGAN_STORAGE_SIGNER_EMAIL"].startswith("fn-loan-applications@")
    with_key = {**deployed, "PATUNGAN_STORAGE_SIGNING_KEY_FILE": "/secrets/signer.json"}
    problems = configuration_problems(settings_of["loan_applications"], with_key)
    assert any(
        "service-account key files are refused when PATUNGAN_ENV=prod" in p for p in problems
    )
