"""Firestore indexes and TTL policies (shared/indexes.py): what the platform's queries and
records need, declared once, and deployed exactly by every entity stack.

The journey's use cases run against an in-memory store that records every query
they make; each recorded query must have its composite index declared, every
declared index must serve some query (an unused index costs a write per document
change), and every query written in `shared/services` must have been recorded —
a new query without a scenario here fails the suite instead of failing in the cloud.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from infra.offline import REPOSITORY, Simulation
from shared.adapters.memory import RecordingNotifier
from shared.domain.events import EventType, LoanMaturing
from shared.domain.loan import LoanState
from shared.indexes import (
    COMPOSITE_INDEXES,
    TTL_FIELD,
    TTL_POLICIES,
    CompositeIndex,
    IndexedField,
    IndexRequirement,
    asc,
    desc,
    index_for,
    required_index,
)
from shared.platform.callers import Caller
from shared.platform.idempotency import (
    IDEMPOTENCY_KEYS,
    PROCESSED_EVENTS,
    IdempotencyScope,
    claim_request,
    event_unit_of_work,
)
from shared.platform.outbox import OUTBOX, PublishableEvent
from shared.platform.store import (
    DocRef,
    Document,
    DocumentTransaction,
    JsonDict,
    OrderBy,
    UnitOfWork,
    Where,
)
from shared.services.catalogue import (
    ProductProposal,
    list_catalogue,
    product_history,
    propose_product_version,
    sample_catalogue,
)
from shared.services.deposits import DepositQuery, deposits_of, find_deposits
from shared.services.funding import MarketplaceQuery, marketplace, portfolio
from shared.services.lender_tax import tax_documents_of
from shared.services.loan_applications import ApplicationQuery, list_applications
from shared.services.loan_review import ReviewQueueQuery, review_queue
from shared.services.manual_entries import ManualEntryQuery, list_manual_entries
from shared.services.outbox_relay import relay_outbox
from shared.services.overdue import sweep_overdue
from shared.services.reconciliation import (
    list_reconciliations,
    request_reconciliation,
    run_due,
)
from shared.services.reminders import dispatch_due_reminders, remind
from shared.services.remittance import withholding_summary
from shared.services.repayment_views import receipts_for_loan, repayment_of, statement_of
from shared.services.scorecards import ComparisonQuery, compare_scorecards, scorecards_view
from shared.services.statement_imports import (
    LineQuery,
    list_statements,
    open_lines,
    statement_lines,
)
from shared.services.suspense import GatewayPaymentQuery, find_gateway_payments
from shared.services.users import (
    RoleGrantQuery,
    StaffIdentity,
    bootstrap_admin_super,
    list_role_grants,
)
from shared.services.wallet import EntryQuery, entries_of
from shared.services.withdrawals import WithdrawalQuery, find_withdrawals, withdrawals_of
from tests.unit.journey.payment_desk import PaymentDesk
from tests.unit.journey.world import DEFAULT_ROUTING, SCORECARDS, JourneyWorld

T = TypeVar("T")
SERVICES = REPOSITORY / "shared" / "services"
FIELD = "gcp:firestore/field:Field"
INDEX = "gcp:firestore/index:Index"


# --- a store that remembers what it was asked -------------------------------------------------


@dataclass(frozen=True)
class RecordedQuery:
    collection: str
    where: tuple[Where, ...]
    order_by: tuple[OrderBy, ...]
    call_site: str  # "loan_review.py:87": the line in shared/services that asked


class _RecordingTransaction(DocumentTransaction):
    def __init__(self, inner: DocumentTransaction, log: list[RecordedQuery]) -> None:
        self._inner, self._log = inner, log

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        self._log.append(RecordedQuery(collection, tuple(where), tuple(order_by), _call_site()))
        return self._inner.query(collection, where, order_by, limit, fields)

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        return self._inner.get(collection, doc_id)

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        return self._inner.get_all(collection, doc_ids)

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        return self._inner.get_documents(refs)

    def create(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._inner.create(collection, doc_id, data)

    def set(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._inner.set(collection, doc_id, data)

    def update(self, collection: str, doc_id: str, changes: JsonDict) -> None:
        self._inner.update(collection, doc_id, changes)

    def delete(self, collection: str, doc_id: str) -> None:
        self._inner.delete(collection, doc_id)

    def add_to(
        self,
        collection: str,
        doc_id: str,
        increments: Mapping[str, int],
        fields: JsonDict | None = None,
    ) -> None:
        self._inner.add_to(collection, doc_id, increments, fields)

    def emit(self, event: PublishableEvent) -> None:
        self._inner.emit(event)

    @property
    def emitted(self) -> tuple[str, ...]:
        return self._inner.emitted


class RecordingUnitOfWork(UnitOfWork):
    """The in-memory store, noting every query and the line of `shared/services` behind it."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.queries: list[RecordedQuery] = []

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        return self.inner.run(
            lambda tx: work(_RecordingTransaction(tx, self.queries)), read_only=read_only
        )

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)

    def read_snapshot(self, work: Callable[[DocumentTransaction], T]) -> tuple[T, datetime]:
        return self.inner.read_snapshot(lambda tx: work(_RecordingTransaction(tx, self.queries)))


