"""Issue 13's worked lifecycle, on the Firestore emulator and the payment gateway sandbox.

Three lenders fund two loans in uneven shares; one of them is a non-resident whose
certificate of domicile (a 10% treaty rate) `admin.finance` verified. The first loan, Rp
10,000,000 over 12 months, is repaid installment by installment, one of them overpaid
(the excess stays with the borrower as credit: docs/lending-rules.md#repayment). The second,
Rp 10,000,000 over 6 months, is settled early by its payoff quote after two installments
(docs/lending-rules.md#early-settlement).

Every payment is made the way a borrower makes it: the loan's virtual account is issued by
the sandbox (through `GatewayIssuer`), the payer pays into it on the sandbox
(`POST /v1/payments`), and the sandbox's signed callback reaches `payment_webhook`, served
in-process by functions-framework on the test's store (docs/lending-rules.md#payments).
The chain behind the notice (`payment.received` → `allocate_payment`, `installment.paid` →
`split_payment`) is then run as the desk's `pay` runs it; the push plumbing is
tests/integration/plumbing/test_payments_through_push.py's. Each day's settlement report is
fetched from the sandbox through `PaymentGatewayClient` and imported against the escrow
statement line of its net: the gateway's clearing account ends every day at zero.

The ledger reconciles after every step (docs/lending-rules.md#reconciliation), and every
lender's principal, gross interest, platform fee, VAT, withholding and net match the table
worked by hand below, to the rupiah (docs/lending-rules.md#billing-split,
docs/lending-rules.md#fees-and-taxes).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from werkzeug.serving import make_server

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from shared.adapters.payment_gateway import GatewayIssuer, PaymentGatewayClient
from shared.domain.bank_statements import Direction, Movement
from shared.domain.loan import LoanState
from shared.http.gateway_signature import GatewaySignature
from shared.platform.callers import Caller
from shared.records.users import USERS, LenderProfile
from shared.services.billing_split import split_payment
from shared.services.lender_tax import (
    TaxDocumentDecision,
    TaxDocumentFiling,
    decide_tax_document,
    file_tax_document,
)
from shared.services.payments import (
    SettlementImport,
    SettlementReport,
    SettlementView,
    import_settlement,
)
from shared.services.repayment_views import receipts_for_loan
from shared.services.repayments import allocate_payment
from tests.fixtures.payment_gateway_sandbox import (
    PAYMENT_GATEWAY_API_KEY,
    PAYMENT_GATEWAY_SIGNING_KEY,
    PaymentGatewayAdmin,
)
from tests.unit.journey.funding_desk import RICH
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[3]
GATEWAY_FEE = 4_000  # the sandbox's flat fee per payment

LENDERS = ("ani", "budi", "chen")  # the split's order: by lender id
FIRST_SHARES = {"ani": 5_000_000, "budi": 3_000_000, "chen": 2_000_000}  # 12 months
SECOND_SHARES = {"ani": 4_166_700, "budi": 3_333_300, "chen": 2_500_000}  # 6 months, settled early
# Withholding on interest: PPh 23 for the residents; Chen lives in Singapore and his verified
# certificate of domicile brings PPh 26 down from 20% to the treaty's 10%.
WITHHOLDING = {"ani": Decimal("0.15"), "budi": Decimal("0.15"), "chen": Decimal("0.10")}
PLATFORM_FEE_RATE = Decimal("0.10")  # working-capital-annuity's lender_platform_fee_rate
MONTHLY_RATE = Decimal("0.015")  # the desk prices every loan at grade B, 1.5% a month
OVERPAID = 5  # the first loan's installment paid with more than it owes
OVERPAYMENT = 25_000
PAYOFF_DAYS = 10  # the second loan is settled 10 days after its second due date

# The table worked by hand, per loan and lender: the principal returned, gross interest, the
# platform's fee on it, the fee's VAT, the tax withheld, and the net credited. `worked_table`
# makes it payment by payment from the schedules' numbers; the test checks it makes exactly
# these figures, then that every lender's receipts add up to them.
#
# The first loan's schedule (annuity, 1.5% a month, rounded to Rp 100) charges Rp 1,001,400
# of interest in all: Rp 150,000 in the first month down to Rp 13,500 in the twelfth. Each
# installment's interest and principal are whole hundreds, and 50%, 30% and 20% of a whole
# hundred are whole rupiah, so no rupiah is left over to hand out: Ani's interest is 500,700,
# her fee 50,070. Her VAT is not 11% of 50,070 (5,507.7) but the sum of twelve VATs each
# rounded half-up (5,509), and her PPh 23 likewise 75,108 rather than 75,105.
#
# The second loan's shares do not divide a hundred. Its first installment's interest of
# 150,000 is 62,500.5 / 49,999.5 / 37,500 exactly: the whole rupiah add up to 149,999, and the
# rupiah left goes to the largest remainder, a tie of .5 between Ani and Budi that the
# earlier lender by id wins (62,501 / 49,999 / 37,500). Its principal of 1,605,300 by what each
# is still owed is 668,880.351 / 535,094.649 / 401,325: Budi's .649 takes the rupiah
# (668,880 / 535,095 / 401,325). Ani's fee on 62,501 is 6,250 (6,250.1 half-up), its VAT 688
# (687.5 half-up). The payoff repays each exactly what they are still owed, and its interest
# of 33,363 is 13,901.361 / 11,120.889 / 8,340.75: two rupiah are left, and Budi's .889 and
# Chen's .75 take one each (13,901 / 11,121 / 8,341).
Row = tuple[int, int, int, int, int, int]  # principal, interest, fee, VAT, withholding, net
FIRST_LOAN: dict[str, Row] = {
    "ani": (5_000_000, 500_700, 50_070, 5_509, 75_108, 5_370_013),
    "budi": (3_000_000, 300_420, 30_042, 3_305, 45_066, 3_222_007),
    "chen": (2_000_000, 200_280, 20_028, 2_204, 20_028, 2_158_020),
}
SECOND_LOAN: dict[str, Row] = {
    "ani": (4_166_700, 128_861, 12_886, 1_418, 19_329, 4_261_928),
    "budi": (3_333_300, 103_086, 10_309, 1_134, 15_463, 3_409_480),
    "chen": (2_500_000, 77_316, 7_732, 851, 7_732, 2_561_001),
}


@dataclass(frozen=True)
class WallClockSignature:
    """The gateway's signature, with its 5-minute window checked against the wall clock.

    The sandbox stamps `X-TIMESTAMP` with the moment it really sends a callback, while the
    desk's clock walks through the loans' year; everything else in `payment_webhook` runs on
    the desk's clock."""

    signature: GatewaySignature

    def verify(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        self.signature.verify(method, path, headers, body, datetime.now(UTC))


@pytest.fixture
def gateway_client(payment_gateway_sandbox: str) -> Iterator[PaymentGatewayClient]:
    with PaymentGatewayClient(payment_gateway_sandbox, PAYMENT_GATEWAY_API_KEY) as client:
        yield client


@pytest.fixture
def desk(firestore_client: Any, gateway_client: PaymentGatewayClient) -> PaymentDesk:
    """A payment desk on Firestore whose virtual accounts the gateway sandbox issues."""
    uow = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), max_attempts=10, snapshot_lag=timedelta(0)
    )
    desk = PaymentDesk(uow, issuer=GatewayIssuer(gateway_client))  # type: ignore[arg-type]
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.fixture
def payer(payment_gateway: PaymentGatewayAdmin, desk: PaymentDesk) -> Iterator[PaymentGatewayAdmin]:
    """The sandbox's payer, its callbacks going to `payment_webhook` served in-process on the
    desk's store and clock, verifying them with the sandbox's signing key."""
    source = ROOT / "functions" / "payment_webhook" / "main.py"
    app = functions_framework.create_app("payment_webhook", str(source))
    module = sys.modules["main"]  # the module create_app just loaded
    services = module.WebhookServices(
        clock=desk.clock,
        uow=desk.uow,
        entity="p2p",
        request_signature=WallClockSignature(GatewaySignature([PAYMENT_GATEWAY_SIGNING_KEY])),
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    with module.services.override(services):
        thread.start()
        try:
            payment_gateway.set_callback_url(f"http://127.0.0.1:{server.server_port}/notifications")
            yield payment_gateway
        finally:
            server.shutdown()
            server.server_close()


# --- the hand-worked arithmetic ------------------------------------------------------------------


def half_up(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), ROUND_HALF_UP))


