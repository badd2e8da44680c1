"""Indonesian identity data: NIK, NPWP, phone numbers, and how to mask them.

Every function here validates at the edge and either returns a normalised value
or raises `ValidationFailed` whose `field_errors` name the field and say exactly
what is wrong (for example ``nik: birth date 31-02-90 inside the NIK is not a
real date``). Nothing here does I/O or reads the clock.

- NIK (Nomor Induk Kependudukan): 16 digits, ``PPRRSSDDMMYYNNNN`` = province,
  regency/city, district, date of birth (women add 40 to the day), and a
  sequence number from 0001. Only two digits of the year are encoded, so the
  century is resolved against the date of birth the person states, and the
  encoded date must be that date.
- NPWP (tax number): 16 digits since 2024. A resident individual's NPWP is
  their NIK. Entities and non-residents keep their old 15-digit number
  ``XX.XXX.XXX.X-XXX.XXX`` with a leading 0; the ninth digit of the old number
  is a Luhn check digit over the first eight.
- Phone numbers: Indonesian mobile numbers (``08…``, ``628…``, ``+62 8…``)
  normalise to E.164, ``+628…``.
- NIK and NPWP are personal data: responses and logs only ever carry them
  masked (`mask_nik`, `mask_npwp`, `mask_account_number`). Error messages here
  never echo a full NIK or NPWP either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum
from types import MappingProxyType
from typing import Literal

from shared.domain.errors import ValidationFailed

# Kemendagri province codes (the first two digits of a NIK), including the
# Papua provinces created in 2022. A NIK keeps the code it was issued under.
PROVINCES: MappingProxyType[str, str] = MappingProxyType(
    {
        "11": "Aceh",
        "12": "Sumatera Utara",
        "13": "Sumatera Barat",
        "14": "Riau",
        "15": "Jambi",
        "16": "Sumatera Selatan",
        "17": "Bengkulu",
        "18": "Lampung",
        "19": "Kepulauan Bangka Belitung",
        "21": "Kepulauan Riau",
        "31": "DKI Jakarta",
        "32": "Jawa Barat",
        "33": "Jawa Tengah",
        "34": "DI Yogyakarta",
        "35": "Jawa Timur",
        "36": "Banten",
        "51": "Bali",
        "52": "Nusa Tenggara Barat",
        "53": "Nusa Tenggara Timur",
        "61": "Kalimantan Barat",
        "62": "Kalimantan Tengah",
        "63": "Kalimantan Selatan",
        "64": "Kalimantan Timur",
        "65": "Kalimantan Utara",
        "71": "Sulawesi Utara",
        "72": "Sulawesi Tengah",
        "73": "Sulawesi Selatan",
        "74": "Sulawesi Tenggara",
        "75": "Gorontalo",
        "76": "Sulawesi Barat",
        "81": "Maluku",
        "82": "Maluku Utara",
        "91": "Papua",
        "92": "Papua Barat",
        "93": "Papua Selatan",
        "94": "Papua Tengah",
        "95": "Papua Pegunungan",
        "96": "Papua Barat Daya",
    }
)

FEMALE_DAY_OFFSET = 40
_SEPARATORS = re.compile(r"[\s.\-]")
_OLD_NPWP_FORMATTED = re.compile(r"\d{2}\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")
# Indonesian mobile numbers after +62: 8, then 8 to 11 more digits.
MOBILE_DIGITS_MIN = 9
MOBILE_DIGITS_MAX = 12

Sex = Literal["male", "female"]


class TaxpayerKind(Enum):
    """Who holds an NPWP; it decides which forms of the number are valid."""

    RESIDENT_INDIVIDUAL = "resident_individual"
    ENTITY = "entity"
    NON_RESIDENT = "non_resident"


_HOLDER = MappingProxyType(
    {
        TaxpayerKind.RESIDENT_INDIVIDUAL: "a resident individual's",
        TaxpayerKind.ENTITY: "an entity's",
        TaxpayerKind.NON_RESIDENT: "a non-resident's",
    }
)


@dataclass(frozen=True, slots=True)
class Nik:
    """A validated NIK and what it encodes."""

    number: str
    province_code: str
    regency_code: str
    district_code: str
    birth_date: date
    sex: Sex
    sequence: int

    @property
    def province(self) -> str:
        return PROVINCES[self.province_code]

    @property
    def masked(self) -> str:
        return mask_nik(self.number)

    def __repr__(self) -> str:  # never print the full number by accident
        return f"Nik({self.masked}, {self.sex}, born {self.birth_date.isoformat()})"


def _invalid(field: str, problem: str) -> ValidationFailed:
    message = f"{field}: {problem}"
    return ValidationFailed(message, {field: problem})


def _compact(raw: str, field: str, separators: re.Pattern[str] = _SEPARATORS) -> str:
    if not isinstance(raw, str):
        raise _invalid(field, f"must be a string of digits, got {type(raw).__name__}")
    compact = separators.sub("", raw)
    if not compact:
        raise _invalid(field, "is empty")
    if not compact.isascii() or not compact.isdigit():
        raise _invalid(field, "may contain only digits (spaces, dots and dashes are ignored)")
    return compact


def parse_nik(raw: str, *, date_of_birth: date, field: str = "nik") -> Nik:
    """Validate a NIK against the date of birth the person states, and decode it.

    The two-digit year is read in the century of `date_of_birth`; the encoded
    day, month and year must then be a real date and equal `date_of_birth`.
    """
    number = _compact(raw, field)
    if len(number) != 16:
        raise _invalid(field, f"must have 16 digits, got {len(number)}")
    province_code, regency_code, district_code = number[0:2], number[2:4], number[4:6]
    if province_code not in PROVINCES:
        raise _invalid(field, f"province code {province_code} is not an Indonesian province")
    if regency_code == "00":
        raise _invalid(field, "regency code 00 does not exist (regencies start at 01)")
    if district_code == "00":
        raise _invalid(field, "district code 00 does not exist (districts start at 01)")
    dd, mm, yy = number[6:8], number[8:10], number[10:12]
    encoded_day = int(dd)
    sex: Sex = "female" if encoded_day > FEMALE_DAY_OFFSET else "male"
    day = encoded_day - FEMALE_DAY_OFFSET if sex == "female" else encoded_day
    shown = f"{day:02d}-{mm}-{yy}"
    if not 1 <= day <= 31:
        raise _invalid(
            field,
            f"day {dd} inside the NIK is not a day of the month (01-31 for men, 41-71 for women)",
        )
    if not 1 <= int(mm) <= 12:
        raise _invalid(field, f"birth date {shown} inside the NIK has month {mm}, not 01-12")
    year = date_of_birth.year - date_of_birth.year % 100 + int(yy)
    try:
        encoded = date(year, int(mm), day)
    except ValueError:
        raise _invalid(field, f"birth date {shown} inside the NIK is not a real date") from None
    if encoded != date_of_birth:
        raise _invalid(
            field,
            f"birth date {shown} inside the NIK does not match the stated date of birth "
            f"{date_of_birth:%d-%m-%y}",
        )
    sequence = int(number[12:16])
    if sequence == 0:
        raise _invalid(field, "sequence number 0000 does not exist (sequences start at 0001)")
    return Nik(
        number=number,
        province_code=province_code,
        regency_code=regency_code,
        district_code=district_code,
        birth_date=encoded,
        sex=sex,
        sequence=sequence,
    )


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalize_npwp(
    raw: str,
    *,
    kind: TaxpayerKind,
    nik: str | None = None,
    field: str = "npwp",
) -> str:
    """The 16-digit NPWP for `raw`, checked against who holds it.

    - A resident individual's NPWP is their NIK: pass the (already validated)
      NIK as `nik` and the two must be the same 16 digits.
    - An entity or a non-resident may give the old 15-digit number, formatted
      ``XX.XXX.XXX.X-XXX.XXX`` or bare, or its 16-digit form with a leading 0.
    """
    stripped = raw.strip() if isinstance(raw, str) else raw
    if isinstance(stripped, str) and any(ch in stripped for ch in ".-"):
        bare = stripped.replace(" ", "")
        if not (
            _OLD_NPWP_FORMATTED.fullmatch(bare)
            or (bare.startswith("0") and _OLD_NPWP_FORMATTED.fullmatch(bare[1:]))
        ):
            raise _invalid(
                field,
                "formatted NPWP must look like XX.XXX.XXX.X-XXX.XXX (15 digits) "
                "or be 16 bare digits",
            )
    number = _compact(raw, field)
    if kind is TaxpayerKind.RESIDENT_INDIVIDUAL:
        if len(number) != 16:
            raise _invalid(
                field,
                f"a resident individual's NPWP is their 16-digit NIK, got {len(number)} digits",
            )
        if nik is None:
            raise _invalid(field, "a resident individual's NPWP can only be checked with their NIK")
        if number != nik:
            raise _invalid(field, "a resident individual's NPWP must be their NIK, and it is not")
        return number
    if len(number) == 15:
        number = "0" + number
    elif len(number) != 16:
        raise _invalid(field, f"must have 15 digits (old form) or 16 digits, got {len(number)}")
    if not number.startswith("0"):
        raise _invalid(
            field,
            f"{_HOLDER[kind]} 16-digit NPWP is its old 15-digit number with a leading 0",
        )
    if not _luhn_valid(number[1:10]):
        raise _invalid(field, "check digit (the 9th digit of the 15-digit form) is wrong")
    return number


def normalize_phone(raw: str, *, field: str = "phone") -> str:
    """An Indonesian mobile number in E.164 form, ``+628…``.

    Accepts ``0812…``, ``62812…``, ``+62 812…`` with spaces, dots, dashes or
    parentheses, and tolerates the trunk 0 kept after the country code
    (``+62 0812…``), a common way of writing it.
    """
    if not isinstance(raw, str):
        raise _invalid(field, f"must be a string, got {type(raw).__name__}")
    compact = _PHONE_SEPARATORS.sub("", raw)
    if not compact:
        raise _invalid(field, "is empty")
    if compact.startswith("+"):
        if not compact.startswith("+62"):
            raise _invalid(field, "must be an Indonesian number (+62)")
        national = compact[3:]
    elif compact.startswith("62"):
        national = compact[2:]
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        raise _invalid(field, "must start with 08, 628 or +628")
    if not national.isascii() or not national.isdigit():
        raise _invalid(field, "may contain only digits after the prefix")
    if national.startswith("0"):
        national = national[1:]
    if not national.startswith("8"):
        raise _invalid(field, "must be a mobile number (08… / +628…)")
    if not MOBILE_DIGITS_MIN <= len(national) <= MOBILE_DIGITS_MAX:
        raise _invalid(
            field,
            f"has {len(national)} digits after +62; an Indonesian mobile number has "
            f"{MOBILE_DIGITS_MIN} to {MOBILE_DIGITS_MAX}",
        )
    return "+62" + national


def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    digits = _SEPARATORS.sub("", value)
    if len(digits) <= keep_start + keep_end:
        return "*" * len(digits)
    hidden = len(digits) - keep_start - keep_end
    return digits[:keep_start] + "*" * hidden + digits[len(digits) - keep_end :]


def mask_nik(nik: str) -> str:
    """``3174********0001``: province and regency, then the last four digits.

    Never raises: anything that is not 16 characters long keeps at most its
    last four, so a malformed value cannot leak through a mask.
    """
    compact = _SEPARATORS.sub("", nik)
    if len(compact) == 16:
        return _mask_middle(compact, 4, 4)
    return _mask_middle(compact, 0, 4 if len(compact) >= 8 else 0)


def mask_npwp(npwp: str) -> str:
    """Masks an NPWP like a NIK: ``0131********1000`` (15 digits are padded to 16 first)."""
    compact = _SEPARATORS.sub("", npwp)
    if len(compact) == 15 and compact.isdigit():
        compact = "0" + compact
    return mask_nik(compact)


def mask_account_number(account_number: str) -> str:
    """A bank account number with everything but its last four digits hidden."""
    compact = _SEPARATORS.sub("", account_number)
    return _mask_middle(compact, 0, 4 if len(compact) >= 8 else 0)


def same_name(one: str, other: str) -> bool:
    """Whether two spellings name the same person, as the civil registry's check compares
    them: case and spacing ignored (`"SITI  rahmawati"` is `"Siti Rahmawati"`). A bank's
    account inquiry answers in capitals, so an account holder is compared the same way."""
    return _name_key(one) == _name_key(other)


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())