def _call_site() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.parent == SERVICES and path.name != "ports.py":
            return f"{path.name}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "outside shared/services"


def query_call_sites() -> set[str]:
    """Every `.find(...)` / `.query(...)` with filters, sorts or limits written in shared/services.

    (`ports.py` defines them.) A call's line is where the call expression starts,
    which is also the line its frame reports while the call runs.
    """
    sites = set()
    for path in sorted(SERVICES.glob("*.py")):
        if path.name == "ports.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"find", "query"}
                and _looks_like_a_store_query(node)
            ):
                sites.add(f"{path.name}:{node.lineno}")
    return sites


def _looks_like_a_store_query(call: ast.Call) -> bool:
    keywords = {k.arg for k in call.keywords}
    if keywords & {"order_by", "limit", "where"}:
        return True
    return any(
        isinstance(arg, ast.Starred)
        or (isinstance(arg, ast.Call) and getattr(arg.func, "id", None) in {"Where", "OrderBy"})
        for arg in call.args
    )


# --- the journey's queries --------------------------------------------------------------------


@pytest.fixture(scope="module")
def journey_queries() -> list[RecordedQuery]:
    """Every query the borrower journey's use cases make, in every variant a caller can ask."""
    world = JourneyWorld()
    recorder = RecordingUnitOfWork(world.uow)
    world.uow = recorder  # type: ignore[assignment]  # every use case of the world records
    world.register("strong_msme")
    world.register("thin_file")
    for persona in ("strong_msme", "thin_file"):
        world.score(world.submit(persona))
    borrower = Caller("strong_msme", "borrower")
    admin = Caller("a-1", "admin.credit")
    for caller in (borrower, admin):
        for state in (None, LoanState.IN_REVIEW):
            list_applications(recorder, caller, ApplicationQuery(state=state))
    assert review_queue(recorder, ReviewQueueQuery()).applications, "thin_file waits for review"
    relay_outbox(recorder, world.clock)  # the scheduled relay looks for stranded events
    # The catalogue's versions and the admins' tools.
    product = sample_catalogue().products[0]
    propose_product_version(
        recorder, ProductProposal(product=product), admin_id="super-1", clock=world.clock
    )
    product_history(recorder, product.id)
    list_catalogue(recorder)
    scorecards_view(recorder, DEFAULT_ROUTING, SCORECARDS)  # and the open proposals
    today = world.clock.now().date()
    compare_scorecards(recorder, ComparisonQuery(), DEFAULT_ROUTING, today=today)  # the decisions
    bootstrap_admin_super(
        recorder,
        StaffIdentity(
            user_id="ops-1",
            full_name="Siti Rahma",
            birth_date=date(1985, 7, 5),
            nik="3174054507850002",
            phone="081234567890",
        ),
        vault=world.vault,
        clock=world.clock,
        verified_by="ops",
    )
    for state in (None, "pending"):
        list_role_grants(recorder, RoleGrantQuery(state=state))
    desk = exercise_the_money_desk(recorder)
    tax_documents_of(recorder, "ani")  # a lender the money desk registered
    exercise_the_funding_desk(recorder, desk)
    return recorder.queries


