"""Each allocated repayment split to the loan's lenders, to the rupiah
(docs/lending-rules.md#billing-split).

`split_payment` (`billing_split`, on `installment.paid`) makes the split's stored plan,
`split-<payment id>`, in one transaction: it reads the loan's active participations, each
lender's tax profile on the day (verified treaty certificates and exemption letters), and
the product's platform fee rate, and fixes every lender's line with `split.split_to_lenders`
(interest and late fee in proportion to the principal funded, principal in proportion to what
each is still owed; the platform fee on gross interest, its VAT, PPh 23/26 withheld; the net).
While it runs, the loan names the plan (`money_plan`): a second split of the same loan waits
(`Busy`, redelivered) until the first has paid every lender, since its weights read what the
first pays. The plan then runs in chunks of
lenders (`money_plans.run_plan`), each one transaction that posts the chunk's entry out of
the loan's pending split, adds each lender's receipt to their participation, writes their
receipt (`lender_receipts`, the lines of their statements) and lowers their live position by
the principal returned. That is three writes per lender: their available balance, which
takes the net and, in the same write, the lower position (`shared/records/positions.py`),
their participation and their receipt; a lender in an affiliate group costs one more, the
group's position. A redelivered event finds the plan and finishes it or does nothing.
A payment of a written-off loan is split the same way, as a recovery: the plan says so
(`recovery`) and so does each receipt (docs/lending-rules.md#write-off).

The invariant, asserted on every split: Σ nets + lender fees and their VAT + withholding +
borrower fees and their VAT = the allocated payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.domain.errors import Conflict
from shared.domain.ledger import JournalEntry
from shared.domain.loan import LoanState
from shared.domain.money import Rupiah
from shared.domain.movements import split_chunk
from shared.domain.split import LenderStake, split_to_lenders
from shared.platform.clock import jakarta_date
from shared.platform.errors import Busy
from shared.platform.event_origin import EventOrigin
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.loans import Loans
from shared.records.money_plans import MoneyPlanRecord, MoneyPlans, SplitLine
from shared.records.participations import ParticipationRecord, Participations
from shared.records.payments import (
    LenderReceiptRecord,
    LenderReceipts,
    Payments,
    receipt_id,
)
from shared.records.tax_documents import TaxDocumentRecord, TaxDocuments
from shared.records.users import Users
from shared.services.catalogue import product_of
from shared.services.lender_tax import tax_profile_on
from shared.services.money_plans import CHUNK_LENDERS, run_plan

IN_QUERY_LIMIT = 30  # Firestore's `in` filter takes at most 30 values
MAX_DOCUMENTS_PER_LENDER = 20


def split_payment(uow: UnitOfWork, payment_id: str, *, origin: EventOrigin) -> MoneyPlanRecord:
    """Split an allocated payment to its loan's lenders, exactly once."""
    plan_id = f"split-{payment_id}"
    now = origin.clock.now

    def make(tx: DocumentTransaction) -> MoneyPlanRecord:
        plans = MoneyPlans(tx)
        existing = plans.get(plan_id)
        payment = Payments(tx).require(payment_id)
        if existing is not None:
            return existing
        if payment.allocation is None or payment.owner_id is None:
            raise Conflict(f"payment {payment_id} is not allocated yet: nothing to split")
        loans = Loans(tx)
        loan = loans.require(payment.owner_id)
        if loan.money_plan is not None:
            # Another split (or plan) of this loan is still running: its lenders' principal
            # received, which this split's weights read, is not final until it finishes.
            raise Busy(f"loan {loan.id} is busy with {loan.money_plan}", retry_after_s=5)
        stakes = Participations(tx).find(
            Where("loan_id", "==", loan.id),
            Where("state", "==", "active"),
            order_by=(OrderBy("lender_id"),),
            limit=max(loan.lender_count, 1) + 1,
        )
        if not stakes:
            raise Conflict(f"loan {loan.id} has no active participation to split to")
        lender_ids = [s.lender_id for s in stakes]
        users = Users(tx).get_many(lender_ids)
        documents = _tax_documents(tx, lender_ids)
        product = product_of(tx, loan.product_id, loan.product_version)
        at = now()
        on = jakarta_date(at)
        weights = []
        for stake in stakes:
            user = users[stake.lender_id]
            if user is None:
                raise Conflict(f"lender {stake.lender_id} of loan {loan.id} has no record")
            profile = tax_profile_on(user, documents.get(stake.lender_id, []), on)
            weights.append(
                LenderStake(
                    stake.lender_id,
                    Rupiah(stake.principal_funded),
                    profile,
                    Rupiah(stake.principal_funded - stake.principal_received),
                )
            )
        split = split_to_lenders(
            payment.allocation.collected.parts(),
            weights,
            product.lender_platform_fee_rate,
            on,
        )
        plan = MoneyPlanRecord(
            id=plan_id,
            kind="split",
            loan_id=loan.id,
            lenders=tuple(lender_ids),
            chunk_size=CHUNK_LENDERS,
            created_at=at,
            updated_at=at,
            payment_id=payment_id,
            recovery=loan.state is LoanState.WRITTEN_OFF,
            lines=tuple(
                SplitLine(
                    lender_id=line.lender_id,
                    principal=line.principal,
                    interest=line.interest,
                    late_fee=line.late_fee,
                    platform_fee=line.platform_fee,
                    vat=line.vat,
                    withholding=line.withholding,
                    withholding_article=line.withholding_article.value,
                    net=line.net,
                )
                for line in split.lines
            ),
        )
        plans.add(plan)
        loans.put(loan.model_copy(update={"money_plan": plan_id, "updated_at": at}))
        return plan

    uow.run(make)
    return run_plan(
        uow,
        plan_id,
        entry=_chunk_entry,
        change=None,  # `_receipts` adds each lender's receipt to their stake
        finish=lambda tx, plan: _finish(tx, plan, now()),
        now=now,
        positions=_principal_returned,
        record=_receipts,
    )