def by_largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """`total` rupiah in proportion to `weights`, as the split shares each component: every
    lender first gets the whole rupiah of their exact share (total × weight ÷ Σ weights,
    rounded down); the rupiah left over go one each to the largest remainders, a tie to the
    lender first by id."""
    whole = sum(weights.values())
    shares = {lender: divmod(total * weight, whole) for lender, weight in weights.items()}
    parts = {lender: floor for lender, (floor, _) in shares.items()}
    left = total - sum(parts.values())
    by_remainder = sorted(weights, key=lambda lender: (-shares[lender][1], lender))
    for lender in by_remainder[:left]:
        parts[lender] += 1
    return parts


def worked_table(funded: Mapping[str, int], collected: list[tuple[int, int]]) -> dict[str, Row]:
    """Each lender's totals over a loan's payments, each payment's `collected` (principal,
    interest) split as docs/lending-rules.md#billing-split says: interest by the principal each
    lender funded, principal by what each is still owed; per lender the fee is 10% of their
    interest, its VAT 12% of 11/12 of the fee, withholding their rate on their interest (no
    late fees here), each half-up, and the net what is left."""
    owed = dict(funded)
    totals = {lender: [0] * 6 for lender in funded}
    for principal, interest in collected:
        principals = by_largest_remainder(principal, owed)
        interests = by_largest_remainder(interest, funded)
        for lender in funded:
            fee = half_up(interests[lender] * PLATFORM_FEE_RATE)
            vat = half_up(Decimal(fee) * 11 / 12 * Decimal("0.12"))
            tax = half_up(interests[lender] * WITHHOLDING[lender])
            net = principals[lender] + interests[lender] - fee - vat - tax
            row = (principals[lender], interests[lender], fee, vat, tax, net)
            totals[lender] = [a + b for a, b in zip(totals[lender], row, strict=True)]
            owed[lender] -= principals[lender]
    return {lender: tuple(row) for lender, row in totals.items()}  # type: ignore[misc]


