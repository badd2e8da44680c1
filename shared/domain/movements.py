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
| payment notified (`payment_received`) | gateway clearing | unapplied receipts, lender available
or suspense |
| repayment allocated | unapplied receipts; lenders' claim | pending split, fee income, VAT,
borrower credit; loan principal (not once written off: a recovery) |
| loan written off (`loan_written_off`) | lenders' claim | every receivable of the loan |
| repayment split (`split_chunk`) | pending split | lender available (nets), fee income, VAT,
withholding |
| gateway settled | suspense (the line), payment fees | gateway clearing |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from shared.domain.allocation import InstallmentParts
from shared.domain.ledger import (
    ESCROW_CASH,
    GATEWAY_CLEARING,
    LOAN_RECEIVABLES,
    PAYMENT_FEES_EXPENSE,
    PLATFORM_FEE_INCOME,
    SUSPENSE,
    VAT_PAYABLE,
    WITHHOLDING_TAX_PAYABLE,
    AccountId,
    AccountType,
    JournalEntry,
    LenderReceipt,
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


# --- payments through the gateway (docs/lending-rules.md#payments) ----------------------------


def payment_received(payment_id: str, to: AccountId, amount: int, at: datetime) -> JournalEntry:
    """The gateway says a payment arrived: it holds the money (clearing) until it settles."""
    return _transfer(
        f"payment-{payment_id}",
        at,
        GATEWAY_CLEARING,
        to,
        amount,
        f"gateway payment {payment_id}",
    )


def repayment_allocated(
    payment_id: str,
    loan_id: str,
    borrower_id: str,
    collected: InstallmentParts,
    borrower_credit: int,
    at: datetime,
    *,
    receivable_cleared: bool = False,
) -> JournalEntry:
    """A loan's unapplied payment allocated: the lenders' part waits to be split, the
    borrower's fees and their VAT are the platform's, an overpayment is the borrower's
    credit; the principal collected leaves the receivable and the lenders' claim alike.
    A written-off loan's receivable is already cleared (`receivable_cleared`): what it
    collects is a recovery, split to the lenders without touching the receivable or the
    claim (docs/lending-rules.md#write-off)."""
    paid = collected.total + borrower_credit
    postings = [Posting.debit(AccountId(AccountType.UNAPPLIED_RECEIPTS, loan_id), paid)]
    credits = (
        (AccountId(AccountType.PENDING_SPLIT, loan_id), collected.lenders_part),
        (PLATFORM_FEE_INCOME, collected.fee),
        (VAT_PAYABLE, collected.fee_vat),
        (AccountId(AccountType.BORROWER_CREDIT, borrower_id), borrower_credit),
    )
    postings += [Posting.credit(account, amount) for account, amount in credits if amount]
    claim = AccountId(AccountType.LOAN_LENDERS_CLAIM, loan_id)
    for receivable, amount in (
        (AccountType.LOAN_PRINCIPAL, collected.principal),
        (AccountType.LATE_FEE_RECEIVABLE, collected.late_fee),
    ):
        if amount and not receivable_cleared:
            postings += [
                Posting.debit(claim, amount),
                Posting.credit(AccountId(receivable, loan_id), amount),
            ]
    return JournalEntry(
        f"allocation-{payment_id}", at, tuple(postings), f"payment {payment_id} to loan {loan_id}"
    )


def late_fees_accrued(loan_id: str, day: date, amount: int, at: datetime) -> JournalEntry:
    """The overdue sweep's late fees of a loan up to `day`: owed by the borrower to the
    lenders (docs/lending-rules.md#overdue-and-collection)."""
    return _transfer(
        f"late-fees-{loan_id}-{day.isoformat()}",
        at,
        AccountId(AccountType.LATE_FEE_RECEIVABLE, loan_id),
        AccountId(AccountType.LOAN_LENDERS_CLAIM, loan_id),
        amount,
        f"late fees of loan {loan_id} to {day.isoformat()}",
    )


def loan_written_off(
    entry_id: str, loan_id: str, receivables: Mapping[AccountId, int], at: datetime
) -> JournalEntry | None:
    """A loan written off: every receivable of the loan (`receivables`, each account's
    balance) cleared against the lenders' claim, whose losses are recorded on their
    participations; None when nothing is receivable (docs/lending-rules.md#write-off)."""
    cleared = [Posting.credit(account, amount) for account, amount in receivables.items() if amount]
    if not cleared:
        return None
    claim = AccountId(AccountType.LOAN_LENDERS_CLAIM, loan_id)
    return JournalEntry(
        entry_id,
        at,
        (Posting.debit(claim, sum(p.amount for p in cleared)), *cleared),
        f"loan {loan_id} written off",
    )


def loan_receivables(loan_id: str) -> tuple[AccountId, ...]:
    """Every receivable of a loan (`ledger.LOAN_RECEIVABLES`: its asset accounts)."""
    return tuple(AccountId(account_type, loan_id) for account_type in LOAN_RECEIVABLES)


def split_chunk(
    entry_id: str, loan_id: str, lines: Sequence[LenderReceipt], at: datetime
) -> JournalEntry:
    """Some lenders' part of a repayment paid out of the loan's pending split: each lender's
    net to their available balance, the platform's fee, its VAT and the tax withheld."""
    gross = sum(line.principal + line.interest + line.late_fee for line in lines)
    postings = [Posting.debit(AccountId(AccountType.PENDING_SPLIT, loan_id), gross)]
    postings += [
        Posting.credit(lender_account(AccountType.LENDER_AVAILABLE, line.lender_id), line.net)
        for line in lines
        if line.net
    ]
    for account, amount in (
        (PLATFORM_FEE_INCOME, sum(line.platform_fee for line in lines)),
        (VAT_PAYABLE, sum(line.vat for line in lines)),
        (WITHHOLDING_TAX_PAYABLE, sum(line.withholding for line in lines)),
    ):
        if amount:
            postings.append(Posting.credit(account, amount))
    return JournalEntry(entry_id, at, tuple(postings), f"repayment of loan {loan_id} split")


def gateway_settled(
    settlement_id: str, line_id: str, gross: int, fee: int, at: datetime
) -> JournalEntry:
    """The gateway settled what it held: the net arrived in escrow (the statement line,
    posted to suspense at import, is explained by it) and the gateway kept its fee."""
    postings = [Posting.debit(SUSPENSE, gross - fee)]
    if fee:
        postings.append(Posting.debit(PAYMENT_FEES_EXPENSE, fee))
    postings.append(Posting.credit(GATEWAY_CLEARING, gross))
    return JournalEntry(
        f"settlement-{settlement_id}",
        at,
        tuple(postings),
        f"gateway settlement {settlement_id} (statement line {line_id})",
    )