def exercise_the_money_desk(recorder: RecordingUnitOfWork) -> PaymentDesk:
    """Deposits, withdrawals, statements, adjustments and reconciliation, with every listing
    in each variant a caller can ask."""
    desk = PaymentDesk(recorder)  # type: ignore[arg-type]
    ani = desk.lender("ani", "1110001111")
    deposit = desk.declare(ani, 1_000_000, "TOPUP-1")
    desk.statement([desk.transfer_in(ani, 1_000_000, "TOPUP-1")])
    desk.match(deposit, desk.line("TOPUP-1"))
    desk.confirm(deposit)
    withdrawal = desk.withdraw(ani, 200_000)
    desk.approve(withdrawal)
    desk.transfer(withdrawal, "OUT-1")
    desk.statement([desk.transfer_out(200_000, "OUT-1")])
    since = desk.clock.now() - timedelta(days=7)
    for state in (None, "confirmed"):
        find_deposits(recorder, DepositQuery(state=state, declared_from=since))
        find_withdrawals(recorder, WithdrawalQuery(state=state, requested_from=since))
    deposits_of(recorder, ani)
    withdrawals_of(recorder, ani)
    entries_of(recorder, ani, EntryQuery())
    [statement, *_] = list_statements(recorder).statements
    for line_state in (None, "in_suspense"):
        statement_lines(recorder, statement.id, LineQuery(state=line_state))
        open_lines(recorder, LineQuery(state=line_state))
    for entry_state in (None, "proposed"):
        list_manual_entries(recorder, ManualEntryQuery(state=entry_state))
    request_reconciliation(recorder, admin_id="fin-1", origin=desk.origin)
    desk.clock.advance(days=1)
    run_due(recorder, origin=desk.origin)  # the daily runs and the queued one
    list_reconciliations(recorder)
    return desk


def exercise_the_funding_desk(recorder: RecordingUnitOfWork, desk: PaymentDesk) -> None:
    """The marketplace (filtered and paged), commitments under the caps, auto-invest, a
    portfolio, expiry and release, a disbursement, a repayment split to the lenders, what
    the borrower and the lenders see of it, and the loan written off."""
    ani = desk.funded_lender("ani-f", "1110001112", 30_000_000)
    budi = desk.funded_lender("budi-f", "2220002223", 5_000_000, group="grup-b")
    desk.auto_rules(budi, max_per_loan=1_000_000, max_total=5_000_000)
    first, second = desk.loan(10_000_000), desk.loan(10_000_000)
    today = desk.today()
    for query in (MarketplaceQuery(), MarketplaceQuery(grade="B", limit=1)):
        page = marketplace(recorder, query, today=today)
        marketplace(recorder, query.model_copy(update={"page_token": page.next_page_token}),
                    today=today)  # fmt: skip
    desk.auto_invest(first)
    desk.commit(budi, second, 1_000_000)
    desk.commit(ani, first, 9_000_000)
    portfolio(recorder, ani)
    desk.disburse(first)
    desk.confirm_payout(first, "PAYOUT-IDX-1")
    desk.statement([desk.transfer_out(9_778_000, "PAYOUT-IDX-1")])
    desk.pay(first, desk.installments(first)[0].total)
    repayment_of(recorder, Caller("bora", "borrower"), first, today=desk.today())
    statement_of(recorder, ani, desk.today().strftime("%Y-%m"))
    receipts_for_loan(recorder, ani, first)
    withholding_summary(recorder, desk.today().strftime("%Y-%m"))
    desk.notify("8808777777777777", 100_000)  # an account not ours: in suspense
    find_gateway_payments(recorder, GatewayPaymentQuery())
    sweep_overdue(recorder, origin=desk.origin)
    maturing = desk.origin.event(
        EventType.LOAN_MATURING,
        LoanMaturing(loan_id=first, maturity_date=desk.today(), outstanding_principal=0),
    )
    remind(recorder, recorder, maturing, RecordingNotifier(), clock=desk.clock)  # its lenders
    dispatch_due_reminders(recorder, RecordingNotifier(), clock=desk.clock)
    desk.clock.advance(days=20)
    desk.expire_due()
    desk.release(second)
    desk.clock.advance(days=150)  # the first loan's second installment is 90+ days late
    desk.propose_write_off(first)
    desk.confirm_write_off(first)


