"""Identity rules (docs/lending-rules.md#identity-data): NIK, NPWP, phone numbers, masking.

Each rule has a worked example and the invalid cases next to it; every refusal
is a `ValidationFailed` naming the field and saying what is wrong.
"""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.errors import ValidationFailed
from shared.domain.identity import (
    TaxpayerKind,
    mask_account_number,
    mask_nik,
    mask_npwp,
    normalize_npwp,
    normalize_phone,
    parse_nik,
)


def refusal(excinfo: pytest.ExceptionInfo[ValidationFailed], field: str) -> str:
    """The problem recorded for `field`, checking the message names the field too."""
    error = excinfo.value
    assert field in error.field_errors, error.field_errors
    assert error.detail == f"{field}: {error.field_errors[field]}"
    return error.field_errors[field]


# --- NIK -------------------------------------------------------------------


def test_a_mans_nik_encodes_his_birth_date_as_is():
    nik = parse_nik("3174051208900001", date_of_birth=date(1990, 8, 12))

    assert nik.province_code == "31"
    assert nik.province == "DKI Jakarta"
    assert nik.regency_code == "74"
    assert nik.district_code == "05"
    assert nik.birth_date == date(1990, 8, 12)
    assert nik.sex == "male"
    assert nik.sequence == 1


def test_a_womans_nik_adds_40_to_the_day():
    nik = parse_nik("3374025208900123", date_of_birth=date(1990, 8, 12))

    assert nik.sex == "female"
    assert nik.birth_date == date(1990, 8, 12)
    assert nik.sequence == 123


def test_the_century_comes_from_the_stated_date_of_birth():
    # YY = 04 is 2004 for someone who says they were born in 2004 and 1904 for 1904.
    assert parse_nik("3273010101040002", date_of_birth=date(2004, 1, 1)).birth_date == date(
        2004, 1, 1
    )
    assert parse_nik("3273010101040002", date_of_birth=date(1904, 1, 1)).birth_date == date(
        1904, 1, 1
    )

    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik("3273010101040002", date_of_birth=date(1994, 1, 1))
    assert refusal(excinfo, "nik") == (
        "birth date 01-01-04 inside the NIK does not match the stated date of birth 01-01-94"
    )


def test_a_leap_day_birth_is_a_real_date_in_a_leap_year_only():
    woman_born_29_feb_2000 = parse_nik("3578016902000004", date_of_birth=date(2000, 2, 29))
    assert woman_born_29_feb_2000.birth_date == date(2000, 2, 29)
    assert woman_born_29_feb_2000.sex == "female"

    # 29-02-01 exists in no century: 2001 and 1901 are not leap years.
    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik("3578012902010004", date_of_birth=date(2001, 3, 1))
    assert refusal(excinfo, "nik") == "birth date 29-02-01 inside the NIK is not a real date"


def test_an_impossible_birth_date_is_named_as_such():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik("3174053102900001", date_of_birth=date(1990, 2, 28))

    assert refusal(excinfo, "nik") == "birth date 31-02-90 inside the NIK is not a real date"


def test_month_13_is_refused():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik("3174051213900001", date_of_birth=date(1990, 12, 12))

    assert refusal(excinfo, "nik") == "birth date 12-13-90 inside the NIK has month 13, not 01-12"


@pytest.mark.parametrize("day", ["00", "32", "40", "72", "99"])
def test_a_day_outside_both_ranges_is_refused(day):
    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik(f"317405{day}08900001", date_of_birth=date(1990, 8, 12))

    assert f"day {day} inside the NIK is not a day of the month" in refusal(excinfo, "nik")


def test_a_nik_that_belongs_to_another_birthday_is_a_mismatch():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik("3174051208900001", date_of_birth=date(1990, 8, 13))

    assert refusal(excinfo, "nik") == (
        "birth date 12-08-90 inside the NIK does not match the stated date of birth 13-08-90"
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("317405120890001", "must have 16 digits, got 15"),
        ("31740512089000011", "must have 16 digits, got 17"),
        ("31740512089O0001", "may contain only digits (spaces, dots and dashes are ignored)"),
        ("", "is empty"),
        ("9974051208900001", "province code 99 is not an Indonesian province"),
        ("3100051208900001", "regency code 00 does not exist (regencies start at 01)"),
        ("3174001208900001", "district code 00 does not exist (districts start at 01)"),
        ("3174051208900000", "sequence number 0000 does not exist (sequences start at 0001)"),
    ],
)
def test_malformed_niks_are_refused_with_the_reason(raw, problem):
    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik(raw, date_of_birth=date(1990, 8, 12))

    assert refusal(excinfo, "nik") == problem


def test_spaces_dots_and_dashes_are_ignored_and_the_field_name_is_the_callers():
    nik = parse_nik("3174 0512 0890 0001", date_of_birth=date(1990, 8, 12))
    assert nik.number == "3174051208900001"

    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik("3174-05", date_of_birth=date(1990, 8, 12), field="borrower.nik")
    assert refusal(excinfo, "borrower.nik") == "must have 16 digits, got 6"


def test_a_nik_that_is_not_a_string_is_refused_not_crashed_on():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_nik(3174051208900001, date_of_birth=date(1990, 8, 12))

    assert refusal(excinfo, "nik") == "must be a string of digits, got int"


def test_a_parsed_nik_never_prints_the_full_number():
    nik = parse_nik("3174051208900001", date_of_birth=date(1990, 8, 12))

    assert "3174051208900001" not in repr(nik)
    assert nik.masked == "3174********0001"


