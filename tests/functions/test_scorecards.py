"""Champion/challenger scorecards through `loan_review`: maker-checker promotion, what
scoring then uses and records, and the comparison
(docs/lending-rules.md#champion-and-challenger)."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Any

import pytest

from shared.domain.loan import LoanState
from shared.domain.maker_checker import Checked, Made
from shared.domain.scoring.routing import ScorecardRouting
from shared.records.credit_decisions import CreditDecisionRecord, CreditDecisions
from shared.records.deposits import BankAccountRef
from shared.records.loans import Disbursement, Loans, OverdueRecord
from shared.records.scorecards import ActiveScorecards, RoutingRecords
from shared.services.credit_scoring import ScorecardMissing
from shared.services.scorecards import ScorecardShelf
from tests.functions.conftest import Platform, idempotent, problem

REASON = "Retrained on 2026's repayments; fewer approvals, better early delinquency."
V1 = json.loads(
    resources.files("shared.domain").joinpath("scorecards", "v1.json").read_text("utf-8")
)
# A second card, as a retrained file would ship: 100 points fewer for everyone.
V2 = {**V1, "model_version": "five-c-v2", "base_points": 0}


@pytest.fixture
def platform(platform: Platform) -> Platform:
    platform.scorecards = ScorecardShelf({"v1": V1, "v2": V2})
    platform.world.staff("credit-2", "admin.credit")
    return platform


def admin(platform: Platform, key: str, user: str = "reviewer-1") -> dict[str, str]:
    return idempotent(key, platform.bearer(user, "admin.credit"))


def propose(platform: Platform, body: dict[str, Any], key: str = "p-1") -> Any:
    review = platform.client("loan_review")
    return review.post("/scorecards/proposals", json=body, headers=admin(platform, key))


def promote(platform: Platform, proposal_id: str, key: str, user: str = "credit-2") -> Any:
    review = platform.client("loan_review")
    return review.post(
        f"/scorecards/proposals/{proposal_id}/promote", headers=admin(platform, key, user)
    )


def in_force(platform: Platform) -> dict[str, Any]:
    review = platform.client("loan_review")
    view = review.get("/scorecards", headers=platform.bearer("reviewer-1", "admin.credit"))
    assert view.status_code == 200, view.get_json()
    body: dict[str, Any] = view.get_json()
    return body


def test_the_settings_default_is_in_force_until_a_promotion(platform):
    view = in_force(platform)
    assert view["routing"] == {"champion": "v1", "challenger": None, "challenger_share": "0"}
    assert (view["revision"], view["source"]) == (0, "settings")
    assert view["shipped_versions"] == ["v1", "v2"]


def test_a_challenger_is_proposed_by_one_admin_and_promoted_by_another(platform):
    proposed = propose(
        platform,
        {"version": "v2", "role": "challenger", "challenger_share": "0.2", "reason": REASON},
    )
    assert proposed.status_code == 201, proposed.get_json()
    proposal = proposed.get_json()
    assert (proposal["state"], proposal["model_version"]) == ("proposed", "five-c-v2")
    assert in_force(platform)["open_proposals"][0]["id"] == proposal["id"]
    assert in_force(platform)["routing"]["challenger"] is None  # nothing changes yet

    mine = promote(platform, proposal["id"], "m-1", user="reviewer-1")
    assert "another admin" in problem(mine, 403)["detail"]

    promoted = promote(platform, proposal["id"], "m-2")
    assert promoted.status_code == 200, promoted.get_json()
    assert promoted.get_json()["promoted"]["by"] == "credit-2"
    view = in_force(platform)
    assert view["routing"] == {"champion": "v1", "challenger": "v2", "challenger_share": "0.2"}
    assert (view["revision"], view["source"], view["open_proposals"]) == (1, "promoted", [])

    # Promoting it again, with another key, has no second effect.
    again = promote(platform, proposal["id"], "m-3")
    assert again.status_code == 200
    assert again.get_json() == promoted.get_json()
    assert in_force(platform)["revision"] == 1


def test_a_proposal_made_before_another_promotion_is_stale(platform):
    first = propose(
        platform,
        {"version": "v2", "role": "challenger", "challenger_share": "0.1", "reason": REASON},
        "p-1",
    ).get_json()
    second = propose(platform, {"version": "v2", "role": "champion", "reason": REASON}, "p-2")
    assert [p["id"] for p in in_force(platform)["open_proposals"]] == [
        first["id"],
        second.get_json()["id"],
    ]
    assert promote(platform, first["id"], "m-1").status_code == 200
    assert in_force(platform)["open_proposals"] == []  # the second is stale now
    assert "stale" in problem(promote(platform, second.get_json()["id"], "m-2"), 409)["detail"]
    assert in_force(platform)["routing"]["champion"] == "v1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "v9", "role": "champion", "reason": REASON}, "version"),  # not shipped
        ({"version": "v2", "role": "challenger", "reason": REASON}, "challenger_share"),
        (
            {"version": "v2", "role": "challenger", "challenger_share": "0.6", "reason": REASON},
            "challenger_share",
        ),
        (
            {"version": "v2", "role": "challenger", "challenger_share": 0.1, "reason": REASON},
            "challenger_share",
        ),  # a float, not an exact decimal
        (
            {"version": "v2", "role": "champion", "challenger_share": "0.1", "reason": REASON},
            "challenger_share",
        ),
        ({"version": "v2", "role": "champion", "reason": "why not"}, "reason"),
    ],
)
def test_a_bad_proposal_is_a_422_naming_the_field(platform, body, field):
    refused = problem(propose(platform, body), 422)
    assert any(field in name for name in refused["errors"]), refused


def test_proposing_the_champion_again_is_a_409(platform):
    refused = propose(platform, {"version": "v1", "role": "champion", "reason": REASON})
    assert "already the champion" in problem(refused, 409)["detail"]


def test_promoting_an_unknown_proposal_is_a_404(platform):
    assert problem(promote(platform, "scp-nothing", "m-1"), 404)


@pytest.mark.parametrize(("user", "role"), [("thin_file", "borrower"), ("fin-1", "admin.finance")])
def test_borrowers_lenders_and_other_admins_may_not_propose_promote_or_compare(
    platform, user, role
):
    platform.world.register("thin_file")
    platform.world.staff("lender-1", "lender")
    review = platform.client("loan_review")
    body = {"version": "v2", "role": "champion", "reason": REASON}
    for who, as_role in ((user, role), ("lender-1", "lender")):
        headers = idempotent("k-1", platform.bearer(who, as_role))
        assert problem(review.post("/scorecards/proposals", json=body, headers=headers), 403)
        assert problem(review.post("/scorecards/proposals/scp-1/promote", headers=headers), 403)
        assert problem(review.get("/scorecards/compare", headers=headers), 403)
        assert problem(review.get("/scorecards", headers=headers), 403)
    assert problem(review.get("/scorecards/compare"), 401)


def test_scoring_uses_the_promoted_champion_and_records_its_version(platform):
    world = platform.world
    world.register("strong_msme")
    before = world.submit("strong_msme")
    world.score(before, scorecards=platform.scorecards)
    assert world.uow.documents("credit_decisions")[before]["scorecard_version"] == "v1"

    proposal = propose(platform, {"version": "v2", "role": "champion", "reason": REASON})
    assert promote(platform, proposal.get_json()["id"], "m-1").status_code == 200
    world.uow.run(
        lambda tx: Loans(tx).put(world.loan(before).model_copy(update={"state": LoanState.REPAID}))
    )
    after = world.submit("strong_msme")
    world.score(after, scorecards=platform.scorecards)
    stored = world.uow.documents("credit_decisions")[after]
    assert (stored["scorecard_version"], stored["model_version"]) == ("v2", "five-c-v2")
    assert stored["total_score"] == sum(stored["points"].values())  # v2's base is 0


def _hand_built(platform: Platform) -> None:
    """Six decisions of v1 and six of v2, and what became of their loans."""
    world = platform.world
    world.register("strong_msme")
    template_id = world.submit("strong_msme")
    record = world.score(template_id, scorecards=platform.scorecards).decision
    assert isinstance(record, CreditDecisionRecord)
    loan = world.loan(template_id)
    account = BankAccountRef(
        bank_code="014",
        account_number_masked="******7890",
        account_number_hash="h",
        account_holder="Siti",
    )
    disbursed_on, swept = date(2026, 1, 10), date(2026, 4, 30)
    cases = [
        # version, verdict, disbursed, days past due on 30 April
        ("v1", "approve", True, 0),
        ("v1", "approve", True, 100),  # 31 days on 21 January: within 3 months
        ("v1", "approve", True, 35),  # 31 days on 26 April: after 3 months
        ("v1", "approve", False, 0),
        ("v1", "review", True, 31),  # a reviewer approved it; 31 days on 30 April
        ("v1", "reject", False, 0),
        ("v2", "approve", True, 60),  # 31 days on 1 April: within 3 months
        ("v2", "approve", True, 0),
        ("v2", "reject", False, 0),
        ("v2", "reject", False, 0),
    ]
    # Brought back under 31 days since: the sweep kept the day it reached them.
    cured = {"cmp-10": date(2026, 3, 2), "cmp-11": date(2026, 11, 5)}
    cases.append(("v2", "approve", True, 0))
    # Disbursed on 1 October: three months later is after today (20 November), so it is
    # not observed yet, and its early delinquency is not in the rate.
    young = {"cmp-11": date(2026, 10, 1)}
    cases.append(("v2", "approve", True, 0))

    def build(tx: Any) -> None:
        for n, (version, verdict, disbursed, dpd) in enumerate(cases):
            loan_id = f"cmp-{n:02d}"
            CreditDecisions(tx).put(
                record.model_copy(
                    update={"loan_id": loan_id, "scorecard_version": version, "decision": verdict}
                )
            )
            changes: dict[str, Any] = {"id": loan_id}
            if disbursed:
                changes["disbursement"] = Disbursement(
                    state="paid",
                    requested=Made(by="fin-1", at=world.clock.now()),
                    disbursed_on=young.get(loan_id, disbursed_on),
                    maturity_date=date(2027, 1, 10),
                    origination_fee=0,
                    origination_fee_vat=0,
                    net_disbursement=loan.principal,
                    to_account=account,
                )
                changes["overdue"] = OverdueRecord(
                    last_swept_on=swept, days_past_due=dpd, delinquent_since=cured.get(loan_id)
                )
            Loans(tx).put(loan.model_copy(update=changes))
        CreditDecisions(tx).remove(template_id)

    world.uow.run(build)


def test_the_comparison_counts_match_a_hand_built_set(platform):
    _hand_built(platform)
    review = platform.client("loan_review")
    headers = platform.bearer("reviewer-1", "admin.credit")
    answer = review.get("/scorecards/compare?versions=v1,v2&months=3", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["months"], body["early_delinquency_days"]) == (3, 31)
    v1, v2 = body["versions"]
    assert v1 == {
        "version": "v1",
        "decisions": 6,
        "approvals": 4,
        "approval_rate": "0.6667",
        "disbursed_loans": 4,
        "observed_loans": 4,
        "early_delinquent_loans": 1,
        "early_delinquency_rate": "0.2500",
        "complete": True,
    }
    assert v2 == {
        "version": "v2",
        "decisions": 6,
        "approvals": 4,
        "approval_rate": "0.6667",
        "disbursed_loans": 4,
        "observed_loans": 3,
        "early_delinquent_loans": 2,
        "early_delinquency_rate": "0.6667",
        "complete": True,
    }
    # Four months of window: the 35 and 31 days past due of v1 now count.
    longer = review.get("/scorecards/compare?versions=v1&months=4", headers=headers).get_json()
    assert longer["versions"][0]["early_delinquent_loans"] == 3
    # By default: the versions in force, here the champion alone.
    default = review.get("/scorecards/compare", headers=headers).get_json()
    assert [v["version"] for v in default["versions"]] == ["v1"]
    bad = review.get("/scorecards/compare?months=0", headers=headers)
    assert problem(bad, 422)


def test_a_routing_naming_a_card_this_code_lacks_is_redelivered_not_acknowledged(platform):
    world = platform.world
    world.register("strong_msme")
    loan_id = world.submit("strong_msme")
    promoted = Checked(by="credit-2", at=world.clock.now())
    routing = ActiveScorecards(
        routing=ScorecardRouting(champion="v7"), revision=1, proposal_id="scp-x", promoted=promoted
    )
    world.uow.run(lambda tx: RoutingRecords(tx).put(routing))
    with pytest.raises(ScorecardMissing, match="v7"):
        world.score(loan_id, scorecards=platform.scorecards)
    assert world.loan(loan_id).state is LoanState.SUBMITTED
    assert loan_id not in world.uow.documents("credit_decisions")
