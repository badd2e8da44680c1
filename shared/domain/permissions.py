"""Who may do what: permissions, and roles as named sets of them (data, not code).

A route declares the permission it needs (`loan.review`), never a role; a role is the set
of permissions `ROLE_PERMISSIONS` gives it. Adding a capability adds a permission here and
to the roles that hold it, and no check anywhere else changes
(docs/lending-rules.md#roles-and-maker-checker).

`staff` is a registered employee with a verified identity and no admin power yet: an
`admin.super` grants an admin role, and a second `admin.super` approves the grant.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

Role = Literal["borrower", "lender", "staff", "admin.credit", "admin.finance", "admin.super"]
ROLES: tuple[Role, ...] = (
    "borrower",
    "lender",
    "staff",
    "admin.credit",
    "admin.finance",
    "admin.super",
)
ADMIN_ROLES: tuple[Role, ...] = ("admin.credit", "admin.finance", "admin.super")
STAFF_ROLES: tuple[Role, ...] = ("staff", *ADMIN_ROLES)


class Permission(StrEnum):
    """One thing a caller may do."""

    LOAN_APPLY = "loan.apply"  # submit, accept the offer, cancel, upload documents
    LOAN_READ = "loan.read"  # read loans: one's own, or any with loan.read_any
    LOAN_READ_ANY = "loan.read_any"
    LOAN_REVIEW = "loan.review"  # decide applications the scorecard sent to review
    FIGURE_VERIFY = "figure.verify"  # verify an applicant's declared figures
    USER_READ_ANY = "user.read_any"
    USER_MANAGE = "user.manage"  # deactivate, reactivate, change a non-admin role
    ROLE_GRANT = "role.grant"  # propose and approve admin roles (never one's own)
    PRODUCT_MANAGE = "product.manage"  # propose, activate and retire product versions
    CERTIFICATE_VERIFY = "certificate.verify"  # verify lenders' tax certificates
    IDENTITY_VERIFY = "identity.verify"  # verify a passport or an institution's documents
    TAX_FILE = "tax.file"  # a lender files a certificate of domicile or an exemption letter
    WALLET_USE = "wallet.use"  # a lender's own balances, deposits and withdrawals
    BANK_ACCOUNT_CHANGE = "bank_account.change"  # one's own payout account
    DEPOSIT_CONFIRM = "deposit.confirm"  # match, confirm or reject lenders' deposits
    WITHDRAWAL_CONFIRM = "withdrawal.confirm"  # approve, confirm, reject, record returns
    STATEMENT_IMPORT = "statement.import"  # import the escrow account's bank statements
    LEDGER_READ = "ledger.read"  # any account's balance and entries, reconciliations
    LEDGER_ADJUST = "ledger.adjust"  # propose and approve manual entries (never one's own)
    RECONCILIATION_RUN = "reconciliation.run"  # queue a reconciliation on demand
    LOAN_FUND = "loan.fund"  # browse the marketplace, commit to loans, one's own portfolio
    DISBURSEMENT_MAKE = "disbursement.make"  # request, confirm or record a returned payout
    PAYMENT_RESOLVE = "payment.resolve"  # payments in suspense, settlements, credit refunds
    REMITTANCE_MAKE = "remittance.make"  # sweep fees, remit withholding, the withholding summary
    WRITE_OFF_PROPOSE = "write_off.propose"  # propose writing off a loan past its threshold
    WRITE_OFF_CONFIRM = "write_off.confirm"  # confirm another admin's write-off proposal
    SCORECARD_MANAGE = "scorecard.manage"  # propose, promote (never one's own) and compare


_P = Permission
_STAFF_READ = frozenset({_P.LOAN_READ, _P.LOAN_READ_ANY})

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        "borrower": frozenset({_P.LOAN_APPLY, _P.LOAN_READ, _P.BANK_ACCOUNT_CHANGE}),
        "lender": frozenset({_P.TAX_FILE, _P.WALLET_USE, _P.BANK_ACCOUNT_CHANGE, _P.LOAN_FUND}),
        "staff": frozenset(),
        "admin.credit": _STAFF_READ
        | {_P.LOAN_REVIEW, _P.FIGURE_VERIFY, _P.WRITE_OFF_PROPOSE, _P.SCORECARD_MANAGE},
        "admin.finance": _STAFF_READ
        | {
            _P.CERTIFICATE_VERIFY,
            _P.IDENTITY_VERIFY,
            _P.DEPOSIT_CONFIRM,
            _P.WITHDRAWAL_CONFIRM,
            _P.STATEMENT_IMPORT,
            _P.LEDGER_READ,
            _P.LEDGER_ADJUST,
            _P.RECONCILIATION_RUN,
            _P.DISBURSEMENT_MAKE,
            _P.PAYMENT_RESOLVE,
            _P.REMITTANCE_MAKE,
            _P.WRITE_OFF_CONFIRM,
        },
        "admin.super": _STAFF_READ
        | {_P.USER_READ_ANY, _P.USER_MANAGE, _P.ROLE_GRANT, _P.PRODUCT_MANAGE},
    }
)


def permissions_of(role: Role | None) -> frozenset[Permission]:
    """What a caller with `role` may do (nothing without a role)."""
    return ROLE_PERMISSIONS.get(role, frozenset()) if role is not None else frozenset()


def roles_with(permission: Permission) -> tuple[Role, ...]:
    """The roles holding `permission`, in the order of `ROLES`."""
    return tuple(role for role in ROLES if permission in ROLE_PERMISSIONS[role])