def test_every_query_the_journey_makes_has_its_composite_index(journey_queries):
    for query in journey_queries:
        needed = required_index(query.collection, query.where, query.order_by)
        if needed is not None:
            assert index_for(query.collection, query.where, query.order_by) is not None, (
                f"{query.call_site} needs {needed} on {query.collection!r}: declare it in "
                "shared/indexes.py"
            )


def test_every_declared_index_serves_a_query_the_journey_makes(journey_queries):
    used = {index_for(q.collection, q.where, q.order_by) for q in journey_queries}
    assert set(COMPOSITE_INDEXES) <= used
    assert len({i.key for i in COMPOSITE_INDEXES}) == len(COMPOSITE_INDEXES)


def test_every_query_written_in_the_services_was_exercised(journey_queries):
    recorded = {q.call_site for q in journey_queries}
    unexercised = query_call_sites() - recorded
    assert not unexercised, (
        f"queries never run by the fixture above, so their indexes are unchecked: {unexercised}"
    )


def test_the_borrower_listing_and_the_review_queue_need_these_indexes():
    loans = "loans"
    mine = Where("borrower_id", "==", "u-1")
    in_review = Where("state", "==", "in_review")
    newest = [OrderBy("submitted_at", descending=True), OrderBy("id", descending=True)]
    oldest = [OrderBy("submitted_at"), OrderBy("id")]
    assert required_index(loans, [mine], newest) == IndexRequirement(
        (asc("borrower_id"),), (desc("submitted_at"), desc("id"))
    )
    assert required_index(loans, [in_review], oldest) == IndexRequirement(
        (asc("state"),), (asc("submitted_at"), asc("id"))
    )
    # Equality fields may lead in any order: one index serves both spellings.
    both = index_for(loans, [mine, in_review], newest)
    assert both is not None
    assert both is index_for(loans, [in_review, mine], newest)
    # The same filter sorted the other way is another index.
    assert index_for(loans, [in_review], newest) is not index_for(loans, [in_review], oldest)


@pytest.mark.parametrize(
    ("where", "order_by"),
    [
        ([], [OrderBy("submitted_at", descending=True)]),  # one field sorted: single-field
        ([Where("borrower_id", "==", "u-1"), Where("state", "in", ["a", "b"])], []),  # merged
        ([Where("state", "==", "in_review")], [OrderBy("state")]),  # sorting a fixed field
        ([Where("principal", ">", 10)], [OrderBy("principal", descending=True)]),
    ],
)
def test_queries_single_field_indexes_serve_need_no_composite_index(where, order_by):
    assert required_index("loans", where, order_by) is None


@pytest.mark.parametrize(
    ("where", "order_by", "needed"),
    [
        (
            [Where("borrower_id", "==", "u-1")],
            [OrderBy("submitted_at")],
            IndexRequirement((asc("borrower_id"),), (asc("submitted_at"),)),
        ),
        (  # a range is sorted on implicitly, after the explicit sort
            [Where("state", "==", "funding"), Where("principal", ">=", 1)],
            [],
            IndexRequirement((asc("state"),), (asc("principal"),)),
        ),
        (
            [Where("tags", "array_contains", "msme")],
            [OrderBy("submitted_at", descending=True)],
            IndexRequirement((IndexedField("tags", "CONTAINS"),), (desc("submitted_at"),)),
        ),
    ],
)
def test_queries_that_need_a_composite_index_and_which(where, order_by, needed):
    assert required_index("loans", where, order_by) == needed
    assert index_for("loans", where, order_by) is None, "nothing in the journey asks this"


