"""The overdue sweep looks only at the loans with something to do that day, and does exactly
what a sweep of every loan every day did (docs/lending-rules.md#overdue-and-collection):

- disbursement gives the loan its first sweep day, `sweep_on`: its first reminder;
- on the days between, the sweep reads none of the loan's documents;
- swept only on its days, with payments on any day, a loan ends with the late fees, the
  events and the days past due of a loan swept every day;
- runs skipped, the next run catches every day's fee up and publishes each event once;
- a loan disbursed before `sweep_on` existed is swept by the first run, which gives it its date.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.memory import MemoryUnitOfWork, RecordingPublisher
from shared.domain.delinquency import reminder_date
from shared.platform.store import (
    DocRef,
    Document,
    DocumentTransaction,
    JsonDict,
    OrderBy,
    UnitOfWork,
    Where,
)
from shared.records.installments import INSTALLMENTS
from shared.records.loans import LOANS
from shared.services.overdue import (
    BACKFILL,
    OVERDUE_SWEEP,
    PAGE_FIELDS,
    SweepRun,
    sweep_overdue,
)
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk

T = TypeVar("T")

SHARES = {"ani": 6_000_000, "budi": 4_000_000}
TENOR, DAYS = 3, 96  # the shortest tenor the product takes, and a few days past maturity
NOTICES = ("installment.due_soon", "installment.overdue", "loan.maturing", "payment.received")


class _Spy:
    """A transaction attempt that notes the id of every document it reads."""

    def __init__(self, inner: DocumentTransaction, seen: set[str]) -> None:
        self._inner = inner
        self._seen = seen

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        self._seen.add(doc_id)
        return self._inner.get(collection, doc_id)

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        self._seen.update(doc_ids)
        return self._inner.get_all(collection, doc_ids)

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        self._seen.update(doc_id for _, doc_id in refs)
        return self._inner.get_documents(refs)

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        found = self._inner.query(collection, where, order_by, limit, fields)
        self._seen.update(doc.id for doc in found)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class ReadsNoted(UnitOfWork):
    """`inner`, noting the ids of the documents its transactions read in `seen`."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.seen: set[str] = set()

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        return self.inner.run(lambda tx: work(_Spy(tx, self.seen)), read_only=read_only)  # type: ignore[arg-type]

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)


def new_desk(*, backfilled: bool = True) -> PaymentDesk:
    """A platform whose loans all carry `sweep_on` (the one-time backfill is recorded), unless
    `backfilled` is False."""
    uow = MemoryUnitOfWork(max_attempts=10)
    desk = PaymentDesk(uow)
    uow.clock = desk.clock  # type: ignore[attr-defined]
    if backfilled:
        record = {"id": BACKFILL, "done_on": desk.today().isoformat(), "loans": 0}
        uow.seed(OVERDUE_SWEEP, BACKFILL, record)
    return desk


def on(desk: PaymentDesk, day: date) -> None:
    desk.clock.set(datetime.combine(day, time(3), tzinfo=UTC))


def notices(desk: PaymentDesk) -> list[tuple[str, JsonDict]]:
    """The sweep's events, in order: (type, payload)."""
    publisher = desk.uow.publisher  # type: ignore[attr-defined]
    assert isinstance(publisher, RecordingPublisher)
    return [(e["type"], e["data"]) for e in publisher.envelopes() if e["type"] in NOTICES]


def sweep_every_loan(desk: PaymentDesk) -> SweepRun:
    """The sweep as it was before `sweep_on`: every active loan looked at, every day."""
    today = desk.today().isoformat()

    def due_today(tx: DocumentTransaction) -> None:
        for doc in tx.query(LOANS, [Where("state", "==", "active")], limit=100):
            tx.update(LOANS, doc.id, {"sweep_on": today})

    desk.uow.run(due_today)
    return sweep_overdue(desk.uow, origin=desk.origin)


def outcome(desk: PaymentDesk, loan: str) -> tuple[object, ...]:
    """What the sweeps left on the loan: each installment's late fee, and how late it is."""
    record = desk.loan_record(loan)
    late = record.overdue
    quality = (late.late_fees, late.days_past_due, late.bucket, late.collectability) if late else (
        0, 0, "current", 1,
    )  # fmt: skip
    return record.state, tuple(i.late_fee for i in desk.installments(loan)), quality


