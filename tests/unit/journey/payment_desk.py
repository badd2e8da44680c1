"""Payments driven as the gateway, the event chain and finance drive them, over any unit of
work: a `FundingDesk` whose loans can be repaid.

`pay(loan, amount)` is the whole chain the platform runs for one payment: the gateway's
notification (`receive_payment`), `payment.received` → `allocate_payment`, and
`installment.paid` → `split_payment`, each called as its function calls it. `settle(...)`
imports the gateway's settlement report of a day, with the statement line of its net.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from shared.domain.bank_statements import Direction, Movement
from shared.platform.store import Where
from shared.records.payments import LenderReceipts, PaymentRecord, Payments, VirtualAccountKind
from shared.services.billing_split import split_payment
from shared.services.early_settlement import PayoffRequest, PayoffView, quote_payoff
from shared.services.payments import (
    NotificationAnswer,
    PaymentNotification,
    SettlementImport,
    SettlementReport,
    SettlementView,
    import_settlement,
    issue_virtual_account,
    receive_payment,
)
from shared.services.repayments import allocate_payment
from shared.services.write_offs import (
    WriteOffProposal,
    WriteOffView,
    confirm_write_off,
    propose_write_off,
)
from tests.unit.journey.funding_desk import FundingDesk

GATEWAY_FEE = 4_000


@dataclass
class FakeIssuer:
    """The gateway's issuing, as the sandbox does it: one number per owner, for good."""

    issued: dict[tuple[str, str], str] = field(default_factory=dict)

    def issue(self, kind: VirtualAccountKind, reference: str, name: str) -> str:
        key = (kind, reference)
        if key not in self.issued:
            digits = int(hashlib.sha256(f"{kind}:{reference}".encode()).hexdigest(), 16)
            self.issued[key] = "8808" + f"{digits % 10**12:012d}"
        return self.issued[key]


@dataclass
class PaymentDesk(FundingDesk):
    issuer: FakeIssuer = field(default_factory=FakeIssuer)
    paid: int = 0

    def active_loan(
        self,
        shares: dict[str, int],
        *,
        tenor: int = 6,
        borrower: str = "bora",
        groups: Mapping[str, str] | None = None,
    ) -> str:
        """A loan funded by `shares` (lender → amount), disbursed and paid out; `groups`
        puts lenders in affiliate groups (lender → group)."""
        for n, (lender, amount) in enumerate(shares.items()):
            self.funded_lender(
                lender,
                f"{n + 1}{n + 1}{n + 1}000{n + 1}{n + 1}{n + 1}{n + 1}",
                amount,
                group=(groups or {}).get(lender),
            )
        loan = self.loan(sum(shares.values()), borrower=borrower, tenor=tenor)
        for lender, amount in shares.items():
            self.commit(lender, loan, amount)
        booked = self.disburse(loan)
        self.confirm_payout(loan, f"PAYOUT-{loan}")
        self.statement([self.transfer_out(booked.disbursement.net_disbursement, f"PAYOUT-{loan}")])
        return loan

    def virtual_account(self, loan_id: str, borrower: str = "bora") -> str:
        view = issue_virtual_account(
            self.uow, self.issuer, caller_id=borrower, loan_id=loan_id, origin=self.origin
        )
        return view.virtual_account

    def lender_virtual_account(self, lender_id: str) -> str:
        view = issue_virtual_account(
            self.uow, self.issuer, caller_id=lender_id, loan_id=None, origin=self.origin
        )
        return view.virtual_account

    def notify(self, account: str, amount: int, reference: str | None = None) -> NotificationAnswer:
        """The gateway's notification of a payment (its signature already verified)."""
        if reference is None:
            self.paid += 1
            reference = f"PAY{self.paid:06d}"
        notice = PaymentNotification.model_validate(
            {
                "partnerServiceId": "8808",
                "customerNo": account[4:],
                "virtualAccountNo": account,
                "virtualAccountName": "Bora",
                "paymentRequestId": reference,
                "paidAmount": {"value": f"{amount}.00", "currency": "IDR"},
                "trxDateTime": self.clock.now().isoformat(),
            }
        )
        return receive_payment(self.uow, notice, f"X{reference}", origin=self.origin)

    def pay(self, loan_id: str, amount: int, reference: str | None = None) -> str:
        """A borrower's payment through the whole chain: notified, allocated, split."""
        answer = self.notify(self.virtual_account(loan_id), amount, reference)
        allocate_payment(self.uow, answer.payment_id, origin=self.origin)
        split_payment(self.uow, answer.payment_id, origin=self.origin)
        return answer.payment_id

    def payoff(
        self, loan_id: str, *, settle_on: date | None = None, borrower: str = "bora"
    ) -> PayoffView:
        return quote_payoff(
            self.uow,
            loan_id,
            PayoffRequest(settle_on=settle_on),
            borrower_id=borrower,
            origin=self.origin,
        )

    def propose_write_off(self, loan_id: str, admin: str = "cred-1") -> WriteOffView:
        return propose_write_off(
            self.uow,
            loan_id,
            WriteOffProposal(narrative="The borrower's shop closed; no contact for 90 days."),
            admin_id=admin,
            origin=self.origin,
        )

    def confirm_write_off(self, loan_id: str, admin: str = "fin-2") -> WriteOffView:
        return confirm_write_off(self.uow, loan_id, admin_id=admin, origin=self.origin)

    def payment(self, payment_id: str) -> PaymentRecord:
        return self.uow.run(lambda tx: Payments(tx).require(payment_id), read_only=True)

    def receipts(self, lender_id: str) -> list:  # type: ignore[type-arg]
        return self.uow.run(
            lambda tx: LenderReceipts(tx).find(Where("lender_id", "==", lender_id), limit=1000),
            read_only=True,
        )

    def settle(
        self, payment_ids: list[str], *, admin: str = "fin-1", fee: int = GATEWAY_FEE
    ) -> SettlementView:
        """The gateway settles `payment_ids` today: the net arrives on the escrow statement
        (imported), then finance imports the gateway's report against that line."""
        payments = [self.payment(p) for p in payment_ids]
        items = [
            {
                "paymentRequestId": p.id,
                "virtualAccountNo": p.virtual_account,
                "paidAt": p.paid_at.isoformat(),
                "amount": p.amount,
                "fee": fee,
                "net": p.amount - fee,
            }
            for p in payments
        ]
        total_net = sum(i["net"] for i in items)  # type: ignore[misc]
        day = self.today()
        reference = f"SETTLE-{day.isoformat()}"
        self.statement(
            [
                Movement(
                    booking_date=day,
                    value_date=day,
                    direction=Direction.CREDIT,
                    amount=total_net,
                    bank_reference=f"IN-{reference}",
                    sender_reference=reference,
                    description=f"GATEWAY SETTLEMENT {day.isoformat()}",
                    counterparty_account="7770007777",
                    counterparty_bank_code="014",
                    counterparty_name="PT Gateway Pembayaran",
                )
            ]
        )
        report = SettlementReport.model_validate(
            {
                "settlementDate": day.isoformat(),
                "currency": "IDR",
                "items": items,
                "totalAmount": sum(p.amount for p in payments),
                "totalFee": fee * len(payments),
                "totalNet": total_net,
            }
        )
        return import_settlement(
            self.uow,
            SettlementImport(report=report, line_id=self.line(reference)),
            admin_id=admin,
            origin=self.origin,
        )
