"""Funding: the lenders' marketplace, commitments, and the lender's portfolio
(docs/lending-rules.md#funding).

- `marketplace`: loans open for funding, soonest deadline first, with what a lender may see
  of the borrower (sector, province, grade, purpose, the scorecard's reasons) and nothing
  that identifies them.
- `accept_lender_agreements`: a lender accepts the current lender agreement and risk
  disclosure; no commitment before that.
- `commit_to_loan`: one commitment, one transaction. It reads the loan, the lender's stake,
  the lender's record and available balance, the previous day's reconciled outstanding (and
  the non-professional lenders' part of it) and the lender's (or their affiliate group's)
  live position (the lender's is on their available balance, `shared/records/positions.py`),
  checks the caps (concentration, placement, the non-professional share), and then moves the
  amount from available to committed. A commitment larger than what remains is cut to it;
  one that would leave less than the minimum behind is refused with the two amounts that
  would not. When the last rupiah is committed the loan is `funded` and `loan.funded` goes
  out.
- `portfolio`: a lender's balances and stakes.

Auto-invest commits through `commit_in`, under exactly the same checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.caps import (
    OJK_CAPS,
    CapCheck,
    CapTable,
    LenderClass,
    check_lender_concentration,
    check_lender_placement,
    check_non_professional_share,
    combine_checks,
    lender_class_of,
)
from shared.domain.errors import (
    CapExceeded,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from shared.domain.events import EventType, LoanFunded
from shared.domain.ledger import AccountType
from shared.domain.loan import LoanState, LoanTransition
from shared.domain.movements import commitment, lender_account
from shared.fields import PositiveRupiah
from shared.model import Model
from shared.platform.callers import Caller
from shared.platform.clock import jakarta_date
from shared.platform.escrow import FundingRules
from shared.platform.event_origin import EventOrigin
from shared.platform.ids import require_document_id
from shared.platform.store import (
    DocRef,
    DocumentTransaction,
    JsonDict,
    OrderBy,
    UnitOfWork,
    Where,
)
from shared.records.ledger import LedgerBook, balance_ref
from shared.records.loans import LOANS, LoanRecord, Loans
from shared.records.participations import (
    PARTICIPATIONS,
    Commitment,
    ParticipationRecord,
    Participations,
    participation_id,
)
from shared.records.positions import add_to_positions, live_of, position_refs
from shared.records.reconciliations import RECONCILIATIONS, ReconciliationRecord
from shared.records.users import USERS, LenderAgreements, LenderProfile, UserRecord, Users
from shared.services.wallet import WalletBalance, wallet_of

LENDER_AGREEMENT_VERSION = "patungan-perjanjian-pendana-2026-01"
RISK_DISCLOSURE_VERSION = "patungan-pernyataan-risiko-2026-01"
MARKETPLACE_SCAN = 300  # loans read per marketplace page before filtering
MAX_LISTED_STAKES = 2_000  # the stakes a portfolio lists
Via = Literal["manual", "auto_invest"]
M = TypeVar("M", bound=BaseModel)


# --- agreements -------------------------------------------------------------------------------


class AgreementAcceptance(Model):
    """The versions the lender read and accepts: they must be the current ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lender_agreement: Annotated[str, Field(min_length=1, max_length=100)]
    risk_disclosure: Annotated[str, Field(min_length=1, max_length=100)]


class AgreementsView(Model):
    model_config = ConfigDict(frozen=True)

    current_lender_agreement: str = LENDER_AGREEMENT_VERSION
    current_risk_disclosure: str = RISK_DISCLOSURE_VERSION
    accepted: LenderAgreements | None


def _registered_lender(user: UserRecord | None) -> UserRecord:
    if user is None or user.role != "lender" or user.lender_profile is None:
        raise Forbidden("only registered lenders fund loans")
    return user


def _agreed(user: UserRecord) -> bool:
    accepted = user.lender_agreements
    return (
        accepted is not None
        and accepted.lender_agreement == LENDER_AGREEMENT_VERSION
        and accepted.risk_disclosure == RISK_DISCLOSURE_VERSION
    )


def lender_agreements(uow: UnitOfWork, lender_id: str) -> AgreementsView:
    user = uow.run(lambda tx: Users(tx).get(lender_id), read_only=True)
    return AgreementsView(accepted=None if user is None else user.lender_agreements)


