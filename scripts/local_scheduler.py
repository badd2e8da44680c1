"""The local Cloud Scheduler: runs each scheduled function of the topology as its job does.

In production every function with a `schedule` (shared/topology.py) has the
Cloud Scheduler job its plan describes (`shared.deployment.SchedulerJob`): a
unix-cron schedule evaluated in `SCHEDULER_TIME_ZONE`, an HTTP POST to the
function's URL with an OIDC token naming the job's service account (`email`,
`email_verified`) for the function's audience, and a retry config taken from
the function's delivery settings. `LocalScheduler` runs the same plan on localhost, one thread per
job, with a token from the dev issuer (`scripts.token.DevKeys`) carrying the
claims the Google token carries, so the function's own check (e.g.
`shared.http.guard.require_scheduler`) runs unchanged.

The contract:
- `CronSchedule.parse` accepts what Cloud Scheduler's unix-cron accepts: five
  fields (minute, hour, day of month, month, day of week) of `*`, numbers,
  lists `a,b`, ranges `a-b` and steps `*/n` and `a-b/n`, months also `JAN`-`DEC`
  and days of the week `SUN`-`SAT` (0-6 from Sunday, and 7 is Sunday too).
  croniter reads and evaluates it; as Cloud Scheduler documents, when both day
  fields are restricted (neither is `*`) a day matches if either matches.
  Anything else (`@hourly`, `?`, `L`, `#`, six fields, out-of-range values, a
  date that never occurs such as `0 0 31 2 *`) raises `CronError`, at start.
- A run is one POST of `{}`; a 2xx answer succeeds. A failure (another status,
  or no answer within the attempt deadline) is retried as Cloud Scheduler
  retries (`RetryPolicy`: `retry_count` times, backoff from `min_backoff_s`
  doubling `max_doublings` times, then growing linearly, capped at
  `max_backoff_s`), but never past the job's next scheduled run.
- One progress line per run, only when it failed or did something (its answer
  is not all zeros and falses), e.g.
  `scheduler: outbox_relay → 200 {"relayed": 1, "more": false}`, so a quiet
  platform stays quiet.
- `every_s` replaces the cron schedule with a fixed interval (tests only: a
  relay every second instead of every minute).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from scripts.token import DevKeys
from shared.deployment import SCHEDULER_MAX_DOUBLINGS, SchedulerJob
from shared.topology import SCHEDULER_TIME_ZONE

# The token lifetime of a Google-signed OIDC ID token.
TOKEN_TTL = timedelta(hours=1)

Progress = Callable[[str], None]


class CronError(ValueError):
    """A schedule the local scheduler (and Cloud Scheduler's unix-cron) does not accept."""


# Cloud Scheduler's unix-cron: numbers, names in capitals where a field has them, `*`,
# ranges, lists and steps. Not `?`, `L`, `W`, `#`, `H` nor `@hourly`, which croniter knows too.
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
_VALUE = {"month": rf"\d+|{_MONTHS}", "day of week": rf"\d+|{_DAYS}"}
# A `/step` follows `*` or a range: "5/10" is another dialect (5, 15, ...), not unix-cron.
_PART = r"(?:\*|(?P<low>{v})(?:-(?P<high>{v}))?)(?:/(?P<step>\d+))?"
# A reference date the next run is searched from at parse time, to refuse one that never comes.
_REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)


def _check_field(text: str, name: str, expression: str) -> None:
    pattern = re.compile(_PART.format(v=_VALUE.get(name, r"\d+")))
    for part in text.split(","):
        match = pattern.fullmatch(part)
        if match is None:
            raise CronError(
                f"{expression!r}: {name} {part!r} is not unix-cron (numbers"
                + (f", names {_VALUE[name].split('|', 2)[1]}..." if name in _VALUE else "")
                + ", *, ranges a-b, lists a,b and steps */n or a-b/n)"
            )
        if match["step"] is not None and match["low"] is not None and match["high"] is None:
            raise CronError(f"{expression!r}: {name} step {part!r} needs a range or * before /")
        if match["high"] is not None and _ordinal(match["low"]) > _ordinal(match["high"]):
            raise CronError(f"{expression!r}: {name} range {part.split('/')[0]!r} runs backwards")


def _ordinal(value: str) -> int:
    names = f"{_MONTHS}|{_DAYS}".split("|")
    if value.isdigit():
        return int(value)
    index = names.index(value)
    return index + 1 if index < 12 else index - 12  # JAN is 1; SUN is 0


