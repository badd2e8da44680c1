"""`treasury`: `admin.finance`'s desk for the money around the escrow account's payments —
the payment gateway's settlements, payments in suspense, refunds of borrower credit, and the
platform's fees and taxes paid out of escrow (maker-checker throughout: whoever proposes
never approves).

- the gateway (shared/services/payments.py, `statement.import`): `POST /gateway-settlements`
  imports a day's settlement report with the escrow statement line of its net;
- payments in suspense (shared/services/suspense.py, `payment.resolve`): `GET
  /gateway-payments?state=`, `POST /gateway-payments/{id}/resolution` (to a loan, a lender or
  a refund), `/approve` (another admin), `/reject`; a repaid loan's borrower credit: `POST
  /loans/{id}/credit-refund`, `/approve` (another admin, with the bank's reference);
- fees and taxes (shared/services/remittance.py, `remittance.make`): `GET
  /remittance-balances`; `POST /fee-sweeps`, `POST /tax-payments`, `GET /remittances/{id}`,
  `POST /remittances/{id}/approve` (another admin, with the bank's or billing reference),
  `/reject`; `GET /withholding/{month}`, the month's withholding per lender.
Decisions take an `Idempotency-Key`.

Configuration: `shared.settings.TreasurySettings`, read on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.event_origin import EventProducer
from shared.records.remittances import RemittanceRecord
from shared.services.payments import SettlementImport, SettlementView, import_settlement
from shared.services.remittance import (
    FeeSweepProposal,
    RemittanceApproval,
    RemittanceBalances,
    RemittanceRejection,
    TaxPaymentProposal,
    WithholdingSummary,
    approve_remittance,
    propose_fee_sweep,
    propose_tax_payment,
    reject_remittance,
    remittance,
    remittance_balances,
    withholding_summary,
)
from shared.services.repayment_views import MONTH_PATTERN
from shared.services.suspense import (
    CreditRefundApproval,
    CreditRefundProposal,
    CreditRefundView,
    GatewayPaymentList,
    GatewayPaymentQuery,
    ResolutionApproval,
    ResolutionProposal,
    ResolutionRejection,
    SuspendedPaymentView,
    approve_credit_refund,
    approve_resolution,
    find_gateway_payments,
    propose_credit_refund,
    propose_resolution,
    reject_resolution,
)

router: Router[TreasuryServices] = Router(
    "treasury",
    description="admin.finance: gateway settlements, payments in suspense, fees and taxes.",
)
STATEMENTS = Permission.STATEMENT_IMPORT
RESOLVE = Permission.PAYMENT_RESOLVE
REMIT = Permission.REMITTANCE_MAKE


@router.post(
    "/gateway-settlements",
    body=SettlementImport,
    response=SettlementView,
    permission=STATEMENTS,
    idempotent=True,
)
def import_gateway_settlement(call: Call[SettlementImport, TreasuryServices]) -> SettlementView:
    """Import the payment gateway's settlement report of a day, with the statement line of
    its net: the payments leave clearing, the gateway's fees are booked; again is a no-op."""
    return import_settlement(
        call.uow, call.body, admin_id=call.caller.user_id, origin=call.services.origin
    )


@router.get(
    "/gateway-payments", query=GatewayPaymentQuery, response=GatewayPaymentList, permission=RESOLVE
)
def gateway_payments(call: Call[None, TreasuryServices]) -> GatewayPaymentList:
    """Gateway payments in one state (in suspense unless asked), newest first."""
    return find_gateway_payments(call.uow, call.query)


