"""`finance`: `admin.finance`'s desk — deposits, withdrawals, bank statements, manual entries,
the ledger and its reconciliation.

Routes (rules in the services named; maker-checker throughout: whoever makes a request never
confirms it, and nobody acts on their own money):
- deposits (shared/services/deposits.py, `deposit.confirm`): `GET /deposits` by state and
  period; `POST /deposits/{id}/match` to a statement line, `/confirm` (another admin),
  `/unmatch`, `/reject`.
- withdrawals (shared/services/withdrawals.py, `withdrawal.confirm`): `GET /withdrawals`;
  `POST /withdrawals/{id}/approve`, `/confirm` (another admin, with the bank reference),
  `/reject`, `/returned` (with the statement line of the money coming back).
Decisions take an `Idempotency-Key`.

Configuration: `shared.settings.FinanceSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.documents import DocumentStorage
from shared.platform.escrow import EscrowAccount
from shared.platform.event_origin import EventProducer
from shared.platform.personal_data import PersonalDataVault
from shared.services.deposits import (
    DepositList,
    DepositMatch,
    DepositQuery,
    DepositRejection,
    DepositView,
    confirm_deposit,
    find_deposits,
    match_deposit,
    reject_deposit,
    unmatch_deposit,
)
from shared.services.withdrawals import (
    WithdrawalConfirmation,
    WithdrawalList,
    WithdrawalQuery,
    WithdrawalRejection,
    WithdrawalReturn,
    WithdrawalView,
    approve_withdrawal,
    confirm_withdrawal,
    find_withdrawals,
    record_returned_withdrawal,
    reject_withdrawal,
)

router: Router[FinanceServices] = Router(
    "finance",
    description="admin.finance: deposits, withdrawals, bank statements, the ledger and its checks.",
)
DEPOSITS = Permission.DEPOSIT_CONFIRM
WITHDRAWALS = Permission.WITHDRAWAL_CONFIRM


# --- deposits ------------------------------------------------------------------------------------


@router.get("/deposits", query=DepositQuery, response=DepositList, permission=DEPOSITS)
def deposits(call: Call[None, FinanceServices]) -> DepositList:
    """Lenders' deposits by state and declaration period, newest first."""
    return find_deposits(call.uow, call.query)


@router.post(
    "/deposits/{deposit_id}/match",
    body=DepositMatch,
    response=DepositView,
    permission=DEPOSITS,
    idempotent=True,
)
def match(call: Call[DepositMatch, FinanceServices]) -> DepositView:
    """Pair a declared deposit with the statement line showing its money arrive."""
    return match_deposit(
        call.uow,
        call.path["deposit_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


@router.post(
    "/deposits/{deposit_id}/confirm", response=DepositView, permission=DEPOSITS, idempotent=True
)
def confirm(call: Call[None, FinanceServices]) -> DepositView:
    """Confirm a matched deposit (not the admin who matched it): the lender is credited."""
    return confirm_deposit(
        call.uow, call.path["deposit_id"], admin_id=call.caller.user_id, origin=call.services.origin
    )


@router.post(
    "/deposits/{deposit_id}/unmatch",
    body=DepositRejection,
    response=DepositView,
    permission=DEPOSITS,
    idempotent=True,
)
def unmatch(call: Call[DepositRejection, FinanceServices]) -> DepositView:
    """Undo a match you disagree with, saying why; the line returns to suspense."""
    return unmatch_deposit(
        call.uow,
        call.path["deposit_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


@router.post(
    "/deposits/{deposit_id}/reject",
    body=DepositRejection,
    response=DepositView,
    permission=DEPOSITS,
    idempotent=True,
)
def reject(call: Call[DepositRejection, FinanceServices]) -> DepositView:
    """Reject a declaration, saying why: it credits nothing."""
    return reject_deposit(
        call.uow,
        call.path["deposit_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


# --- withdrawals ---------------------------------------------------------------------------------


@router.get("/withdrawals", query=WithdrawalQuery, response=WithdrawalList, permission=WITHDRAWALS)
def withdrawals(call: Call[None, FinanceServices]) -> WithdrawalList:
    """Lenders' withdrawals by state and request period, newest first."""
    return find_withdrawals(call.uow, call.query)


@router.post(
    "/withdrawals/{withdrawal_id}/approve",
    response=WithdrawalView,
    permission=WITHDRAWALS,
    idempotent=True,
)
def approve(call: Call[None, FinanceServices]) -> WithdrawalView:
    """Release a withdrawal for transfer; another admin confirms the transfer."""
    return approve_withdrawal(
        call.uow,
        call.path["withdrawal_id"],
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


@router.post(
    "/withdrawals/{withdrawal_id}/confirm",
    body=WithdrawalConfirmation,
    response=WithdrawalView,
    permission=WITHDRAWALS,
    idempotent=True,
)
def confirm_transfer(call: Call[WithdrawalConfirmation, FinanceServices]) -> WithdrawalView:
    """The bank made the transfer (its reference and value date): the money leaves."""
    return confirm_withdrawal(
        call.uow,
        call.path["withdrawal_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


@router.post(
    "/withdrawals/{withdrawal_id}/reject",
    body=WithdrawalRejection,
    response=WithdrawalView,
    permission=WITHDRAWALS,
    idempotent=True,
)
def reject_transfer(call: Call[WithdrawalRejection, FinanceServices]) -> WithdrawalView:
    """Refuse a withdrawal before its transfer: the money is available again."""
    return reject_withdrawal(
        call.uow,
        call.path["withdrawal_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


@router.post(
    "/withdrawals/{withdrawal_id}/returned",
    body=WithdrawalReturn,
    response=WithdrawalView,
    permission=WITHDRAWALS,
    idempotent=True,
)
def returned(call: Call[WithdrawalReturn, FinanceServices]) -> WithdrawalView:
    """The bank returned a transfer (the statement line shows it): the money is available."""
    return record_returned_withdrawal(
        call.uow,
        call.path["withdrawal_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FinanceServices(EventProducer, HttpServices):
    entity: str
    vault: PersonalDataVault
    escrow: EscrowAccount
    documents: DocumentStorage


def _services() -> FinanceServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.adapters.crypto import pii_vault
    from shared.adapters.storage import document_storage
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.users import UserDirectory
    from shared.settings import FinanceSettings, load_settings

    settings = load_settings(FinanceSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        FinanceServices,
        uow=uow,
        callers=UserDirectory(uow),
        entity=settings.entity,
        vault=pii_vault(settings),
        escrow=settings.escrow_account,
        documents=document_storage(settings),
    )


services: Lazy[FinanceServices] = Lazy(_services)


@functions_framework.http
def finance(request: Any) -> Any:
    return router.handle(request, services.get())
