"""The escrow account's bank statements: parsing, validation, and the CSV writer.

A statement is what the bank says happened on one escrow account over a period:
an opening balance, the movements (credits = money in, debits = money out) and a
closing balance at the cut-off. `parse_statement(data, format)` reads one from
the bytes of a file and returns a `BankStatement`, or raises `ValidationFailed`
whose `field_errors` name the file's line and the field (``line 14.amount``).

Formats (docs/bank-statements.md describes both, with examples):

- ``"csv"``: the project's own format (docs/bank-statements.md#the-csv-format):
  UTF-8, ``,``-separated, a ``key,value`` preamble (account, currency, opening
  and closing balances and dates), then a header row of named columns and one row
  per movement; ISO dates, integer rupiah. `statement_csv` writes it.
- ``"mt940"``: SWIFT MT940 (docs/bank-statements.md#mt940), the standard export of
  Indonesian banks, with or without the SWIFT envelope (``{1:…}{2:…}{4:`` …
  ``-}``): ``:20:`` ``:25:`` ``:28C:`` ``:60F:``/``:60M:`` (``:61:`` ``:86:``)…
  ``:62F:``/``:62M:``, then optionally ``:64:``, ``:65:`` and a closing ``:86:``
  (checked for shape, not kept). Messages for one account whose balances chain
  (the pages of one statement, or consecutive days) form one statement, from the
  first opening balance to the last closing balance, which must be final (``F``).

Rules every statement obeys, whatever its format:

- Rupiah only (``IDR``), in whole rupiah: a non-zero sen part is refused, never
  rounded. A line's amount is positive and at most 10^15; a balance may be
  negative (a debit balance) but not beyond 10^15 either way.
- Opening balance + credits - debits = closing balance.
- Booking dates never go backwards and lie within the statement period, from the
  opening balance's date to the closing balance's (the cut-off). Value dates may
  lie outside it (back- or forward-valued movements).
- At most `MAX_LINES` lines and `MAX_FILE_BYTES` bytes: a clear error, not a hang.
- Text fields are NFC-normalised and trimmed of spaces. Control characters, bidi
  controls and other invisible format characters are refused, not stripped: they
  can make one reference look like another, and whoever imports the file should
  see that it is odd.

Line ids (`StatementLine.line_id`) are derived from the statement's identity
(account, currency, opening and closing balances and dates; not the bank's file
reference, which some banks regenerate on every download), the line's content,
and how many identical lines precede it. Importing the same file again, or the
same statement downloaded again, yields the same ids; two identical lines on one
day get distinct ids. A statement framed differently (another period) gives its
lines other ids, so whoever imports statements refuses overlapping periods.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import Enum
from itertools import pairwise
from types import TracebackType
from typing import Literal

from shared.domain.errors import ValidationFailed

StatementFormat = Literal["csv", "mt940"]

CURRENCY = "IDR"
MAX_LINES = 50_000
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_AMOUNT = 10**15
# Problems reported per file: enough to fix a spreadsheet in one go, bounded for garbage.
MAX_REPORTED_PROBLEMS = 20

CSV_FORMAT_MARKER = "patungan-bank-statement/v1"

# Longest accepted value per text field, in characters after normalisation.
TEXT_LIMITS = {
    "statement_reference": 64,
    "statement_number": 32,
    "bank_reference": 64,
    "sender_reference": 64,
    "description": 1000,
    "counterparty_name": 140,
}
# Longest account number or bank code (letters and digits, upper-cased, without the
# spaces, dots and hyphens people type): an IBAN's 34; a BIC's 11 (BI's codes have 3).
IDENTIFIER_LIMITS = {
    "account_number": 34,
    "counterparty_account": 34,
    "counterparty_bank_code": 11,
}
_IDENTIFIER = re.compile(r"[A-Z0-9]+")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IDENTIFIER_SEPARATORS = re.compile(r"[ .\-]")


class Direction(Enum):
    """Which way money moved, as the bank writes it: credit = into the account, debit = out."""

    CREDIT = "credit"
    DEBIT = "debit"


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement:
    """One movement on the account as the statement states it, before it has an id.

    `amount` is positive whole rupiah; `direction` says whether it came in or went
    out. `bank_reference` is the bank's own id for the movement, `sender_reference`
    the reference the sender gave the transfer, `description` its free text (the
    transfer's message). Counterparty fields are filled where the format carries
    them; the bank code is whatever the file gives (BI's code or a BIC).
    """

    booking_date: date
    value_date: date
    direction: Direction
    amount: int
    bank_reference: str | None = None
    sender_reference: str | None = None
    description: str | None = None
    counterparty_account: str | None = None
    counterparty_bank_code: str | None = None
    counterparty_name: str | None = None

    def __post_init__(self) -> None:
        with _Problems() as problems:
            _check_movement(self, problems)

    @property
    def signed_amount(self) -> int:
        """The movement's effect on the balance: + for a credit, - for a debit."""
        return self.amount if self.direction is Direction.CREDIT else -self.amount


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementLine(Movement):
    """A movement of one statement, with its stable id (see the module docstring)."""

    line_id: str


_MOVEMENT_FIELDS = tuple(f.name for f in fields(Movement))
# A movement's optional fields, in order: the tail of every CSV row, and part of a line's id.
_OPTIONAL_FIELDS = (
    "bank_reference",
    "sender_reference",
    "description",
    "counterparty_account",
    "counterparty_bank_code",
    "counterparty_name",
)
_MOVEMENT_TEXT_FIELDS = tuple(name for name in _MOVEMENT_FIELDS if name in TEXT_LIMITS)
_MOVEMENT_IDENTIFIER_FIELDS = tuple(name for name in _MOVEMENT_FIELDS if name in IDENTIFIER_LIMITS)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Header:
    """A statement's fields other than its lines: a parser checks them before the lines."""

    account_number: str
    currency: str
    opening_date: date
    opening_balance: int
    closing_date: date
    closing_balance: int
    statement_reference: str | None = None
    statement_number: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BankStatement(_Header):
    """One escrow account's statement: the balances at both ends and the lines between.

    Build one with `BankStatement.create` (which gives the lines their ids) or
    `parse_statement`. Construction checks every rule of the module docstring.
    """

    lines: tuple[StatementLine, ...]

    def __post_init__(self) -> None:
        with _Problems() as problems:
            _check_header(self, problems, {})
        with _Problems() as problems:
            _check_lines(self, self.lines, _code_labels(self.lines), problems, {})
            for label, line, line_id in zip(
                _code_labels(self.lines), self.lines, _line_ids(self, self.lines), strict=True
            ):
                if line.line_id != line_id:
                    problems.add(
                        label, "line_id", "is not this line's id; use BankStatement.create"
                    )

    @classmethod
    def create(
        cls,
        *,
        account_number: str,
        opening_date: date,
        opening_balance: int,
        closing_date: date,
        closing_balance: int,
        movements: Iterable[Movement],
        currency: str = CURRENCY,
        statement_reference: str | None = None,
        statement_number: str | None = None,
    ) -> BankStatement:
        """The statement of `movements`, in their order, each given its line id."""
        header = _Header(
            account_number=account_number,
            currency=currency,
            opening_date=opening_date,
            opening_balance=opening_balance,
            closing_date=closing_date,
            closing_balance=closing_balance,
            statement_reference=statement_reference,
            statement_number=statement_number,
        )
        movements = list(movements)
        return _assemble(header, movements, _code_labels(movements), {})

    @property
    def statement_id(self) -> str:
        """The statement's identity: one statement, however often downloaded, has one id."""
        return _digest(["statement", *_identity(self)])

    @property
    def total_credits(self) -> int:
        return sum(line.amount for line in self.lines if line.direction is Direction.CREDIT)

    @property
    def total_debits(self) -> int:
        return sum(line.amount for line in self.lines if line.direction is Direction.DEBIT)


def parse_statement(data: bytes, format: StatementFormat) -> BankStatement:
    """Parse a statement file of the given format; `ValidationFailed` says what is wrong where."""
    if format not in ("csv", "mt940"):
        raise _refuse("", "format", f"must be csv or mt940, not {format!r}")
    text = _decode(data)
    return _parse_csv(text) if format == "csv" else _parse_mt940(text)


def detect_statement_format(data: bytes) -> StatementFormat:
    """Which format a statement file is in, judged from its first characters."""
    start = bytes(data[:200]).removeprefix(b"\xef\xbb\xbf").lstrip()
    if start.startswith((b"{1:", b":20:")):
        return "mt940"
    first_row = start.split(b"\n", 1)[0].replace(b'"', b"")
    if first_row.startswith(b"format," + CSV_FORMAT_MARKER.encode()):
        return "csv"
    raise _refuse(
        "",
        "format",
        "the file is neither MT940 (starting :20: or {1:) nor the project's CSV "
        f"(starting format,{CSV_FORMAT_MARKER})",
    )


def statement_csv(statement: BankStatement) -> bytes:
    """The statement in the project's CSV format, with a running balance column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["format", CSV_FORMAT_MARKER])
    writer.writerow(["account_number", statement.account_number])
    writer.writerow(["currency", statement.currency])
    if statement.statement_reference is not None:
        writer.writerow(["statement_reference", statement.statement_reference])
    if statement.statement_number is not None:
        writer.writerow(["statement_number", statement.statement_number])
    writer.writerow(["opening_date", statement.opening_date.isoformat()])
    writer.writerow(["opening_balance", statement.opening_balance])
    writer.writerow(["closing_date", statement.closing_date.isoformat()])
    writer.writerow(["closing_balance", statement.closing_balance])
    writer.writerow([])
    writer.writerow(CSV_COLUMNS)
    balance = statement.opening_balance
    for line in statement.lines:
        balance += line.signed_amount
        writer.writerow(
            [
                line.booking_date.isoformat(),
                line.value_date.isoformat(),
                line.direction.value,
                line.amount,
                balance,
                *(getattr(line, name) or "" for name in _OPTIONAL_FIELDS),
            ]
        )
    return out.getvalue().encode("utf-8")


# --- collecting problems --------------------------------------------------------------


class _TooManyProblems(Exception):
    """Enough problems collected; stop reading the file."""


class _Problems:
    """Problems keyed ``<where>.<field>`` (``line 14.amount``), raised together on exit.

    Used as ``with _Problems() as problems:``; leaving the block raises
    `ValidationFailed` if anything was added, so code after it sees a clean result.
    """

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def __enter__(self) -> _Problems:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None or exc_type is _TooManyProblems:
            self.raise_if_any()

    def add(self, where: str, name: str, problem: str) -> None:
        self.errors.setdefault(f"{where}.{name}" if where else name, problem)
        if len(self.errors) >= MAX_REPORTED_PROBLEMS:
            raise _TooManyProblems

    def count(self) -> int:
        return len(self.errors)

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        key, problem = next(iter(self.errors.items()))
        first = f"{key}: {problem}"
        if len(self.errors) == 1:
            raise ValidationFailed(first, self.errors)
        more = "+" if len(self.errors) >= MAX_REPORTED_PROBLEMS else ""
        raise ValidationFailed(
            f"{len(self.errors)}{more} problems in the statement; the first: {first}",
            self.errors,
        )


def _refuse(where: str, name: str, problem: str) -> ValidationFailed:
    key = f"{where}.{name}" if where else name
    return ValidationFailed(f"{key}: {problem}", {key: problem})


# --- the rules every format shares ----------------------------------------------------


def _code_labels(lines: Sequence[object]) -> list[str]:
    return [f"lines[{index}]" for index in range(len(lines))]


def _check_movement(movement: Movement, problems: _Problems) -> None:
    """A movement built in code holds checked values (parsers check them as they read)."""
    for name in ("booking_date", "value_date"):
        if type(getattr(movement, name)) is not date:
            problems.add("", name, "must be a date")
    if not isinstance(movement.direction, Direction):
        problems.add("", "direction", "must be Direction.CREDIT or Direction.DEBIT")
    problem = _line_amount_problem(movement.amount)
    if problem:
        problems.add("", "amount", problem)
    for name in _MOVEMENT_TEXT_FIELDS:
        value = getattr(movement, name)
        problem = None if value is None else _text_problem(name, value)
        if problem:
            problems.add("", name, problem)
    for name in _MOVEMENT_IDENTIFIER_FIELDS:
        value = getattr(movement, name)
        if value is not None and not _is_identifier(name, value):
            problems.add("", name, _identifier_problem(name))


def _check_header(header: _Header, problems: _Problems, where: dict[str, str]) -> None:
    if header.currency != CURRENCY:
        problems.add(
            where.get("currency", ""),
            "currency",
            f"the escrow account is in rupiah (IDR); this statement is in {header.currency!r}",
        )
    if not _is_identifier("account_number", header.account_number):
        problems.add(
            where.get("account_number", ""), "account_number", _identifier_problem("account_number")
        )
    for name in ("opening_balance", "closing_balance"):
        problem = _balance_problem(getattr(header, name))
        if problem:
            problems.add(where.get(name, ""), name, problem)
    for name in ("opening_date", "closing_date"):
        if type(getattr(header, name)) is not date:
            problems.add(where.get(name, ""), name, "must be a date")
    for name in ("statement_reference", "statement_number"):
        value = getattr(header, name)
        problem = None if value is None else _text_problem(name, value)
        if problem:
            problems.add(where.get(name, ""), name, problem)
    if problems.count() == 0 and header.closing_date < header.opening_date:
        problems.add(
            where.get("closing_date", ""),
            "closing_date",
            f"{header.closing_date} is before the opening balance's date {header.opening_date}",
        )


def _check_lines(
    header: _Header,
    movements: Sequence[Movement],
    labels: Sequence[str],
    problems: _Problems,
    where: dict[str, str],
) -> None:
    """The count bounded, dates in order and inside the period, the balances adding up."""
    if len(movements) > MAX_LINES:
        problems.add("", "lines", f"a statement holds at most {MAX_LINES:,} lines")
        return
    previous: date | None = None
    for movement, label in zip(movements, labels, strict=True):
        booked = movement.booking_date
        if not header.opening_date <= booked <= header.closing_date:
            problems.add(
                label,
                "booking_date",
                f"{booked} is outside the statement period "
                f"{header.opening_date} to {header.closing_date}",
            )
        elif previous is not None and booked < previous:
            problems.add(
                label, "booking_date", f"{booked} is before the previous line's {previous}"
            )
        previous = booked
    if problems.count():
        return
    credits = sum(m.amount for m in movements if m.direction is Direction.CREDIT)
    debits = sum(m.amount for m in movements if m.direction is Direction.DEBIT)
    computed = header.opening_balance + credits - debits
    if computed != header.closing_balance:
        problems.add(
            where.get("closing_balance", ""),
            "closing_balance",
            f"opening {header.opening_balance:,} + credits {credits:,} - debits {debits:,} "
            f"= {computed:,}, but the statement closes at {header.closing_balance:,}",
        )


def _assemble(
    header: _Header, movements: Sequence[Movement], labels: Sequence[str], where: dict[str, str]
) -> BankStatement:
    """The checked statement with its lines' ids; problems name `labels` and `where`."""
    with _Problems() as problems:
        _check_header(header, problems, where)
    with _Problems() as problems:
        _check_lines(header, movements, labels, problems, where)
    lines = tuple(
        StatementLine(
            line_id=line_id, **{name: getattr(movement, name) for name in _MOVEMENT_FIELDS}
        )
        for movement, line_id in zip(movements, _line_ids(header, movements), strict=True)
    )
    return BankStatement(lines=lines, **{f.name: getattr(header, f.name) for f in fields(_Header)})


def _identity(header: _Header) -> list[object]:
    return [
        header.account_number,
        header.currency,
        header.opening_date.isoformat(),
        header.opening_balance,
        header.closing_date.isoformat(),
        header.closing_balance,
    ]


def _line_ids(header: _Header, movements: Sequence[Movement]) -> list[str]:
    """Each line's id: the statement, the line's content, and its rank among identical lines."""
    statement = _identity(header)
    seen: Counter[tuple[object, ...]] = Counter()
    ids: list[str] = []
    for movement in movements:
        content = (
            movement.booking_date.isoformat(),
            movement.value_date.isoformat(),
            movement.direction.value,
            movement.amount,
            *(getattr(movement, name) for name in _OPTIONAL_FIELDS),
        )
        ids.append(_digest(["line", *statement, *content, seen[content]]))
        seen[content] += 1
    return ids


def _digest(parts: list[object]) -> str:
    canonical = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


# --- field rules ----------------------------------------------------------------------


def _line_amount_problem(amount: object) -> str | None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        return "must be whole rupiah (an integer)"
    if amount <= 0:
        return f"must be a positive amount, got {amount:,}"
    if amount > MAX_AMOUNT:
        return f"{amount:,} is more than {MAX_AMOUNT:,} rupiah"
    return None


def _balance_problem(balance: object) -> str | None:
    if isinstance(balance, bool) or not isinstance(balance, int):
        return "must be whole rupiah (an integer)"
    if abs(balance) > MAX_AMOUNT:
        return f"{balance:,} is beyond {MAX_AMOUNT:,} rupiah"
    return None


def _whole_rupiah(
    raw: str, whole: str, sen: str | None, name: str, where: str, problems: _Problems
) -> int | None:
    """The rupiah of an amount's digits; a non-zero sen part or an absurd length is refused."""
    if sen and int(sen):
        problems.add(
            where,
            name,
            f"{raw} has {int(sen.ljust(2, '0'))} sen; statements are in whole rupiah "
            "and are never rounded",
        )
        return None
    digits = whole.lstrip("0") or "0"
    if len(digits) > len(str(MAX_AMOUNT)):  # never turn thousands of digits into an int
        shown = raw if len(raw) <= 24 else f"{raw[:24]}..."
        problems.add(where, name, f"{shown} is beyond {MAX_AMOUNT:,} rupiah")
        return None
    return int(digits)


def _is_identifier(name: str, value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= IDENTIFIER_LIMITS[name]
        and _IDENTIFIER.fullmatch(value) is not None
    )


def _identifier_problem(name: str) -> str:
    return (
        f"must be 1 to {IDENTIFIER_LIMITS[name]} letters or digits "
        "(spaces, dots and hyphens are dropped)"
    )


def _forbidden_character(text: str) -> str | None:
    """The first character a text field may not hold, described, or None."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return None  # the common case, without a look at each character
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            kind = {
                "Cc": "a control character",
                "Cf": "an invisible format character, such as a bidi control",
                "Zl": "a line separator",
                "Zp": "a paragraph separator",
            }.get(category, "a character that is not text")
            return f"U+{ord(char):04X} ({kind})"
    return None


def _text_problem(name: str, value: object) -> str | None:
    """What is wrong with a text value as a statement holds it, or None."""
    if not isinstance(value, str):
        return "must be text"
    forbidden = _forbidden_character(value)
    if forbidden:
        return f"contains {forbidden}; remove it and import again"
    if not value or value != value.strip() or not unicodedata.is_normalized("NFC", value):
        return "must be trimmed, NFC-normalised text, and not empty (leave it out instead)"
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit}"
    return None


def _read_text(raw: str, name: str, where: str, problems: _Problems) -> str | None:
    """A text field as read from a file: normalised, and None when empty or refused."""
    forbidden = _forbidden_character(raw)
    if forbidden:
        problems.add(where, name, f"contains {forbidden}; remove it and import again")
        return None
    value = unicodedata.normalize("NFC", raw).strip()
    if not value:
        return None
    problem = _text_problem(name, value)
    if problem:
        problems.add(where, name, problem)
        return None
    return value


def _read_identifier(raw: str, name: str, where: str, problems: _Problems) -> str | None:
    """An account number or bank code as read from a file; None when empty or refused."""
    value = _IDENTIFIER_SEPARATORS.sub("", raw)
    if not value:
        return None
    value = value.upper() if value.isascii() else value
    if not _is_identifier(name, value):
        problems.add(where, name, _identifier_problem(name))
        return None
    return value


def _decode(data: bytes) -> str:
    if not isinstance(data, bytes | bytearray):
        raise _refuse("", "file", "must be bytes")
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(
            "", "file", f"{len(data):,} bytes; a statement file is at most {MAX_FILE_BYTES:,}"
        )
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise _refuse(
            f"line {line}", "encoding", "is not UTF-8 text (export or save the file as UTF-8)"
        ) from None
    return text.removeprefix("\ufeff")


# --- CSV ------------------------------------------------------------------------------

CSV_COLUMNS = ("booking_date", "value_date", "direction", "amount", "balance", *_OPTIONAL_FIELDS)
_CSV_REQUIRED_COLUMNS = ("booking_date", "direction", "amount")
_CSV_REQUIRED_KEYS = (
    "account_number",
    "currency",
    "opening_date",
    "opening_balance",
    "closing_date",
    "closing_balance",
)
CSV_KEYS = (*_CSV_REQUIRED_KEYS, "statement_reference", "statement_number")
_CSV_DIRECTIONS = {
    "credit": Direction.CREDIT,
    "cr": Direction.CREDIT,
    "debit": Direction.DEBIT,
    "db": Direction.DEBIT,
}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CSV_RUPIAH = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,2}))?")


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells without surrounding spaces) per non-blank row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _refuse(
                f"line {reader.line_num}", "format", f"is not valid CSV ({error})"
            ) from None
        cells = [cell.strip(" ") for cell in row]
        if any(cells):  # spreadsheets write empty rows as ",,,,"
            yield reader.line_num, cells


def _parse_csv(text: str) -> BankStatement:
    rows = _csv_rows(text)
    first = next(rows, None)
    if first is None or first[1][:2] != ["format", CSV_FORMAT_MARKER] or any(first[1][2:]):
        raise _refuse(
            f"line {first[0] if first else 1}",
            "format",
            f"the first row must be format,{CSV_FORMAT_MARKER} "
            "(this is not the project's CSV statement)",
        )
    with _Problems() as problems:
        values, where, columns = _csv_preamble(rows, problems)
    with _Problems() as problems:
        header = _csv_header(values, where, problems)
        movements, labels = _csv_movements(rows, columns, header.opening_balance, problems)
    return _assemble(header, movements, labels, where)


def _csv_preamble(
    rows: Iterator[tuple[int, list[str]]], problems: _Problems
) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """The preamble's values, the line each was on, and the table's columns by name."""
    values: dict[str, str] = {}
    where: dict[str, str] = {}
    for line, cells in rows:
        key, value, rest = cells[0], (cells[1] if len(cells) > 1 else ""), cells[2:]
        if key in CSV_COLUMNS:  # no column is named like a preamble key
            return values, where, _csv_columns(line, cells, problems)
        if key not in CSV_KEYS:
            problems.add(
                f"line {line}",
                key or "key",
                f"is not a statement field ({', '.join(CSV_KEYS)}); "
                "the table starts with a header row of column names",
            )
        elif key in values:
            problems.add(f"line {line}", key, f"appears twice (first on {where[key]})")
        else:
            if any(rest):
                problems.add(f"line {line}", key, "has cells after its value")
            values[key] = value
            where[key] = f"line {line}"
    raise _refuse("", "columns", "the file has no header row (booking_date,direction,amount,...)")


def _csv_columns(line: int, cells: list[str], problems: _Problems) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(cells):
        if not name:
            continue  # spreadsheets pad rows with empty cells
        if name not in CSV_COLUMNS:
            problems.add(f"line {line}", name, f"is not a column ({', '.join(CSV_COLUMNS)})")
        elif name in columns:
            problems.add(f"line {line}", name, "is a column twice")
        else:
            columns[name] = index
    for name in _CSV_REQUIRED_COLUMNS:
        if name not in columns:
            problems.add(f"line {line}", name, "column is required")
    return columns


def _csv_header(values: dict[str, str], where: dict[str, str], problems: _Problems) -> _Header:
    for key in _CSV_REQUIRED_KEYS:
        if not values.get(key):
            problems.add(where.get(key, ""), key, "is required: a row key,value above the table")
    problems.raise_if_any()

    def rupiah(key: str) -> int | None:
        return _csv_rupiah(values[key], key, where[key], problems, signed=True)

    def text(key: str) -> str | None:
        return _read_text(values.get(key, ""), key, where.get(key, ""), problems)

    account = _read_identifier(
        values["account_number"], "account_number", where["account_number"], problems
    )
    opening_date = _csv_date(
        values["opening_date"], "opening_date", where["opening_date"], problems
    )
    closing_date = _csv_date(
        values["closing_date"], "closing_date", where["closing_date"], problems
    )
    opening, closing = rupiah("opening_balance"), rupiah("closing_balance")
    reference, number = text("statement_reference"), text("statement_number")
    problems.raise_if_any()
    assert account is not None and opening_date is not None and closing_date is not None
    assert opening is not None and closing is not None
    return _Header(
        account_number=account,
        currency=values["currency"],
        opening_date=opening_date,
        opening_balance=opening,
        closing_date=closing_date,
        closing_balance=closing,
        statement_reference=reference,
        statement_number=number,
    )


def _csv_movements(
    rows: Iterator[tuple[int, list[str]]],
    columns: dict[str, int],
    opening_balance: int,
    problems: _Problems,
) -> tuple[list[Movement], list[str]]:
    """Each row's movement and its label; a balance column is checked as a running balance."""
    movements: list[Movement] = []
    labels: list[str] = []
    running: int | None = opening_balance
    named = set(columns.values())
    for line, cells in rows:
        if len(labels) >= MAX_LINES:
            raise _refuse("", "lines", f"a statement holds at most {MAX_LINES:,} lines")
        where = f"line {line}"
        labels.append(where)
        if any(cell for index, cell in enumerate(cells) if index not in named):
            problems.add(where, "cells", "has a value in a column without a name")

        def cell(name: str, cells: list[str] = cells) -> str:
            index = columns.get(name)
            return cells[index] if index is not None and index < len(cells) else ""

        movement = _csv_movement(where, cell, problems)
        if movement is not None:
            movements.append(movement)
        if "balance" in columns:
            running = _check_running_balance(where, cell("balance"), running, movement, problems)
    return movements, labels


def _check_running_balance(
    where: str, raw: str, running: int | None, movement: Movement | None, problems: _Problems
) -> int | None:
    """The balance after this row (None once unknown), checked against the row's own."""
    stated = _csv_rupiah(raw, "balance", where, problems, signed=True)
    if not raw:
        problems.add(where, "balance", "is required in every row when the column is there")
    if running is None or movement is None:
        return stated
    running += movement.signed_amount
    if stated is not None and stated != running:
        problems.add(
            where, "balance", f"says {stated:,}, but the balance after this line is {running:,}"
        )
        return stated
    return running


def _csv_movement(where: str, cell: Callable[[str], str], problems: _Problems) -> Movement | None:
    before = problems.count()
    for name in _CSV_REQUIRED_COLUMNS:
        if not cell(name):
            problems.add(where, name, "is required")
    if problems.count() > before:
        return None
    booking = _csv_date(cell("booking_date"), "booking_date", where, problems)
    value = (
        _csv_date(cell("value_date"), "value_date", where, problems)
        if cell("value_date")
        else booking
    )
    direction = _CSV_DIRECTIONS.get(cell("direction").lower())
    if direction is None:
        problems.add(where, "direction", "must be credit (money in) or debit (money out)")
    amount = _csv_rupiah(cell("amount"), "amount", where, problems, signed=False)
    text = {
        name: _read_text(cell(name), name, where, problems)
        for name in ("bank_reference", "sender_reference", "description", "counterparty_name")
    }
    identifiers = {
        name: _read_identifier(cell(name), name, where, problems)
        for name in ("counterparty_account", "counterparty_bank_code")
    }
    if problems.count() > before:
        return None
    assert booking is not None and value is not None
    assert direction is not None and amount is not None
    return Movement(
        booking_date=booking,
        value_date=value,
        direction=direction,
        amount=amount,
        **text,
        **identifiers,
    )


def _csv_date(raw: str, name: str, where: str, problems: _Problems) -> date | None:
    if not _ISO_DATE.fullmatch(raw):
        problems.add(where, name, f"{raw!r} is not a date written YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.add(where, name, f"{raw!r} is not a real date")
        return None


def _csv_rupiah(
    raw: str, name: str, where: str, problems: _Problems, *, signed: bool
) -> int | None:
    """Whole rupiah: digits, a minus for a balance, an optional all-zero ``.00``; None if empty."""
    if not raw:
        return None
    match = _CSV_RUPIAH.fullmatch(raw)
    if match is None or (match.group(1) and not signed):
        expected = "whole rupiah in digits, without thousands separators"
        if not signed:
            expected += " (the direction column says whether it came in or went out)"
        problems.add(where, name, f"{raw!r} is not {expected}")
        return None
    sign, whole, sen = match.groups()
    amount = _whole_rupiah(raw, whole, sen, name, where, problems)
    if amount is None:
        return None
    amount = -amount if sign else amount
    problem = _balance_problem(amount) if signed else _line_amount_problem(amount)
    if problem:
        problems.add(where, name, problem)
        return None
    return amount


# --- MT940 ----------------------------------------------------------------------------

_SWIFT_BLOCK = r"\{[1-3]:(?:[^{}]|\{[^{}]*\})*\}"
_SWIFT_TRAILER = r"(?:\{5:(?:[^{}]|\{[^{}]*\})*\})*"
_ENVELOPE_START = re.compile(rf"(?:{_SWIFT_BLOCK})*\{{4:(.*)")
_ENVELOPE_END = re.compile(rf"-\}}{_SWIFT_TRAILER}(.*)|-")
_TRAILER_ONLY = re.compile(rf"\{{5:(?:[^{{}}]|\{{[^{{}}]*\}})*\}}{_SWIFT_TRAILER}")
_TAG = re.compile(r":([0-9]{2}[A-Z]?):(.*)")
_BALANCE = re.compile(r"([CD])([0-9]{6})([A-Z]{3})([0-9][0-9,]*)")
_STATEMENT_LINE = re.compile(
    r"(?P<value>[0-9]{6})(?P<entry>[0-9]{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>[0-9][0-9,]*)(?P<type>[NFS][A-Z0-9]{3})"
    r"(?P<customer>(?:(?!//).)*)(?://(?P<bank>.*))?"
)
_MT940_AMOUNT = re.compile(r"([0-9]+),([0-9]{0,2})")
_STATEMENT_NUMBER = re.compile(r"[0-9]{1,5}(?:/[0-9]{1,5})?")
# SWIFT text lines hold 65 characters: a full line was cut mid-word, a shorter one was not.
_SWIFT_LINE_WIDTH = 65

# The MT940 field order: each tag, the position it takes, and the positions it may follow.
# Positions: 0 :20:, 1 :21:, 2 :25:, 3 :28C:, 4 :60a:, 5 :61:, 6 a line's :86:,
# 7 :62a:, 8 :64:, 9 :65:, 10 the statement's closing :86:.
_FIELD_ORDER: dict[str, tuple[int, frozenset[int]]] = {
    "20": (0, frozenset()),
    "21": (1, frozenset({0})),
    "25": (2, frozenset({0, 1})),
    "28C": (3, frozenset({2})),
    "28": (3, frozenset({2})),
    "60F": (4, frozenset({3})),
    "60M": (4, frozenset({3})),
    "61": (5, frozenset({4, 5, 6})),
    "62F": (7, frozenset({4, 5, 6})),
    "62M": (7, frozenset({4, 5, 6})),
    "64": (8, frozenset({7})),
    "65": (9, frozenset({7, 8, 9})),
}
_ORDER_HINT = ":20: :25: :28C: :60F: then :61: (each with an optional :86:) then :62F:"


@dataclass(frozen=True, slots=True)
class _Field:
    """One MT940 field: its tag, the file line it starts on, and its text lines."""

    tag: str
    line: int
    parts: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"line {self.line}"


@dataclass(frozen=True, slots=True)
class _Balance:
    tag: str
    day: date
    amount: int
    where: str


@dataclass(slots=True)
class _Message:
    """One MT940 message (a page or a day of the statement) while it is read."""

    first_line: int
    reference: str | None = None
    account: str | None = None
    number: str | None = None
    opening: _Balance | None = None
    closing: _Balance | None = None
    movements: list[Movement] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    position: int = 0
    last_line_read: bool = False  # whether the latest :61: was read without problems


def _mt940_fields(text: str) -> Iterator[_Field | None]:
    """The file's fields in order; None where a SWIFT envelope opens or closes a message."""
    tag: str | None = None
    start = 0
    parts: list[str] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip(" ")
        boundary = False
        end = _ENVELOPE_END.fullmatch(line)
        if end:
            boundary, line = True, (end.group(1) or "").strip(" ")
        begin = _ENVELOPE_START.fullmatch(line) if line.startswith("{") else None
        if line.startswith("{") and begin is None and not _TRAILER_ONLY.fullmatch(line):
            raise _refuse(f"line {number}", "format", "is not a SWIFT envelope ({1:...}{4:)")
        if begin:
            boundary, line = True, begin.group(1).strip(" ")
        elif line.startswith("{"):
            line = ""  # a {5:...} trailer on its own line
        match = _TAG.fullmatch(line)
        if (boundary or match) and tag is not None:
            yield _Field(tag, start, tuple(parts))
            tag = None
        if boundary:
            yield None
        if match:
            tag, start, parts = match.group(1), number, [match.group(2)]
        elif line.strip(" "):
            if tag not in ("61", "86"):
                raise _refuse(
                    f"line {number}",
                    "format",
                    "is neither an MT940 field (:NN:) nor the continuation of a :61: or :86:",
                )
            parts.append(line)
    if tag is not None:
        yield _Field(tag, start, tuple(parts))


def _parse_mt940(text: str) -> BankStatement:
    messages: list[_Message] = []
    with _Problems() as problems:
        message: _Message | None = None
        line_count = 0
        for item in _mt940_fields(text):
            if item is None or item.tag == "20":
                if message is not None:
                    messages.append(_finish_message(message))
                message = None if item is None else _Message(first_line=item.line)
                if item is None:
                    continue
            if message is None:
                raise _refuse(item.where, "format", f":{item.tag}: comes before the :20: reference")
            if item.tag == "61":
                line_count += 1
                if line_count > MAX_LINES:
                    raise _refuse("", "lines", f"a statement holds at most {MAX_LINES:,} lines")
            _read_field(message, item, problems)
        if message is not None:
            messages.append(_finish_message(message))
    if not messages:
        raise _refuse("", "format", "the file holds no MT940 message (:20: ... :62F:)")
    return _join_messages(messages)


def _advance(message: _Message, item: _Field) -> None:
    """Move the message to the field's position, refusing fields out of the MT940 order."""
    if item.tag == "86":
        if message.position == 5:
            message.position = 6
            return
        if message.position in (7, 8, 9):
            message.position = 10
            return
        raise _refuse(
            item.where, "format", f":86: must follow a :61: or the closing balance ({_ORDER_HINT})"
        )
    if item.tag not in _FIELD_ORDER:
        raise _refuse(item.where, "format", f":{item.tag}: is not a field of an MT940 statement")
    position, after = _FIELD_ORDER[item.tag]
    if item.tag != "20" and message.position not in after:
        raise _refuse(item.where, "format", f":{item.tag}: is out of order ({_ORDER_HINT})")
    message.position = position


def _read_field(message: _Message, item: _Field, problems: _Problems) -> None:
    _advance(message, item)
    tag, where, value = item.tag, item.where, " ".join(item.parts)
    if tag == "20":
        message.reference = _read_text(value, "statement_reference", where, problems)
    elif tag == "25":
        # Some banks write the account as <bank identifier>/<account number>.
        account = _read_identifier(value.rsplit("/", 1)[-1], "account_number", where, problems)
        if account is None and problems.count() == 0:
            problems.add(where, "account_number", "is required")
        message.account = account
    elif tag in ("28C", "28"):
        if not _STATEMENT_NUMBER.fullmatch(value.strip(" ")):
            problems.add(where, "statement_number", "must be a number, optionally /sequence")
        message.number = value.strip(" ")
    elif tag in ("60F", "60M", "62F", "62M", "64", "65"):
        balance = _mt940_balance(value, where, problems)
        if balance is not None and tag[:2] in ("60", "62"):
            entry = _Balance(tag, balance[0], balance[1], where)
            if tag.startswith("60"):
                message.opening = entry
            else:
                message.closing = entry
    elif tag == "61":
        movement = _mt940_movement(item, problems)
        message.last_line_read = movement is not None
        if movement is not None:
            message.movements.append(movement)
            message.labels.append(where)
    elif tag == "86" and message.position == 6 and message.last_line_read:
        _attach_information(message, item, problems)


def _mt940_balance(value: str, where: str, problems: _Problems) -> tuple[date, int] | None:
    match = _BALANCE.fullmatch(value.strip(" "))
    if match is None:
        problems.add(where, "balance", "must be C or D, YYMMDD, currency, amount (C240115IDR0,00)")
        return None
    mark, yymmdd, currency, raw_amount = match.groups()
    if currency != CURRENCY:
        problems.add(
            where,
            "currency",
            f"the escrow account is in rupiah (IDR); this statement is in {currency!r}",
        )
        return None
    day = _swift_date(yymmdd, where, "date", problems)
    amount = _mt940_amount(raw_amount, where, "balance", problems)
    if day is None or amount is None:
        return None
    balance = -amount if mark == "D" else amount
    problem = _balance_problem(balance)
    if problem:
        problems.add(where, "balance", problem)
        return None
    return day, balance


def _mt940_amount(raw: str, where: str, name: str, problems: _Problems) -> int | None:
    match = _MT940_AMOUNT.fullmatch(raw)
    if match is None:
        problems.add(where, name, f"{raw!r} must be digits with a decimal comma (1500000,00)")
        return None
    whole, sen = match.groups()
    return _whole_rupiah(raw, whole, sen, name, where, problems)


def _swift_date(yymmdd: str, where: str, name: str, problems: _Problems) -> date | None:
    try:
        return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        problems.add(where, name, f"{yymmdd} is not a real date (YYMMDD)")
        return None


def _entry_date(value_date: date, mmdd: str, where: str, problems: _Problems) -> date | None:
    """The booking (entry) date MMDD, in the year that puts it nearest the value date."""
    candidates: list[date] = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not candidates:
        problems.add(where, "booking_date", f"{mmdd} is not a real date (MMDD)")
        return None
    return min(candidates, key=lambda day: abs((day - value_date).days))


def _mt940_movement(item: _Field, problems: _Problems) -> Movement | None:
    where = item.where
    match = _STATEMENT_LINE.fullmatch(item.parts[0].strip(" "))
    if match is None:
        problems.add(
            where,
            "format",
            "a :61: line is YYMMDD[MMDD], C/D/RC/RD, amount, type code, "
            "reference[//bank reference]",
        )
        return None
    before = problems.count()
    value_date = _swift_date(match["value"], where, "value_date", problems)
    booking = value_date
    if value_date is not None and match["entry"]:
        booking = _entry_date(value_date, match["entry"], where, problems)
    amount = _mt940_amount(match["amount"], where, "amount", problems)
    problem = None if amount is None else _line_amount_problem(amount)
    if problem:
        problems.add(where, "amount", problem)
    # A reversed credit takes money out again; a reversed debit puts it back.
    direction = Direction.CREDIT if match["mark"] in ("C", "RD") else Direction.DEBIT
    customer = match["customer"].strip(" ")
    sender_reference = _read_text(
        "" if customer.upper() == "NONREF" else customer, "sender_reference", where, problems
    )
    bank_reference = _read_text(match["bank"] or "", "bank_reference", where, problems)
    supplementary = _read_text(" ".join(item.parts[1:]), "description", where, problems)
    if problems.count() > before:
        return None
    assert value_date is not None and booking is not None and amount is not None
    return Movement(
        booking_date=booking,
        value_date=value_date,
        direction=direction,
        amount=amount,
        bank_reference=bank_reference,
        sender_reference=sender_reference,
        description=supplementary,
    )


def _attach_information(message: _Message, item: _Field, problems: _Problems) -> None:
    """A line's :86: text becomes its description, after any :61: supplementary details."""
    joined = item.parts[0]
    for previous, part in pairwise(item.parts):
        joined += ("" if len(previous) >= _SWIFT_LINE_WIDTH else " ") + part
    last = message.movements[-1]
    combined = " ".join(part for part in (last.description, joined) if part)
    description = _read_text(combined, "description", item.where, problems)
    message.movements[-1] = replace(last, description=description)


def _finish_message(message: _Message) -> _Message:
    if message.closing is None and message.position < 7:
        where = f"line {message.first_line}"
        raise _refuse(
            where,
            "format",
            f"the message starting here has no closing balance (:62F:); {_ORDER_HINT}",
        )
    return message


def _join_messages(messages: list[_Message]) -> BankStatement:
    """One statement from messages that continue each other (pages or consecutive days)."""
    first, last = messages[0], messages[-1]
    for previous, message in pairwise(messages):
        assert previous.closing is not None and message.opening is not None
        if message.account != first.account:
            raise _refuse(
                f"line {message.first_line}",
                "account_number",
                f"the file holds statements of two accounts ({first.account} and "
                f"{message.account}); import one account at a time",
            )
        closing, opening = previous.closing, message.opening
        if opening.amount != closing.amount or opening.day < closing.day:
            raise _refuse(
                opening.where,
                "opening_balance",
                f"{opening.amount:,} on {opening.day} does not continue the previous "
                f"message's closing balance {closing.amount:,} on {closing.day}",
            )
        if (closing.tag == "62M") != (opening.tag == "60M"):
            raise _refuse(
                opening.where,
                "format",
                "a page closing with :62M: goes on with :60M:, and :60M: only follows a :62M:",
            )
    assert first.opening is not None and last.closing is not None
    if first.opening.tag == "60M":
        raise _refuse(
            first.opening.where, "format", "the file starts in the middle of a statement (:60M:)"
        )
    if last.closing.tag != "62F":
        raise _refuse(
            last.closing.where,
            "format",
            "the file ends on an intermediate balance (:62M:); the statement goes on elsewhere",
        )
    with _Problems() as problems:
        for message in messages:
            _check_lines(
                _message_header(first, message.opening, message.closing),
                message.movements,
                message.labels,
                problems,
                {"closing_balance": message.closing.where if message.closing else ""},
            )
    return _assemble(
        _message_header(first, first.opening, last.closing),
        [movement for message in messages for movement in message.movements],
        [label for message in messages for label in message.labels],
        {"closing_balance": last.closing.where},
    )


def _message_header(first: _Message, opening: _Balance | None, closing: _Balance | None) -> _Header:
    assert first.account is not None and opening is not None and closing is not None
    return _Header(
        account_number=first.account,
        currency=CURRENCY,
        opening_date=opening.day,
        opening_balance=opening.amount,
        closing_date=closing.day,
        closing_balance=closing.amount,
        statement_reference=first.reference,
        statement_number=first.number,
    )
