"""Reading the ledger: any account's balance, for `admin.finance` (docs/lending-rules.md#ledger)."""

from __future__ import annotations

from pydantic import ConfigDict

from shared.domain.errors import DomainError, NotFound
from shared.domain.ledger import AccountId
from shared.model import Model
from shared.platform.store import UnitOfWork
from shared.records.ledger import read_balances
from shared.records.reconciliations import ReconciliationRecord


class AccountBalance(Model):
    model_config = ConfigDict(frozen=True)

    account: str
    kind: str
    balance: int  # in the account's normal direction: positive is money there


class ReconciliationList(Model):
    model_config = ConfigDict(frozen=True)

    runs: tuple[ReconciliationRecord, ...]


def account_balance(uow: UnitOfWork, account_name: str) -> AccountBalance:
    try:
        account = AccountId.parse(account_name)
    except DomainError:
        raise NotFound(f"there is no account {account_name[:80]!r}") from None
    balances = uow.run(lambda tx: read_balances(tx, [account]), read_only=True)
    return AccountBalance(
        account=str(account), kind=account.type.kind.value, balance=balances[account]
    )
