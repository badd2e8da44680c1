"""Contact hours for collection (docs/lending-rules.md#overdue-and-collection)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.contact_hours import (
    NATIONAL_HOLIDAYS,
    WIB,
    WIT,
    WITA,
    contact_day,
    holidays_known_through,
    next_contact_time,
    zone_of,
)
from shared.domain.errors import ValidationFailed


def test_provinces_keep_their_own_time_zone() -> None:
    assert zone_of("31") is WIB  # DKI Jakarta
    assert zone_of("51") is WITA  # Bali
    assert zone_of("73") is WITA  # South Sulawesi
    assert zone_of("94") is WIT  # Papua
    assert zone_of(None) is WIB and zone_of("00") is WIB


def test_a_reminder_due_at_21_00_wita_waits_until_08_00_the_next_morning() -> None:
    due = datetime(2026, 12, 3, 21, 0, tzinfo=WITA)  # a Thursday
    assert next_contact_time(due, WITA) == datetime(2026, 12, 4, 8, 0, tzinfo=WITA)


def test_within_the_hours_a_message_goes_at_once() -> None:
    at = datetime(2026, 12, 3, 19, 59, tzinfo=WIB)
    assert next_contact_time(at, WIB) == at


def test_before_eight_it_waits_for_eight_the_same_day() -> None:
    at = datetime(2026, 12, 3, 6, 30, tzinfo=WIT)
    assert next_contact_time(at, WIT) == datetime(2026, 12, 3, 8, 0, tzinfo=WIT)


def test_never_on_sunday_nor_a_national_holiday() -> None:
    saturday_night = datetime(2026, 12, 19, 20, 0, tzinfo=WIB)
    assert next_contact_time(saturday_night, WIB) == datetime(2026, 12, 21, 8, 0, tzinfo=WIB)
    christmas_eve = datetime(2026, 12, 24, 20, 30, tzinfo=WIB)  # 25th a holiday, 27th a Sunday
    assert next_contact_time(christmas_eve, WIB) == datetime(2026, 12, 26, 8, 0, tzinfo=WIB)
    # Idulfitri 21-22 March 2026 (a Saturday and a Sunday): from Friday evening to Monday.
    eid = datetime(2026, 3, 20, 21, 0, tzinfo=WIB)
    assert next_contact_time(eid, WIB) == datetime(2026, 3, 23, 8, 0, tzinfo=WIB)


def test_the_holiday_table_is_2026s_decree() -> None:
    assert len(NATIONAL_HOLIDAYS) == 17
    assert holidays_known_through() == date(2026, 12, 31)
    assert not contact_day(date(2026, 8, 17))
    assert contact_day(date(2026, 3, 20))  # joint leave (cuti bersama) is a working day here


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        next_contact_time(datetime(2026, 12, 3, 9, 0), WIB)


def allowed(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return contact_day(local.date()) and 8 <= local.hour < 20


@given(
    at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    zone=st.sampled_from([WIB, WITA, WIT]),
)
def test_the_next_contact_time_is_allowed_and_nothing_earlier_was(
    at: datetime, zone: ZoneInfo
) -> None:
    found = next_contact_time(at, zone)
    assert found >= at
    assert allowed(found, zone)
    probe = at  # every quarter hour in between was outside the rules
    while probe < found:
        assert not allowed(probe, zone)
        probe += timedelta(minutes=15)


def test_the_holidays_fixed_by_date_hold_in_a_year_the_table_does_not_cover_yet():
    assert holidays_known_through() < date(2027, 1, 1)
    for fixed in (date(2027, 1, 1), date(2027, 5, 1), date(2027, 8, 17), date(2027, 12, 25)):
        assert not contact_day(fixed)
    assert contact_day(date(2027, 1, 2))  # a Saturday
    late = datetime(2026, 12, 31, 21, 0, tzinfo=WIB)  # New Year's Eve, after hours
    assert next_contact_time(late, WIB) == datetime(2027, 1, 2, 8, 0, tzinfo=WIB)
