"""Champion/challenger scorecards: the routing in force, its maker-checker promotion, and
the comparison of versions (docs/lending-rules.md#champion-and-challenger).

- `routing_in_force(tx, default)`: what scoring uses — the stored routing
  (`scorecard_routing/active`), or the settings' default while nothing was ever promoted.
  Scoring reads it in the transaction that reads the loan: one document a decision.
- `propose_scorecard`: one `admin.credit` proposes a shipped version (a file in
  `shared/domain/scorecards`, validated by `parse_scorecard`) as champion, or as
  challenger with a share of 0 to 50%; the routing it would make is fixed then, against
  the revision in force.
- `promote_scorecard`: a second `admin.credit` promotes it; the proposer cannot. A
  promotion since the proposal makes it stale (409); promoting a promoted one again
  answers it unchanged, so a repeat has one effect.
- `compare_scorecards`: each version's decisions, approvals and approval rate, disbursed
  loans and early delinquencies (31+ days past due within N months of disbursement) and
  that rate. It reads the decisions of a version page by page (by loan id) and their
  loans, at most `MAX_COMPARED_DECISIONS` a version; `complete` says whether it saw all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.maker_checker import Made, checked
from shared.domain.scoring.comparison import EARLY_DELINQUENCY_DAYS, VersionTally
from shared.domain.scoring.routing import (
    MAX_CHALLENGER_SHARE,
    ScorecardRouting,
    ScorecardVersion,
)
from shared.fields import ProseStr
from shared.model import Model
from shared.platform.clock import Clock
from shared.platform.ids import IdGenerator, require_document_id
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.credit_decisions import CreditDecisions
from shared.records.loans import Loans
from shared.records.scorecards import (
    ACTIVE,
    ActiveScorecards,
    RoutingRecords,
    ScorecardProposalRecord,
    ScorecardProposals,
)

if TYPE_CHECKING:  # parsed by the shelf when a card is asked for (docs/architecture.md#cold-start)
    from shared.domain.scoring.scorecard import Scorecard

COMPARISON_PAGE = 200  # decisions read at once, with their loans
MAX_COMPARED_DECISIONS = 5_000  # a version's decisions one comparison reads at most
MAX_OPEN_PROPOSALS_READ = 20

Reason = Annotated[
    ProseStr, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000)
]


def _share_text(value: object) -> object:
    if isinstance(value, str | Decimal) and not isinstance(value, bool):
        return value
    raise ValueError('a share is an exact decimal: send a string such as "0.1"')


ShareText = Annotated[
    Decimal,
    BeforeValidator(_share_text),
    Field(ge=0, le=MAX_CHALLENGER_SHARE, decimal_places=4, allow_inf_nan=False),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^0?\.\d{1,4}$|^0$",
            "examples": ["0.1"],
            "description": "a fraction of borrowers from 0 to 0.5, at most 4 decimal places",
        }
    ),
]


# --- the routing in force --------------------------------------------------------------------


class ScorecardShelf:
    """The scorecard versions this code can score with, each parsed once per process.

    By default the files `shared/domain/scorecards/v<N>.json`; a test passes documents of
    its own. A version no document carries is a `ValidationFailed` on `version` (a 422).
    """

    def __init__(self, documents: Mapping[str, str | Mapping[str, Any]] | None = None) -> None:
        self._documents = documents
        self._cards: dict[str, Scorecard] = {}

    def versions(self) -> tuple[str, ...]:
        """Every version on the shelf, in version order."""
        if self._documents is not None:
            names: Iterable[str] = self._documents
        else:
            names = (entry.name.removesuffix(".json") for entry in _folder().iterdir())
        return tuple(sorted((n for n in names if _is_version(n)), key=lambda n: int(n[1:])))

    def card(self, version: str) -> Scorecard:
        """The validated scorecard `version`."""
        from shared.domain.scoring.scorecard import parse_scorecard

        if version not in self._cards:
            self._cards[version] = parse_scorecard(self._document(version))
        return self._cards[version]

    def _document(self, version: str) -> str | Mapping[str, Any]:
        if _is_version(version):
            if self._documents is not None and version in self._documents:
                return self._documents[version]
            file = _folder().joinpath(f"{version}.json")
            if self._documents is None and file.is_file():
                return file.read_text(encoding="utf-8")
        raise ValidationFailed(
            f"no scorecard {version!r} ships with the platform",
            {"version": "unknown scorecard version"},
        )


def _folder() -> Traversable:
    return resources.files("shared.domain").joinpath("scorecards")


def _is_version(name: str) -> bool:
    return name[:1] == "v" and name[1:].isdigit()


def routing_in_force(
    tx: DocumentTransaction, default: ScorecardRouting
) -> tuple[ScorecardRouting, int]:
    """The stored routing and its revision, or the settings' `default` as revision 0."""
    active = RoutingRecords(tx).get(ACTIVE)
    return (default, 0) if active is None else (active.routing, active.revision)


