"""The funding and disbursement use cases driven as lenders and finance drive them, over any
unit of work: a `MoneyDesk` (deposits, statements, reconciliation) with borrowers, loans in
funding, commitments, expiry, release and disbursement; `seed_funders` writes many funded
lenders straight into the store.

The same scenarios run on the in-memory store (tests/unit/journey/test_funding.py) and on
the Firestore emulator (tests/integration/journey/test_funding_on_the_emulator.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.adapters.providers import InMemoryBankAccounts
from shared.domain.ledger import AccountId, AccountType
from shared.domain.loan import LoanState
from shared.domain.movements import commitment, deposit_credit, line_in
from shared.platform.callers import Caller
from shared.platform.escrow import FundingRules
from shared.platform.store import DocumentTransaction, Where
from shared.records.installments import InstallmentRecord, Installments
from shared.records.ledger import LedgerBook, balance_ref
from shared.records.loans import LOANS, Listing, LoanPurpose, LoanRecord, Loans
from shared.records.participations import (
    Commitment,
    ParticipationRecord,
    Participations,
    participation_id,
)
from shared.records.positions import group_position_ref, live_of, position_refs
from shared.records.users import USERS, BorrowerProfile, UserRecord
from shared.services.auto_invest import AutoInvestPass, AutoInvestRules, invest, set_rules
from shared.services.bank_accounts import BankAccountInput, sealed_bank_account
from shared.services.catalogue import publish_catalogue, sample_catalogue
from shared.services.disbursements import (
    DisbursementView,
    PayoutConfirmation,
    PayoutReturn,
    confirm_payout,
    record_returned_payout,
    request_disbursement,
)
from shared.services.funding import (
    LENDER_AGREEMENT_VERSION,
    RISK_DISCLOSURE_VERSION,
    AgreementAcceptance,
    CommitmentRequest,
    CommitmentView,
    accept_lender_agreements,
    commit_to_loan,
)
from shared.services.funding_release import expire_due_loans, release_commitments
from shared.services.offers import price_offer
from shared.services.users import MembershipRequest, approve_membership, record_membership
from tests.unit.journey.money_desk import MoneyDesk

PRODUCT_ID = "working-capital-annuity"
RICH = 10_000_000_000  # an annual income no placement limit binds in these scenarios


@dataclass
class FundingDesk(MoneyDesk):
    rules: FundingRules = field(default_factory=FundingRules)
    loans_made: int = 0
    # The bank's account inquiry: it knows every borrower's account the desk registers.
    bank: InMemoryBankAccounts = field(default_factory=InMemoryBankAccounts)

    def __post_init__(self) -> None:
        publish_catalogue(self.uow, sample_catalogue(), self.clock.now())

    # --- people ------------------------------------------------------------------------------

    def funder(
        self,
        lender_id: str,
        account_number: str,
        *,
        income: int | None = RICH,
        group: str | None = None,
        agreed: bool = True,
    ) -> str:
        """A lender (as `MoneyDesk.lender`) with an annual income, an affiliate group, and
        the current agreements accepted."""
        self.lender(lender_id, account_number)
        user = self.user(lender_id)
        assert user.lender_profile is not None
        profile = user.lender_profile.model_copy(update={"annual_income": income})
        data = user.model_copy(
            update={"lender_profile": profile, "affiliate_group_id": group}
        ).model_dump(mode="json")
        self.uow.run(lambda tx: tx.set(USERS, lender_id, data))
        if agreed:
            self.agree(lender_id)
        return lender_id

    def agree(self, lender_id: str) -> Any:
        return accept_lender_agreements(
            self.uow,
            Caller(lender_id, "lender"),
            AgreementAcceptance(
                lender_agreement=LENDER_AGREEMENT_VERSION, risk_disclosure=RISK_DISCLOSURE_VERSION
            ),
            origin=self.origin,
        )

    def funded_lender(self, lender_id: str, account_number: str, amount: int, **kw: Any) -> str:
        """A funder with `amount` deposited and confirmed."""
        self.funder(lender_id, account_number, **kw)
        self.deposit(lender_id, amount, f"TOPUP-{lender_id.upper()}")
        return lender_id

    def borrower(self, borrower_id: str, *, account_number: str = "5550005555") -> str:
        """A borrower with a bank account the bank holds in their name (verified by the
        account inquiry when their loan is first disbursed)."""
        now = self.clock.now()
        self.bank.open("008", account_number, borrower_id)
        record = UserRecord(
            id=borrower_id,
            role="borrower",
            full_name=f"Borrower {borrower_id}",
            birth_date=date(1985, 5, 5),
            phone="+6281200000000",
            nik_hash=f"nik-{borrower_id}",
            bank_account=sealed_bank_account(
                self.vault,
                BankAccountInput(
                    bank_code="008", account_number=account_number, account_holder=borrower_id
                ),
            ),
            borrower_profile=BorrowerProfile(
                business_name=f"Toko {borrower_id}",
                sector="food_and_beverage",
                province_code="31",
                years_in_business=Decimal(5),
            ),
            identity_verified_at=now,
            registered_at=now,
            updated_at=now,
        )
        data = record.model_dump(mode="json")
        self.uow.run(lambda tx: tx.set(USERS, borrower_id, data))
        return borrower_id

    def member(self, user_id: str, member_number: str) -> str:
        """The user becomes a member of the cooperative: recorded by one admin.super,
        approved by another."""
        request = MembershipRequest(member_number=member_number)
        record_membership(self.uow, user_id, request, admin_id="sup-1", clock=self.clock)
        approve_membership(self.uow, user_id, admin_id="sup-2", clock=self.clock)
        return user_id

    def user(self, user_id: str) -> UserRecord:
        data = self.uow.run(lambda tx: tx.get(USERS, user_id), read_only=True)
        assert data is not None
        return UserRecord.model_validate(data)

    # --- loans -------------------------------------------------------------------------------

    def loan(self, principal: int, *, borrower: str = "bora", tenor: int = 6) -> str:
        """A loan of `principal` open for funding (priced at grade B, listed today)."""
        from shared.services.catalogue import product_of

        if self.uow.run(lambda tx: tx.get(USERS, borrower), read_only=True) is None:
            self.borrower(borrower)
        self.loans_made += 1
        loan_id = f"loan-{self.loans_made}"
        now = self.clock.now()
        product = self.uow.run(lambda tx: product_of(tx, PRODUCT_ID, None), read_only=True)
        scored = LoanRecord(
            id=loan_id,
            entity="p2p",
            borrower_id=borrower,
            product_id=PRODUCT_ID,
            product_purpose=product.purpose,
            principal=principal,
            tenor=tenor,
            tenor_unit=product.tenor_unit,
            purpose=LoanPurpose.WORKING_CAPITAL,
            state=LoanState.FUNDING,
            submitted_at=now,
            updated_at=now,
        )
        offer = price_offer(
            product,
            scored,
            grade="B",
            grade_rate_per_month=Decimal("0.015"),
            priced_at=now,
            priced_by=None,
        )
        closes_on = self.today() + timedelta(days=offer.funding_window_days)
        loan = scored.model_copy(
            update={
                "offer": offer,
                "funding_closes_on": closes_on,
                "listing": Listing(
                    sector="food_and_beverage",
                    province_code="31",
                    sort_key=f"{closes_on.isoformat()}|{loan_id}",
                ),
            }
        )
        data = loan.model_dump(mode="json")
        self.uow.run(lambda tx: tx.set("loans", loan_id, data))
        return loan_id

    def commit(self, lender_id: str, loan_id: str, amount: int) -> CommitmentView:
        return commit_to_loan(
            self.uow,
            Caller(lender_id, "lender"),
            loan_id,
            CommitmentRequest(amount=amount),
            rules=self.rules,
            origin=self.origin,
        )

    def loan_record(self, loan_id: str) -> LoanRecord:
        return self.uow.run(lambda tx: Loans(tx).require(loan_id), read_only=True)

    def stakes(self, loan_id: str) -> dict[str, ParticipationRecord]:
        found = self.uow.run(
            lambda tx: Participations(tx).find(Where("loan_id", "==", loan_id), limit=5000),
            read_only=True,
        )
        return {s.lender_id: s for s in found}

    def installments(self, loan_id: str) -> list[InstallmentRecord]:
        found = self.uow.run(
            lambda tx: Installments(tx).find(Where("loan_id", "==", loan_id), limit=500),
            read_only=True,
        )
        return sorted(found, key=lambda i: i.number)

    def live_position(self, lender_id: str) -> int:
        """What the lender has out, as a commitment's cap check reads it."""
        ref = position_refs(lender_id, None)[0]
        return live_of(self.uow.run(lambda tx: tx.get(*ref), read_only=True))

    def group_position(self, group_id: str) -> int:
        """What every lender of the affiliate group has out together."""
        ref = group_position_ref(group_id)
        return live_of(self.uow.run(lambda tx: tx.get(*ref), read_only=True))

    def expire_due(self) -> tuple[str, ...]:
        return expire_due_loans(self.uow, origin=self.origin).expired

    def release(self, loan_id: str) -> Any:
        return release_commitments(self.uow, loan_id, origin=self.origin)

    def disburse(self, loan_id: str, admin: str = "fin-1") -> DisbursementView:
        return request_disbursement(
            self.uow, loan_id, admin_id=admin, origin=self.origin, vault=self.vault, bank=self.bank
        )

    def confirm_payout(
        self,
        loan_id: str,
        reference: str = "PAYOUT-1",
        admin: str = "fin-2",
        *,
        on: date | None = None,
    ) -> DisbursementView:
        return confirm_payout(
            self.uow,
            loan_id,
            PayoutConfirmation(bank_reference=reference, value_date=on or self.today()),
            admin_id=admin,
            origin=self.origin,
        )

    def auto_rules(
        self, lender_id: str, *, max_per_loan: int, max_total: int, grades: tuple[str, ...] = ()
    ) -> Any:
        return set_rules(
            self.uow,
            Caller(lender_id, "lender"),
            AutoInvestRules(
                enabled=True, grades=grades, max_per_loan=max_per_loan, max_total=max_total
            ),
            funding=self.rules,
            origin=self.origin,
        )

    def auto_invest(self, loan_id: str) -> AutoInvestPass:
        return invest(self.uow, loan_id, funding=self.rules, origin=self.origin)

    def payout_returned(self, loan_id: str, line_id: str, admin: str = "fin-1") -> Any:
        return record_returned_payout(
            self.uow, loan_id, PayoutReturn(line_id=line_id), admin_id=admin, origin=self.origin
        )


