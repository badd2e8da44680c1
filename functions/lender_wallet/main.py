"""`lender_wallet`: a lender's own money — balances, deposits and withdrawals.

Routes (rules in shared/services/deposits.py, withdrawals.py and wallet.py; all `wallet.use`):
- `GET /balance` — available, reserved and committed, and the bank account's state.
- `GET /entries` — the ledger entries that moved my money, newest first.
- `POST /deposits` — declare a bank transfer to the escrow account; the answer says where
  to transfer. `GET /deposits` — my deposits.
- `POST /withdrawals` — withdraw to my verified bank account (409 with the available balance
  when it is short). `GET /withdrawals` — my withdrawals.
- `GET /statements/{month}` — my statement of a month (`YYYY-MM`) from my repayment receipts;
  `GET /loans/{loan_id}/receipts` — my receipts from one loan (rules in
  shared/services/repayment_views.py).
Moves take an `Idempotency-Key`.

Configuration: `shared.settings.WalletSettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.escrow import EscrowAccount, MoneyLimits
from shared.platform.event_origin import EventProducer
from shared.platform.personal_data import PersonalDataVault
from shared.services.deposits import (
    DeclaredDeposit,
    DepositDeclaration,
    DepositList,
    declare_deposit,
    deposits_of,
)
from shared.services.repayment_views import (
    MONTH_PATTERN,
    LoanReceipts,
    MonthlyStatement,
    receipts_for_loan,
    statement_of,
)
from shared.services.wallet import EntryList, EntryQuery, WalletBalance, entries_of, wallet_of
from shared.services.withdrawals import (
    WithdrawalList,
    WithdrawalRequest,
    WithdrawalView,
    request_withdrawal,
    withdrawals_of,
)

router: Router[WalletServices] = Router(
    "lender_wallet",
    description="A lender's balances, deposits, withdrawals and repayment statements.",
)
WALLET = Permission.WALLET_USE


@router.get("/balance", response=WalletBalance, permission=WALLET)
def balance(call: Call[None, WalletServices]) -> WalletBalance:
    """My available, reserved and committed money."""
    return wallet_of(call.uow, call.caller.user_id)


@router.get("/entries", query=EntryQuery, response=EntryList, permission=WALLET)
def entries(call: Call[None, WalletServices]) -> EntryList:
    """The ledger entries that moved my money, newest first."""
    return entries_of(call.uow, call.caller.user_id, call.query)


@router.post(
    "/deposits",
    body=DepositDeclaration,
    response=DeclaredDeposit,
    status=201,
    permission=WALLET,
    idempotent=True,
)
def declare(call: Call[DepositDeclaration, WalletServices]) -> DeclaredDeposit:
    """Declare a transfer to the escrow account; finance confirms it against the bank."""
    s = call.services
    return declare_deposit(
        call.uow, s.vault, call.caller, call.body, escrow=s.escrow, limits=s.limits, origin=s.origin
    )


@router.get("/deposits", response=DepositList, permission=WALLET)
def my_deposits(call: Call[None, WalletServices]) -> DepositList:
    """My deposits, newest first."""
    return deposits_of(call.uow, call.caller.user_id)


@router.post(
    "/withdrawals",
    body=WithdrawalRequest,
    response=WithdrawalView,
    status=201,
    permission=WALLET,
    idempotent=True,
)
def withdraw(call: Call[WithdrawalRequest, WalletServices]) -> WithdrawalView:
    """Withdraw to my verified bank account: the amount is reserved at once."""
    s = call.services
    return request_withdrawal(call.uow, call.caller, call.body, limits=s.limits, origin=s.origin)


@router.get("/withdrawals", response=WithdrawalList, permission=WALLET)
def my_withdrawals(call: Call[None, WalletServices]) -> WithdrawalList:
    """My withdrawals, newest first."""
    return withdrawals_of(call.uow, call.caller.user_id)


@router.get(
    "/statements/{month}",
    response=MonthlyStatement,
    permission=WALLET,
    path_patterns={"month": MONTH_PATTERN},
)
def statement(call: Call[None, WalletServices]) -> MonthlyStatement:
    """My statement of a month: one line per repayment received, and the totals.

    A month without receipts is an empty statement; a month not written `YYYY-MM` is a 422.
    """
    return statement_of(call.uow, call.caller.user_id, call.path["month"])


@router.get("/loans/{loan_id}/receipts", response=LoanReceipts, permission=WALLET)
def loan_receipts(call: Call[None, WalletServices]) -> LoanReceipts:
    """My receipts from one loan, and the totals (a loan I have no stake in is a 404)."""
    return receipts_for_loan(call.uow, call.caller.user_id, call.path["loan_id"])


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WalletServices(EventProducer, HttpServices):
    entity: str
    vault: PersonalDataVault
    escrow: EscrowAccount
    limits: MoneyLimits


def _services() -> WalletServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.adapters.crypto import pii_vault
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import WalletSettings, load_settings

    settings = load_settings(WalletSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        WalletServices,
        uow=uow,
        callers=UserDirectory(uow),
        entity=settings.entity,
        vault=pii_vault(settings),
        escrow=settings.escrow_account,
        limits=settings.money_limits,
    )


services: Lazy[WalletServices] = Lazy(_services)


@functions_framework.http
def lender_wallet(request: Any) -> Any:
    return router.handle(request, services.get())