# --- the desk's steps through the sandbox --------------------------------------------------------


def at_ten(day: date) -> datetime:
    return datetime.combine(day, time(3), tzinfo=UTC)  # 10:00 in Jakarta


def pay(
    desk: PaymentDesk, payer: PaymentGatewayAdmin, loan: str, borrower: str, amount: int
) -> str:
    """The borrower pays `amount` into the loan's virtual account on the sandbox, now (the
    sandbox takes no payment into an account it never issued); the sandbox's signed callback
    is taken by `payment_webhook`; then the payment is allocated and split as
    `payment.received` and `installment.paid` would have it."""
    account = desk.virtual_account(loan, borrower)
    paid = payer.pay(account, amount, paid_at=desk.clock.now().isoformat())
    assert paid["delivery"]["status"] == "delivered", paid["delivery"]
    assert paid["delivery"]["lastStatus"] == 200
    payment_id = str(paid["paymentRequestId"])
    assert desk.payment(payment_id).state == "unapplied"  # recorded by the webhook
    allocate_payment(desk.uow, payment_id, origin=desk.origin)
    split_payment(desk.uow, payment_id, origin=desk.origin)
    assert desk.payment(payment_id).state == "split"
    return payment_id


def settle_the_day_after(
    desk: PaymentDesk, client: PaymentGatewayClient, payments: list[str]
) -> None:
    """The gateway settles today's payments tomorrow (T+1): tomorrow its report of today is
    fetched from the sandbox, its net arrives on the escrow statement (imported, as
    `PaymentDesk.settle` does it), and finance imports the report against that line."""
    paid_on = desk.today()
    desk.next_day()
    day = desk.today()
    report = client.settlement_report(paid_on)
    assert report.settlement_date == paid_on
    assert [item.payment_request_id for item in report.items] == payments
    assert {item.fee for item in report.items} == {GATEWAY_FEE}
    reference = f"SETTLE-{day.isoformat()}"
    desk.statement(
        [
            Movement(
                booking_date=day,
                value_date=day,
                direction=Direction.CREDIT,
                amount=report.total_net,
                bank_reference=f"IN-{reference}",
                sender_reference=reference,
                description=f"GATEWAY SETTLEMENT {day.isoformat()}",
                counterparty_account="7770007777",
                counterparty_bank_code="014",
                counterparty_name="PT Gateway Pembayaran",
            )
        ]
    )
    imported: SettlementView = import_settlement(
        desk.uow,
        SettlementImport(
            report=SettlementReport.model_validate(report.model_dump(mode="json", by_alias=True)),
            line_id=desk.line(reference),
        ),
        admin_id="fin-1",
        origin=desk.origin,
    )
    assert (imported.payments, imported.total_fee) == (len(payments), GATEWAY_FEE * len(payments))
    assert desk.balance("gateway_clearing") == 0  # every payment notified has settled


