"""The Firestore indexes and TTL policies the platform needs, declared once, as data.

Firestore answers every query from an index. It keeps a single-field index of
every field by itself, and those serve a filter or a sort on one field and any
conjunction of equality filters (`==`, `in`: it merges single-field indexes).
Anything else — equality filters on some fields with a sort or a range on
another — needs a *composite* index created ahead of time, or the query fails
in the cloud with FAILED_PRECONDITION, while the local emulator, which needs no
indexes, answers it happily. So:

- `COMPOSITE_INDEXES` is every composite index, each with the query it serves.
  The Pulumi program (`infra/components/platform.py`) creates exactly these;
  `required_index(collection, where, order_by)` says which index a query needs,
  and `tests/infra/test_indexes.py` runs every query in `shared/services`
  against a recording store and checks each has its index here — and that no
  index here goes unused (each one costs a write per document change). Adding
  a query with a new shape means adding its index here, nowhere else.
- `TTL_POLICIES` are the collections Firestore empties by itself: each document
  there carries a timestamp in `TTL_FIELD` (`expire_at`) and Firestore deletes
  it some time after that instant (typically within a day: nothing may rely on
  the deletion happening at the instant). The field is exempt from indexing —
  nothing queries it, and indexing an ever-increasing timestamp would hot-spot.

Pure data and pure functions: no Google imports, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shared.platform.idempotency import IDEMPOTENCY_KEYS, PROCESSED_EVENTS
from shared.platform.outbox import OUTBOX
from shared.platform.store import Operator, OrderBy, Where
from shared.records.credit_decisions import CREDIT_DECISIONS
from shared.records.deposits import DEPOSITS
from shared.records.ledger import LEDGER_ENTRIES
from shared.records.loans import LOANS
from shared.records.manual_entries import MANUAL_ENTRIES
from shared.records.participations import PARTICIPATIONS
from shared.records.payments import LENDER_RECEIPTS, PAYMENTS
from shared.records.products import PRODUCT_VERSIONS
from shared.records.reconciliations import RECONCILIATIONS
from shared.records.reminders import REMINDERS
from shared.records.statements import STATEMENT_LINES
from shared.records.tax_documents import TAX_DOCUMENTS
from shared.records.users import ROLE_GRANTS
from shared.records.withdrawals import WITHDRAWALS

IndexMode = Literal["ASCENDING", "DESCENDING", "CONTAINS"]

# Filters Firestore serves by merging single-field indexes when nothing is sorted.
EQUALITY_OPERATORS: frozenset[Operator] = frozenset({"==", "in", "array_contains"})


@dataclass(frozen=True)
class IndexedField:
    """One field of a composite index: ordered either way, or `CONTAINS` for array membership."""

    path: str
    mode: IndexMode = "ASCENDING"


def asc(path: str) -> IndexedField:
    return IndexedField(path, "ASCENDING")


def desc(path: str) -> IndexedField:
    return IndexedField(path, "DESCENDING")


@dataclass(frozen=True)
class CompositeIndex:
    """A composite index on one collection (collection scope), and the query it exists for."""

    collection: str
    fields: tuple[IndexedField, ...]
    serves: str  # the use case and the question it asks

    @property
    def key(self) -> str:
        """Stable and readable, e.g. `loans.borrower_id.submitted_at-desc` (resource names)."""
        suffix = {"ASCENDING": "", "DESCENDING": "-desc", "CONTAINS": "-contains"}
        return ".".join([self.collection, *(f.path + suffix[f.mode] for f in self.fields)])

    def answers(self, collection: str, needed: IndexRequirement) -> bool:
        """True when this index serves a query that needs `needed`.

        Its leading fields are the query's equality fields, in any order and either
        direction; the rest are the query's sort, in order, with the same directions.
        """
        lead = self.fields[: len(needed.equalities)]
        return (
            collection == self.collection
            and len(self.fields) == len(needed.equalities) + len(needed.sort)
            and _as_equalities(lead) == _as_equalities(needed.equalities)
            and self.fields[len(needed.equalities) :] == needed.sort
        )


@dataclass(frozen=True)
class IndexRequirement:
    """What a query needs: its equality fields (any order), then its sort (in order)."""

    equalities: tuple[IndexedField, ...]
    sort: tuple[IndexedField, ...]


COMPOSITE_INDEXES: tuple[CompositeIndex, ...] = (
    CompositeIndex(
        LOANS,
        (asc("borrower_id"), desc("submitted_at"), desc("id")),
        "list_applications: a borrower's applications, newest first",
    ),
    CompositeIndex(
        LOANS,
        (asc("borrower_id"), asc("state"), desc("submitted_at"), desc("id")),
        "list_applications: a borrower's applications in one state, newest first",
    ),
    CompositeIndex(
        LOANS,
        (desc("submitted_at"), desc("id")),
        "list_applications: every application (admins), newest first",
    ),
    CompositeIndex(
        LOANS,
        (asc("state"), desc("submitted_at"), desc("id")),
        "list_applications: every application in one state (admins), newest first",
    ),
    CompositeIndex(
        LOANS,
        (asc("state"), asc("submitted_at"), asc("id")),
        "review_queue: applications in review, oldest submission first",
    ),
    CompositeIndex(
        PRODUCT_VERSIONS,
        (asc("product_id"), desc("version")),
        "propose_product_version, product_history: a product's versions, newest first",
    ),
    CompositeIndex(
        TAX_DOCUMENTS,
        (asc("user_id"), desc("filed_at")),
        "tax_documents_of: a lender's tax documents, newest first",
    ),
    CompositeIndex(
        ROLE_GRANTS,
        (asc("state"), desc("proposed_at")),
        "list_role_grants: pending (or decided) grants, newest first",
    ),
    CompositeIndex(
        OUTBOX,
        (asc("published_at"), asc("created_at")),
        "relay_outbox: entries still unpublished past the grace period, oldest first",
    ),
    # --- money: deposits, withdrawals, statements, the ledger and its reconciliation ---
    CompositeIndex(
        DEPOSITS,
        (asc("lender_id"), desc("declared_at"), desc("id")),
        "deposits_of: a lender's deposits, newest first",
    ),
    CompositeIndex(
        DEPOSITS,
        (desc("declared_at"), desc("id")),
        "find_deposits: every deposit in a period, newest first",
    ),
    CompositeIndex(
        DEPOSITS,
        (asc("state"), desc("declared_at"), desc("id")),
        "find_deposits: deposits in one state, newest first",
    ),
    CompositeIndex(
        PAYMENTS,
        (asc("state"), desc("received_at"), desc("id")),
        "find_gateway_payments: gateway payments in one state (in suspense), newest first",
    ),
    CompositeIndex(
        WITHDRAWALS,
        (asc("lender_id"), desc("requested_at"), desc("id")),
        "withdrawals_of: a lender's withdrawals, newest first",
    ),
    CompositeIndex(
        WITHDRAWALS,
        (desc("requested_at"), desc("id")),
        "find_withdrawals: every withdrawal in a period, newest first",
    ),
    CompositeIndex(
        WITHDRAWALS,
        (asc("state"), desc("requested_at"), desc("id")),
        "find_withdrawals: withdrawals in one state, newest first",
    ),
    CompositeIndex(
        LEDGER_ENTRIES,
        (IndexedField("owners", "CONTAINS"), desc("occurred_at"), desc("entry_id")),
        "entries_of: the entries that moved a lender's money, newest first",
    ),
    CompositeIndex(
        STATEMENT_LINES,
        (asc("statement_id"), asc("position")),
        "statement_lines: one statement's lines in order",
    ),
    CompositeIndex(
        STATEMENT_LINES,
        (asc("statement_id"), asc("state"), asc("position")),
        "statement_lines: one statement's lines in one state, in order",
    ),
    CompositeIndex(
        STATEMENT_LINES,
        (asc("imported_at"), asc("id")),
        "open_lines: every line, oldest first",
    ),
    CompositeIndex(
        STATEMENT_LINES,
        (asc("state"), asc("imported_at"), asc("id")),
        "open_lines and reconciliation: lines in suspense or unexplained, oldest first",
    ),
    CompositeIndex(
        MANUAL_ENTRIES,
        (desc("proposed_at"), desc("id")),
        "list_manual_entries: every adjustment, newest first",
    ),
    CompositeIndex(
        MANUAL_ENTRIES,
        (asc("state"), desc("proposed_at"), desc("id")),
        "list_manual_entries: adjustments in one state, newest first",
    ),
    CompositeIndex(
        RECONCILIATIONS,
        (asc("state"), asc("queued_at")),
        "run_due: the queued reconciliations, oldest first",
    ),
    CompositeIndex(
        RECONCILIATIONS,
        (asc("kind"), asc("state"), desc("day")),
        "commitments: the last passed daily run's outstanding funding (concentration cap)",
    ),
    CompositeIndex(
        LOANS,
        (asc("state"), asc("listing.sort_key")),
        "the marketplace: loans in funding, soonest deadline first, paged",
    ),
    CompositeIndex(
        LOANS,
        (asc("state"), asc("id")),
        "sweep_overdue's one-time backfill: active loans by id, a page at a time",
    ),
    CompositeIndex(
        LOANS,
        (asc("state"), asc("sweep_on")),
        "sweep_overdue: the active loans with something to do by today, a page at a time",
    ),
    CompositeIndex(
        LOANS,
        (asc("state"), asc("funding_closes_on")),
        "funding_expiry: loans in funding whose window closed",
    ),
    CompositeIndex(
        PARTICIPATIONS,
        (asc("lender_id"), desc("created_at")),
        "a lender's portfolio, newest stake first",
    ),
    CompositeIndex(
        PARTICIPATIONS,
        (asc("loan_id"), asc("state"), asc("lender_id")),
        "money plans: a loan's committed stakes, by lender",
    ),
    # --- repayments: what lenders see of them ---
    CompositeIndex(
        LENDER_RECEIPTS,
        (asc("lender_id"), asc("month"), asc("on"), asc("id")),
        "statement_of: a lender's receipts of one month, oldest first",
    ),
    CompositeIndex(
        LENDER_RECEIPTS,
        (asc("lender_id"), asc("loan_id"), asc("on"), asc("id")),
        "receipts_for_loan: a lender's receipts from one loan, oldest first",
    ),
    CompositeIndex(
        LENDER_RECEIPTS,
        (asc("month"), asc("id")),
        "withholding_summary: every lender's receipts of one month, paged by id",
    ),
    # --- collection reminders ---
    CompositeIndex(
        REMINDERS,
        (asc("state"), asc("send_at")),
        "collections_dispatch: the pending reminders whose moment has come, oldest first",
    ),
    # --- champion/challenger scorecards ---
    CompositeIndex(
        CREDIT_DECISIONS,
        (asc("scorecard_version"), asc("loan_id")),
        "compare_scorecards: one scorecard version's decisions, paged by loan id",
    ),
)


def required_index(
    collection: str, where: Sequence[Where], order_by: Sequence[OrderBy] = ()
) -> IndexRequirement | None:
    """The composite index a query needs, or None when single-field indexes serve it.

    The index is: the equality-filtered fields (`==`, `in` ascending; `array_contains`
    as `CONTAINS`), then the sort — the explicit `order_by` fields with their
    directions, then any range-filtered field not already sorted on (ascending, as
    Firestore orders by it implicitly). A sort on an equality-filtered field is a
    no-op and is dropped. None when nothing is sorted (equalities merge) or when the
    query touches a single field.
    """
    equalities: list[IndexedField] = []
    for condition in where:
        if condition.op in EQUALITY_OPERATORS and condition.field not in {
            f.path for f in equalities
        }:
            mode: IndexMode = "CONTAINS" if condition.op == "array_contains" else "ASCENDING"
            equalities.append(IndexedField(condition.field, mode))
    fixed = {f.path for f in equalities if f.mode != "CONTAINS"}
    sort = [
        IndexedField(o.field, "DESCENDING" if o.descending else "ASCENDING")
        for o in order_by
        if o.field not in fixed
    ]
    for condition in where:
        if condition.op not in EQUALITY_OPERATORS and condition.field not in {f.path for f in sort}:
            sort.append(asc(condition.field))
    if not sort:
        return None
    touched = {f.path for f in equalities} | {f.path for f in sort}
    if len(touched) == 1 and all(f.mode != "CONTAINS" for f in equalities):
        return None
    return IndexRequirement(tuple(equalities), tuple(sort))


def index_for(
    collection: str,
    where: Sequence[Where],
    order_by: Sequence[OrderBy] = (),
    indexes: Sequence[CompositeIndex] = COMPOSITE_INDEXES,
) -> CompositeIndex | None:
    """The declared index that serves this query.

    None when the query needs no composite index — or needs one nobody declared:
    `required_index` tells the two apart.
    """
    needed = required_index(collection, where, order_by)
    if needed is None:
        return None
    return next((i for i in indexes if i.answers(collection, needed)), None)


def _as_equalities(fields: Sequence[IndexedField]) -> set[tuple[str, bool]]:
    """Equality fields compare by path (and array membership), never by direction."""
    return {(f.path, f.mode == "CONTAINS") for f in fields}


TTL_FIELD = "expire_at"


@dataclass(frozen=True)
class TtlPolicy:
    """A collection whose documents Firestore deletes after their `TTL_FIELD` timestamp."""

    collection: str
    why: str


TTL_POLICIES: tuple[TtlPolicy, ...] = (
    TtlPolicy(OUTBOX, "an event's outbox record, kept 31 days after it was written"),
    TtlPolicy(
        IDEMPOTENCY_KEYS,
        "a request's Idempotency-Key record, kept for PATUNGAN_IDEMPOTENCY_RETENTION_H",
    ),
    TtlPolicy(
        PROCESSED_EVENTS,
        "a consumer's record of an applied event, kept longer than Pub/Sub keeps messages",
    ),
)