def _lines(plan: MoneyPlanRecord, stakes: Mapping[str, ParticipationRecord]) -> list[SplitLine]:
    by_lender = {line.lender_id: line for line in plan.lines}
    return [by_lender[lender_id] for lender_id in stakes]


def _principal_returned(
    plan: MoneyPlanRecord, stakes: Mapping[str, ParticipationRecord]
) -> dict[str, int]:
    """Each lender's live position falls by the principal their line returns."""
    return {line.lender_id: -line.principal for line in _lines(plan, stakes)}


def _chunk_entry(
    plan: MoneyPlanRecord,
    entry_id: str,
    stakes: Mapping[str, ParticipationRecord],
    at: datetime,
) -> JournalEntry:
    return split_chunk(entry_id, plan.loan_id, _lines(plan, stakes), at)


def _receipts(
    tx: DocumentTransaction,
    plan: MoneyPlanRecord,
    stakes: Mapping[str, ParticipationRecord],
    at: datetime,
) -> None:
    assert plan.payment_id is not None
    on = jakarta_date(at)
    participations = Participations(tx)
    receipts = LenderReceipts(tx)
    for line in _lines(plan, stakes):
        stake = stakes[line.lender_id]
        participations.put(
            stake.model_copy(
                update={
                    "principal_received": stake.principal_received + line.principal,
                    "interest_received": stake.interest_received + line.interest,
                    "late_fee_received": stake.late_fee_received + line.late_fee,
                    "platform_fee_paid": stake.platform_fee_paid + line.platform_fee,
                    "vat_paid": stake.vat_paid + line.vat,
                    "withholding_paid": stake.withholding_paid + line.withholding,
                    "net_received": stake.net_received + line.net,
                    "updated_at": at,
                }
            )
        )
        receipts.add(
            LenderReceiptRecord(
                id=receipt_id(plan.payment_id, line.lender_id),
                payment_id=plan.payment_id,
                loan_id=plan.loan_id,
                on=on,
                month=on.strftime("%Y-%m"),
                recovery=plan.recovery,
                **line.model_dump(),
            )
        )


def _finish(tx: DocumentTransaction, plan: MoneyPlanRecord, at: datetime) -> None:
    assert plan.payment_id is not None
    payments = Payments(tx)
    payment = payments.require(plan.payment_id)
    loans = Loans(tx)
    loan = loans.require(plan.loan_id)
    payments.put(payment.model_copy(update={"state": "split"}))
    if loan.money_plan == plan.id:
        loans.put(loan.model_copy(update={"money_plan": None, "updated_at": at}))


def _tax_documents(
    tx: DocumentTransaction, lender_ids: list[str]
) -> dict[str, list[TaxDocumentRecord]]:
    """Every verified tax document of the lenders, by lender (`in` queries of 30)."""
    found: dict[str, list[TaxDocumentRecord]] = {}
    for start in range(0, len(lender_ids), IN_QUERY_LIMIT):
        batch = lender_ids[start : start + IN_QUERY_LIMIT]
        for document in TaxDocuments(tx).find(
            Where("user_id", "in", batch),
            Where("state", "==", "verified"),
            limit=MAX_DOCUMENTS_PER_LENDER * len(batch),
        ):
            found.setdefault(document.user_id, []).append(document)
    return found
