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
- statements (shared/services/statement_imports.py, `statement.import`): `POST
  /statements/uploads` (where to upload the file), `POST /statements` (import it); `GET
  /statements`, `/statements/{id}/lines`, `/lines?state=in_suspense` (`ledger.read`).
- the ledger (`ledger.read`, `ledger.adjust`): `GET /accounts/{account}`; manual entries
  (shared/services/manual_entries.py) `POST /manual-entries`, `/{id}/approve` (another
  admin), `/{id}/reject`, `GET /manual-entries`.
- reconciliation (shared/services/reconciliation.py): `POST /reconciliations` queues a run
  (`reconciliation.run`); `GET /reconciliations`, `/reconciliations/{id}`.
- the gateway's settlements, payments in suspense, credit refunds, fees and taxes: the
  `treasury` function.
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
from shared.platform.ids import require_document_id
from shared.platform.personal_data import PersonalDataVault
from shared.records.manual_entries import ManualEntryRecord
from shared.records.reconciliations import ReconciliationRecord
from shared.records.statements import StatementRecord
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
from shared.services.ledger import AccountBalance, ReconciliationList, account_balance
from shared.services.manual_entries import (
    ManualEntryDecision,
    ManualEntryList,
    ManualEntryProposal,
    ManualEntryQuery,
    ProposedManualEntry,
    approve_manual_entry,
    list_manual_entries,
    propose_manual_entry,
    reject_manual_entry,
)
from shared.services.reconciliation import (
    list_reconciliations,
    reconciliation,
    request_reconciliation,
)
from shared.services.statement_imports import (
    LineList,
    LineQuery,
    StatementImport,
    StatementList,
    StatementUpload,
    StatementUploadRequest,
    import_statement,
    list_statements,
    open_lines,
    statement_lines,
    statement_upload,
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
STATEMENTS = Permission.STATEMENT_IMPORT
LEDGER = Permission.LEDGER_READ
ADJUST = Permission.LEDGER_ADJUST
RESOLVE = Permission.PAYMENT_RESOLVE


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


# --- bank statements -----------------------------------------------------------------------------


@router.post(
    "/statements/uploads",
    body=StatementUploadRequest,
    response=StatementUpload,
    status=201,
    permission=STATEMENTS,
)
def upload_statement(call: Call[StatementUploadRequest, FinanceServices]) -> StatementUpload:
    """Where to upload a statement file of the escrow account (CSV or MT940)."""
    return statement_upload(call.services.documents, call.body, origin=call.services.origin)


@router.post(
    "/statements",
    body=StatementImport,
    response=StatementRecord,
    permission=STATEMENTS,
    not_found=True,  # nothing uploaded under the upload id
)
def import_uploaded_statement(call: Call[StatementImport, FinanceServices]) -> StatementRecord:
    """Import an uploaded statement: money in to suspense, money out explained; again is a no-op."""
    s = call.services
    return import_statement(
        call.uow,
        s.documents,
        s.vault,
        call.body,
        escrow=s.escrow,
        admin_id=call.caller.user_id,
        origin=s.origin,
    )


@router.get("/statements", response=StatementList, permission=LEDGER)
def statements(call: Call[None, FinanceServices]) -> StatementList:
    """Imported statements, latest period first."""
    return list_statements(call.uow)


@router.get(
    "/statements/{statement_id}/lines", query=LineQuery, response=LineList, permission=LEDGER
)
def lines(call: Call[None, FinanceServices]) -> LineList:
    """One statement's lines in order, optionally in one state."""
    statement_id = require_document_id(call.path["statement_id"], "statement")
    return statement_lines(call.uow, statement_id, call.query)


@router.get("/lines", query=LineQuery, response=LineList, permission=LEDGER)
def open_statement_lines(call: Call[None, FinanceServices]) -> LineList:
    """Lines of every statement in a state: `in_suspense` (unclaimed money in) by default."""
    return open_lines(call.uow, call.query)


# --- the ledger ----------------------------------------------------------------------------------


@router.get("/accounts/{account}", response=AccountBalance, permission=LEDGER)
def account(call: Call[None, FinanceServices]) -> AccountBalance:
    """Any account's balance (a hot account's shards summed)."""
    return account_balance(call.uow, call.path["account"])


@router.post(
    "/manual-entries",
    body=ManualEntryProposal,
    response=ProposedManualEntry,
    status=201,
    permission=ADJUST,
    idempotent=True,
)
def propose(call: Call[ManualEntryProposal, FinanceServices]) -> ProposedManualEntry:
    """Propose an adjusting entry with its reason; upload the evidence to the URLs."""
    s = call.services
    return propose_manual_entry(
        call.uow, s.documents, call.body, admin_id=call.caller.user_id, origin=s.origin
    )


@router.get("/manual-entries", query=ManualEntryQuery, response=ManualEntryList, permission=ADJUST)
def manual_entries(call: Call[None, FinanceServices]) -> ManualEntryList:
    """Adjusting entries, newest first."""
    return list_manual_entries(call.uow, call.query)


@router.post(
    "/manual-entries/{entry_id}/approve",
    body=ManualEntryDecision,
    response=ManualEntryRecord,
    permission=ADJUST,
    idempotent=True,
)
def approve_adjustment(call: Call[ManualEntryDecision, FinanceServices]) -> ManualEntryRecord:
    """Approve and post an adjustment someone else proposed, once its evidence is uploaded."""
    s = call.services
    return approve_manual_entry(
        call.uow,
        s.documents,
        call.path["entry_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=s.origin,
    )


@router.post(
    "/manual-entries/{entry_id}/reject",
    body=ManualEntryDecision,
    response=ManualEntryRecord,
    permission=ADJUST,
    idempotent=True,
)
def reject_adjustment(call: Call[ManualEntryDecision, FinanceServices]) -> ManualEntryRecord:
    """Reject a proposed adjustment, saying why."""
    return reject_manual_entry(
        call.uow,
        call.path["entry_id"],
        call.body,
        admin_id=call.caller.user_id,
        origin=call.services.origin,
    )


# --- reconciliation ------------------------------------------------------------------------------


@router.post(
    "/reconciliations",
    response=ReconciliationRecord,
    status=202,
    permission=Permission.RECONCILIATION_RUN,
    idempotent=True,
)
def queue_reconciliation(call: Call[None, FinanceServices]) -> ReconciliationRecord:
    """Queue a reconciliation now; the reconciliation function runs it within 15 minutes."""
    return request_reconciliation(
        call.uow, admin_id=call.caller.user_id, origin=call.services.origin
    )


@router.get("/reconciliations", response=ReconciliationList, permission=LEDGER)
def reconciliations(call: Call[None, FinanceServices]) -> ReconciliationList:
    """Reconciliation runs, latest first."""
    return ReconciliationList(runs=list_reconciliations(call.uow))


@router.get("/reconciliations/{run_id}", response=ReconciliationRecord, permission=LEDGER)
def one_reconciliation(call: Call[None, FinanceServices]) -> ReconciliationRecord:
    """One run and what it found."""
    return reconciliation(call.uow, require_document_id(call.path["run_id"], "reconciliation"))


# --- fees and taxes out of escrow ----------------------------------------------------------------


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
    from shared.records.user_directory import UserDirectory
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
