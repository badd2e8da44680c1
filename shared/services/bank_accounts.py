"""A user's own bank account: where payouts go and where a lender's deposits come from
(docs/lending-rules.md#deposits-and-withdrawals).

- `sealed_bank_account`: the account as stored: the number encrypted, masked, and as its
  keyed hash (a statement line's sender is compared by hash, never in clear).
- `change_bank_account`: `PUT /users/me/bank-account`. A new account is unverified and
  holds withdrawals for `WITHDRAWAL_HOLD` after the change: someone who took over a login
  cannot redirect the money at once, and the owner has a day to notice.
- A lender's account is *verified* when a deposit from it is confirmed against the bank
  statement (`shared/services/deposits.py`): the bank itself then named the account as the
  sender, so the lender controls it. Withdrawals go only to a verified account.
- A borrower's account is *verified* by the bank's account inquiry (`verify_by_inquiry`,
  asked by the disbursement request before anything is booked): the bank names the account's
  holder, and it must be the name registered with the account (case and spacing ignored, as
  the civil registry compares names). Payouts go only to a verified account
  (docs/lending-rules.md#disbursement).
- A changed account is a new, unverified one: it is verified again before money goes to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.errors import Conflict, Forbidden
from shared.domain.identity import mask_account_number, same_name
from shared.fields import Name
from shared.model import Model
from shared.platform.clock import Clock
from shared.platform.errors import TransientFailure
from shared.platform.personal_data import PersonalDataVault
from shared.platform.providers import BankAccountInquiry, InquiryUnavailable
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.deposits import BankAccountRef
from shared.records.users import BankAccountRecord, UserRecord, Users

WITHDRAWAL_HOLD = timedelta(hours=24)


class BankAccountInput(Model):
    """A bank account: the bank's three-digit code, the account number and its holder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_code: Annotated[str, Field(pattern=r"^\d{3}$", examples=["014"])]
    account_number: Annotated[str, Field(pattern=r"^\d{6,20}$")]
    account_holder: Name


def account_number_hash(vault: PersonalDataVault, account_number: str) -> str:
    return vault.lookup_hash("account_number", account_number)


def sealed_bank_account(
    vault: PersonalDataVault, account: BankAccountInput, *, changed_at: datetime | None = None
) -> BankAccountRecord:
    return BankAccountRecord(
        bank_code=account.bank_code,
        account_number_encrypted=vault.encrypt("account_number", account.account_number),
        account_number_masked=mask_account_number(account.account_number),
        account_number_hash=account_number_hash(vault, account.account_number),
        account_holder=account.account_holder,
        changed_at=changed_at,
    )


def account_ref(account: BankAccountRecord) -> BankAccountRef:
    """The account as a money record keeps it (it must carry its hash)."""
    if account.account_number_hash is None:
        raise Conflict("this bank account predates lookup hashes: register it again")
    return BankAccountRef(
        bank_code=account.bank_code,
        account_number_masked=account.account_number_masked,
        account_number_hash=account.account_number_hash,
        account_holder=account.account_holder,
    )


def withdrawals_held_until(account: BankAccountRecord) -> datetime | None:
    """When withdrawals to a changed account may start (None: never held)."""
    return None if account.changed_at is None else account.changed_at + WITHDRAWAL_HOLD


def change_bank_account(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    user_id: str,
    account: BankAccountInput,
    *,
    clock: Clock,
) -> UserRecord:
    """Replace the caller's bank account; the same account again changes nothing."""
    now = clock.now()
    new_hash = account_number_hash(vault, account.account_number)

    def change(tx: DocumentTransaction) -> UserRecord:
        users = Users(tx)
        user = users.get(user_id)
        if user is None:
            raise Forbidden("register first")
        current = user.bank_account
        if (
            current is not None
            and current.account_number_hash == new_hash
            and current.bank_code == account.bank_code
            and current.account_holder == account.account_holder
        ):
            return user
        changed = user.model_copy(
            update={
                "bank_account": sealed_bank_account(vault, account, changed_at=now),
                "updated_at": now,
            }
        )
        users.put(changed)
        return changed

    return uow.run(change)


class AccountInquiryUnavailable(TransientFailure):
    """The bank's account inquiry did not answer; the account cannot be verified right now."""


def verify_by_inquiry(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    bank: BankAccountInquiry,
    user_id: str,
    *,
    admin_id: str,
    clock: Clock,
) -> BankAccountRecord:
    """Verify the user's bank account with the bank's account inquiry: the holder the bank
    names must be the registered holder. An account verified already is left as it is; an
    account the bank does not know, or holds in another name, is refused (409) and stays
    unverified. The bank is asked outside any transaction; the verification is stored only
    if the account did not change meanwhile."""
    user = uow.run(lambda tx: Users(tx).get(user_id), read_only=True)
    if user is None or user.bank_account is None:
        raise Conflict(f"user {user_id} has no bank account to pay out to")
    account = user.bank_account
    if account.verified_at is not None:
        return account
    number = vault.decrypt("account_number", account.account_number_encrypted)
    answer = bank.inquire_bank_account(account.bank_code, number)
    where = f"account {account.account_number_masked} at bank {account.bank_code}"
    if isinstance(answer, InquiryUnavailable):
        raise AccountInquiryUnavailable(
            f"the bank's account inquiry could not check {where} right now", retry_after_s=5
        )
    if answer is None:
        raise Conflict(
            f"the bank has no {where}: the account is not verified and nothing is paid to it; "
            "the user registers their correct account"
        )
    if not same_name(answer.account_holder, account.account_holder):
        raise Conflict(
            f"the bank names another holder of {where} than the registered "
            f"{account.account_holder!r}: the account is not verified and nothing is paid to it"
        )
    now = clock.now()

    def verify(tx: DocumentTransaction) -> BankAccountRecord:
        users = Users(tx)
        current = users.require(user_id)
        if current.bank_account != account:
            raise Conflict(f"the bank account of {user_id} changed while it was checked: ask again")
        verified = account.model_copy(update={"verified_at": now, "verified_by_inquiry": admin_id})
        users.put(current.model_copy(update={"bank_account": verified, "updated_at": now}))
        return verified

    return uow.run(verify)