def test_disbursement_sets_the_first_sweep_day_three_days_before_the_first_due_date() -> None:
    desk = new_desk()
    loan = desk.active_loan(SHARES)
    first = desk.installments(loan)[0]
    assert desk.loan_record(loan).sweep_on == reminder_date(first.due_date)
    assert reminder_date(first.due_date) == first.due_date - timedelta(days=3)


def test_the_sweep_reads_nothing_of_a_loan_on_the_days_it_has_nothing_to_do() -> None:
    desk = new_desk()
    loan = desk.active_loan(SHARES)
    first, second, *_ = desk.installments(loan)
    swept_on: list[date] = []
    day = desk.today()
    while day < second.due_date + timedelta(days=3):
        day += timedelta(days=1)
        on(desk, day)
        if day == first.due_date:
            desk.pay(loan, first.total)  # paid on its due date; the second one is not
        noted = ReadsNoted(desk.uow)
        run = sweep_overdue(noted, origin=desk.origin)
        touched = {doc_id for doc_id in noted.seen if doc_id.startswith(loan)}
        assert bool(touched) == bool(run.loans_swept), day
        if run.loans_swept:
            swept_on.append(day)
    overdue_from = second.due_date + timedelta(days=1)
    assert swept_on == [
        first.due_date - timedelta(days=3),  # due soon
        first.due_date,  # borrower credit would pay it
        second.due_date - timedelta(days=3),
        second.due_date,
        overdue_from,  # overdue, and every day after it while unpaid
        overdue_from + timedelta(days=1),
        overdue_from + timedelta(days=2),
    ]
    published = notices(desk)
    assert [(kind, data["installment"]) for kind, data in published if "installment" in data] == [
        ("installment.due_soon", 1),
        ("installment.due_soon", 2),
        ("installment.overdue", 2),
    ]
    assert desk.loan_record(loan).sweep_on == day + timedelta(days=1)