def seed_funders(
    desk: FundingDesk,
    lenders: list[str],
    amount: int | Mapping[str, int],
    *,
    loan: str | None = None,
) -> None:
    """Lenders with the agreements accepted, each with `amount` (one for all, or each their
    own) deposited and, given a `loan`, all but the first committed to it: the records,
    entries and balances those steps leave, written 100 lenders a transaction (the steps
    themselves are tested one by one elsewhere)."""
    amounts = amount if isinstance(amount, Mapping) else dict.fromkeys(lenders, amount)
    desk.funder(lenders[0], "1230001230")  # a complete lender record to copy
    template = desk.uow.run(lambda tx: tx.get(USERS, lenders[0]), read_only=True)
    assert template is not None
    at = desk.clock.now()
    for start in range(0, len(lenders), 100):

        def seed(tx: DocumentTransaction, chunk: list[str] = lenders[start : start + 100]) -> None:
            available = [
                balance_ref(AccountId(AccountType.LENDER_AVAILABLE, lender)) for lender in chunk
            ]
            read = tx.get_documents(available)
            with LedgerBook(tx) as book:
                for lender in chunk:
                    amount = amounts[lender]
                    tx.set(USERS, lender, {**template, "id": lender})
                    moves = [
                        line_in(f"seed-{lender}", amount, at),
                        deposit_credit(f"seed-{lender}", lender, amount, at),
                    ]
                    if loan is not None and lender != lenders[0]:
                        moves.append(commitment(f"seed-{lender}", lender, loan, amount, at))
                        stake = ParticipationRecord(
                            id=participation_id(loan, lender),
                            loan_id=loan,
                            lender_id=lender,
                            committed=amount,
                            commitments=(
                                Commitment(id=f"seed-{lender}", amount=amount, at=at, via="manual"),
                            ),
                            created_at=at,
                            updated_at=at,
                        )
                        Participations(tx).put(stake)
                    for entry in moves:
                        book.post(entry, read, source="seed", value_date=desk.today())

        desk.uow.run(seed)
    if loan is not None:
        committed = sum(amounts[lender] for lender in lenders[1:])
        desk.uow.run(
            lambda tx: tx.update(
                LOANS, loan, {"funded_amount": committed, "lender_count": len(lenders) - 1}
            )
        )
