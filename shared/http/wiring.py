"""Building a function's dependencies from its settings, in one call, on the first request.

    services = Lazy(lambda: http_services(load_settings(Settings), Services, storage=...))

`http_services` configures structured logging, then builds the Firestore unit
of work (publishing through Pub/Sub), the token verifier and the idempotency
timings from `settings`, and returns an instance of your `HttpServices`
subclass with your own fields (`**extra`) filled in. `event_services` does the
same for event functions, whose token verifier checks the push subscriptions' tokens
through the same code (`PushAuthenticator`). Everything Google is imported inside these calls, so
importing a function's `main.py` stays cheap, and the event plumbing (`shared.http.events`)
only by `event_services`: an HTTP function never loads it.

Pass `uow=` to reuse a unit of work you built first (e.g. for a
`CallerDirectory` that reads user records through it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from shared.http.router import HttpServices
from shared.log import configure_logging
from shared.platform.clock import Clock, SystemClock
from shared.platform.store import UnitOfWork

if TYPE_CHECKING:  # each function imports its own settings, on its first request
    from shared.http.events import EventServices
    from shared.settings import HttpSettings, PlatformSettings, PushSettings

H = TypeVar("H", bound=HttpServices)
E = TypeVar("E", bound="EventServices")


def unit_of_work(settings: PlatformSettings, clock: Clock | None = None) -> UnitOfWork:
    """Firestore transactions whose events are published to Pub/Sub after commit."""
    from shared.adapters.firestore import firestore_unit_of_work
    from shared.adapters.pubsub import pubsub_publisher

    return firestore_unit_of_work(settings, pubsub_publisher(settings), clock)


def http_services(
    settings: HttpSettings,
    services_class: type[H] = HttpServices,  # type: ignore[assignment]
    *,
    uow: UnitOfWork | None = None,
    clock: Clock | None = None,
    **extra: Any,
) -> H:
    """The dependencies of an HTTP function (see the module docstring)."""
    from shared.adapters.auth import token_verifier

    configure_logging(settings.log_level, project=settings.gcp_project)
    clock = clock or SystemClock()
    return services_class(
        clock=clock,
        uow=uow or unit_of_work(settings, clock),
        verifier=token_verifier(settings),
        idempotency_lease=timedelta(seconds=settings.idempotency_lease_s),
        idempotency_retention=timedelta(hours=settings.idempotency_retention_h),
        cors_origins=frozenset(settings.cors_allowed_origins),
        **extra,
    )


def event_services(
    settings: PushSettings,
    services_class: type[E] | None = None,
    *,
    uow: UnitOfWork | None = None,
    clock: Clock | None = None,
    **extra: Any,
) -> E:
    """The dependencies of an event function (see the module docstring); `services_class`
    defaults to `EventServices`."""
    from shared.adapters.auth import token_verifier
    from shared.http.events import EventServices, PushAuthenticator

    made: type[Any] = services_class or EventServices
    configure_logging(settings.log_level, project=settings.gcp_project)
    clock = clock or SystemClock()
    built: E = made(
        uow=uow or unit_of_work(settings, clock),
        push_auth=PushAuthenticator(token_verifier(settings), settings.push_invoker),
        clock=clock,
        entity=settings.entity,
        processed_event_retention=timedelta(days=settings.processed_event_retention_days),
        **extra,
    )
    return built