@settings(
    max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    payments=st.dictionaries(
        st.integers(1, DAYS),  # a day after the disbursement
        st.integers(1, 150),  # % of the next unsettled installment paid that day
        max_size=6,
    )
)
def test_swept_only_on_its_days_a_loan_ends_as_if_swept_every_day(
    payments: dict[int, int],
) -> None:
    scheduled, every_day = new_desk(), new_desk()
    loans = [desk.active_loan(SHARES, tenor=TENOR) for desk in (scheduled, every_day)]
    start = scheduled.today()
    for n in range(1, DAYS + 1):
        for desk, loan, sweep in (
            (scheduled, loans[0], lambda d: sweep_overdue(d.uow, origin=d.origin)),
            (every_day, loans[1], sweep_every_loan),
        ):
            on(desk, start + timedelta(days=n))
            unsettled = [i for i in desk.installments(loan) if not i.settled]
            if n in payments and unsettled and desk.loan_record(loan).state.value == "active":
                desk.pay(loan, max(1, unsettled[0].outstanding.total * payments[n] // 100))
            sweep(desk)
        assert outcome(scheduled, loans[0]) == outcome(every_day, loans[1]), n
    assert notices(scheduled) == notices(every_day)
    assert_reconciles(scheduled)


@settings(
    max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(runs=st.lists(st.booleans(), min_size=DAYS, max_size=DAYS))
def test_skipped_runs_catch_up_every_days_fee_and_publish_each_event_once(
    runs: list[bool],
) -> None:
    skipping, every_day = new_desk(), new_desk()
    loans = [desk.active_loan(SHARES, tenor=TENOR) for desk in (skipping, every_day)]
    start = skipping.today()
    for n, runs_today in enumerate(runs, start=1):
        on(every_day, start + timedelta(days=n))
        sweep_every_loan(every_day)
        if runs_today or n == len(runs):
            on(skipping, start + timedelta(days=n))
            sweep_overdue(skipping.uow, origin=skipping.origin)
    assert outcome(skipping, loans[0]) == outcome(every_day, loans[1])
    assert sum(outcome(skipping, loans[0])[1]) > 0  # installments past due: late fees
    assert sorted(map(str, notices(skipping))) == sorted(map(str, notices(every_day)))
    assert_reconciles(skipping)


def test_a_loan_disbursed_before_sweep_on_existed_is_swept_by_the_first_run() -> None:
    desk = new_desk(backfilled=False)
    legacy = desk.active_loan(SHARES)
    swept_today = desk.active_loan({"citra": 10_000_000}, borrower="boris")
    first = desk.installments(legacy)[0]
    on(desk, first.due_date + timedelta(days=5))
    uow = desk.uow
    assert isinstance(uow, MemoryUnitOfWork)
    for loan, swept in ((legacy, False), (swept_today, True)):
        stored = desk.loan_record(loan).model_dump(mode="json", exclude={"sweep_on"})
        if swept:  # the sweep before `sweep_on` went through it today
            stored["overdue"] = {"last_swept_on": desk.today().isoformat()}
        uow.seed(LOANS, loan, stored)
    run = sweep_overdue(uow, origin=desk.origin)
    assert run.loans_swept == 1  # the legacy loan, 5 days past due; the other one is done
    assert run.events == 2  # its installment 1: due soon and overdue, caught up
    for loan in (legacy, swept_today):
        assert desk.loan_record(loan).sweep_on == desk.today() + timedelta(days=1)
    assert uow.run(lambda tx: tx.get(OVERDUE_SWEEP, BACKFILL), read_only=True)
    # Recorded once: the next runs look only at the loans due.
    assert sweep_overdue(uow, origin=desk.origin).loans_swept == 0
    assert desk.loan_record(legacy).overdue is not None


def _forget(desk: PaymentDesk, loan: str, *, read_from: bool, costs: bool) -> None:
    """Rewrites the loan as if its sweep pointer were left at installment 1 (`read_from`: a
    pointer as stale as it can be) or its terms kept no `schedule_costs` (`costs`: a loan
    disbursed before they were kept, whose sweep reads the whole schedule)."""
    uow = desk.uow
    assert isinstance(uow, MemoryUnitOfWork)
    stored = desk.loan_record(loan).model_dump(mode="json")
    if read_from and stored["overdue"] is not None:
        stored["overdue"]["read_from"] = 1
    if costs:
        stored["disbursement"]["schedule_costs"] = None
    uow.seed(LOANS, loan, stored)


@settings(
    max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    payments=st.dictionaries(
        st.integers(1, DAYS),
        st.integers(1, 250),  # % of the next unsettled installment: a later one paid ahead
        max_size=6,
    )
)
def test_reading_part_of_the_schedule_sweeps_as_reading_all_of_it(
    payments: dict[int, int],
) -> None:
    # The sweep reads from the first installment still owing when it last swept to the first
    # owing due after today + 3 days; a pointer left behind (stale, as low as it goes) and a
    # whole schedule read give the same fees, notices, days past due and next sweep day.
    desks = partial, stale, whole = new_desk(), new_desk(), new_desk()
    loans = [desk.active_loan(SHARES, tenor=TENOR) for desk in desks]
    start = partial.today()
    for n in range(1, DAYS + 1):
        for desk, loan in zip(desks, loans, strict=True):
            on(desk, start + timedelta(days=n))
            unsettled = [i for i in desk.installments(loan) if not i.settled]
            if n in payments and unsettled and desk.loan_record(loan).state.value == "active":
                desk.pay(loan, max(1, unsettled[0].outstanding.total * payments[n] // 100))
            if desk is not partial:
                _forget(desk, loan, read_from=desk is stale, costs=desk is whole)
            sweep_overdue(desk.uow, origin=desk.origin)
        results = [
            (outcome(d, loan), d.loan_record(loan).sweep_on)
            for d, loan in zip(desks, loans, strict=True)
        ]
        assert results[0] == results[1] == results[2], n
    assert notices(partial) == notices(stale) == notices(whole)
    assert_reconciles(partial)


def test_the_sweep_does_not_read_the_installments_already_paid() -> None:
    desk = new_desk()
    loan = desk.active_loan(SHARES)
    first, second, third, *_ = desk.installments(loan)
    on(desk, first.due_date)
    desk.pay(loan, first.total)
    sweep_overdue(desk.uow, origin=desk.origin)
    on(desk, second.due_date + timedelta(days=1))  # the second one is overdue
    noted = ReadsNoted(desk.uow)
    assert sweep_overdue(noted, origin=desk.origin).loans_swept == 1
    assert sorted(i for i in noted.seen if i.startswith(f"{loan}~")) == [second.id, third.id]


def test_a_loan_paid_ahead_is_swept_on_the_reminder_of_the_first_installment_still_owing() -> None:
    # Installments 1 and 2 paid before 1 falls due: the sweep on 1's reminder day reads past
    # 2 (settled, due after today + 3 days) to 3, whose reminder is the next sweep day.
    desk = new_desk()
    loan = desk.active_loan(SHARES)
    first, second, third, *_ = desk.installments(loan)
    on(desk, first.due_date - timedelta(days=5))
    desk.pay(loan, first.total)
    on(desk, first.due_date - timedelta(days=4))
    desk.pay(loan, second.total)
    on(desk, reminder_date(first.due_date))
    sweep_overdue(desk.uow, origin=desk.origin)
    assert desk.loan_record(loan).sweep_on == reminder_date(third.due_date)
    assert "installment.due_soon" not in {kind for kind, _ in notices(desk)}  # nothing owed


class _Writes:
    """A transaction attempt that notes each write of a loan or an installment (`set` or
    `update`, and the fields written) and the fields each query of the loans asked for."""

    def __init__(self, inner: DocumentTransaction, noted: list[tuple[str, ...]]) -> None:
        self._inner = inner
        self._noted = noted

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        if collection == LOANS:
            self._noted.append(("query", *(fields or ("*",))))
        return self._inner.query(collection, where, order_by, limit, fields)

    def set(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._noted.append(("set", collection, *sorted(data)))
        self._inner.set(collection, doc_id, data)

    def update(self, collection: str, doc_id: str, changes: JsonDict) -> None:
        self._noted.append(("update", collection, *sorted(changes)))
        self._inner.update(collection, doc_id, changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class WritesNoted(UnitOfWork):
    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.noted: list[tuple[str, ...]] = []

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        return self.inner.run(lambda tx: work(_Writes(tx, self.noted)), read_only=read_only)  # type: ignore[arg-type]

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)


def test_a_swept_loan_is_written_only_where_the_sweep_changed_it() -> None:
    # The pages ask for the loans' products and first installments only; a sweep updates
    # the loan's overdue record, sweep day and time, and each past-due installment's late
    # fee, and nothing else of them: a field it does not know (here `note`) stays as stored.
    desk = new_desk()
    loan = desk.active_loan(SHARES)
    first = desk.installments(loan)[0]
    uow = desk.uow
    assert isinstance(uow, MemoryUnitOfWork)
    uow.seed(LOANS, loan, {**uow.documents(LOANS)[loan], "note": "kept"})
    on(desk, first.due_date + timedelta(days=5))  # past the grace days: a late fee
    noted = WritesNoted(uow)
    assert sweep_overdue(noted, origin=desk.origin).late_fees > 0
    loan_writes = {w for w in noted.noted if w[0] != "query" and w[1] in (LOANS, INSTALLMENTS)}
    assert loan_writes == {
        ("update", LOANS, "overdue", "sweep_on", "updated_at"),
        ("update", INSTALLMENTS, "late_fee"),
    }
    assert ("query", *PAGE_FIELDS) in noted.noted
    assert uow.documents(LOANS)[loan]["note"] == "kept"
    assert desk.installments(loan)[0].late_fee > 0


def test_a_loan_without_schedule_costs_is_given_them_by_its_first_sweep() -> None:
    desk = new_desk()
    loan = desk.active_loan(SHARES)
    costs = desk.loan_record(loan).disbursement.schedule_costs  # type: ignore[union-attr]
    _forget(desk, loan, read_from=False, costs=True)
    on(desk, desk.installments(loan)[0].due_date)
    noted = WritesNoted(desk.uow)
    assert sweep_overdue(noted, origin=desk.origin).loans_swept == 1
    assert ("update", LOANS, "disbursement", "overdue", "sweep_on", "updated_at") in noted.noted
    assert desk.loan_record(loan).disbursement.schedule_costs == costs  # type: ignore[union-attr]


class _Calls:
    """A transaction attempt that notes each read it makes: (method, collections read)."""

    def __init__(self, inner: DocumentTransaction, calls: list[tuple[str, ...]]) -> None:
        self._inner = inner
        self._calls = calls

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        self._calls.append(("get", collection))
        return self._inner.get(collection, doc_id)

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        self._calls.append(("get_all", *(collection for _ in doc_ids)))
        return self._inner.get_all(collection, doc_ids)

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        self._calls.append(("get_documents", *(collection for collection, _ in refs)))
        return self._inner.get_documents(refs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class StaleAfterThePage(UnitOfWork):
    """`inner`, noting each transaction's reads; `between()` runs after each page of loans due
    is read, before the page's transactions."""

    def __init__(self, inner: UnitOfWork, between: Callable[[], None] = lambda: None) -> None:
        self.inner = inner
        self.between = between
        self.reads: list[list[tuple[str, ...]]] = []

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        if read_only:
            result = self.inner.run(work, read_only=True)
            if getattr(work, "__name__", "") == "page":
                self.between()
            return result
        calls: list[tuple[str, ...]] = []
        self.reads.append(calls)

        def attempt(tx: DocumentTransaction) -> T:
            calls.clear()
            return work(_Calls(tx, calls))  # type: ignore[arg-type]

        return self.inner.run(attempt)

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)


def test_a_swept_loan_is_read_with_its_first_installments_in_one_round_trip() -> None:
    desk = new_desk()
    loan = desk.active_loan(SHARES)
    first, second, *_ = desk.installments(loan)
    on(desk, first.due_date)
    desk.pay(loan, first.total)
    sweep_overdue(desk.uow, origin=desk.origin)  # reads from the second one from now on
    on(desk, second.due_date + timedelta(days=5))
    noted = StaleAfterThePage(desk.uow)
    assert sweep_overdue(noted, origin=desk.origin).loans_swept == 1
    [sweep] = [calls for calls in noted.reads if calls and calls[0][1:2] == (LOANS,)]
    assert sweep[0] == ("get_documents", LOANS, INSTALLMENTS, INSTALLMENTS)
    assert all(call[0] != "get_all" for call in sweep)  # no other read of its installments


def test_installments_read_with_the_loan_on_a_stale_page_are_read_again() -> None:
    # Between the page and the loan's transaction its sweep pointer moved back (as low as it
    # goes): what was read with the loan is not the first batch, so the sweep reads that
    # batch, and ends as a sweep that was not disturbed.
    desks = calm, disturbed = new_desk(), new_desk()
    loans = [desk.active_loan(SHARES) for desk in desks]
    for desk, loan in zip(desks, loans, strict=True):
        first, second, *_ = desk.installments(loan)
        on(desk, first.due_date)
        desk.pay(loan, first.total)
        sweep_overdue(desk.uow, origin=desk.origin)
        on(desk, second.due_date + timedelta(days=5))
    noted = StaleAfterThePage(
        disturbed.uow, lambda: _forget(disturbed, loans[1], read_from=True, costs=False)
    )
    sweep_overdue(calm.uow, origin=calm.origin)
    assert sweep_overdue(noted, origin=disturbed.origin).loans_swept == 1
    [sweep] = [calls for calls in noted.reads if calls and calls[0][1:2] == (LOANS,)]
    assert sweep[0] == ("get_documents", LOANS, INSTALLMENTS, INSTALLMENTS)
    assert sweep[1] == ("get_all", INSTALLMENTS, INSTALLMENTS)  # from the first one
    assert outcome(calm, loans[0]) == outcome(disturbed, loans[1])
    assert calm.loan_record(loans[0]).sweep_on == disturbed.loan_record(loans[1]).sweep_on
    assert notices(calm) == notices(disturbed)
