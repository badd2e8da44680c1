"""What every process reads (`PlatformSettings`), and how any settings class is read from the
environment (`load_settings`), checked at once, and refused with every variable named.

Settings classes are plain `shared.model.Model` classes: this module reads the
environment itself, so no settings library is imported on a function's cold start
(docs/architecture.md#cold-start). A field is read from `PATUNGAN_<FIELD>` unless it names
its variables (`validation_alias`: the emulator hosts the Google client libraries read,
`K_SERVICE`); names are matched whatever their case. A list, tuple or model field is JSON
text (`PATUNGAN_CORS_ALLOWED_ORIGINS='["https://admin.example.co.id"]'`); every other value
is the text itself, which the field's type then parses.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.model import Model

Environment = Literal["local", "test", "dev", "staging", "prod"]

# Environments that run on the developer's machine or in CI; everything else is a
# real Google Cloud project where emulators and the dev issuer are refused.
OFFLINE_ENVIRONMENTS: frozenset[str] = frozenset({"local", "test"})

# The local dev token issuer (scripts/token.py). Refused outside OFFLINE_ENVIRONMENTS.
DEV_ISSUER = "https://patungan.local/dev-issuer"
DEV_AUDIENCE = "patungan-local"

ENV_PREFIX = "PATUNGAN_"


class ConfigurationError(RuntimeError):
    """The process cannot start: configuration is missing or unsafe. The message says what."""


class Settings(Model):
    """The base of every settings class: read once, frozen, unknown variables ignored.

    Fields are filled by their names (`load_settings` looks up each field's variables);
    a field's `validation_alias` says which variables those are when they are not
    `PATUNGAN_<FIELD>`.
    """

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=False
    )


class PlatformSettings(Settings):
    """What every Patungan process needs to know about where it runs."""

    env: Environment = Field(
        description="Where this process runs (local, test, dev, staging, prod)."
    )
    entity: str = Field(
        min_length=1,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="The business entity this deployment serves (one GCP project per entity).",
    )
    gcp_project: str = Field(min_length=1, description="The Google Cloud project id.")
    function_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PATUNGAN_FUNCTION_NAME", "K_SERVICE"),
        description="This function's name; Cloud Functions (2nd gen) sets K_SERVICE.",
    )

    firestore_database: str = "(default)"
    firestore_emulator_host: str | None = Field(
        default=None, validation_alias="FIRESTORE_EMULATOR_HOST"
    )
    pubsub_emulator_host: str | None = Field(default=None, validation_alias="PUBSUB_EMULATOR_HOST")
    pubsub_endpoint: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$",
        description=(
            "The Pub/Sub endpoint events are published through (host[:port]): the regional "
            "asia-southeast2-pubsub.googleapis.com in the cloud; unset, the global one. "
            "PUBSUB_EMULATOR_HOST, when set, wins."
        ),
    )
    storage_emulator_host: str | None = Field(
        default=None, validation_alias="STORAGE_EMULATOR_HOST"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    transaction_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Firestore commit attempts before 503."
    )
    retry_after_s: int = Field(
        default=1, ge=1, le=60, description="Retry-After sent with a 503 for contention."
    )
    publish_timeout_s: float = Field(default=10.0, gt=0, le=60)
    idempotency_lease_s: int = Field(
        default=120,
        ge=5,
        description="How long an in-flight Idempotency-Key blocks repeats (>= function timeout).",
    )
    idempotency_retention_h: int = Field(default=24, ge=1, le=24 * 31)
    processed_event_retention_days: int = Field(
        default=31, ge=7, description="Keep event_id records longer than Pub/Sub retains messages."
    )

    @property
    def offline(self) -> bool:
        """True on a developer machine or in CI; False in every Google Cloud project."""
        return self.env in OFFLINE_ENVIRONMENTS

    @model_validator(mode="after")
    def _no_emulators_in_the_cloud(self) -> PlatformSettings:
        if not self.offline:
            offending = [
                name
                for name, value in (
                    ("FIRESTORE_EMULATOR_HOST", self.firestore_emulator_host),
                    ("PUBSUB_EMULATOR_HOST", self.pubsub_emulator_host),
                    ("STORAGE_EMULATOR_HOST", self.storage_emulator_host),
                )
                if value
            ]
            if offending:
                raise ValueError(
                    f"{', '.join(offending)} set while PATUNGAN_ENV={self.env}: emulators are "
                    "for local and test runs only"
                )
        return self


S = TypeVar("S", bound=Settings)


def load_settings(settings_class: type[S], **overrides: object) -> S:
    """Build `settings_class` from the environment (plus `overrides`, by field name), or fail
    clearly.

    The error lists every missing or invalid variable by its environment name and the
    reason, without the offending values (they may be secrets).
    """
    values, unreadable = read_environment(settings_class, os.environ)
    values.update(overrides)
    problems = [f"{variable}: {reason}" for variable, reason in unreadable.values()]
    try:
        settings = settings_class.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            loc = [str(part) for part in error["loc"]]
            if loc and loc[0] in unreadable:
                continue  # already named as unreadable
            reason = error["msg"].removeprefix("Value error, ")
            problems.append(f"{env_names(settings_class, loc[0])[0]}: {reason}" if loc else reason)
    else:
        if not problems:
            return settings
    raise ConfigurationError(f"{settings_class.__name__} cannot start: " + "; ".join(problems))


def read_environment(
    settings_class: type[Settings], environment: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The values `environment` holds for `settings_class`'s fields, by field name, and the
    fields whose JSON could not be read (field → its variable and why)."""
    by_name = {name.lower(): value for name, value in environment.items()}
    values: dict[str, Any] = {}
    unreadable: dict[str, tuple[str, str]] = {}
    for field_name, info in settings_class.model_fields.items():
        for variable in env_names(settings_class, field_name):
            if variable.lower() not in by_name:
                continue
            text = by_name[variable.lower()]
            if is_json(info.annotation):
                try:
                    values[field_name] = json.loads(text)
                except ValueError:
                    unreadable[field_name] = (variable, "is not valid JSON")
            else:
                values[field_name] = text
            break
    return values, unreadable


def env_names(settings_class: type[Settings], field_name: str) -> tuple[str, ...]:
    """The variables a field is read from, the first found winning (the first is the one
    to set)."""
    field = settings_class.model_fields.get(field_name)
    if field is None:
        return (field_name,)
    alias = field.validation_alias
    if isinstance(alias, str):
        return (alias,)
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (f"{ENV_PREFIX}{field_name.upper()}",)


_JSON_CONTAINERS = (list, tuple, set, frozenset, dict)


def is_json(annotation: Any) -> bool:
    """Whether a field of this type is given as JSON text: a list, tuple, set, mapping or
    model (or an optional one)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return is_json(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(is_json(arg) for arg in get_args(annotation) if arg is not type(None))
    if origin in _JSON_CONTAINERS or annotation in _JSON_CONTAINERS:
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
