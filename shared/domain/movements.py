"""The journal entries of lenders' money movements, one constructor per movement
(docs/lending-rules.md#deposits-and-withdrawals).

Each entry's id is derived from what it belongs to (`deposit-<id>`, `withdrawal-<id>-reserve`),
so a retry builds the same entry and the store refuses to post it twice; a reversal is
built from the same constructor's entry, so it mirrors exactly what was posted.

| movement | debit | credit |
|---|---|---|
| money in on the statement (`line_in`) | escrow cash | suspense |
| deposit confirmed (`deposit_credit`) | suspense | lender available |
| withdrawal requested (`withdrawal_reserve`) | lender available | lender reserved |
| withdrawal confirmed (`withdrawal_payout`) | lender reserved | escrow cash |
| withdrawal rejected | the reservation reversed | |
| withdrawal returned | the payout, the returned line's suspense posting and the reservation, each
reversed | |
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.ledger import (
    ESCROW_CASH,
    SUSPENSE,
    AccountId,
    AccountType,
    JournalEntry,
    Posting,
    reverse,
)


def lender_account(kind: AccountType, lender_id: str) -> AccountId:
    return AccountId(kind, lender_id)


def _transfer(
    entry_id: str, at: datetime, debit: AccountId, credit: AccountId, amount: int, memo: str
) -> JournalEntry:
    return JournalEntry(
        entry_id, at, (Posting.debit(debit, amount), Posting.credit(credit, amount)), memo
    )


def line_in(line_id: str, amount: int, at: datetime) -> JournalEntry:
    """Money arrived in the escrow account; until a deposit claims it, it is in suspense."""
    return _transfer(
        f"line-{line_id}", at, ESCROW_CASH, SUSPENSE, amount, f"statement line {line_id}"
    )


def line_in_reversed(line_id: str, amount: int, at: datetime) -> JournalEntry:
    """The suspense posting of a line that another entry explains (a returned payout)."""
    return reverse(line_in(line_id, amount, at), f"line-{line_id}-explained", at)


def deposit_credit(deposit_id: str, lender_id: str, amount: int, at: datetime) -> JournalEntry:
    return _transfer(
        f"deposit-{deposit_id}",
        at,
        SUSPENSE,
        lender_account(AccountType.LENDER_AVAILABLE, lender_id),
        amount,
        f"deposit {deposit_id} confirmed",
    )


def withdrawal_reserve(
    withdrawal_id: str, lender_id: str, amount: int, at: datetime
) -> JournalEntry:
    return _transfer(
        f"withdrawal-{withdrawal_id}-reserve",
        at,
        lender_account(AccountType.LENDER_AVAILABLE, lender_id),
        lender_account(AccountType.LENDER_RESERVED, lender_id),
        amount,
        f"withdrawal {withdrawal_id} requested",
    )


def withdrawal_release(
    withdrawal_id: str, lender_id: str, amount: int, at: datetime
) -> JournalEntry:
    """Reserved back to available: the withdrawal was rejected, or its transfer returned."""
    reserved = withdrawal_reserve(withdrawal_id, lender_id, amount, at)
    return reverse(reserved, f"withdrawal-{withdrawal_id}-release", at)


def withdrawal_payout(
    withdrawal_id: str, lender_id: str, amount: int, at: datetime
) -> JournalEntry:
    return _transfer(
        f"withdrawal-{withdrawal_id}-payout",
        at,
        lender_account(AccountType.LENDER_RESERVED, lender_id),
        ESCROW_CASH,
        amount,
        f"withdrawal {withdrawal_id} transferred",
    )


def withdrawal_payout_returned(
    withdrawal_id: str, lender_id: str, amount: int, at: datetime
) -> JournalEntry:
    paid = withdrawal_payout(withdrawal_id, lender_id, amount, at)
    return reverse(paid, f"withdrawal-{withdrawal_id}-returned", at)


# --- funding and disbursement (docs/lending-rules.md#funding) ---------------------------------


def commitment(
    commitment_id: str, lender_id: str, loan_id: str, amount: int, at: datetime
) -> JournalEntry:
    """A lender's money pledged to a loan in funding: available to committed."""
    return _transfer(
        f"commitment-{commitment_id}",
        at,
        lender_account(AccountType.LENDER_AVAILABLE, lender_id),
        lender_account(AccountType.LENDER_COMMITTED, lender_id),
        amount,
        f"commitment to loan {loan_id}",
    )