def accept_lender_agreements(
    uow: UnitOfWork, caller: Caller, acceptance: AgreementAcceptance, *, origin: EventOrigin
) -> AgreementsView:
    """Record the versions accepted; an outdated version is refused, naming the current one."""
    if (acceptance.lender_agreement, acceptance.risk_disclosure) != (
        LENDER_AGREEMENT_VERSION,
        RISK_DISCLOSURE_VERSION,
    ):
        raise Conflict(
            f"the current lender agreement is {LENDER_AGREEMENT_VERSION!r} and the risk "
            f"disclosure {RISK_DISCLOSURE_VERSION!r}: read those versions and accept them"
        )
    now = origin.clock.now()

    def accept(tx: DocumentTransaction) -> AgreementsView:
        users = Users(tx)
        user = _registered_lender(users.get(caller.user_id))
        if _agreed(user):
            return AgreementsView(accepted=user.lender_agreements)
        accepted = LenderAgreements(
            lender_agreement=LENDER_AGREEMENT_VERSION,
            risk_disclosure=RISK_DISCLOSURE_VERSION,
            accepted_at=now,
        )
        users.put(user.model_copy(update={"lender_agreements": accepted, "updated_at": now}))
        return AgreementsView(accepted=accepted)

    return uow.run(accept)


# --- commitments ------------------------------------------------------------------------------


