"""The money use cases driven as finance and lenders drive them, over any unit of work.

`MoneyDesk(uow)` seeds lenders and staff, declares deposits, imports statements (written
with the CSV writer and uploaded to an in-memory bucket), matches, confirms, withdraws,
and reconciles. The same scenarios run on the in-memory store
(tests/unit/journey/test_money.py) and on the Firestore emulator
(tests/integration/journey/test_money_on_the_emulator.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.adapters.memory import FixedClock, MemoryDocumentStorage, SequentialIds, fixed_key_vault
from shared.domain.bank_statements import BankStatement, Direction, Movement, statement_csv
from shared.domain.ledger import AccountId, AccountType
from shared.platform.callers import Caller
from shared.platform.escrow import EscrowAccount, MoneyLimits
from shared.platform.event_origin import EventOrigin
from shared.platform.store import UnitOfWork, Where
from shared.records.ledger import read_balances
from shared.records.reconciliations import ReconciliationRecord
from shared.records.statements import StatementLineRecord, StatementLines, StatementRecord
from shared.records.users import USERS, LenderProfile, UserRecord
from shared.services.bank_accounts import BankAccountInput, sealed_bank_account
from shared.services.deposits import (
    DepositDeclaration,
    DepositMatch,
    DepositRejection,
    confirm_deposit,
    declare_deposit,
    match_deposit,
    reject_deposit,
)
from shared.services.reconciliation import reconcile
from shared.services.statement_imports import (
    StatementImport,
    StatementUploadRequest,
    import_statement,
    statement_upload,
)
from shared.services.wallet import WalletBalance, wallet_of
from shared.services.withdrawals import (
    WithdrawalConfirmation,
    WithdrawalRejection,
    WithdrawalRequest,
    WithdrawalReturn,
    approve_withdrawal,
    confirm_withdrawal,
    record_returned_withdrawal,
    reject_withdrawal,
    request_withdrawal,
)

ESCROW = EscrowAccount(
    bank_code="014",
    bank_name="Bank Central Asia",
    account_number="8880012345",
    account_name="PT Patungan Dana Bersama (escrow)",
)
MONDAY = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


@dataclass
class MoneyDesk:
    uow: UnitOfWork
    clock: FixedClock = field(default_factory=lambda: FixedClock(MONDAY))
    ids: SequentialIds = field(default_factory=SequentialIds)
    vault: Any = field(default_factory=fixed_key_vault)
    storage: MemoryDocumentStorage = field(default_factory=MemoryDocumentStorage)
    limits: MoneyLimits = field(default_factory=MoneyLimits)
    accounts: dict[str, str] = field(default_factory=dict)  # lender → bank account number
    balance_carried: int = 0  # the escrow account's balance at the last statement's close
    last_close: date | None = None

    @property
    def origin(self) -> EventOrigin:
        return EventOrigin("p2p", self.clock, self.ids)

    # --- people ------------------------------------------------------------------------------

    def lender(self, lender_id: str, account_number: str, *, verified: bool = False) -> str:
        """A resident lender whose identity the civil registry confirmed (seeded)."""
        now = self.clock.now()
        account = sealed_bank_account(
            self.vault,
            BankAccountInput(
                bank_code="014", account_number=account_number, account_holder=f"Lender {lender_id}"
            ),
        )
        if verified:
            account = account.model_copy(update={"verified_at": now})
        record = UserRecord(
            id=lender_id,
            role="lender",
            full_name=f"Lender {lender_id}",
            birth_date=date(1980, 1, 1),
            phone="+6281300000000",
            nik_hash=f"nik-{lender_id}",
            bank_account=account,
            lender_profile=LenderProfile(residency="resident"),
            identity_verified_at=now,
            registered_at=now,
            updated_at=now,
        )
        data = record.model_dump(mode="json")
        self.uow.run(lambda tx: tx.set(USERS, lender_id, data))
        self.accounts[lender_id] = account_number
        return lender_id

    # --- deposits ----------------------------------------------------------------------------

    def declare(self, lender_id: str, amount: int, reference: str) -> str:
        declared = declare_deposit(
            self.uow,
            self.vault,
            Caller(lender_id, "lender"),
            DepositDeclaration(
                amount=amount,
                sender_account=BankAccountInput(
                    bank_code="014",
                    account_number=self.accounts[lender_id],
                    account_holder=f"Lender {lender_id}",
                ),
                transfer_reference=reference,
            ),
            escrow=ESCROW,
            limits=self.limits,
            origin=self.origin,
        )
        return declared.deposit.id

    def match(self, deposit_id: str, line_id: str, admin: str = "fin-1") -> Any:
        return match_deposit(
            self.uow, deposit_id, DepositMatch(line_id=line_id), admin_id=admin, origin=self.origin
        )

    def confirm(self, deposit_id: str, admin: str = "fin-2") -> Any:
        return confirm_deposit(self.uow, deposit_id, admin_id=admin, origin=self.origin)

    def reject(self, deposit_id: str, admin: str = "fin-1") -> Any:
        return reject_deposit(
            self.uow,
            deposit_id,
            DepositRejection(reason="no such transfer on the statement"),
            admin_id=admin,
            origin=self.origin,
        )

    def deposit(self, lender_id: str, amount: int, reference: str) -> str:
        """Declared, on a statement of its own, matched and confirmed."""
        deposit_id = self.declare(lender_id, amount, reference)
        self.statement([self.transfer_in(lender_id, amount, reference)])
        self.match(deposit_id, self.line(reference))
        self.confirm(deposit_id)
        return deposit_id

    # --- statements --------------------------------------------------------------------------

    def transfer_in(
        self, lender_id: str | None, amount: int, reference: str, *, sender: str | None = None
    ) -> Movement:
        day = self.today()
        return Movement(
            booking_date=day,
            value_date=day,
            direction=Direction.CREDIT,
            amount=amount,
            bank_reference=f"IN-{reference}",
            sender_reference=reference,
            description=f"TRF {reference}",
            counterparty_account=sender or self.accounts[lender_id or ""],
            counterparty_bank_code="014",
            counterparty_name=f"Lender {lender_id}" if lender_id else "Unknown",
        )

    def transfer_out(self, amount: int, bank_reference: str) -> Movement:
        day = self.today()
        return Movement(
            booking_date=day,
            value_date=day,
            direction=Direction.DEBIT,
            amount=amount,
            bank_reference=bank_reference,
            description="PAYOUT",
        )

    def statement_file(
        self, movements: list[Movement], *, opened_on: date | None = None
    ) -> BankStatement:
        day = self.today()
        opening = self.balance_carried
        closing = opening + sum(
            m.amount if m.direction is Direction.CREDIT else -m.amount for m in movements
        )
        return BankStatement.create(
            account_number=ESCROW.account_number,
            opening_date=opened_on or day,
            opening_balance=opening,
            closing_date=day,
            closing_balance=closing,
            movements=movements,
        )

    def upload(self, data: bytes) -> str:
        upload = statement_upload(
            self.storage, StatementUploadRequest(format="csv"), origin=self.origin
        )
        self.storage.put(f"statements/{upload.upload_id}", data, "text/csv")
        return upload.upload_id

    def import_file(self, upload_id: str, admin: str = "fin-1") -> StatementRecord:
        return import_statement(
            self.uow,
            self.storage,
            self.vault,
            StatementImport(upload_id=upload_id, format="csv"),
            escrow=ESCROW,
            admin_id=admin,
            origin=self.origin,
        )

    def statement(
        self, movements: list[Movement], *, opened_on: date | None = None
    ) -> StatementRecord:
        """Today's statement of the escrow account with these movements, imported; the next
        statement is for the next day. `opened_on` dates its opening balance (today unless
        given)."""
        file = self.statement_file(movements, opened_on=opened_on)
        record = self.import_file(self.upload(statement_csv(file)))
        self.balance_carried = file.closing_balance
        self.next_day()
        return record

    def line(self, reference: str) -> str:
        lines = self.uow.run(
            lambda tx: StatementLines(tx).find(Where("sender_reference", "==", reference)),
            read_only=True,
        )
        assert len(lines) == 1, f"{len(lines)} lines carry {reference}"
        return lines[0].id

    def lines(self) -> list[StatementLineRecord]:
        return self.uow.run(lambda tx: StatementLines(tx).find(limit=1000), read_only=True)

    # --- withdrawals -------------------------------------------------------------------------

    def withdraw(self, lender_id: str, amount: int) -> str:
        return request_withdrawal(
            self.uow,
            Caller(lender_id, "lender"),
            WithdrawalRequest(amount=amount),
            limits=self.limits,
            origin=self.origin,
        ).id

    def approve(self, withdrawal_id: str, admin: str = "fin-1") -> Any:
        return approve_withdrawal(self.uow, withdrawal_id, admin_id=admin, origin=self.origin)

    def transfer(
        self,
        withdrawal_id: str,
        bank_reference: str,
        admin: str = "fin-2",
        *,
        on: date | None = None,
    ) -> Any:
        return confirm_withdrawal(
            self.uow,
            withdrawal_id,
            WithdrawalConfirmation(bank_reference=bank_reference, value_date=on or self.today()),
            admin_id=admin,
            origin=self.origin,
        )

    def reject_withdrawal(self, withdrawal_id: str, admin: str = "fin-1") -> Any:
        return reject_withdrawal(
            self.uow,
            withdrawal_id,
            WithdrawalRejection(reason="the lender asked to cancel"),
            admin_id=admin,
            origin=self.origin,
        )

    def returned(self, withdrawal_id: str, line_id: str, admin: str = "fin-1") -> Any:
        return record_returned_withdrawal(
            self.uow,
            withdrawal_id,
            WithdrawalReturn(line_id=line_id, reason="the beneficiary account is closed"),
            admin_id=admin,
            origin=self.origin,
        )

    # --- reading and checking ----------------------------------------------------------------

    def wallet(self, lender_id: str) -> WalletBalance:
        return wallet_of(self.uow, lender_id)

    def balance(self, account: str) -> int:
        parsed = AccountId.parse(account)
        return self.uow.run(lambda tx: read_balances(tx, [parsed]), read_only=True)[parsed]

    def platform(self) -> dict[str, int]:
        names = ("escrow_cash", "suspense")
        return {name: self.balance(name) for name in names}

    def reconcile(self, kind: str = "on_demand") -> ReconciliationRecord:
        day = self.today()
        run_id = self.ids.new_id("recon")
        return reconcile(
            self.uow,
            kind=kind,  # type: ignore[arg-type]
            day=day,
            run_id=run_id,
            origin=self.origin,
        )

    # --- time --------------------------------------------------------------------------------

    def today(self) -> date:
        from shared.platform.clock import jakarta_date

        return jakarta_date(self.clock.now())

    def next_day(self) -> None:
        self.clock.advance(days=1)


def lender_account(kind: str, lender_id: str) -> str:
    return str(AccountId(AccountType(f"lender_{kind}"), lender_id))