class ScorecardsView(Model):
    """The routing in force, where it comes from, the shipped versions, and the proposals
    still open against it (a stale one is left out: promoting it is a 409)."""

    model_config = ConfigDict(frozen=True)

    routing: ScorecardRouting
    revision: int  # 0: the settings' default, nothing promoted yet
    source: Literal["settings", "promoted"]
    promoted_at: AwareDatetime | None = None
    shipped_versions: tuple[str, ...]
    open_proposals: tuple[ScorecardProposalRecord, ...]


def scorecards_view(
    uow: UnitOfWork, default: ScorecardRouting, shelf: ScorecardShelf
) -> ScorecardsView:
    def read(tx: DocumentTransaction) -> ScorecardsView:
        active = RoutingRecords(tx).get(ACTIVE)
        revision = 0 if active is None else active.revision
        proposals = ScorecardProposals(tx).find(  # those a promotion has not made stale
            Where("state", "==", "proposed"),
            Where("based_on_revision", "==", revision),
            limit=MAX_OPEN_PROPOSALS_READ,
        )
        return ScorecardsView(
            routing=default if active is None else active.routing,
            revision=revision,
            source="settings" if active is None else "promoted",
            promoted_at=None if active is None else active.promoted.at,
            shipped_versions=shelf.versions(),
            open_proposals=tuple(proposals),
        )

    return uow.run(read, read_only=True)


# --- maker-checker promotion -----------------------------------------------------------------


class ScorecardProposal(Model):
    """Make `version` champion, or challenger scoring `challenger_share` of borrowers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: ScorecardVersion
    role: Literal["champion", "challenger"]
    challenger_share: ShareText | None = None
    reason: Reason


def _proposed_routing(current: ScorecardRouting, proposal: ScorecardProposal) -> ScorecardRouting:
    """What the routing becomes: a new champion keeps the challenger unless it is the
    challenger being promoted; a new challenger keeps the champion."""
    version = proposal.version
    if proposal.role == "champion":
        if proposal.challenger_share is not None:
            raise ValidationFailed(
                "a champion scores everyone the challenger does not: it takes no share",
                {"challenger_share": "only for a challenger"},
            )
        if version == current.champion:
            raise Conflict(f"{version} is already the champion")
        if version == current.challenger:
            return ScorecardRouting(champion=version)
        return current.model_copy(update={"champion": version})
    if proposal.challenger_share is None:
        raise ValidationFailed(
            "a challenger needs the share of borrowers it scores (0 to 0.5)",
            {"challenger_share": "required for a challenger"},
        )
    if version == current.champion:
        raise Conflict(f"{version} is the champion; a challenger is another version")
    return ScorecardRouting(
        champion=current.champion, challenger=version, challenger_share=proposal.challenger_share
    )


def propose_scorecard(
    uow: UnitOfWork,
    proposal: ScorecardProposal,
    *,
    admin_id: str,
    default: ScorecardRouting,
    shelf: ScorecardShelf,
    clock: Clock,
    ids: IdGenerator,
) -> ScorecardProposalRecord:
    """Record a proposal against the routing in force (see the module docstring)."""
    card = shelf.card(proposal.version)
    now = clock.now()
    proposal_id = ids.new_id("scp")

    def propose(tx: DocumentTransaction) -> ScorecardProposalRecord:
        current, revision = routing_in_force(tx, default)
        record = ScorecardProposalRecord(
            id=proposal_id,
            version=proposal.version,
            model_version=card.model_version,
            role=proposal.role,
            challenger_share=proposal.challenger_share,
            reason=proposal.reason,
            based_on_revision=revision,
            routing=_proposed_routing(current, proposal),
            state="proposed",
            proposed=Made(by=admin_id, at=now),
        )
        ScorecardProposals(tx).add(record)
        return record

    return uow.run(propose)


def promote_scorecard(
    uow: UnitOfWork,
    proposal_id: str,
    *,
    admin_id: str,
    default: ScorecardRouting,
    shelf: ScorecardShelf,
    clock: Clock,
) -> ScorecardProposalRecord:
    """A second `admin.credit` puts a proposal's routing in force (see the module docstring)."""
    require_document_id(proposal_id, "scorecard proposal")
    now = clock.now()

    def promote(tx: DocumentTransaction) -> ScorecardProposalRecord:
        proposals = ScorecardProposals(tx)
        record = proposals.get(proposal_id)
        if record is None:
            raise NotFound(f"there is no scorecard proposal {proposal_id!r}")
        if record.state == "promoted":
            return record  # promoted already: a repeat changes nothing
        promotion = checked(admin_id, record.proposed, now, action="promote this scorecard")
        _, revision = routing_in_force(tx, default)
        if revision != record.based_on_revision:
            raise Conflict(
                f"the proposal is stale: it was made against routing revision "
                f"{record.based_on_revision}, and revision {revision} is in force now; "
                "propose again"
            )
        shelf.card(record.version)  # still shipped with this code
        promoted = record.model_copy(update={"state": "promoted", "promoted": promotion})
        proposals.put(promoted)
        RoutingRecords(tx).put(
            ActiveScorecards(
                routing=record.routing,
                revision=revision + 1,
                proposal_id=record.id,
                promoted=promotion,
            )
        )
        return promoted

    return uow.run(promote)


