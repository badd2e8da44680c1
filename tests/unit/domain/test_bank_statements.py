"""Bank statements of the escrow account (docs/bank-statements.md): the CSV format, MT940.

Worked examples per format first, then every refusal next to them: each names the
file's line and the field. Property tests: generated statements survive the CSV
round trip, line ids are stable and unique, and no input raises anything but
`ValidationFailed`.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain import bank_statements
from shared.domain.bank_statements import (
    MAX_FILE_BYTES,
    MAX_LINES,
    BankStatement,
    Direction,
    Movement,
    StatementLine,
    detect_statement_format,
    parse_statement,
    statement_csv,
)
from shared.domain.errors import ValidationFailed

DOC = Path(__file__).resolve().parents[3] / "docs" / "bank-statements.md"

CREDIT, DEBIT = Direction.CREDIT, Direction.DEBIT


def refusal(excinfo: pytest.ExceptionInfo[ValidationFailed], key: str) -> str:
    """The problem recorded under `key` (``line 14.amount``); a lone one is the message too."""
    error = excinfo.value
    assert key in error.field_errors, error.field_errors
    if len(error.field_errors) == 1:
        assert error.detail == f"{key}: {error.field_errors[key]}"
    return error.field_errors[key]


def assert_refused(data: bytes, format_name: str, key: str, problem: str) -> None:
    """Parsing `data` is refused, with `problem` (a part of it) recorded under `key`."""
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(data, format_name)  # type: ignore[arg-type]
    assert problem in refusal(excinfo, key)


def csv_file(preamble: dict[str, str], rows: list[str], columns: str | None = None) -> bytes:
    """A CSV statement: the format row, `preamble` rows, a blank row, the header and `rows`."""
    header = columns or "booking_date,value_date,direction,amount,bank_reference,description"
    lines = ["format,patungan-bank-statement/v1"]
    lines += [f"{key},{value}" for key, value in preamble.items()]
    lines += ["", header, *rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


PREAMBLE = {
    "account_number": "8830123456",
    "currency": "IDR",
    "opening_date": "2025-03-10",
    "opening_balance": "1000000",
    "closing_date": "2025-03-11",
    "closing_balance": "1400000",
}
ROWS = [
    "2025-03-10,2025-03-10,credit,500000,FT1,Top up DEP-1",
    "2025-03-11,,debit,100000,FT2,Withdrawal WD-1",
]


def one_csv(**changes: str) -> bytes:
    """The two-line CSV statement above, with preamble fields changed."""
    return csv_file({**PREAMBLE, **changes}, ROWS)


def csv_with_row(row: str, **changes: str) -> bytes:
    """A one-line CSV statement whose row is `row` (balances as `changes` say)."""
    return csv_file({**PREAMBLE, "closing_balance": "1500000", **changes}, [row])


# --- MT940 samples in the style Indonesian banks export -------------------------------

# BCA-style: no SWIFT envelope, CRLF line ends, the sender's name and message in :86:.
BCA_MT940 = (
    ":20:MT940BCA250310\r\n"
    ":25:0283012345\r\n"
    ":28C:00069/001\r\n"
    ":60F:C250309IDR125000000,00\r\n"
    ":61:2503100310C10000000,00NTRFDEP-7F3K9Q//0310FT0041\r\n"
    ":86:TRSF E-BANKING CR 1003/FTSCY/WS9505 10000000.00 DEP-7F3K9Q SITI R\r\n"
    "AHAYU\r\n"
    ":61:2503100310C10000000,00NTRFNONREF//0310FT0042\r\n"
    ":86:SETORAN TUNAI\r\n"
    ":61:2503100310C10000000,00NTRFNONREF//0310FT0042\r\n"
    ":86:SETORAN TUNAI\r\n"
    ":61:2503100310D6500,00NMSCNONREF\r\n"
    ":86:BIAYA ADM\r\n"
    ":62F:C250310IDR154993500,00\r\n"
    ":64:C250310IDR154993500,00\r\n"
)

# Mandiri-style: inside the SWIFT envelope, amounts with ",00", a two-page statement.
MANDIRI_MT940 = """{1:F01BMRIIDJAXXX0000000000}{2:I940BMRIIDJAXXXN}{4:
:20:1370012345678
:25:1370012345678
:28C:00042/001
:60F:C250309IDR50000000,00
:61:250310C3152600,00NTRFDEP-2M8X1P
:86:DARI PT MAJU BERSAMA
:62M:C250310IDR53152600,00
-}{5:{CHK:1A2B3C4D5E6F}}
{1:F01BMRIIDJAXXX0000000000}{2:I940BMRIIDJAXXXN}{4:
:20:1370012345678
:25:1370012345678
:28C:00042/002
:60M:C250310IDR53152600,00
:61:250310D2150000,00NTRFWD-000913//TRF0913
Withdrawal lender
:86:KE BUDI SANTOSO 0987654321
:62F:C250310IDR51002600,00
-}
"""


def mt940(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def simple_mt940(
    *statement_lines: str,
    opening: str = "C250309IDR1000000,00",
    closing: str = "C250310IDR1500000,00",
) -> bytes:
    return mt940(
        ":20:REF1",
        ":25:8830123456",
        ":28C:1/1",
        f":60F:{opening}",
        *statement_lines,
        f":62F:{closing}",
    )


# --- the CSV format: worked examples --------------------------------------------------


def documented_example() -> bytes:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```csv\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/bank-statements.md shows a CSV example"
    return block.group(1).encode("utf-8")


def test_the_documented_csv_example_parses_to_what_it_says():
    statement = parse_statement(documented_example(), "csv")

    assert statement.account_number == "8830123456"
    assert statement.currency == "IDR"
    assert statement.statement_reference == "STMT-2025-03-10"
    assert statement.statement_number is None
    assert (statement.opening_date, statement.opening_balance) == (date(2025, 3, 10), 250_000_000)
    assert (statement.closing_date, statement.closing_balance) == (date(2025, 3, 10), 272_850_000)
    assert [(line.direction, line.amount) for line in statement.lines] == [
        (CREDIT, 10_000_000),
        (CREDIT, 15_000_000),
        (DEBIT, 2_150_000),
    ]
    first = statement.lines[0]
    assert first.bank_reference == "FT25069A1B2C"
    assert first.sender_reference == "DEP-7F3K9Q"
    assert first.description == "Top up Patungan, lender L-0042"
    assert first.counterparty_account == "0281234567"
    assert first.counterparty_bank_code == "014"
    assert first.counterparty_name == "SITI RAHAYU"
    assert statement.total_credits == 25_000_000
    assert statement.total_debits == 2_150_000


def test_a_spreadsheet_export_with_its_quirks_is_read():
    # Excel's "CSV UTF-8": a byte-order mark, padded rows, quoted cells, CR/DB, ".00".
    data = (
        "\ufeffformat,patungan-bank-statement/v1,,\r\n"
        "account_number,883-012 3456,,\r\n"
        "currency,IDR,,\r\n"
        "opening_date,2025-03-10,,\r\n"
        "opening_balance,1000000.00,,\r\n"
        "closing_date,2025-03-10,,\r\n"
        "closing_balance,-500000,,\r\n"
        ",,,\r\n"
        "amount,direction,booking_date,description,,\r\n"
        '1500000.00,DB,2025-03-10,"Pay ""twice"", sorry"\r\n'
        ",,,\r\n"
    ).encode()

    statement = parse_statement(data, "csv")

    assert statement.account_number == "8830123456"
    assert statement.closing_balance == -500_000
    (line,) = statement.lines
    assert (line.direction, line.amount) == (DEBIT, 1_500_000)
    assert line.value_date == line.booking_date == date(2025, 3, 10)
    assert line.description == 'Pay "twice", sorry'


def test_text_is_normalised_and_an_empty_cell_is_absent():
    decomposed = "Sri Rahayu Pe\u0301rez"  # e + combining acute: NFC makes it é
    statement = parse_statement(
        csv_with_row(f"2025-03-10,,credit,500000,  ,  {decomposed}  "), "csv"
    )

    (line,) = statement.lines
    assert line.bank_reference is None
    assert line.description == "Sri Rahayu Pérez"
    assert line.description == unicodedata.normalize("NFC", decomposed)


def test_the_writer_fills_the_running_balance_and_the_parser_checks_it():
    statement = parse_statement(one_csv(), "csv")

    written = statement_csv(statement).decode()

    assert "booking_date,value_date,direction,amount,balance," in written
    assert "2025-03-10,2025-03-10,credit,500000,1500000,FT1" in written
    assert "2025-03-11,2025-03-11,debit,100000,1400000,FT2" in written
    assert parse_statement(written.encode(), "csv") == statement


# --- the CSV format: refusals ---------------------------------------------------------


def test_a_csv_without_the_format_row_is_not_this_format():
    bank_export = b"Tanggal,Keterangan,Cabang,Jumlah,Saldo\r\n10/03,TRSF CR,0000,500000.00 CR,1\r\n"

    assert_refused(bank_export, "csv", "line 1.format", "not the project's CSV statement")


def test_an_mt940_file_is_not_a_csv_statement_nor_the_other_way_round():
    with pytest.raises(ValidationFailed) as as_csv:
        parse_statement(BCA_MT940.encode(), "csv")
    with pytest.raises(ValidationFailed) as as_mt940:
        parse_statement(one_csv(), "mt940")

    refusal(as_csv, "line 1.format")
    assert "MT940" in refusal(as_mt940, "line 1.format")


@pytest.mark.parametrize(
    "missing",
    [
        "account_number",
        "currency",
        "opening_date",
        "opening_balance",
        "closing_date",
        "closing_balance",
    ],
)
def test_every_required_preamble_field_is_required(missing):
    preamble = {key: value for key, value in PREAMBLE.items() if key != missing}

    assert_refused(csv_file(preamble, ROWS), "csv", missing, "is required")


def test_an_unknown_or_repeated_preamble_field_is_refused():
    data = csv_file({**PREAMBLE, "opening_balanse": "5"}, ROWS)
    twice = one_csv().replace(b"currency,IDR\r\n", b"currency,IDR\r\ncurrency,IDR\r\n")

    with pytest.raises(ValidationFailed) as unknown:
        parse_statement(data, "csv")
    with pytest.raises(ValidationFailed) as repeated:
        parse_statement(twice, "csv")

    assert "not a statement field" in refusal(unknown, "line 8.opening_balanse")
    assert "appears twice (first on line 3)" in refusal(repeated, "line 4.currency")


def test_a_csv_without_a_table_is_refused():
    data = b"format,patungan-bank-statement/v1\r\naccount_number,1\r\n"

    assert_refused(data, "csv", "columns", "no header row")


@pytest.mark.parametrize(
    ("columns", "key", "problem"),
    [
        ("booking_date,direction", "line 9.amount", "column is required"),
        ("booking_date,direction,amount,saldo", "line 9.saldo", "is not a column"),
        ("booking_date,direction,amount,amount", "line 9.amount", "is a column twice"),
    ],
)
def test_the_header_row_names_known_columns_once(columns, key, problem):
    data = csv_file(PREAMBLE, ["2025-03-10,credit,400000"], columns=columns)

    assert_refused(data, "csv", key, problem)


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        (",,credit,500000,,", "booking_date", "is required"),
        ("2025-03-10,,,500000,,", "direction", "is required"),
        ("2025-03-10,,credit,,,", "amount", "is required"),
        ("10/03/2025,,credit,500000,,", "booking_date", "is not a date written YYYY-MM-DD"),
        ("2025-02-30,,credit,500000,,", "booking_date", "is not a real date"),
        ("2025-03-10,2025/03/10,credit,500000,,", "value_date", "YYYY-MM-DD"),
        ("2025-03-10,,in,500000,,", "direction", "must be credit (money in) or debit"),
        ("2025-03-10,,credit,0,,", "amount", "must be a positive amount, got 0"),
        ("2025-03-10,,credit,-500000,,", "amount", "the direction column says"),
        ('2025-03-10,,credit,"500,000",,', "amount", "without thousands separators"),
        ("2025-03-10,,credit,500000.50,,", "amount", "has 50 sen"),
        ("2025-03-10,,credit,500000.5,,", "amount", "never rounded"),
        ("2025-03-10,,credit,1000000000000001,,", "amount", "is more than 1,000,000,000,000,000"),
        (
            f"2025-03-10,,credit,{'9' * 5000},,",
            "amount",
            "99999... is beyond 1,000,000,000,000,000",
        ),
        ("2025-03-10,,credit,\u0665\u0660\u0660,,", "amount", "is not whole rupiah in digits"),
    ],
)
def test_a_bad_cell_is_refused_naming_its_line_and_column(row, field, problem):
    assert_refused(csv_with_row(row), "csv", f"line 10.{field}", problem)


def test_a_bad_preamble_value_is_refused():
    cases = [
        (one_csv(opening_balance="1000000000000000001"), "line 5.opening_balance", "is beyond"),
        (one_csv(closing_balance='"1,400,000"'), "line 7.closing_balance", "thousands separators"),
        (one_csv(account_number="88/30"), "line 2.account_number", "letters or digits"),
        (one_csv(account_number="88\u00df30"), "line 2.account_number", "letters or digits"),
        (one_csv(currency="idr"), "line 3.currency", "in rupiah (IDR)"),
        (one_csv(opening_date="10-03-2025"), "line 4.opening_date", "YYYY-MM-DD"),
        (one_csv(statement_reference="A\u202eB"), "line 8.statement_reference", "U+202E"),
    ]
    for data, key, problem in cases:
        assert_refused(data, "csv", key, problem)


def test_a_preamble_row_holds_one_value():
    data = one_csv().replace(b"currency,IDR\r\n", b"currency,IDR,USD\r\n")

    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(data, "csv")

    assert refusal(excinfo, "line 3.currency") == "has cells after its value"


def test_the_balance_column_is_filled_in_every_row():
    data = csv_file(
        PREAMBLE,
        ["2025-03-10,credit,500000,1500000", "2025-03-11,debit,100000,"],
        columns="booking_date,direction,amount,balance",
    )

    assert_refused(data, "csv", "line 11.balance", "is required in every row")


def test_sen_in_a_balance_is_refused_never_rounded():
    assert_refused(
        one_csv(opening_balance="1000000.01"), "csv", "line 5.opening_balance", "has 1 sen"
    )


def test_a_statement_in_another_currency_is_refused():
    assert_refused(one_csv(currency="USD"), "csv", "line 3.currency", "in rupiah (IDR)")


def test_balances_that_do_not_add_up_are_refused():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(one_csv(closing_balance="1400001"), "csv")

    problem = refusal(excinfo, "line 7.closing_balance")
    assert problem == (
        "opening 1,000,000 + credits 500,000 - debits 100,000 = 1,400,000, "
        "but the statement closes at 1,400,001"
    )


def test_a_running_balance_that_disagrees_names_the_row():
    columns = "booking_date,direction,amount,balance"
    data = csv_file(
        PREAMBLE,
        ["2025-03-10,credit,500000,1500000", "2025-03-11,debit,100000,1400500"],
        columns=columns,
    )

    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(data, "csv")

    assert "says 1,400,500, but the balance after this line is 1,400,000" in refusal(
        excinfo, "line 11.balance"
    )


def test_dates_out_of_order_or_outside_the_period_are_refused():
    backwards = csv_file(PREAMBLE, list(reversed(ROWS)))
    outside = csv_with_row("2025-03-12,,credit,500000,,")
    inverted = one_csv(opening_date="2025-03-12")

    with pytest.raises(ValidationFailed) as out_of_order:
        parse_statement(backwards, "csv")
    with pytest.raises(ValidationFailed) as out_of_period:
        parse_statement(outside, "csv")
    with pytest.raises(ValidationFailed) as closing_first:
        parse_statement(inverted, "csv")

    assert "before the previous line's 2025-03-11" in refusal(out_of_order, "line 11.booking_date")
    assert "outside the statement period 2025-03-10 to 2025-03-11" in refusal(
        out_of_period, "line 10.booking_date"
    )
    assert "before the opening balance's date" in refusal(closing_first, "line 6.closing_date")


def test_a_value_date_may_fall_outside_the_period():
    statement = parse_statement(csv_with_row("2025-03-10,2025-03-07,credit,500000,,"), "csv")

    assert statement.lines[0].value_date == date(2025, 3, 7)


@pytest.mark.parametrize(
    ("character", "kind"),
    [
        ("\u202e", "bidi"),  # RIGHT-TO-LEFT OVERRIDE: "DEP-1\u202eQ9K3" reads differently
        ("\u200b", "invisible format character"),  # ZERO WIDTH SPACE
        ("\x07", "control character"),
        ("\t", "control character"),
        ("\u2028", "line separator"),
    ],
)
def test_control_and_bidi_characters_in_text_are_refused_not_stripped(character, kind):
    row = f"2025-03-10,,credit,500000,FT1,DEP-{character}7F3K9Q"

    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(csv_with_row(row), "csv")

    problem = refusal(excinfo, "line 10.description")
    assert f"U+{ord(character):04X}" in problem
    assert kind in problem


def test_a_line_break_inside_a_cell_is_refused():
    row = '2025-03-10,,credit,500000,FT1,"Top up\nDEP-1"'

    assert_refused(csv_with_row(row), "csv", "line 11.description", "U+000A")


def test_overlong_text_and_malformed_account_numbers_are_refused():
    columns = (
        "booking_date,direction,amount,description,counterparty_account,counterparty_bank_code"
    )
    data = csv_file(
        {**PREAMBLE, "closing_balance": "1500000"},
        [f"2025-03-10,credit,500000,{'x' * 1001},0281/234,BANK CENTRAL ASIA"],
        columns=columns,
    )

    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(data, "csv")

    assert "1,001 characters long; at most 1000" in refusal(excinfo, "line 10.description")
    assert "letters or digits" in refusal(excinfo, "line 10.counterparty_account")
    assert "1 to 11 letters or digits" in refusal(excinfo, "line 10.counterparty_bank_code")
    assert excinfo.value.detail.startswith("3 problems in the statement; the first: line 10.")


def test_every_bad_row_is_reported_at_once_up_to_a_bound():
    rows = [f"2025-03-10,,credit,{n}.5,," for n in range(1, 40)]

    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(csv_file(PREAMBLE, rows), "csv")

    assert len(excinfo.value.field_errors) == 20
    assert excinfo.value.detail.startswith("20+ problems in the statement")
    assert "line 10.amount" in excinfo.value.field_errors


def test_a_value_in_an_unnamed_column_is_refused():
    assert_refused(
        csv_with_row("2025-03-10,,credit,500000,FT1,Top up,oops"),
        "csv",
        "line 10.cells",
        "column without a name",
    )


def test_broken_quoting_and_nul_bytes_are_refused():
    with pytest.raises(ValidationFailed) as quoting:
        parse_statement(csv_with_row('2025-03-10,,credit,500000,"FT1"x,'), "csv")
    with pytest.raises(ValidationFailed) as nul:
        parse_statement(csv_with_row("2025-03-10,,credit,500000,FT\x001,"), "csv")

    assert "is not valid CSV" in refusal(quoting, "line 10.format")
    assert "U+0000 (a control character)" in refusal(nul, "line 10.bank_reference")


def test_a_file_that_is_not_utf8_is_refused():
    data = one_csv().replace(b"Top up DEP-1", "Setoran \u00e9".encode("latin-1"))

    assert_refused(data, "csv", "line 10.encoding", "is not UTF-8")


def test_more_than_the_maximum_lines_is_a_clear_error():
    rows = ["2025-03-10,,credit,1,,"] * (MAX_LINES + 1)
    data = csv_file({**PREAMBLE, "closing_balance": str(1_000_000 + MAX_LINES + 1)}, rows)

    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(data, "csv")

    assert refusal(excinfo, "lines") == "a statement holds at most 50,000 lines"


def test_the_line_bound_holds_for_every_format_and_for_code(monkeypatch):
    monkeypatch.setattr(bank_statements, "MAX_LINES", 3)

    def csv_of(count: int) -> bytes:
        closing = str(1_000_000 + count)
        return csv_file(
            {**PREAMBLE, "closing_balance": closing}, ["2025-03-10,,credit,1,,"] * count
        )

    def mt940_of(count: int) -> bytes:
        closing = f"C250310IDR{1_000_000 + count},00"
        return simple_mt940(*[":61:2503100310C1,00NTRFX"] * count, closing=closing)

    assert len(parse_statement(csv_of(3), "csv").lines) == 3
    assert len(parse_statement(mt940_of(3), "mt940").lines) == 3
    assert len(statement_of(*[movement(amount=1)] * 3).lines) == 3
    for refused in (
        lambda: parse_statement(csv_of(4), "csv"),
        lambda: parse_statement(mt940_of(4), "mt940"),
        lambda: statement_of(*[movement(amount=1)] * 4),
    ):
        with pytest.raises(ValidationFailed) as excinfo:
            refused()
        assert refusal(excinfo, "lines") == "a statement holds at most 3 lines"


def test_an_oversized_file_is_refused_before_it_is_read():
    assert_refused(b"x" * (MAX_FILE_BYTES + 1), "csv", "file", "a statement file is at most")


def test_only_bytes_are_read():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(one_csv().decode(), "csv")  # type: ignore[arg-type]

    assert refusal(excinfo, "file") == "must be bytes"


def test_an_unknown_format_is_refused():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statement(one_csv(), "camt053")  # type: ignore[arg-type]

    assert refusal(excinfo, "format") == "must be csv or mt940, not 'camt053'"


# --- MT940: worked examples -----------------------------------------------------------


def test_a_bca_style_mt940_statement():
    statement = parse_statement(BCA_MT940.encode(), "mt940")

    assert statement.account_number == "0283012345"
    assert statement.statement_reference == "MT940BCA250310"
    assert statement.statement_number == "00069/001"
    assert (statement.opening_date, statement.opening_balance) == (date(2025, 3, 9), 125_000_000)
    assert (statement.closing_date, statement.closing_balance) == (date(2025, 3, 10), 154_993_500)
    deposit, cash_1, cash_2, fee = statement.lines
    assert (deposit.direction, deposit.amount) == (CREDIT, 10_000_000)
    assert deposit.booking_date == deposit.value_date == date(2025, 3, 10)
    assert deposit.sender_reference == "DEP-7F3K9Q"
    assert deposit.bank_reference == "0310FT0041"
    # The bank cut the 65-character line inside the name: joined without a space.
    assert deposit.description == (
        "TRSF E-BANKING CR 1003/FTSCY/WS9505 10000000.00 DEP-7F3K9Q SITI RAHAYU"
    )
    assert cash_1.sender_reference is None  # NONREF
    assert (fee.direction, fee.amount, fee.description) == (DEBIT, 6_500, "BIAYA ADM")
    assert cash_1.line_id != cash_2.line_id  # two identical cash deposits on one day
    assert deposit.counterparty_account is None


def test_a_mandiri_style_statement_in_two_pages_is_one_statement():
    statement = parse_statement(MANDIRI_MT940.encode(), "mt940")

    assert statement.account_number == "1370012345678"
    assert statement.statement_number == "00042/001"
    assert (statement.opening_date, statement.opening_balance) == (date(2025, 3, 9), 50_000_000)
    assert (statement.closing_date, statement.closing_balance) == (date(2025, 3, 10), 51_002_600)
    deposit, withdrawal = statement.lines
    assert (deposit.direction, deposit.amount) == (CREDIT, 3_152_600)
    assert deposit.sender_reference == "DEP-2M8X1P"
    assert deposit.bank_reference is None
    assert (withdrawal.direction, withdrawal.amount) == (DEBIT, 2_150_000)
    assert withdrawal.bank_reference == "TRF0913"
    # Supplementary details on the :61:'s second line come before the :86: text.
    assert withdrawal.description == "Withdrawal lender KE BUDI SANTOSO 0987654321"


def test_consecutive_days_in_one_file_form_one_statement():
    data = mt940(
        ":20:D1",
        ":25:8830123456",
        ":28C:10",
        ":60F:C250309IDR1000000,00",
        ":61:2503100310C500000,00NTRFDEP-1",
        ":62F:C250310IDR1500000,00",
        ":20:D2",
        ":25:8830123456",
        ":28C:11",
        ":60F:C250310IDR1500000,00",
        ":61:2503110311D200000,00NTRFWD-1",
        ":62F:C250311IDR1300000,00",
    )

    statement = parse_statement(data, "mt940")

    assert (statement.opening_date, statement.closing_date) == (date(2025, 3, 9), date(2025, 3, 11))
    assert statement.statement_reference == "D1"
    assert [line.signed_amount for line in statement.lines] == [500_000, -200_000]


def test_a_booking_date_across_new_year_takes_the_nearest_year():
    data = simple_mt940(
        ":61:2412310102C500000,00NTRFDEP-1",
        opening="C241231IDR1000000,00",
        closing="C250102IDR1500000,00",
    )

    (line,) = parse_statement(data, "mt940").lines

    assert line.value_date == date(2024, 12, 31)
    assert line.booking_date == date(2025, 1, 2)


def test_reversals_move_money_the_other_way():
    data = simple_mt940(
        ":61:2503100310RD500000,00NTRFNONREF//REV1",
        ":86:KOREKSI DEBET",
        ":61:2503100310RCR100000,00NTRFNONREF//REV2",
    )

    reversed_debit, reversed_credit = parse_statement(
        data.replace(b"1500000,00", b"1400000,00"), "mt940"
    ).lines

    assert reversed_debit.direction is CREDIT
    assert reversed_credit.direction is DEBIT  # RC with the funds code R (IDR)
    assert reversed_credit.amount == 100_000


def test_a_debit_balance_is_negative_and_trailing_fields_are_allowed():
    data = mt940(
        ":20:REF1",
        ":21:NONREF",
        ":25:CENAIDJA/8830123456",
        ":28C:1",
        ":60F:D250309IDR1000000,00",
        ":61:2503100310C1500000,00NTRFDEP-1//FT9",
        ":62F:C250310IDR500000,",
        ":64:C250310IDR500000,",
        ":65:C250311IDR500000,00",
        ":86:SALDO AKHIR",
    )

    statement = parse_statement(data, "mt940")

    assert statement.account_number == "8830123456"
    assert (statement.opening_balance, statement.closing_balance) == (-1_000_000, 500_000)
    assert statement.lines[0].description is None


def test_an_mt940_statement_survives_conversion_to_csv():
    statement = parse_statement(BCA_MT940.encode(), "mt940")

    assert parse_statement(statement_csv(statement), "csv") == statement


# --- MT940: refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        (b":20:X\n:25:1\n:28C:1\n:60F:C250309IDR1,00\n", "line 1.format", "no closing balance"),
        (b":20:X\n:28C:1\n", "line 2.format", ":28C: is out of order"),
        (b":20:X\n:25:1\n:28C:1\n:61:250310C1,00NTRFX\n", "line 4.format", "out of order"),
        (
            b":20:X\n:25:1\n:28C:1\n:60F:C250309IDR1,00\n:86:X\n",
            "line 5.format",
            ":86: must follow",
        ),
        (b":25:1\n", "line 1.format", "comes before the :20: reference"),
        (b":20:X\n:25:1\n:13D:2503101200+0700\n", "line 3.format", "not a field of an MT940"),
        (b":20:X\nhello\n", "line 2.format", "neither an MT940 field"),
        (b"{9:nope}\n:20:X\n", "line 1.format", "is not a SWIFT envelope"),
        (b"\n\n", "format", "holds no MT940 message"),
    ],
)
def test_a_file_that_is_not_a_well_formed_mt940_is_refused(data, key, problem):
    assert_refused(data, "mt940", key, problem)


@pytest.mark.parametrize(
    ("statement_line", "field", "problem"),
    [
        (":61:2503100310C500000,50NTRFX", "amount", "has 50 sen"),
        (":61:2503100310C500000.00NTRFX", "format", "a :61: line is"),
        (":61:2503100310C0,00NTRFX", "amount", "must be a positive amount"),
        (":61:2502300230C500000,00NTRFX", "value_date", "250230 is not a real date"),
        (":61:2503101332C500000,00NTRFX", "booking_date", "1332 is not a real date"),
        (":61:2503100310C500000,00NTRFDEP\u202e1", "sender_reference", "U+202E"),
    ],
)
def test_a_bad_statement_line_is_refused_naming_its_line(statement_line, field, problem):
    assert_refused(simple_mt940(statement_line), "mt940", f"line 5.{field}", problem)


def test_mt940_balances_are_checked():
    usd = simple_mt940(opening="C250309USD1000000,00", closing="C250310USD1000000,00")
    sen = simple_mt940(opening="C250309IDR1000000,01", closing="C250310IDR1000000,01")
    unbalanced = simple_mt940(":61:2503100310C400000,00NTRFX")
    bad_shape = simple_mt940(opening="C250309IDR", closing="C250310IDR1000000,00")

    for data, key, problem in [
        (usd, "line 4.currency", "this statement is in 'USD'"),
        (sen, "line 4.balance", "has 1 sen"),
        (
            unbalanced,
            "line 6.closing_balance",
            "= 1,400,000, but the statement closes at 1,500,000",
        ),
        (bad_shape, "line 4.balance", "must be C or D, YYMMDD, currency, amount"),
    ]:
        assert_refused(data, "mt940", key, problem)


def test_control_characters_in_an_86_are_refused():
    data = simple_mt940(":61:2503100310C500000,00NTRFX", ":86:TOP UP\x1bDEP-1")

    assert_refused(data, "mt940", "line 6.description", "U+001B (a control character)")


def test_messages_that_do_not_chain_are_refused():
    def two_messages(
        second_opening: str,
        second_account: str = "8830123456",
        first_closing: str = ":62F:C250310IDR1000000,00",
    ) -> bytes:
        return mt940(
            ":20:A",
            ":25:8830123456",
            ":28C:1",
            ":60F:C250309IDR1000000,00",
            first_closing,
            ":20:B",
            f":25:{second_account}",
            ":28C:2",
            second_opening,
            ":62F:C250311IDR1000000,00",
        )

    cases = [
        (two_messages(":60F:C250310IDR999999,00"), "line 9.opening_balance", "does not continue"),
        (two_messages(":60F:C250308IDR1000000,00"), "line 9.opening_balance", "does not continue"),
        (
            two_messages(":60F:C250310IDR1000000,00", "7770001111"),
            "line 6.account_number",
            "two accounts",
        ),
        (
            two_messages(":60F:C250310IDR1000000,00", first_closing=":62M:C250310IDR1000000,00"),
            "line 9.format",
            "a page closing with :62M: goes on with :60M:",
        ),
    ]
    for data, key, problem in cases:
        assert_refused(data, "mt940", key, problem)


def test_part_of_a_statement_is_refused():
    first_page_only = MANDIRI_MT940.split("{1:", 2)
    starts_midway = "{1:" + first_page_only[2]

    with pytest.raises(ValidationFailed) as ends_early:
        parse_statement(("{1:" + first_page_only[1]).encode(), "mt940")
    with pytest.raises(ValidationFailed) as starts_late:
        parse_statement(starts_midway.encode(), "mt940")

    assert "ends on an intermediate balance" in refusal(ends_early, "line 8.format")
    assert "starts in the middle of a statement" in refusal(starts_late, "line 5.format")


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        (simple_mt940(opening="C250309IDR1000000000000001,00"), "line 4.balance", "is beyond"),
        (simple_mt940(opening="C250309IDR1.000.000,00"), "line 4.balance", "C or D, YYMMDD"),
        (simple_mt940(f":61:2503100310C{'9' * 5000},00NTRFX"), "line 5.amount", "is beyond"),
        (
            simple_mt940(":61:\u0662\u0665\u0660\u0663\u0661\u0660C1,00NTRFX"),
            "line 5.format",
            ":61:",
        ),
        (simple_mt940(":61:2503100310C500000NTRFX"), "line 5.amount", "decimal comma"),
        (
            simple_mt940().replace(b":25:8830123456", b":25:CENAIDJA/"),
            "line 2.account_number",
            "is required",
        ),
        (
            simple_mt940().replace(b":28C:1/1", b":28C:page one"),
            "line 3.statement_number",
            "number",
        ),
    ],
)
def test_malformed_mt940_fields_are_refused(data, key, problem):
    assert_refused(data, "mt940", key, problem)


def test_a_swift_trailer_on_its_own_line_is_read():
    data = MANDIRI_MT940.replace("-}{5:{CHK:1A2B3C4D5E6F}}", "-}\n{5:{CHK:1A2B3C4D5E6F}}")

    assert parse_statement(data.encode(), "mt940") == parse_statement(
        MANDIRI_MT940.encode(), "mt940"
    )


# --- format detection -----------------------------------------------------------------


def test_the_format_is_detected_from_the_first_characters():
    assert detect_statement_format(BCA_MT940.encode()) == "mt940"
    assert detect_statement_format(MANDIRI_MT940.encode()) == "mt940"
    assert detect_statement_format(documented_example()) == "csv"
    assert detect_statement_format(b'\xef\xbb\xbf"format","patungan-bank-statement/v1"\n') == "csv"
    with pytest.raises(ValidationFailed) as excinfo:
        detect_statement_format(b"Tanggal,Keterangan,Jumlah\n")
    assert "the file is neither MT940" in refusal(excinfo, "format")


# --- statements built in code, and line ids --------------------------------------------


def movement(day: int = 10, amount: int = 500_000, **changes: object) -> Movement:
    fields: dict[str, object] = {
        "booking_date": date(2025, 3, day),
        "value_date": date(2025, 3, day),
        "direction": CREDIT,
        "amount": amount,
        "sender_reference": "DEP-1",
    }
    return Movement(**{**fields, **changes})  # type: ignore[arg-type]


def statement_of(
    *movements: Movement, opening: int = 1_000_000, **changes: object
) -> BankStatement:
    fields: dict[str, object] = {
        "account_number": "8830123456",
        "opening_date": date(2025, 3, 10),
        "opening_balance": opening,
        "closing_date": date(2025, 3, 11),
        "closing_balance": opening + sum(m.signed_amount for m in movements),
        "movements": movements,
    }
    return BankStatement.create(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"amount": 0}, "amount", "must be a positive amount"),
        ({"amount": 10**15 + 1}, "amount", "is more than"),
        ({"amount": 1.5}, "amount", "must be whole rupiah"),
        ({"amount": True}, "amount", "must be whole rupiah"),
        ({"description": " padded"}, "description", "must be trimmed"),
        ({"description": ""}, "description", "not empty"),
        ({"bank_reference": "FT\u202e1"}, "bank_reference", "U+202E"),
        ({"counterparty_account": "0281-234"}, "counterparty_account", "letters or digits"),
        ({"direction": "credit"}, "direction", "must be Direction"),
        ({"booking_date": datetime(2025, 3, 10, 9)}, "booking_date", "must be a date"),
        ({"description": 42}, "description", "must be text"),
    ],
)
def test_a_movement_built_in_code_is_checked_too(changes, field, problem):
    with pytest.raises(ValidationFailed) as excinfo:
        movement(**changes)

    assert problem in refusal(excinfo, field)


def test_a_statement_built_in_code_is_checked_too():
    with pytest.raises(ValidationFailed) as unbalanced:
        statement_of(movement(), closing_balance=1)
    with pytest.raises(ValidationFailed) as outside:
        statement_of(movement(day=12))
    with pytest.raises(ValidationFailed) as currency:
        statement_of(movement(), currency="SGD")
    with pytest.raises(ValidationFailed) as wrong_types:
        statement_of(
            movement(),
            account_number="",
            opening_date=datetime(2025, 3, 10, 9),
            opening_balance=1.5,
            closing_balance=10**16,
            statement_number=" 1",
        )

    assert "but the statement closes at 1" in refusal(unbalanced, "closing_balance")
    assert "outside the statement period" in refusal(outside, "lines[0].booking_date")
    assert "in rupiah (IDR)" in refusal(currency, "currency")
    assert wrong_types.value.field_errors == {
        "account_number": (
            "must be 1 to 34 letters or digits (spaces, dots and hyphens are dropped)"
        ),
        "opening_date": "must be a date",
        "opening_balance": "must be whole rupiah (an integer)",
        "closing_balance": "10,000,000,000,000,000 is beyond 1,000,000,000,000,000 rupiah",
        "statement_number": (
            "must be trimmed, NFC-normalised text, and not empty (leave it out instead)"
        ),
    }


def test_a_line_id_that_is_not_the_lines_own_is_refused():
    statement = statement_of(movement())
    forged = StatementLine(**{**_fields(statement.lines[0]), "line_id": "0" * 32})

    with pytest.raises(ValidationFailed) as excinfo:
        BankStatement(**{**_fields(statement), "lines": (forged,)})

    assert "is not this line's id" in refusal(excinfo, "lines[0].line_id")


def _fields(instance: object) -> dict[str, object]:
    return {name: getattr(instance, name) for name in instance.__dataclass_fields__}  # type: ignore[attr-defined]


def test_line_ids_survive_a_new_download_but_not_a_new_period():
    statement = statement_of(movement(), movement(day=11, direction=DEBIT, amount=1))
    downloaded_again = statement_of(
        movement(), movement(day=11, direction=DEBIT, amount=1), statement_reference="NEW-REF"
    )
    longer_period = statement_of(
        movement(), movement(day=11, direction=DEBIT, amount=1), closing_date=date(2025, 3, 12)
    )

    ids = [line.line_id for line in statement.lines]
    assert [line.line_id for line in downloaded_again.lines] == ids
    assert downloaded_again.statement_id == statement.statement_id
    assert not {line.line_id for line in longer_period.lines} & set(ids)
    assert longer_period.statement_id != statement.statement_id


def test_importing_the_same_file_again_yields_the_same_ids():
    first = parse_statement(BCA_MT940.encode(), "mt940")
    again = parse_statement(BCA_MT940.encode(), "mt940")

    assert [line.line_id for line in again.lines] == [line.line_id for line in first.lines]


def test_identical_lines_get_distinct_ids_that_do_not_depend_on_their_neighbours():
    twin = movement()
    other = movement(amount=7)

    alone = statement_of(twin, twin)
    among_others = statement_of(other, twin, twin)

    assert alone.lines[0].line_id != alone.lines[1].line_id
    assert [line.line_id for line in among_others.lines[1:]] == [
        line.line_id for line in statement_of(twin, twin, other).lines[:2]
    ]


# --- properties -----------------------------------------------------------------------

_TEXT_CHARACTERS = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
texts = st.one_of(
    st.none(),
    st.text(_TEXT_CHARACTERS, min_size=1, max_size=24)
    .map(lambda text: unicodedata.normalize("NFC", text).strip())
    .filter(bool),
)
accounts = st.one_of(st.none(), st.from_regex(r"[A-Z0-9]{1,34}", fullmatch=True))
bank_codes = st.one_of(st.none(), st.from_regex(r"[A-Z0-9]{1,11}", fullmatch=True))


@st.composite
def statements(draw: st.DrawFn) -> BankStatement:
    opening_date = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    closing_date = opening_date + timedelta(days=draw(st.integers(0, 31)))
    days = sorted(draw(st.lists(st.dates(opening_date, closing_date), max_size=8)))
    movements = [
        Movement(
            booking_date=day,
            value_date=day + timedelta(days=draw(st.integers(-3, 3))),
            direction=draw(st.sampled_from(Direction)),
            amount=draw(st.integers(1, 10**13)),
            bank_reference=draw(texts),
            sender_reference=draw(texts),
            description=draw(texts),
            counterparty_account=draw(accounts),
            counterparty_bank_code=draw(bank_codes),
            counterparty_name=draw(texts),
        )
        for day in days
    ]
    if movements and draw(st.booleans()):
        twin = draw(st.integers(0, len(movements) - 1))
        movements.insert(twin, movements[twin])  # two identical lines on one day
    opening = draw(st.integers(-(10**13), 10**13))
    return BankStatement.create(
        account_number=draw(st.from_regex(r"[0-9]{10,16}", fullmatch=True)),
        opening_date=opening_date,
        opening_balance=opening,
        closing_date=closing_date,
        closing_balance=opening + sum(m.signed_amount for m in movements),
        movements=movements,
        statement_reference=draw(texts),
        statement_number=draw(
            st.one_of(st.none(), st.from_regex(r"\d{1,5}/\d{1,3}", fullmatch=True))
        ),
    )


@given(statements())
def test_a_statement_survives_the_csv_round_trip(statement):
    assert parse_statement(statement_csv(statement), "csv") == statement


@given(statements())
def test_line_ids_are_unique_within_a_statement_and_stable(statement):
    ids = [line.line_id for line in statement.lines]

    assert len(set(ids)) == len(ids)
    rebuilt = statement_of_lines(statement)
    assert [line.line_id for line in rebuilt.lines] == ids


def statement_of_lines(statement: BankStatement) -> BankStatement:
    movement_fields = Movement.__dataclass_fields__
    return BankStatement.create(
        account_number=statement.account_number,
        opening_date=statement.opening_date,
        opening_balance=statement.opening_balance,
        closing_date=statement.closing_date,
        closing_balance=statement.closing_balance,
        movements=[
            Movement(**{name: getattr(line, name) for name in movement_fields})
            for line in statement.lines
        ],
    )


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.sampled_from(["csv", "mt940"]))
def test_random_bytes_never_raise_anything_but_validation_failed(data, format_name):
    with contextlib.suppress(ValidationFailed):
        parse_statement(data, format_name)


SAMPLES = [BCA_MT940.encode(), MANDIRI_MT940.encode(), documented_example()]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(len(SAMPLES))),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.binary(max_size=3), st.integers(0, 3)),
        min_size=1,
        max_size=4,
    ),
)
def test_damaged_statements_are_refused_or_read_never_crash(sample, edits):
    data = bytearray(SAMPLES[sample])
    for position, insert, delete in edits:
        at = position % (len(data) + 1)
        data[at : at + delete] = insert

    for format_name in ("csv", "mt940"):
        try:
            statement = parse_statement(bytes(data), format_name)  # type: ignore[arg-type]
        except ValidationFailed:
            continue
        assert statement.opening_balance + statement.total_credits - statement.total_debits == (
            statement.closing_balance
        )