def non_resident_with_a_treaty_certificate(desk: PaymentDesk, lender: str) -> None:
    """`lender` lives in Singapore, files a certificate of domicile with a 10% treaty rate
    covering the loans' whole life, and `admin.finance` verifies it."""
    user = desk.user(lender)
    profile = LenderProfile(residency="non_resident", country="SG", annual_income=RICH)
    abroad = user.model_copy(
        update={"lender_profile": profile, "nik_hash": None, "passport_country": "SG"}
    ).model_dump(mode="json")
    desk.uow.run(lambda tx: tx.set(USERS, lender, abroad))
    filed = file_tax_document(
        desk.uow,
        desk.storage,
        Caller(lender, "lender"),
        TaxDocumentFiling(
            kind="certificate_of_domicile",
            content_type="application/pdf",
            valid_from=date(2026, 1, 1),
            valid_to=date(2027, 12, 31),
            country="SG",
            treaty_rate=Decimal("0.10"),
        ),
        clock=desk.clock,
        ids=desk.ids,
    )
    desk.storage.put(filed.document.object_name, b"%PDF-1.7 certificate", "application/pdf")
    decided = decide_tax_document(
        desk.uow,
        desk.storage,
        filed.document.id,
        TaxDocumentDecision(narrative="certificate of domicile, IRAS stamp checked"),
        verify=True,
        admin_id="fin-1",
        clock=desk.clock,
    )
    assert decided.state == "verified"


# --- the lifecycle -------------------------------------------------------------------------------