# --- comparison ------------------------------------------------------------------------------


class ComparisonQuery(Model):
    """`months`: the early-delinquency window after disbursement; `versions`: which to
    compare (comma-separated), by default the champion and challenger in force."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    months: Annotated[int, Field(ge=1, le=24)] = 3
    versions: Annotated[str, StringConstraints(pattern=r"^v\d{1,4}(,v\d{1,4}){0,3}$")] | None = None


class VersionComparison(Model):
    """One version's decisions and what became of its loans."""

    model_config = ConfigDict(frozen=True)

    version: str
    decisions: int
    approvals: int  # the scorecard's own verdict `approve`
    approval_rate: Decimal | None  # approvals ÷ decisions, to four places
    disbursed_loans: int
    observed_loans: int  # disbursed more than `months` ago: the early-delinquency population
    early_delinquent_loans: int  # of those, reached 31 days past due within `months`
    early_delinquency_rate: Decimal | None  # early delinquent ÷ observed, to four places
    complete: bool  # False: the version has more than MAX_COMPARED_DECISIONS decisions


class ScorecardComparison(Model):
    model_config = ConfigDict(frozen=True)

    months: int
    early_delinquency_days: int
    versions: tuple[VersionComparison, ...]


def _tally_version(uow: UnitOfWork, version: str, months: int, today: date) -> VersionComparison:
    tally = VersionTally(version, months, today)
    after = ""
    complete = False
    while tally.decisions < MAX_COMPARED_DECISIONS:
        limit = min(COMPARISON_PAGE, MAX_COMPARED_DECISIONS - tally.decisions)

        def read_page(tx: DocumentTransaction, after: str = after, limit: int = limit) -> Any:
            decisions = CreditDecisions(tx).find(
                Where("scorecard_version", "==", version),
                Where("loan_id", ">", after),
                order_by=(OrderBy("loan_id"),),
                limit=limit,
            )
            loans = Loans(tx).get_many([d.loan_id for d in decisions]) if decisions else {}
            return decisions, loans

        decisions, loans = uow.run(read_page, read_only=True)
        for decision in decisions:
            loan = loans.get(decision.loan_id)
            disbursement = loan.disbursement if loan is not None else None
            overdue = loan.overdue if loan is not None else None
            tally.add(
                decision.decision,
                disbursed_on=disbursement.disbursed_on if disbursement is not None else None,
                delinquent_since=overdue.first_delinquent_on() if overdue is not None else None,
            )
        if len(decisions) < limit:
            complete = True
            break
        after = decisions[-1].loan_id
    return VersionComparison(
        version=version,
        decisions=tally.decisions,
        approvals=tally.approvals,
        approval_rate=tally.approval_rate,
        disbursed_loans=tally.disbursed,
        observed_loans=tally.observed,
        early_delinquent_loans=tally.early_delinquent,
        early_delinquency_rate=tally.early_delinquency_rate,
        complete=complete,
    )


def compare_scorecards(
    uow: UnitOfWork, query: ComparisonQuery, default: ScorecardRouting, *, today: date
) -> ScorecardComparison:
    """Each version's approval and early-delinquency rates (see the module docstring)."""
    if query.versions is not None:
        versions = tuple(dict.fromkeys(query.versions.split(",")))
    else:
        routing, _ = uow.run(lambda tx: routing_in_force(tx, default), read_only=True)
        versions = routing.versions
    return ScorecardComparison(
        months=query.months,
        early_delinquency_days=EARLY_DELINQUENCY_DAYS,
        versions=tuple(_tally_version(uow, v, query.months, today) for v in versions),
    )
