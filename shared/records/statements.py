"""What the store keeps about the escrow account's bank statements
(docs/lending-rules.md#deposits-and-withdrawals).

`bank_statements/<statement id>`: one imported statement: its period, opening and closing
balances (the closing balance is what reconciliation compares escrow cash with, as of the
period's last day, the cut-off) and the import's progress. Statements follow one another:
each opens the day after the previous one closed, with its closing balance.

`statement_lines/<line id>`: one line. Every line moves escrow cash, so every line is
accounted for:
- money in is posted at import to suspense (escrow cash / suspense), `in_suspense`; a
  deposit matched to it (`matched`) and confirmed takes it out of suspense to the lender
  (`claimed`); a returned withdrawal explains it (`explained`);
- money out is `explained` by the confirmed withdrawal (or manual entry) carrying its bank
  reference, or stays `unexplained` until one does; reconciliation lists it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict

from shared.domain.maker_checker import Made
from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository

BANK_STATEMENTS = "bank_statements"
STATEMENT_LINES = "statement_lines"

LineState = Literal["in_suspense", "matched", "claimed", "explained", "unexplained"]


class StatementRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    format: str
    account_number_masked: str
    bank_reference: str | None = None
    period_start: date
    period_end: date  # the cut-off
    opening_balance: int
    closing_balance: int
    line_count: int
    credits: int
    debits: int
    content_hash: str
    state: Literal["importing", "imported"] = "importing"
    lines_imported: int = 0
    # As imported: money in posted to suspense, money out that no withdrawal explained yet.
    lines_to_suspense: int = 0
    lines_unexplained: int = 0
    imported: Made
    updated_at: Instant


class Counterparty(Model):
    """The other side of a line, as far as the statement names it (number masked and hashed)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    bank_code: str | None = None
    account_number_masked: str | None = None
    account_number_hash: str | None = None
    name: str | None = None


class StatementLineRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    statement_id: str
    position: int  # 1-based, in the statement
    booking_date: date
    value_date: date
    direction: Literal["credit", "debit"]  # credit: money into the escrow account
    amount: int
    bank_reference: str | None = None  # the bank's own id of the movement
    sender_reference: str | None = None  # the reference the sender gave the transfer
    description: str | None = None  # the transfer's free text
    counterparty: Counterparty
    state: LineState
    entry_id: str | None = None  # the suspense entry of money in
    deposit_id: str | None = None
    withdrawal_id: str | None = None
    loan_id: str | None = None  # an outgoing line: the payout of this loan
    manual_entry_id: str | None = None
    imported_at: Instant
    updated_at: Instant


class Statements(Repository[StatementRecord]):
    collection = BANK_STATEMENTS
    model = StatementRecord


class StatementLines(Repository[StatementLineRecord]):
    collection = STATEMENT_LINES
    model = StatementLineRecord