class CommitmentRequest(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: PositiveRupiah


class CommitmentView(Model):
    model_config = ConfigDict(frozen=True)

    loan_id: str
    commitment_id: str
    amount: int  # what was committed now (cut to what remained when it asked for more)
    cut: bool
    stake: int  # the lender's whole stake in the loan
    loan_state: LoanState
    remaining: int


def commitment_amount(asked: int, remaining: int, minimum: int) -> int:
    """What a commitment of `asked` takes of a loan with `remaining` left: cut to what
    remains; refused (`Conflict`) when below the minimum or when it would leave less than the
    minimum behind (the last commitment takes it all)."""
    if remaining <= 0:
        raise Conflict("the loan is fully funded")
    take = min(asked, remaining)
    if take < min(minimum, remaining):
        raise ValidationFailed(
            f"the smallest commitment is Rp {minimum:,}", {"amount": f"must be at least {minimum}"}
        )
    left = remaining - take
    if 0 < left < minimum:
        most = remaining - minimum
        allowed = f"at most Rp {most:,}, or " if most >= minimum else ""
        raise Conflict(
            f"Rp {left:,} would be left, less than the smallest commitment of Rp {minimum:,}: "
            f"commit {allowed}all that remains, Rp {remaining:,}"
        )
    return take


def _loan_open(loan: LoanRecord, today: date) -> None:
    if loan.state is not LoanState.FUNDING:
        raise Conflict(f"loan {loan.id} is {loan.state.value}, not open for funding")
    if loan.funding_closes_on is not None and today > loan.funding_closes_on:
        raise Conflict(f"funding for loan {loan.id} closed on {loan.funding_closes_on}")
    if loan.money_plan is not None:
        raise Conflict(f"loan {loan.id} is busy ({loan.money_plan}); try again shortly")


def lender_class(profile: LenderProfile, *, on: date, caps: CapTable = OJK_CAPS) -> LenderClass:
    """OJK's class of a lender on `on` (docs/lending-rules.md#regulatory-caps): institutions
    and non-residents are professional by kind, a resident individual by annual income (one
    with no income stated counts as non-professional, the stricter class)."""
    if profile.kind == "institution" or profile.residency == "non_resident":
        return LenderClass.PROFESSIONAL
    if profile.annual_income is None:
        return LenderClass.NON_PROFESSIONAL
    return lender_class_of(profile.annual_income, on=on, table=caps)


def _caps(
    user: UserRecord,
    amount: int,
    lender_live: int,
    group_live: int,
    reconciled: Reconciled,
    *,
    rules: FundingRules,
    today: date,
    caps: CapTable,
) -> CapCheck:
    group_live += amount
    platform = max(reconciled.outstanding + amount, group_live)
    profile = user.lender_profile
    assert profile is not None
    non_professional: int | None = None
    if lender_class(profile, on=today, caps=caps) is LenderClass.NON_PROFESSIONAL:
        # The class's reconciled holding plus this commitment, and never less than what this
        # lender alone has out live.
        non_professional = max(reconciled.non_professional + amount, lender_live + amount)
        platform = max(platform, non_professional)
    checks = [
        check_lender_concentration(
            lender_outstanding=group_live,
            platform_outstanding=platform,
            concentration_floor=rules.concentration_floor,
            on=today,
            table=caps,
        )
    ]
    if non_professional is not None:
        checks.append(
            check_non_professional_share(
                non_professional_outstanding=non_professional,
                platform_outstanding=platform,
                concentration_floor=rules.concentration_floor,
                on=today,
                table=caps,
            )
        )
    if profile.kind == "individual" and profile.residency == "resident":
        if profile.annual_income is None:
            raise Conflict(
                "the placement limit depends on your annual income: add it to your lender "
                "profile before you commit"
            )
        checks.append(
            check_lender_placement(
                placement=lender_live + amount,
                annual_income=profile.annual_income,
                on=today,
                table=caps,
            )
        )
    return combine_checks(*checks)


MEMBERS_ONLY_RULE = "cooperative members only (Permenkop UKM 8/2023)"


def _members(lender: UserRecord, borrower: UserRecord | None, loan: LoanRecord) -> None:
    """At a cooperative both the lender and the loan's borrower are approved members
    (docs/lending-rules.md#cooperative)."""
    if lender.membership is None or not lender.membership.approved:
        raise Forbidden(
            f"{MEMBERS_ONLY_RULE}: only the cooperative's members fund its loans, and your "
            "membership is not recorded and approved"
        )
    if borrower is None or borrower.membership is None or not borrower.membership.approved:
        raise Conflict(
            f"{MEMBERS_ONLY_RULE}: the borrower of loan {loan.id} is not an approved member, "
            "so the loan cannot be funded"
        )


def _refuse_breach(check: CapCheck) -> None:
    if check.violations:
        raise CapExceeded(
            "; ".join(f"{v.rule.value} ({v.source}): {v.detail}" for v in check.violations)
        )


@dataclass(frozen=True)
class Ask:
    """One lender's commitment to make: what they ask for, under a fixed commitment id."""

    lender_id: str
    amount: int
    commitment_id: str
    # Auto-invest: the most the lender wants out in total; the ask shrinks to fit it and the
    # available balance.
    max_total: int | None = None


@dataclass(frozen=True)
class Reconciled:
    """The previous day's reconciled outstanding funding (loan principal owed plus
    commitments), and the part of it non-professional lenders hold."""

    outstanding: int = 0
    non_professional: int = 0


@dataclass
class _Reads:
    loan: LoanRecord
    stakes: dict[str, ParticipationRecord | None]  # the lenders' stakes in this loan
    users: dict[str, UserRecord | None]
    borrower: UserRecord | None  # read only where only members fund
    positions: dict[DocRef, int]  # live positions of the lenders and their groups
    balances: Mapping[DocRef, JsonDict | None]
    reconciled: Reconciled  # the previous day's reconciled outstanding funding


def _read(
    tx: DocumentTransaction, loan_id: str, lenders: Sequence[str], *, members_only: bool
) -> _Reads:
    """Everything a batch of commitments reads, every read before any write: the loan, the
    lenders' stakes, records and available balances (which hold their live positions) in one
    round trip; their groups' live positions; the previous day's reconciled outstanding;
    where only members fund, the borrower's record."""
    available = {
        lender: balance_ref(lender_account(AccountType.LENDER_AVAILABLE, lender))
        for lender in lenders
    }
    found = tx.get_documents(
        [
            (LOANS, loan_id),
            *((PARTICIPATIONS, participation_id(loan_id, lender)) for lender in lenders),
            *((USERS, lender) for lender in lenders),
            *available.values(),
        ]
    )
    loan_doc = found[(LOANS, loan_id)]
    if loan_doc is None:
        raise NotFound(f"there is no loan {loan_id!r} open for funding")
    users = {lender: _record(UserRecord, found[(USERS, lender)]) for lender in lenders}
    # A lender's own position is on their available balance, read above; a group's is not.
    refs = {
        ref
        for user in users.values()
        if user is not None
        for ref in position_refs(user.id, user.affiliate_group_id)
        if ref not in found
    }
    borrower_id = str(loan_doc.get("borrower_id"))
    if members_only and borrower_id not in users:
        refs.add((USERS, borrower_id))
    found_more = tx.get_documents(sorted(refs)) if refs else {}
    borrower_doc = found_more.pop((USERS, borrower_id), None)
    positions = {ref: live_of(found[ref]) for ref in available.values()}
    positions |= {ref: live_of(data) for ref, data in found_more.items()}
    reconciled = tx.query(
        RECONCILIATIONS,
        (Where("kind", "==", "daily"), Where("state", "==", "passed")),
        (OrderBy("day", descending=True),),
        limit=1,
    )
    return _Reads(
        loan=LoanRecord.model_validate(loan_doc),
        stakes={
            lender: _record(
                ParticipationRecord, found[(PARTICIPATIONS, participation_id(loan_id, lender))]
            )
            for lender in lenders
        },
        users=users,
        borrower=users[borrower_id] if borrower_id in users else _record(UserRecord, borrower_doc),
        positions=positions,
        balances=found,
        reconciled=_reconciled(reconciled[0].data) if reconciled else Reconciled(),
    )


def _reconciled(data: JsonDict) -> Reconciled:
    record = ReconciliationRecord.model_validate(data)
    return Reconciled(record.outstanding_funding, record.non_professional_funding)


def _record(model: type[M], data: JsonDict | None) -> M | None:
    return None if data is None else model.model_validate(data)


def commit_many_in(
    tx: DocumentTransaction,
    loan_id: str,
    asks: Sequence[Ask],
    *,
    via: Via,
    rules: FundingRules,
    now: datetime,
    origin: EventOrigin,
    caps: CapTable | None = None,
    fit: Callable[[int, int], int | None] | None = None,
) -> tuple[LoanRecord, dict[str, CommitmentView | DomainError]]:
    """Commitments to one loan inside `tx` (which has read nothing yet), in order: each is
    made or refused (its `DomainError`) as if alone, against the loan as the earlier ones
    left it. `fit(asked, remaining)` may adjust an amount to what remains (auto-invest).
    `caps` replaces the table the entity's rules name (a test's own rows)."""
    today = jakarta_date(now)
    caps = caps or rules.caps
    read = _read(tx, loan_id, [ask.lender_id for ask in asks], members_only=rules.members_only)
    loan = read.loan
    outcomes: dict[str, CommitmentView | DomainError] = {}
    stakes = Participations(tx)
    with LedgerBook(tx) as book:
        for ask in asks:
            try:
                made = _commit_one(
                    read, loan, ask, book, via=via, rules=rules, now=now, today=today,
                    caps=caps, fit=fit,
                )  # fmt: skip
            except DomainError as refused:
                outcomes[ask.lender_id] = refused
                continue
            loan, stake = made
            read.stakes[ask.lender_id] = stake
            stakes.put(stake)
            outcomes[ask.lender_id] = _view(loan, stake, ask.commitment_id, ask.amount)
    if loan.funded_amount == loan.principal and loan.state is LoanState.FUNDING:
        loan = loan.moved(LoanTransition.COMPLETE_FUNDING, at=now, by=None)
        tx.emit(
            origin.event(
                EventType.LOAN_FUNDED,
                LoanFunded(
                    loan_id=loan_id, principal=loan.principal, lender_count=loan.lender_count
                ),
            )
        )
    if loan != read.loan:
        Loans(tx).put(loan)
    for lender, outcome in outcomes.items():
        if isinstance(outcome, CommitmentView):
            outcomes[lender] = outcome.model_copy(update={"loan_state": loan.state})
    return loan, outcomes


def _commit_one(
    read: _Reads,
    loan: LoanRecord,
    ask: Ask,
    book: LedgerBook,
    *,
    via: Via,
    rules: FundingRules,
    now: datetime,
    today: date,
    caps: CapTable,
    fit: Callable[[int, int], int | None] | None,
) -> tuple[LoanRecord, ParticipationRecord]:
    lender_id = ask.lender_id
    user = _registered_lender(read.users[lender_id])
    profile = user.lender_profile
    assert profile is not None
    stake = read.stakes[lender_id]
    if stake is not None and any(c.id == ask.commitment_id for c in stake.commitments):
        return loan, stake  # this commitment was made already
    _loan_open(loan, today)
    if loan.borrower_id == lender_id:
        raise Forbidden("you cannot fund your own loan")
    if rules.members_only:
        _members(user, read.borrower, loan)
    if not _agreed(user):
        raise Conflict(
            f"accept the lender agreement {LENDER_AGREEMENT_VERSION!r} and the risk disclosure "
            f"{RISK_DISCLOSURE_VERSION!r} before your first commitment"
        )
    if stake is None and loan.lender_count >= rules.max_lenders_per_loan:
        raise Conflict(f"loan {loan.id} already has the most lenders a loan may have")
    lender_ref, *group_ref = position_refs(lender_id, user.affiliate_group_id)
    lender_live = read.positions.get(lender_ref, 0)
    group_live = read.positions.get(group_ref[0], 0) if group_ref else lender_live
    asked: int | None = ask.amount
    if ask.max_total is not None:
        available = book.balance(
            lender_account(AccountType.LENDER_AVAILABLE, lender_id), read.balances
        )
        asked = min(ask.amount, ask.max_total - lender_live, available)
    if fit is not None and asked is not None:
        asked = fit(asked, loan.remaining)
    if asked is None or asked <= 0:
        raise Conflict(f"loan {loan.id} has no amount left that this commitment could take")
    amount = commitment_amount(asked, loan.remaining, rules.min_commitment)
    _refuse_breach(
        _caps(
            user,
            amount,
            lender_live,
            group_live,
            read.reconciled,
            rules=rules,
            today=today,
            caps=caps,
        )
    )
    entry = commitment(ask.commitment_id, lender_id, loan.id, amount, now)
    book.post(entry, read.balances, source=f"loan/{loan.id}")
    made = Commitment(id=ask.commitment_id, amount=amount, at=now, via=via)
    if stake is None:
        stake = ParticipationRecord(
            id=participation_id(loan.id, lender_id),
            loan_id=loan.id,
            lender_id=lender_id,
            affiliate_group_id=user.affiliate_group_id,
            professional=lender_class(profile, on=today, caps=caps) is LenderClass.PROFESSIONAL,
            committed=amount,
            commitments=(made,),
            created_at=now,
            updated_at=now,
        )
        lenders = loan.lender_count + 1
    else:
        stake = stake.model_copy(
            update={
                "committed": stake.committed + amount,
                "commitments": (*stake.commitments, made),
                "updated_at": now,
            }
        )
        lenders = loan.lender_count
    # The positions grow with this commitment: for the next ask of this batch, and stored.
    for ref in position_refs(lender_id, user.affiliate_group_id):
        read.positions[ref] = read.positions.get(ref, 0) + amount
    add_to_positions(book, lender_id, user.affiliate_group_id, amount)
    loan = loan.model_copy(
        update={
            "funded_amount": loan.funded_amount + amount,
            "lender_count": lenders,
            "updated_at": now,
        }
    )
    return loan, stake


def commit_in(
    tx: DocumentTransaction,
    *,
    loan_id: str,
    lender_id: str,
    asked: int,
    commitment_id: str,
    via: Via,
    rules: FundingRules,
    now: datetime,
    origin: EventOrigin,
    caps: CapTable | None = None,
) -> CommitmentView:
    """One commitment inside `tx`; a refusal raises."""
    _, outcomes = commit_many_in(
        tx,
        loan_id,
        [Ask(lender_id, asked, commitment_id)],
        via=via,
        rules=rules,
        now=now,
        origin=origin,
        caps=caps,
    )
    outcome = outcomes[lender_id]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def _view(
    loan: LoanRecord, stake: ParticipationRecord, commitment_id: str, asked: int
) -> CommitmentView:
    amount = next(c.amount for c in stake.commitments if c.id == commitment_id)
    return CommitmentView(
        loan_id=loan.id,
        commitment_id=commitment_id,
        amount=amount,
        cut=amount < asked,
        stake=stake.committed,
        loan_state=loan.state,
        remaining=loan.remaining,
    )


def commit_to_loan(
    uow: UnitOfWork,
    caller: Caller,
    loan_id: str,
    request: CommitmentRequest,
    *,
    rules: FundingRules,
    origin: EventOrigin,
    caps: CapTable | None = None,
) -> CommitmentView:
    """A lender's commitment to a loan in funding (see the module docstring)."""
    require_document_id(loan_id, "loan")
    now = origin.clock.now()
    commitment_id = origin.ids.new_id("cm")
    return uow.run(
        lambda tx: commit_in(
            tx,
            loan_id=loan_id,
            lender_id=caller.user_id,
            asked=request.amount,
            commitment_id=commitment_id,
            via="manual",
            rules=rules,
            now=now,
            origin=origin,
            caps=caps,
        )
    )


# --- the marketplace --------------------------------------------------------------------------


class MarketplaceQuery(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    grade: Annotated[str, Field(min_length=1, max_length=8)] | None = None
    tenor: Annotated[int, Field(gt=0, le=3650)] | None = None
    purpose: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    sector: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    province_code: Annotated[str, Field(pattern=r"^\d{2}$")] | None = None
    page_token: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class MarketplaceLoan(Model):
    """A loan as a lender may see it: nothing that identifies the borrower."""

    model_config = ConfigDict(frozen=True)

    loan_id: str
    product_id: str
    grade: str
    rate: str
    rate_period: Literal["month", "year"]
    principal: int
    funded_amount: int
    remaining: int
    lender_count: int
    tenor: int
    tenor_unit: str
    purpose: str
    sector: str
    province_code: str
    funding_closes_on: date
    reasons: tuple[str, ...]

    @classmethod
    def of(cls, loan: LoanRecord) -> MarketplaceLoan:
        assert loan.offer is not None and loan.listing is not None
        assert loan.funding_closes_on is not None
        return cls(
            loan_id=loan.id,
            product_id=loan.product_id,
            grade=loan.offer.grade,
            rate=str(loan.offer.rate),
            rate_period=loan.offer.rate_period,
            principal=loan.principal,
            funded_amount=loan.funded_amount,
            remaining=loan.remaining,
            lender_count=loan.lender_count,
            tenor=loan.tenor,
            tenor_unit=loan.tenor_unit.value,
            purpose=loan.purpose.value,
            sector=loan.listing.sector,
            province_code=loan.listing.province_code,
            funding_closes_on=loan.funding_closes_on,
            reasons=loan.decision.reasons if loan.decision else (),
        )


class Marketplace(Model):
    model_config = ConfigDict(frozen=True)

    loans: tuple[MarketplaceLoan, ...]
    next_page_token: str | None  # pass it back as `page_token` for the next page


def _matches(loan: LoanRecord, query: MarketplaceQuery) -> bool:
    assert loan.offer is not None and loan.listing is not None
    wanted = (
        (query.grade, loan.offer.grade),
        (query.tenor, loan.tenor),
        (query.purpose, loan.purpose.value),
        (query.sector, loan.listing.sector),
        (query.province_code, loan.listing.province_code),
    )
    return all(want is None or want == have for want, have in wanted)


def marketplace(uow: UnitOfWork, query: MarketplaceQuery, *, today: date) -> Marketplace:
    """Loans open for funding, soonest deadline first, filtered; at most `limit` a page."""
    where = [Where("state", "==", LoanState.FUNDING.value)]
    if query.page_token is not None:
        where.append(Where("listing.sort_key", ">", query.page_token))

    def read(tx: DocumentTransaction) -> Marketplace:
        docs = tx.query(LOANS, where, (OrderBy("listing.sort_key"),), limit=MARKETPLACE_SCAN)
        shown: list[MarketplaceLoan] = []
        last_key: str | None = None
        for doc in docs:
            loan = LoanRecord.model_validate(doc.data)
            if loan.listing is None or loan.offer is None:
                continue
            last_key = loan.listing.sort_key
            open_today = loan.funding_closes_on is None or loan.funding_closes_on >= today
            if open_today and loan.remaining > 0 and _matches(loan, query):
                shown.append(MarketplaceLoan.of(loan))
                if len(shown) == query.limit:
                    break
        more = len(shown) == query.limit or len(docs) == MARKETPLACE_SCAN
        return Marketplace(loans=tuple(shown), next_page_token=last_key if more else None)

    return uow.run(read, read_only=True)


# --- the portfolio ----------------------------------------------------------------------------


class Stake(Model):
    model_config = ConfigDict(frozen=True)

    loan_id: str
    state: str
    committed: int
    outstanding_principal: int


class Portfolio(Model):
    model_config = ConfigDict(frozen=True)

    balance: WalletBalance
    stakes: tuple[Stake, ...]


def portfolio(uow: UnitOfWork, lender_id: str) -> Portfolio:
    """The lender's balances and their stakes, newest first."""
    balance = wallet_of(uow, lender_id)

    def read(tx: DocumentTransaction) -> list[ParticipationRecord]:
        return Participations(tx).find(
            Where("lender_id", "==", lender_id),
            order_by=(OrderBy("created_at", descending=True),),
            limit=MAX_LISTED_STAKES,
        )

    stakes = uow.run(read, read_only=True)
    return Portfolio(
        balance=balance,
        stakes=tuple(
            Stake(
                loan_id=s.loan_id,
                state=s.state,
                committed=s.committed if s.state == "committed" else 0,
                outstanding_principal=s.outstanding_principal,
            )
            for s in stakes
        ),
    )
