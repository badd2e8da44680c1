"""What the store keeps about reconciliations (docs/lending-rules.md#reconciliation).

- `reconciliations/<run id>`: one run — queued on demand or run daily — and what it found.
- `ledger_checkpoints/<day>` and `ledger_checkpoint_chunks/<day>-<n>`: every account's
  balance at the end of a Jakarta day, as the journal adds up (not as the balance documents
  say), written by that day's run; the next day's run starts from it, so a run reads one
  day of entries, not the whole journal. The header is written last: a checkpoint without
  its header is incomplete and never read.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict

from shared.domain.maker_checker import Made
from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository

RECONCILIATIONS = "reconciliations"
LEDGER_CHECKPOINTS = "ledger_checkpoints"
CHECKPOINT_CHUNKS = "ledger_checkpoint_chunks"
CHECKPOINT_CHUNK_ACCOUNTS = 5_000  # ~250 KB a document, far inside 1 MiB
MAX_LISTED_PROBLEMS = 200
MAX_LISTED_ITEMS = 200

RunKind = Literal["daily", "on_demand"]
RunState = Literal["queued", "running", "passed", "failed"]


class Problem(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    check: str
    message: str
    account: str | None = None
    entry_id: str | None = None


class EscrowFigures(Model):
    """Both sides of the escrow identity, as the journal adds up."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    escrow_cash: int
    held_for_others: int
    platform_unswept: int
    difference: int


class InTransit(Model):
    """An escrow movement the ledger has and the latest statement does not show yet."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    entry_id: str
    value_date: date
    change: int  # to escrow cash: + in, − out
    bank_reference: str | None = None


class OpenLine(Model):
    """A statement line not yet accounted to anyone: money in suspense, money out unexplained."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    line_id: str
    statement_id: str
    state: str
    direction: str
    amount: int
    value_date: date


class StatementCheck(Model):
    """Escrow cash as of the latest statement's cut-off against its closing balance."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    statement_id: str
    cut_off: date
    closing_balance: int
    ledger_at_cut_off: int
    difference: int
    in_transit: tuple[InTransit, ...]
    in_transit_total: int
    open_lines: tuple[OpenLine, ...]
    open_lines_count: int


class ReconciliationRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: RunKind
    day: date  # daily: the day checked; on demand: the day it was asked on
    state: RunState
    requested: Made | None = None
    queued_at: Instant
    started_at: Instant | None = None
    finished_at: Instant | None = None
    read_time: Instant | None = None
    since_checkpoint: date | None = None  # the checkpoint the run started from
    entries_checked: int = 0
    accounts_checked: int = 0
    problems: tuple[Problem, ...] = ()
    problem_count: int = 0
    escrow: EscrowFigures | None = None
    statement: StatementCheck | None = None
    outstanding_funding: int = 0  # loan principal owed plus lenders' commitments
    # The part of it non-professional lenders hold, from their stakes (participations).
    non_professional_funding: int = 0
    duration_ms: int | None = None


class Reconciliations(Repository[ReconciliationRecord]):
    collection = RECONCILIATIONS
    model = ReconciliationRecord


class CheckpointRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    day: date
    chunks: int
    accounts: int
    run_id: str


class CheckpointChunk(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str  # <day>-<n>
    day: date
    accounts: tuple[str, ...]
    balances: tuple[int, ...]