@dataclass(frozen=True)
class CronSchedule:
    """A five-field unix-cron expression, evaluated by croniter (see the module docstring)."""

    expression: str

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        fields = expression.split()
        if len(fields) != len(_FIELD_NAMES):
            raise CronError(
                f"{expression!r}: a schedule has five fields (minute hour day-of-month month "
                f"day-of-week), not {len(fields)}"
            )
        for text, name in zip(fields, _FIELD_NAMES, strict=True):
            _check_field(text, name, expression)
        try:
            croniter(expression, _REFERENCE).get_next(datetime)
        except CroniterBadDateError:
            raise CronError(
                f"{expression!r}: that day of month never occurs in those months"
            ) from None
        except (CroniterBadCronError, ValueError) as exc:
            raise CronError(f"{expression!r}: {exc}") from None
        return cls(expression)

    def matches(self, moment: datetime, time_zone: str = SCHEDULER_TIME_ZONE) -> bool:
        """Whether the minute of `moment` (an aware time) is due, read in `time_zone`."""
        local = _aware(moment).astimezone(_zone(time_zone)).replace(second=0, microsecond=0)
        return bool(croniter.match(self.expression, local))

    def next_after(self, moment: datetime, time_zone: str = SCHEDULER_TIME_ZONE) -> datetime:
        """The first due minute strictly after `moment`, as an aware time in `time_zone`."""
        local = _aware(moment).astimezone(_zone(time_zone))
        following: datetime = croniter(self.expression, local).get_next(datetime)
        return following


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the scheduler reads aware times only (a time zone is needed)")
    return moment


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class RetryPolicy:
    """A Scheduler job's retry config: how often and how long after a failed attempt."""

    retry_count: int = 0
    min_backoff_s: float = 5.0
    max_backoff_s: float = 3600.0
    max_doublings: int = SCHEDULER_MAX_DOUBLINGS

    def delay(self, retry: int) -> float:
        """Seconds before retry number `retry` (1 = the first retry), as Cloud Scheduler waits."""
        if retry < 1:
            raise ValueError("retries are numbered from 1")
        doubled = min(retry - 1, self.max_doublings)
        linear = retry - 1 - doubled
        interval = self.min_backoff_s * 2**doubled * (1 + linear)
        return float(min(interval, self.max_backoff_s))


@dataclass(frozen=True)
class ScheduledJob:
    """What a Cloud Scheduler job is: when, whom it POSTs to, as whom, and how it retries."""

    name: str
    schedule: str
    time_zone: str
    url: str
    invoker: str  # the job's service account: the token's `email`
    audience: str  # the token's `aud`: what the function is configured to accept
    retry: RetryPolicy
    attempt_deadline_s: float
    every_s: float | None = None  # tests: a fixed interval instead of the cron schedule
    cron: CronSchedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _zone(self.time_zone)
        object.__setattr__(self, "cron", CronSchedule.parse(self.schedule))
        if self.every_s is not None and self.every_s <= 0:
            raise CronError(f"{self.name}: a fixed interval must be positive, not {self.every_s}")

    @classmethod
    def planned(
        cls,
        job: SchedulerJob,
        *,
        name: str,
        url: str,
        invoker: str,
        audience: str,
        every_s: float | None = None,
    ) -> ScheduledJob:
        """The planned job (`shared.deployment`) as it runs locally: calling `url` as `invoker`."""
        return cls(
            name=name,
            schedule=job.schedule,
            time_zone=job.time_zone,
            url=url,
            invoker=invoker,
            audience=audience,
            retry=RetryPolicy(
                retry_count=job.retry_count,
                min_backoff_s=job.min_backoff_s,
                max_backoff_s=job.max_backoff_s,
                max_doublings=job.max_doublings,
            ),
            attempt_deadline_s=job.attempt_deadline_s,
            every_s=every_s,
        )

    @property
    def when(self) -> str:
        """How the job is timed, for people: `* * * * * (Asia/Jakarta)` or `every 1 s`."""
        if self.every_s is not None:
            return f"every {self.every_s:g} s (tests; deployed: {self.schedule})"
        return f"{self.schedule} ({self.time_zone})"

    def next_run(self, now: datetime) -> datetime:
        if self.every_s is not None:
            return now + timedelta(seconds=self.every_s)
        return self.cron.next_after(now, self.time_zone)

    def token(self, keys: DevKeys, now: datetime | None = None) -> str:
        """The bearer token of one attempt: what Google's OIDC token for the job carries.

        Google names a service account in `sub` by its numeric unique id and in `email`
        by its address; locally the id is derived from the address, stably.
        """
        return keys.issue(
            account_unique_id(self.invoker),
            None,
            ttl=TOKEN_TTL,
            now=now,
            extra_claims={"aud": self.audience, "email": self.invoker, "email_verified": True},
        )