def test_an_index_on_another_collection_or_with_extra_fields_does_not_serve():
    needed = required_index(
        "loans", [Where("state", "==", "x")], [OrderBy("submitted_at", descending=True)]
    )
    assert needed is not None
    assert not CompositeIndex("users", (asc("state"), desc("submitted_at")), "x").answers(
        "loans", needed
    )
    wider = CompositeIndex("loans", (asc("state"), desc("submitted_at"), asc("id")), "x")
    assert not wider.answers("loans", needed)


# --- TTL: what the plumbing writes, Firestore deletes -----------------------------------------


def test_the_plumbing_stamps_every_record_of_a_ttl_collection_with_its_expiry():
    world = JourneyWorld()
    clock = world.clock
    world.register("strong_msme")
    world.submit("strong_msme")  # the outbox gets loan.submitted
    scope = IdempotencyScope("strong_msme", "loan_applications POST /", "key-1")
    claim_request(
        world.uow,
        scope,
        "hash",
        clock=clock,
        token="t-1",
        lease=timedelta(minutes=2),
        retention=timedelta(hours=24),
    )
    applied = event_unit_of_work(
        world.uow,
        consumer="scoring",
        event_id="e-1",
        event_type="loan.submitted",
        clock=clock,
        retention=timedelta(days=31),
    )
    applied.run(lambda tx: None)
    assert {p.collection for p in TTL_POLICIES} == {OUTBOX, IDEMPOTENCY_KEYS, PROCESSED_EVENTS}
    for policy in TTL_POLICIES:
        records = world.uow.documents(policy.collection)
        assert records, policy.collection
        for record in records.values():
            expiry = record[TTL_FIELD]
            # A Firestore timestamp (TTL ignores any other type), in the future.
            assert isinstance(expiry, datetime) and expiry.tzinfo is not None
            assert expiry > clock.now(), policy.collection


def test_the_records_of_the_business_never_expire():
    world = JourneyWorld()
    world.register("strong_msme")
    world.score(world.submit("strong_msme"))
    ttl_collections = {p.collection for p in TTL_POLICIES}
    for collection in ("loans", "users", "products", "credit_decisions"):
        assert collection not in ttl_collections
        records = world.uow.documents(collection)
        assert records, collection
        for record in records.values():
            assert TTL_FIELD not in record, f"{collection} records would be deleted by TTL"


# --- deployed by every stack -------------------------------------------------------------------


def test_every_stack_deploys_the_ttl_policies_with_the_field_exempt_from_indexing(
    simulations: Mapping[str, Simulation],
):
    for simulation in simulations.values():
        fields = simulation.of_type(FIELD)
        assert sorted((f.get("collection"), f.get("field")) for f in fields) == sorted(
            (p.collection, TTL_FIELD) for p in TTL_POLICIES
        )
        for f in fields:
            assert f.get("database") == "(default)"
            assert f.get("ttlConfig") == {}  # TTL on the timestamp itself, no offset
            assert f.get("indexConfig") == {}  # no single-field indexes: nothing queries it


def test_every_stack_deploys_exactly_the_declared_composite_indexes(
    simulations: Mapping[str, Simulation],
):
    def deployed(index: Any) -> tuple[Any, ...]:
        return (
            index.get("collection"),
            index.get("queryScope"),
            tuple(
                (f["fieldPath"], f.get("order") or f.get("arrayConfig"))
                for f in index.get("fields")
            ),
        )

    declared = sorted(
        (i.collection, "COLLECTION", tuple((f.path, f.mode) for f in i.fields))
        for i in COMPOSITE_INDEXES
    )
    for simulation in simulations.values():
        indexes = simulation.of_type(INDEX)
        assert sorted(deployed(i) for i in indexes) == declared
        assert {i.get("database") for i in indexes} == {"(default)"}
