"""The local Cloud Scheduler: unix-cron read in Asia/Jakarta, Scheduler's retry backoff, and
jobs that POST `{}` with the token the job's account would carry, quietly unless a run did
something or failed (scripts/local_scheduler.py)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.local_scheduler import (
    CronError,
    CronSchedule,
    LocalScheduler,
    RetryPolicy,
    ScheduledJob,
    account_unique_id,
)
from scripts.token import DevKeys
from shared.deployment import plan_function
from shared.topology import SCHEDULER_TIME_ZONE, function

JAKARTA = ZoneInfo("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=JAKARTA)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def cron(expression: str) -> CronSchedule:
    return CronSchedule.parse(expression)


# --- the fields --------------------------------------------------------------------------------


def due_minutes(expression: str, hour: datetime) -> set[int]:
    """The minutes of `hour` (Jakarta) at which the schedule is due."""
    schedule = cron(expression)
    return {m for m in range(60) if schedule.matches(hour + timedelta(minutes=m))}


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [
        ("* * * * *", set(range(60))),
        ("7 * * * *", {7}),
        ("5,35 * * * *", {5, 35}),
        ("10-14 * * * *", {10, 11, 12, 13, 14}),
        ("*/15 * * * *", {0, 15, 30, 45}),
        ("10-40/10 * * * *", {10, 20, 30, 40}),
        ("0-5/2,50 * * * *", {0, 2, 4, 50}),
    ],
)
def test_the_minute_field_takes_stars_numbers_lists_ranges_and_steps(expression, minutes):
    assert due_minutes(expression, wib(2027, 1, 4, 9, 0)) == minutes


def test_hours_days_and_months_read_the_same_way():
    schedule = cron("0 9-17/4 1,15 */3 *")
    runs = [wib(2027, 1, 1, 0, 0)]
    for _ in range(7):
        runs.append(schedule.next_after(runs[-1]))
    assert [r.strftime("%m-%d %H:%M") for r in runs[1:]] == [
        "01-01 09:00",
        "01-01 13:00",
        "01-01 17:00",
        "01-15 09:00",
        "01-15 13:00",
        "01-15 17:00",
        "04-01 09:00",
    ]


@pytest.mark.parametrize(
    ("names", "numbers"),
    [
        ("0 9 * * MON", "0 9 * * 1"),
        ("0 9 * * MON-FRI", "0 9 * * 1-5"),
        ("0 9 * * SAT,SUN", "0 9 * * 6,0"),
        ("0 9 * JAN *", "0 9 * 1 *"),
        ("0 9 1 JAN-MAR,DEC *", "0 9 1 1-3,12 *"),
    ],
)
def test_months_and_days_of_the_week_may_be_named_as_cloud_scheduler_allows(names, numbers):
    named, numbered = cron(names), cron(numbers)
    moment = wib(2027, 1, 1, 0, 0)
    for _ in range(12):
        following = named.next_after(moment)
        assert following == numbered.next_after(moment)
        moment = following


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("", "five fields"),
        ("* * * *", "day-of-week), not 4"),
        ("0 * * * * *", "day-of-week), not 6"),  # seconds are another dialect
        ("@hourly", "five fields"),
        ("0 9 * * mon", "day of week 'mon' is not unix-cron"),  # names are in capitals
        ("0 9 * * MONDAY", "day of week 'MONDAY' is not unix-cron"),
        ("0 9 MON * *", "day of month 'MON' is not unix-cron"),  # no names for days
        ("0 9 ? * 1", "day of month '?' is not unix-cron"),
        ("0 0 L * *", "day of month 'L' is not unix-cron"),
        ("0 0 * * 5#2", "day of week '5#2' is not unix-cron"),
        ("H * * * *", "minute 'H' is not unix-cron"),
        ("60 * * * *", "out of range"),
        ("* 24 * * *", "out of range"),
        ("* * 0 * *", "out of range"),
        ("* * * 13 *", "out of range"),
        ("* * * * 8", "out of range"),
        ("*/0 * * * *", "step '0'"),
        ("*/ * * * *", "minute '*/' is not unix-cron"),
        ("5/10 * * * *", "needs a range or * before /"),
        ("40-10 * * * *", "range '40-10' runs backwards"),
        ("0 9 * * FRI-MON", "range 'FRI-MON' runs backwards"),
        ("-5 * * * *", "minute '-5' is not unix-cron"),
        ("1,,2 * * * *", "minute '' is not unix-cron"),
        ("0 0 31 2 *", "never occurs"),
        ("0 0 30,31 2 *", "never occurs"),
        ("0 0 31 2,4 *", "never occurs"),  # April has 30 days
    ],
)
def test_anything_else_is_refused_naming_the_field(expression, problem):
    with pytest.raises(CronError, match=re.escape(problem)):
        cron(expression)


def test_a_day_that_occurs_in_one_of_the_months_is_accepted():
    assert cron("0 0 31 2,3 *").next_after(wib(2027, 1, 1, 0, 0)) == wib(2027, 3, 31, 0, 0)
    assert cron("0 0 29 2 *").next_after(wib(2027, 1, 1, 0, 0)) == wib(2028, 2, 29, 0, 0)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(CronError, match="unknown time zone 'Asia/Atlantis'"):
        cron("* * * * *").matches(utc(2027, 1, 4, 0, 0), "Asia/Atlantis")


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        cron("* * * * *").matches(datetime(2027, 1, 4, 0, 0))


# --- when a schedule is due, in Jakarta --------------------------------------------------------


def test_every_minute_is_due_every_minute():
    every_minute = cron(function("outbox_relay").schedule or "")
    assert every_minute.matches(utc(2027, 1, 4, 3, 17, 42))
    assert every_minute.next_after(utc(2027, 1, 4, 3, 17, 42)) == wib(2027, 1, 4, 10, 18)
    assert every_minute.next_after(utc(2027, 1, 4, 3, 17)) == wib(2027, 1, 4, 10, 18)


def test_midnight_in_jakarta_is_five_pm_utc_the_day_before():
    midnight = cron("0 0 * * *")
    assert midnight.matches(utc(2027, 1, 3, 17, 0))  # 00:00 WIB on 4 January
    assert not midnight.matches(utc(2027, 1, 4, 0, 0))  # 07:00 WIB
    assert midnight.next_after(utc(2027, 1, 3, 16, 59)) == utc(2027, 1, 3, 17, 0)


def test_the_first_of_the_month_starts_in_jakarta_while_utc_is_still_in_the_last():
    monthly = cron("30 0 1 * *")  # 00:30 WIB on the 1st
    assert monthly.next_after(utc(2027, 1, 31, 12, 0)) == utc(2027, 1, 31, 17, 30)
    assert monthly.next_after(utc(2027, 1, 31, 12, 0)) == wib(2027, 2, 1, 0, 30)


def test_new_year_comes_seven_hours_earlier_in_jakarta():
    last_minute = cron("59 23 31 12 *")
    assert last_minute.matches(utc(2026, 12, 31, 16, 59))
    assert last_minute.next_after(utc(2026, 12, 31, 17, 0)) == wib(2027, 12, 31, 23, 59)


def test_a_weekday_is_the_jakarta_weekday():
    monday_morning = cron("0 8 * * 1")
    # Sunday 3 January 2027, 23:00 UTC, is already Monday 06:00 in Jakarta.
    assert monday_morning.next_after(utc(2027, 1, 3, 23, 0)) == wib(2027, 1, 4, 8, 0)
    assert monday_morning.matches(utc(2027, 1, 4, 1, 0))
    assert not monday_morning.matches(utc(2027, 1, 4, 8, 0))  # 15:00 WIB


@pytest.mark.parametrize("sunday", ["0", "7", "SUN"])
def test_sunday_is_0_and_also_7(sunday):
    schedule = cron(f"0 9 * * {sunday}")
    assert schedule.matches(wib(2027, 1, 3, 9, 0))  # a Sunday
    assert not schedule.matches(wib(2027, 1, 4, 9, 0))  # a Monday
    assert schedule.next_after(wib(2027, 1, 3, 9, 0)) == wib(2027, 1, 10, 9, 0)


def test_weekdays_as_a_range_skip_the_weekend():
    weekdays = cron("0 17 * * 1-5")
    assert weekdays.next_after(wib(2027, 1, 8, 17, 0)) == wib(2027, 1, 11, 17, 0)  # Fri → Mon
    friday_to_sunday = cron("0 17 * * 5-7")
    assert [
        friday_to_sunday.matches(wib(2027, 1, day, 17, 0))
        for day in range(4, 11)  # Mon..Sun
    ] == [False, False, False, False, True, True, True]


def test_when_both_day_fields_are_restricted_either_one_makes_the_day():
    thirteenth_or_friday = cron("0 0 13 * 5")
    assert thirteenth_or_friday.matches(wib(2027, 1, 13, 0, 0))  # a Wednesday
    assert thirteenth_or_friday.matches(wib(2027, 1, 8, 0, 0))  # a Friday
    assert not thirteenth_or_friday.matches(wib(2027, 1, 12, 0, 0))


def test_only_a_bare_star_leaves_a_day_field_unrestricted():
    # Cloud Scheduler: the day fields are ORed "unless one of them is *". A stepped `*/2` is
    # restricted, so odd days and Fridays both run (Vixie cron would AND them).
    odd_days_or_fridays = cron("0 0 */2 * 5")
    assert odd_days_or_fridays.matches(wib(2027, 1, 1, 0, 0))  # Friday the 1st
    assert odd_days_or_fridays.matches(wib(2027, 1, 8, 0, 0))  # Friday the 8th
    assert odd_days_or_fridays.matches(wib(2027, 1, 3, 0, 0))  # Sunday the 3rd
    assert not odd_days_or_fridays.matches(wib(2027, 1, 4, 0, 0))  # Monday the 4th
    fridays = cron("0 0 * * 5")
    assert not fridays.matches(wib(2027, 1, 3, 0, 0))


def test_a_leap_day_schedule_waits_for_the_next_leap_year():
    assert cron("0 0 29 2 *").next_after(wib(2027, 3, 1, 0, 0)) == wib(2028, 2, 29, 0, 0)


def test_steps_within_hours_and_ranges():
    schedule = cron("*/20 9-10 * * *")
    runs = [wib(2027, 1, 4, 8, 0)]
    for _ in range(7):
        runs.append(schedule.next_after(runs[-1]))
    assert [r.strftime("%d %H:%M") for r in runs[1:]] == [
        "04 09:00",
        "04 09:20",
        "04 09:40",
        "04 10:00",
        "04 10:20",
        "04 10:40",
        "05 09:00",
    ]


SCHEDULES = [
    "* * * * *",
    "*/7 3-5 * * *",
    "15,45 */6 * * MON-FRI",
    "0 0 1,15 * *",
    "30 12 * * 0",
    "0 1 13 * FRI",
]


@settings(max_examples=15, deadline=None)
@given(
    expression=st.sampled_from(SCHEDULES),
    moment=st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2030, 12, 31),
        timezones=st.just(UTC),
    ),
)
def test_the_next_run_is_due_and_no_minute_before_it_is(expression, moment):
    schedule = cron(expression)
    following = schedule.next_after(moment)

    assert following > moment
    assert following.second == 0 and following.microsecond == 0
    assert schedule.matches(following)
    minute = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    checked = 0
    while minute < following and checked < 24 * 60:  # a day of minutes is enough to catch a skip
        assert not schedule.matches(minute), minute
        minute += timedelta(minutes=1)
        checked += 1


# --- retries, as Cloud Scheduler backs off -----------------------------------------------------


def test_retries_double_then_grow_linearly_up_to_the_maximum():
    # Cloud Scheduler's own example: 10 s minimum, 300 s maximum, three doublings.
    policy = RetryPolicy(retry_count=5, min_backoff_s=10, max_backoff_s=300, max_doublings=3)
    assert [policy.delay(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]


def test_the_relay_job_retries_as_its_deployed_job():
    relay = function("outbox_relay")
    planned = plan_function(relay).job
    assert planned is not None
    job = ScheduledJob.planned(
        planned, name=relay.name, url="http://127.0.0.1:1", invoker="a@b", audience="aud"
    )
    assert job.retry.retry_count == relay.max_delivery_attempts - 1
    assert [job.retry.delay(n) for n in range(1, 5)] == [10, 20, 40, 80]
    assert job.time_zone == SCHEDULER_TIME_ZONE == "Asia/Jakarta"
    assert job.attempt_deadline_s == relay.timeout_s + 30


def test_a_job_with_a_bad_schedule_is_refused_when_it_is_made():
    with pytest.raises(CronError, match="day of week 'mon'"):
        ScheduledJob(
            "relay", "0 9 * * mon", "Asia/Jakarta", "http://x", "a@b", "aud", RetryPolicy(), 60
        )
    with pytest.raises(CronError, match="must be positive"):
        ScheduledJob(
            "relay",
            "* * * * *",
            "Asia/Jakarta",
            "http://x",
            "a@b",
            "aud",
            RetryPolicy(),
            60,
            every_s=0,
        )


# --- jobs against a function -------------------------------------------------------------------


class FakeFunction:
    """A local HTTP function answering scripted (status, body) pairs, the last one repeated."""

    def __init__(self, answers: list[tuple[int, dict[str, object]]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        calls = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                calls.requests.append((self.path, dict(self.headers), body))
                status, answer = calls.answers[min(len(calls.requests), len(calls.answers)) - 1]
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    return DevKeys.ensure(Path(tmp_path_factory.mktemp("dev-keys")))


@pytest.fixture
def fake_function() -> Iterator[FakeFunction]:
    fake = FakeFunction([(200, {"relayed": 0, "more": False})])
    try:
        yield fake
    finally:
        fake.close()


INVOKER = "cron-outbox-relay@patungan-local.iam.gserviceaccount.com"


def relay_job(url: str, *, retries: int = 4, every_s: float | None = None) -> ScheduledJob:
    return ScheduledJob(
        name="outbox_relay",
        schedule="* * * * *",
        time_zone="Asia/Jakarta",
        url=url,
        invoker=INVOKER,
        audience="patungan-local",
        retry=RetryPolicy(retry_count=retries, min_backoff_s=0.01, max_backoff_s=0.02),
        attempt_deadline_s=5,
        every_s=every_s,
    )


def run_once(job: ScheduledJob, keys: DevKeys, lines: list[str]) -> object:
    scheduler = LocalScheduler([job], keys, lines.append)
    with httpx.Client(trust_env=False) as client:
        return scheduler.run_once(job, client)


def test_a_run_posts_an_empty_object_with_the_jobs_oidc_claims(fake_function, keys):
    lines: list[str] = []
    run_once(relay_job(fake_function.url), keys, lines)

    ((path, headers, body),) = fake_function.requests
    assert path == "/"
    assert json.loads(body) == {}
    scheme, token = headers["Authorization"].split(" ")
    claims = jwt.decode(
        token, keys.issuer_public.read_bytes(), algorithms=["RS256"], audience="patungan-local"
    )
    assert scheme == "Bearer"
    assert claims["email"] == INVOKER and claims["email_verified"] is True
    # As Google's: the subject is the account's numeric unique id, stable, not its address.
    assert claims["sub"].isdigit() and len(claims["sub"]) == 21
    assert claims["sub"] == account_unique_id(INVOKER) != account_unique_id("other@" + INVOKER)
    assert "role" not in claims  # a service account, not a user
    assert claims["exp"] - claims["iat"] == 3600  # a Google ID token's hour
    assert lines == []  # nothing relayed: a quiet platform stays quiet


def test_a_run_that_did_something_says_so_in_one_line(fake_function, keys):
    fake_function.answers = [(200, {"relayed": 2, "more": False})]
    lines: list[str] = []
    run_once(relay_job(fake_function.url), keys, lines)
    assert lines == ['scheduler: outbox_relay → 200 {"relayed": 2, "more": false}']


def test_a_failed_attempt_is_retried_and_a_run_that_then_succeeds_is_quiet(fake_function, keys):
    fake_function.answers = [(503, {"title": "publish failed"}), (200, {"relayed": 0})]
    lines: list[str] = []
    run_once(relay_job(fake_function.url), keys, lines)
    assert len(fake_function.requests) == 2
    assert lines == []


def test_a_run_failing_every_attempt_gives_up_after_its_retries_in_one_line(fake_function, keys):
    fake_function.answers = [(503, {"title": "publish failed"})]
    lines: list[str] = []
    run_once(relay_job(fake_function.url, retries=2), keys, lines)
    assert len(fake_function.requests) == 3
    (line,) = lines
    assert line.startswith('scheduler: outbox_relay → 503 {"title": "publish failed"}')
    assert "failed after 3 attempts" in line


def test_a_function_that_does_not_answer_is_a_failure_too(keys):
    lines: list[str] = []
    run_once(relay_job("http://127.0.0.1:9", retries=0), keys, lines)  # discard port: refused
    (line,) = lines
    assert line.startswith("scheduler: outbox_relay → no answer (ConnectError")
    assert "failed after 1 attempt," in line


def test_the_scheduler_runs_each_job_on_its_interval_until_stopped(fake_function, keys):
    lines: list[str] = []
    scheduler = LocalScheduler([relay_job(fake_function.url, every_s=0.05)], keys, lines.append)
    before = set(threading.enumerate())
    scheduler.start()
    # This scheduler's own threads: a session-wide test platform may run a job of the same name.
    threads = [t for t in threading.enumerate() if t.name == "scheduler-outbox_relay"]
    started = [t for t in threads if t not in before]
    assert len(started) == 1
    deadline = time.monotonic() + 10
    while len(fake_function.requests) < 3:
        assert time.monotonic() < deadline, "the job did not run three times"
        time.sleep(0.01)
    scheduler.stop()

    assert not started[0].is_alive()
    assert lines == []