def test_two_loans_repaid_through_the_gateway_pay_every_lender_as_worked_by_hand(
    desk: PaymentDesk, payer: PaymentGatewayAdmin, gateway_client: PaymentGatewayClient
) -> None:
    # Three lenders deposit what they will lend; Chen is a non-resident with a treaty.
    for n, lender in enumerate(LENDERS, start=1):
        amount = FIRST_SHARES[lender] + SECOND_SHARES[lender]
        desk.funded_lender(lender, f"{n}{n}{n}000{n}{n}{n}{n}", amount)
    non_resident_with_a_treaty_certificate(desk, "chen")
    assert_reconciles(desk)

    # Two loans, funded unevenly, disbursed and paid out on the same day.
    desk.borrower("bora", account_number="5550005555")
    desk.borrower("sari", account_number="5550006666")
    first = desk.loan(10_000_000, borrower="bora", tenor=12)
    second = desk.loan(10_000_000, borrower="sari", tenor=6)
    for lender in LENDERS:
        desk.commit(lender, first, FIRST_SHARES[lender])
        desk.commit(lender, second, SECOND_SHARES[lender])
    payouts = []
    for loan in (first, second):
        booked = desk.disburse(loan)
        desk.confirm_payout(loan, f"PAYOUT-{loan}")
        payouts.append(desk.transfer_out(booked.disbursement.net_disbursement, f"PAYOUT-{loan}"))
    desk.statement(payouts)
    assert_reconciles(desk)
    schedule, later = desk.installments(first), desk.installments(second)
    assert [i.due_date for i in later] == [i.due_date for i in schedule[:6]]
    paid_first: list[tuple[int, int]] = []
    paid_second: list[tuple[int, int]] = []
    payments = 0

    for installment in schedule:
        # Three days before each due date the borrowers pay what it owes.
        desk.clock.set(at_ten(installment.due_date - timedelta(days=3)))
        extra = OVERPAYMENT if installment.number == OVERPAID else 0
        today = [pay(desk, payer, first, "bora", installment.total + extra)]
        assert_reconciles(desk)
        paid_first.append((installment.principal, installment.interest))
        if installment.number == OVERPAID:
            allocation = desk.payment(today[0]).allocation
            assert allocation is not None
            assert [a.number for a in allocation.installments] == [OVERPAID]
            assert allocation.borrower_credit == OVERPAYMENT
        if installment.number <= 2:
            hers = later[installment.number - 1]
            today.append(pay(desk, payer, second, "sari", hers.total))
            assert_reconciles(desk)
            paid_second.append((hers.principal, hers.interest))
        settle_the_day_after(desk, gateway_client, today)
        payments += len(today)
        assert_reconciles(desk)

        if installment.number == 2:
            # Ten days after its second due date, Sari settles her loan early by its quote:
            # the principal of installments 3-6, and interest on it for the ten days since
            # the second due date at 12 × the monthly rate, actual/365, half-up.
            desk.clock.set(at_ten(later[1].due_date + timedelta(days=PAYOFF_DAYS)))
            quote = desk.payoff(second, borrower="sari")
            principal = sum(i.principal for i in later[2:])
            interest = half_up(Decimal(principal) * MONTHLY_RATE * 12 * PAYOFF_DAYS / 365)
            assert (quote.overdue, quote.principal, quote.interest) == (0, principal, interest)
            settled = pay(desk, payer, second, "sari", quote.total)
            assert_reconciles(desk)
            paid_second.append((principal, interest))
            record = desk.loan_record(second)
            assert record.state is LoanState.REPAID
            assert record.payoff is not None and record.payoff.settled_by == settled
            settle_the_day_after(desk, gateway_client, [settled])
            payments += 1
            assert_reconciles(desk)

    # Both loans are repaid; Bora's overpayment is still hers.
    assert desk.loan_record(first).state is LoanState.REPAID
    assert desk.balance("borrower_credit:bora") == OVERPAYMENT
    assert desk.balance("borrower_credit:sari") == 0
    assert desk.balance("gateway_clearing") == 0
    assert desk.balance("payment_fees_expense") == GATEWAY_FEE * payments == GATEWAY_FEE * 15
    for loan in (first, second):
        assert desk.balance(f"loan_principal:{loan}") == 0
        assert desk.balance(f"pending_split:{loan}") == 0

    # The table, worked from the schedules' numbers, is the one written out above ...
    worked = {
        first: worked_table(FIRST_SHARES, paid_first),
        second: worked_table(SECOND_SHARES, paid_second),
    }
    assert worked == {first: FIRST_LOAN, second: SECOND_LOAN}
    # ... and it is what each lender's receipts add up to, loan by loan, to the rupiah.
    for lender in LENDERS:
        receipts = desk.receipts(lender)
        assert len(receipts) == payments
        for loan, shares in ((first, FIRST_SHARES), (second, SECOND_SHARES)):
            own = [r for r in receipts if r.loan_id == loan]
            assert all(r.late_fee == 0 for r in own)
            summed = tuple(
                sum(getattr(r, part) for r in own)
                for part in ("principal", "interest", "platform_fee", "vat", "withholding", "net")
            )
            assert summed == worked[loan][lender], (lender, loan)
            assert summed[0] == shares[lender]  # every rupiah lent came back
            article = "pph26_treaty" if lender == "chen" else "pph23"
            assert {r.withholding_article for r in own} == {article}
            # The lender's own view of the loan (`GET /loans/{id}/receipts`) says the same.
            seen = receipts_for_loan(desk.uow, lender, loan)
            principal, interest, fee, vat, tax, net = worked[loan][lender]
            assert (seen.outstanding_principal, len(seen.receipts)) == (0, len(own))
            totals = seen.totals
            assert (totals.gross, totals.platform_fee, totals.vat, totals.net) == (
                principal + interest,
                fee,
                vat,
                net,
            )
            assert totals.withholding_by_article == {article: tax}
        # What they lent came back; what they hold now is every net they were credited.
        nets = worked[first][lender][5] + worked[second][lender][5]
        assert desk.wallet(lender).available == nets
    assert_reconciles(desk)