@given(
    born=st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)),
    female=st.booleans(),
    sequence=st.integers(min_value=1, max_value=9999),
)
def test_any_real_birth_date_round_trips_through_a_nik(born, female, sequence):
    day = born.day + (40 if female else 0)
    raw = f"357801{day:02d}{born:%m%y}{sequence:04d}"

    nik = parse_nik(raw, date_of_birth=born)

    assert (nik.birth_date, nik.sex, nik.sequence) == (
        born,
        "female" if female else "male",
        sequence,
    )


# --- NPWP ------------------------------------------------------------------

RESIDENT_NIK = "3174051208900001"


def test_a_resident_individuals_npwp_is_their_nik():
    assert (
        normalize_npwp(RESIDENT_NIK, kind=TaxpayerKind.RESIDENT_INDIVIDUAL, nik=RESIDENT_NIK)
        == RESIDENT_NIK
    )


def test_a_resident_individual_giving_someone_elses_number_is_refused():
    with pytest.raises(ValidationFailed) as excinfo:
        normalize_npwp("3174051208900002", kind=TaxpayerKind.RESIDENT_INDIVIDUAL, nik=RESIDENT_NIK)

    assert (
        refusal(excinfo, "npwp") == "a resident individual's NPWP must be their NIK, and it is not"
    )
    assert RESIDENT_NIK not in excinfo.value.detail


def test_a_resident_individual_may_no_longer_use_the_old_15_digit_number():
    with pytest.raises(ValidationFailed) as excinfo:
        normalize_npwp(
            "01.312.166.0-091.000", kind=TaxpayerKind.RESIDENT_INDIVIDUAL, nik=RESIDENT_NIK
        )

    assert refusal(excinfo, "npwp") == (
        "a resident individual's NPWP is their 16-digit NIK, got 15 digits"
    )


def test_a_resident_individuals_npwp_needs_the_nik_to_be_checked():
    with pytest.raises(ValidationFailed) as excinfo:
        normalize_npwp(RESIDENT_NIK, kind=TaxpayerKind.RESIDENT_INDIVIDUAL)

    assert "can only be checked with their NIK" in refusal(excinfo, "npwp")


@pytest.mark.parametrize(
    "raw",
    ["01.312.166.0-091.000", "013121660091000", "0013121660091000", " 01.312.166.0-091.000 "],
)
@pytest.mark.parametrize("kind", [TaxpayerKind.ENTITY, TaxpayerKind.NON_RESIDENT])
def test_an_entitys_old_npwp_gets_a_leading_zero(raw, kind):
    assert normalize_npwp(raw, kind=kind) == "0013121660091000"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            "01.312.1660-091.000",
            "formatted NPWP must look like XX.XXX.XXX.X-XXX.XXX (15 digits) or be 16 bare digits",
        ),
        ("01312166009100", "must have 15 digits (old form) or 16 digits, got 14"),
        ("013121661091000", "check digit (the 9th digit of the 15-digit form) is wrong"),
        (
            "3174051208900001",
            "an entity's 16-digit NPWP is its old 15-digit number with a leading 0",
        ),
    ],
)
def test_malformed_entity_npwps_are_refused(raw, problem):
    with pytest.raises(ValidationFailed) as excinfo:
        normalize_npwp(raw, kind=TaxpayerKind.ENTITY)

    assert refusal(excinfo, "npwp") == problem


def test_a_non_residents_npwp_follows_the_entity_form():
    with pytest.raises(ValidationFailed) as excinfo:
        normalize_npwp("3174051208900001", kind=TaxpayerKind.NON_RESIDENT, field="lender.npwp")

    assert refusal(excinfo, "lender.npwp") == (
        "a non-resident's 16-digit NPWP is its old 15-digit number with a leading 0"
    )


# --- Phone numbers ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "081234567890",
        "0812-3456-7890",
        "62 812 3456 7890",
        "+62 812-3456-7890",
        "+62 (0)812 3456 7890",
        "(0812) 3456.7890",
    ],
)
def test_mobile_numbers_normalise_to_plus_62(raw):
    assert normalize_phone(raw) == "+6281234567890"


def test_the_shortest_and_longest_mobile_numbers():
    assert normalize_phone("0812345678") == "+62812345678"
    assert normalize_phone("0812345678901") == "+62812345678901"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "is empty"),
        ("+1 415 555 0100", "must be an Indonesian number (+62)"),
        ("812345678", "must start with 08, 628 or +628"),
        ("021-555-1234", "must be a mobile number (08… / +628…)"),
        ("08123456", "has 7 digits after +62; an Indonesian mobile number has 9 to 12"),
        ("08123456789012", "has 13 digits after +62; an Indonesian mobile number has 9 to 12"),
        ("0812-3456-789x", "may contain only digits after the prefix"),
    ],
)
def test_numbers_that_are_not_indonesian_mobiles_are_refused(raw, problem):
    with pytest.raises(ValidationFailed) as excinfo:
        normalize_phone(raw)

    assert refusal(excinfo, "phone") == problem


# --- Masking ---------------------------------------------------------------


def test_a_nik_is_masked_to_its_region_and_last_four_digits():
    assert mask_nik("3174051208900001") == "3174********0001"


def test_an_npwp_is_masked_like_a_nik_whatever_its_form():
    assert mask_npwp("0013121660091000") == "0013********1000"
    assert mask_npwp("01.312.166.0-091.000") == "0013********1000"


def test_an_account_number_shows_only_its_last_four_digits():
    assert mask_account_number("1234567890") == "******7890"
    assert mask_account_number("123-456-789-012") == "********9012"


@given(st.text(alphabet="0123456789 -.", max_size=24))
def test_a_mask_never_shows_more_than_eight_digits_of_anything(raw):
    for masked in (mask_nik(raw), mask_npwp(raw), mask_account_number(raw)):
        assert sum(ch.isdigit() for ch in masked) <= 8
    assert sum(ch.isdigit() for ch in mask_account_number(raw)) <= 4
