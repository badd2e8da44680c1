"""The in-memory unit of work keeps the contract of the Firestore one (uow_contract.py), plus
the knobs unit tests use to simulate contention."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from shared.adapters.memory import FixedClock, MemoryUnitOfWork, RecordingPublisher
from shared.platform.errors import TransactionContended
from tests.unit.plumbing.uow_contract import CHECKS


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_memory_unit_of_work_keeps_the_contract(name):
    publisher = RecordingPublisher()
    CHECKS[name](MemoryUnitOfWork(publisher, FixedClock()), publisher, "accounts")


def test_a_transaction_that_loses_every_attempt_is_contended_and_writes_nothing():
    uow = MemoryUnitOfWork(max_attempts=3, retry_after_s=4)
    uow.contend(3)
    with pytest.raises(TransactionContended) as error:
        uow.run(lambda tx: tx.set("loans", "l-1", {"state": "submitted"}))
    assert error.value.retry_after_s == 4
    assert uow.attempts == 3
    assert uow.documents("loans") == {}


def test_a_transaction_that_loses_once_is_retried_and_commits():
    uow = MemoryUnitOfWork(max_attempts=3)
    uow.contend(1)
    runs = []

    def work(tx):
        runs.append(tx.get("loans", "l-1"))
        tx.set("loans", "l-1", {"state": "submitted"})
        return "ok"

    assert uow.run(work) == "ok"
    assert len(runs) == 2  # the work ran again from its reads
    assert uow.documents("loans") == {"l-1": {"state": "submitted"}}


def test_contention_can_target_the_transactions_that_write_one_collection():
    uow = MemoryUnitOfWork(max_attempts=2)
    uow.contend(2, writing_to="loans")
    uow.run(lambda tx: tx.set("idempotency_keys", "k", {}))  # unaffected
    with pytest.raises(TransactionContended):
        uow.run(lambda tx: tx.set("loans", "l-1", {}))


def test_a_document_read_and_changed_by_someone_else_forces_a_retry():
    uow = MemoryUnitOfWork(max_attempts=3)
    uow.seed("balances", "b", {"amount": 100})
    seen = []

    def work(tx):
        current = tx.get("balances", "b")
        seen.append(current["amount"])
        if len(seen) == 1:  # a concurrent writer commits between our read and our commit
            uow.seed("balances", "b", {"amount": 150})
        tx.update("balances", "b", {"amount": current["amount"] - 30})

    uow.run(work)
    assert seen == [100, 150]
    assert uow.documents("balances")["b"]["amount"] == 120


def test_documents_are_copies_so_a_caller_cannot_change_stored_state():
    uow = MemoryUnitOfWork()
    uow.seed("loans", "l-1", {"fees": [1, 2]})
    read = uow.run(lambda tx: tx.get("loans", "l-1"))
    read["fees"].append(3)
    assert uow.documents("loans")["l-1"] == {"fees": [1, 2]}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (Decimal("0.015"), "cannot store Decimal"),
        (date(2025, 3, 3), "cannot store date"),
        (datetime(2025, 3, 3), "aware datetimes"),
        (2**64, "64-bit"),
        ({1: "x"}, "map keys"),
    ],
)
def test_values_firestore_would_refuse_are_refused_in_unit_tests_too(value, reason):
    uow = MemoryUnitOfWork()
    with pytest.raises(TypeError, match=reason):
        uow.run(lambda tx: tx.set("loans", "l-1", {"field": value}))


def test_updates_name_top_level_fields():
    uow = MemoryUnitOfWork()
    uow.seed("loans", "l-1", {"terms": {"rate": "0.015"}})
    with pytest.raises(ValueError, match="top-level"):
        uow.run(lambda tx: tx.update("loans", "l-1", {"terms.rate": "0.02"}))
