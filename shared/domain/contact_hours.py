"""When a borrower or lender may be contacted about what they owe or are owed
(docs/lending-rules.md#overdue-and-collection).

OJK's conduct rules for LPBBTI collection allow contact Monday to Saturday, never on a
national holiday, from 08:00 to 20:00 in the recipient's own time zone. `next_contact_time`
gives the first allowed moment at or after a given instant; a message due outside the hours
waits for it.

- **Time zone** by province (the two-digit BPS code the platform stores): WIB (UTC+7) for
  Sumatra, Java, West and Central Kalimantan; WITA (UTC+8) for Bali, Nusa Tenggara, South,
  East and North Kalimantan and Sulawesi; WIT (UTC+9) for Maluku and Papua. An unknown
  province is taken as WIB, where most of the platform's users live.
- **National holidays** (`NATIONAL_HOLIDAYS`): the days of the joint decree of the Minister
  of Religious Affairs, the Minister of Manpower and the Minister of Administrative Reform
  (SKB 3 Menteri No. 1497, 2 and 5 of 2025) on 2026's national holidays, 17 days. Joint leave
  days (cuti bersama) are working days for this rule. The table is data: add the next
  year's decree when it is issued; `holidays_known_through` says how far it reaches. The
  holidays fixed by date (`FIXED_HOLIDAYS`: New Year, Labour Day, Pancasila Day,
  Independence Day, Christmas) are kept in every year, the table's or not, so a year whose
  decree is not in yet still loses those days; the reminders log a warning for any contact
  planned beyond the table.

Pure: instants come in as arguments.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.domain.errors import ValidationFailed

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")

OPENS = time(8, 0)
CLOSES = time(20, 0)  # contact must start before 20:00
SUNDAY = 6  # date.weekday()

_WITA_PROVINCES = frozenset(
    {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
)
_WIT_PROVINCES = frozenset({"81", "82", "91", "92", "93", "94", "95", "96", "97"})

NATIONAL_HOLIDAYS: frozenset[date] = frozenset(
    {
        date(2026, 1, 1),  # Tahun Baru Masehi
        date(2026, 1, 16),  # Isra Mikraj
        date(2026, 2, 17),  # Tahun Baru Imlek 2577
        date(2026, 3, 19),  # Nyepi, Tahun Baru Saka 1948
        date(2026, 3, 21),  # Idulfitri 1447 H
        date(2026, 3, 22),  # Idulfitri 1447 H
        date(2026, 4, 3),  # Wafat Yesus Kristus
        date(2026, 4, 5),  # Paskah
        date(2026, 5, 1),  # Hari Buruh
        date(2026, 5, 14),  # Kenaikan Yesus Kristus
        date(2026, 5, 27),  # Iduladha 1447 H
        date(2026, 5, 31),  # Waisak 2570 BE
        date(2026, 6, 1),  # Hari Lahir Pancasila
        date(2026, 6, 16),  # Tahun Baru Islam 1448 H
        date(2026, 8, 17),  # Proklamasi Kemerdekaan
        date(2026, 8, 25),  # Maulid Nabi Muhammad
        date(2026, 12, 25),  # Natal
    }
)


FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {(1, 1), (5, 1), (6, 1), (8, 17), (12, 25)}  # (month, day), the same date every year
)


def holidays_known_through(holidays: Collection[date] = NATIONAL_HOLIDAYS) -> date:
    """The last day of the last year the holiday table covers."""
    return date(max(holidays).year, 12, 31)


def zone_of(province_code: str | None) -> ZoneInfo:
    """The time zone of a province (BPS code); WIB when unknown."""
    if province_code in _WITA_PROVINCES:
        return WITA
    if province_code in _WIT_PROVINCES:
        return WIT
    return WIB


def contact_day(day: date, holidays: Collection[date] = NATIONAL_HOLIDAYS) -> bool:
    """Whether `day` is one on which contact is allowed at all."""
    return (
        day.weekday() != SUNDAY
        and day not in holidays
        and (day.month, day.day) not in FIXED_HOLIDAYS
    )


def next_contact_time(
    at: datetime, zone: ZoneInfo, holidays: Collection[date] = NATIONAL_HOLIDAYS
) -> datetime:
    """The first moment at or after `at` when a recipient in `zone` may be contacted."""
    if at.tzinfo is None:
        raise ValidationFailed("an instant carries its offset", {"at": "naive datetime"})
    local = at.astimezone(zone)
    day = local.date()
    if contact_day(day, holidays) and OPENS <= local.time() < CLOSES:
        return at
    if not (contact_day(day, holidays) and local.time() < OPENS):
        day += timedelta(days=1)
        while not contact_day(day, holidays):
            day += timedelta(days=1)
    return datetime.combine(day, OPENS, tzinfo=zone)
