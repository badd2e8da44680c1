"""What the store keeps about champion/challenger scoring
(docs/lending-rules.md#champion-and-challenger).

- `scorecard_routing/active`: the routing in force (champion, challenger and its share),
  its revision (1 for the first promotion; the settings' default counts as revision 0)
  and the promotion that set it. Scoring reads it in the transaction that reads the loan.
- `scorecard_proposals/<id>`: a proposal to make a version champion or challenger, made
  by one `admin.credit` against the revision then in force, and promoted by another.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from shared.domain.maker_checker import Checked, Made
from shared.domain.scoring.routing import ChallengerShare, ScorecardRouting, ScorecardVersion
from shared.model import Model
from shared.platform.store import Repository

SCORECARD_ROUTING = "scorecard_routing"
ACTIVE = "active"
SCORECARD_PROPOSALS = "scorecard_proposals"


class ActiveScorecards(Model):
    """`scorecard_routing/active`: the routing in force and the promotion that set it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = ACTIVE
    routing: ScorecardRouting
    revision: int
    proposal_id: str
    promoted: Checked


class RoutingRecords(Repository[ActiveScorecards]):
    collection = SCORECARD_ROUTING
    model = ActiveScorecards


class ScorecardProposalRecord(Model):
    """`scorecard_proposals/<id>`: a version proposed as champion or challenger.

    `based_on_revision` is the routing's revision when it was proposed: a promotion since
    makes the proposal stale, so nobody promotes a change against a routing they never saw.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    version: ScorecardVersion
    model_version: str  # the card's own `model_version`, as decisions record it
    role: Literal["champion", "challenger"]
    challenger_share: ChallengerShare | None = None  # a challenger's share
    reason: str
    based_on_revision: int
    routing: ScorecardRouting  # what the routing becomes when it is promoted
    state: Literal["proposed", "promoted"]
    proposed: Made
    promoted: Checked | None = None


class ScorecardProposals(Repository[ScorecardProposalRecord]):
    collection = SCORECARD_PROPOSALS
    model = ScorecardProposalRecord