@router.post(
    "/gateway-payments/{payment_id}/resolution",
    body=ResolutionProposal,
    response=SuspendedPaymentView,
    permission=RESOLVE,
    idempotent=True,
)
def propose_payment_resolution(
    call: Call[ResolutionProposal, TreasuryServices],
) -> SuspendedPaymentView:
    """Propose where a payment in suspense goes: a loan, a lender, or back to the payer."""
    return propose_resolution(
        call.uow, call.path["payment_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.post(
    "/gateway-payments/{payment_id}/resolution/approve",
    body=ResolutionApproval,
    response=SuspendedPaymentView,
    permission=RESOLVE,
    idempotent=True,
)
def approve_payment_resolution(
    call: Call[ResolutionApproval, TreasuryServices],
) -> SuspendedPaymentView:
    """Carry out the proposal (another admin; a refund with the bank's transfer back)."""
    return approve_resolution(
        call.uow, call.path["payment_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.post(
    "/gateway-payments/{payment_id}/resolution/reject",
    body=ResolutionRejection,
    response=SuspendedPaymentView,
    permission=RESOLVE,
    idempotent=True,
)
def reject_payment_resolution(
    call: Call[ResolutionRejection, TreasuryServices],
) -> SuspendedPaymentView:
    """Turn the proposal down (another admin); the payment stays in suspense."""
    return reject_resolution(
        call.uow, call.path["payment_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.post(
    "/loans/{loan_id}/credit-refund",
    body=CreditRefundProposal,
    response=CreditRefundView,
    permission=RESOLVE,
    idempotent=True,
)
def propose_refund(call: Call[CreditRefundProposal, TreasuryServices]) -> CreditRefundView:
    """Propose refunding the borrower's credit left on a repaid loan."""
    return propose_credit_refund(
        call.uow, call.path["loan_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.post(
    "/loans/{loan_id}/credit-refund/approve",
    body=CreditRefundApproval,
    response=CreditRefundView,
    permission=RESOLVE,
    idempotent=True,
)
def approve_refund(call: Call[CreditRefundApproval, TreasuryServices]) -> CreditRefundView:
    """The bank transferred the refund (another admin): it leaves the credit and escrow."""
    return approve_credit_refund(
        call.uow, call.path["loan_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.get("/remittance-balances", response=RemittanceBalances, permission=REMIT)
def balances_to_remit(call: Call[None, TreasuryServices]) -> RemittanceBalances:
    """Fee income, the gateway's fees, VAT and withholding escrow holds, not yet taken out."""
    return remittance_balances(call.uow)


@router.post(
    "/fee-sweeps",
    body=FeeSweepProposal,
    response=RemittanceRecord,
    status=201,
    permission=REMIT,
    idempotent=True,
)
def propose_sweep(call: Call[FeeSweepProposal, TreasuryServices]) -> RemittanceRecord:
    """Propose sweeping fees (net of the gateway's) and VAT to the operating account."""
    return propose_fee_sweep(
        call.uow, call.body, admin_id=call.caller.user_id, origin=call.services.origin
    )


@router.post(
    "/tax-payments",
    body=TaxPaymentProposal,
    response=RemittanceRecord,
    status=201,
    permission=REMIT,
    idempotent=True,
)
def propose_tax(call: Call[TaxPaymentProposal, TreasuryServices]) -> RemittanceRecord:
    """Propose paying withholding of one article and period to its billing code."""
    return propose_tax_payment(
        call.uow, call.body, admin_id=call.caller.user_id, origin=call.services.origin
    )


@router.get("/remittances/{remittance_id}", response=RemittanceRecord, permission=REMIT)
def one_remittance(call: Call[None, TreasuryServices]) -> RemittanceRecord:
    """One fee sweep or tax payment and where it stands."""
    return remittance(call.uow, call.path["remittance_id"])


@router.post(
    "/remittances/{remittance_id}/approve",
    body=RemittanceApproval,
    response=RemittanceRecord,
    permission=REMIT,
    idempotent=True,
)
def approve_remittance_transfer(
    call: Call[RemittanceApproval, TreasuryServices],
) -> RemittanceRecord:
    """The bank made the transfer (another admin than the proposer): the money leaves escrow."""
    return approve_remittance(
        call.uow, call.path["remittance_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.post(
    "/remittances/{remittance_id}/reject",
    body=RemittanceRejection,
    response=RemittanceRecord,
    permission=REMIT,
    idempotent=True,
)
def reject_remittance_proposal(
    call: Call[RemittanceRejection, TreasuryServices],
) -> RemittanceRecord:
    """Turn a proposed sweep or tax payment down, saying why: nothing moves."""
    return reject_remittance(
        call.uow, call.path["remittance_id"], call.body, admin_id=call.caller.user_id,
        origin=call.services.origin,
    )  # fmt: skip


@router.get(
    "/withholding/{month}",
    response=WithholdingSummary,
    permission=REMIT,
    path_patterns={"month": MONTH_PATTERN},
)
def withholding(call: Call[None, TreasuryServices]) -> WithholdingSummary:
    """A month's withholding per lender and article, with the totals: the tax slips' figures."""
    return withholding_summary(call.uow, call.path["month"])


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TreasuryServices(EventProducer, HttpServices):
    entity: str


def _services() -> TreasuryServices:
    from shared.http.wiring import http_services, unit_of_work
    from shared.records.user_directory import UserDirectory
    from shared.settings import TreasurySettings, load_settings

    settings = load_settings(TreasurySettings)
    uow = unit_of_work(settings)
    return http_services(
        settings, TreasuryServices, uow=uow, callers=UserDirectory(uow), entity=settings.entity
    )


services: Lazy[TreasuryServices] = Lazy(_services)


@functions_framework.http
def treasury(request: Any) -> Any:
    return router.handle(request, services.get())