def account_unique_id(email: str) -> str:
    """A service account's stand-in unique id: 21 digits, as Google's, stable per address."""
    return str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:21]


@dataclass(frozen=True)
class Attempt:
    """One POST of a job: its status (None: no answer) and what came back."""

    status: int | None
    body: str

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def did_nothing(self) -> bool:
        """A success whose JSON answer is all zeros and falses: nothing worth a line."""
        if not self.succeeded:
            return False
        try:
            answer = json.loads(self.body)
        except ValueError:
            return False
        return isinstance(answer, dict) and not any(
            isinstance(value, bool | int | float) and value for value in answer.values()
        )

    def describe(self) -> str:
        return f"{self.status} {self.body}" if self.status is not None else self.body


def attempt(job: ScheduledJob, keys: DevKeys, client: httpx.Client) -> Attempt:
    """POST `{}` to the job's function once, as its Scheduler job does."""
    try:
        response = client.post(
            job.url.rstrip("/") + "/",
            json={},
            headers={"Authorization": f"Bearer {job.token(keys)}"},
            timeout=job.attempt_deadline_s,
        )
    except httpx.HTTPError as exc:
        return Attempt(None, f"no answer ({type(exc).__name__}: {exc})")
    return Attempt(response.status_code, response.text.strip())


@dataclass
class LocalScheduler:
    """A thread per job that runs it when due until `stop()` (see the module docstring)."""

    jobs: list[ScheduledJob]
    keys: DevKeys
    progress: Progress
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)

    def start(self) -> LocalScheduler:
        self._stop.clear()
        for job in self.jobs:
            thread = threading.Thread(
                target=self._run, args=(job,), name=f"scheduler-{job.name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every job; one in the middle of a POST ends once that attempt does."""
        self._stop.set()
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout_s)

    def _sleep_until(self, moment: datetime) -> bool:
        """Wait until `moment`; False when the scheduler was stopped meanwhile."""
        while not self._stop.is_set():
            remaining = (moment - self.clock()).total_seconds()
            if remaining <= 0:
                return True
            self._stop.wait(min(remaining, 1.0))  # re-read the clock: it may jump
        return False

    def _run(self, job: ScheduledJob) -> None:
        with httpx.Client(trust_env=False) as client:
            due = job.next_run(self.clock())
            while self._sleep_until(due):
                following = job.next_run(due)
                self.run_once(job, client, retry_until=following)
                # A run whose retries went past later due times skips them, as Scheduler does.
                now = self.clock()
                due = following if following > now else job.next_run(now)

    def run_once(
        self, job: ScheduledJob, client: httpx.Client, *, retry_until: datetime | None = None
    ) -> Attempt:
        """One execution: the first attempt and its retries, one progress line at the end."""
        retries = 0
        while True:
            started = time.perf_counter()
            result = attempt(job, self.keys, client)
            if result.succeeded:
                if not result.did_nothing:
                    self.progress(f"scheduler: {job.name} → {result.describe()}")
                return result
            retries += 1
            retry_at = self.clock() + timedelta(seconds=job.retry.delay(retries))
            if retries > job.retry.retry_count or (retry_until and retry_at >= retry_until):
                self.progress(
                    f"scheduler: {job.name} → {result.describe()} "
                    f"(failed after {retries} attempt{'s' if retries > 1 else ''}, "
                    f"{time.perf_counter() - started:.1f} s for the last)"
                )
                return result
            if not self._sleep_until(retry_at):
                return result


def run_job_now(job: ScheduledJob, keys: DevKeys) -> Attempt:
    """A single attempt outside the schedule (`--run-scheduled`): what one tick would send."""
    with httpx.Client(trust_env=False) as client:
        return attempt(job, keys, client)


__all__ = [
    "Attempt",
    "CronError",
    "CronSchedule",
    "LocalScheduler",
    "RetryPolicy",
    "ScheduledJob",
    "account_unique_id",
    "run_job_now",
]
