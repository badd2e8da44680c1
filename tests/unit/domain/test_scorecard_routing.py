"""Champion/challenger routing and the comparison's counts (pure;
docs/lending-rules.md#champion-and-challenger)."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.domain.delinquency import delinquent_since
from shared.domain.scoring.comparison import VersionTally, early_delinquent
from shared.domain.scoring.routing import ScorecardRouting, routing_position, version_for

BORROWERS = [f"borrower-{n:05d}" for n in range(10_000)]


def routing(share: str) -> ScorecardRouting:
    return ScorecardRouting(champion="v1", challenger="v2", challenger_share=Decimal(share))


def test_a_borrower_always_meets_the_same_card():
    ten_percent = routing("0.1")
    first = [version_for(b, ten_percent) for b in BORROWERS[:500]]
    again = [version_for(b, routing("0.1")) for b in BORROWERS[:500]]
    assert first == again
    assert {"v1", "v2"} <= set(first)


def test_the_position_is_the_sha256_of_the_borrower_id_not_pythons_hash():
    digest = hashlib.sha256(b"borrower-00000").digest()
    assert routing_position("borrower-00000") == Decimal(int.from_bytes(digest[:8])) / 2**64


def test_the_share_is_respected_exactly_for_a_fixed_set_of_borrowers():
    # The hash is deterministic, so the counts are exact: within 2% of the share too.
    on_challenger = sum(version_for(b, routing("0.1")) == "v2" for b in BORROWERS)
    assert on_challenger == 1016
    assert abs(on_challenger - 1_000) <= 200
    assert sum(version_for(b, routing("0.25")) == "v2" for b in BORROWERS) == 2525
    assert all(version_for(b, routing("0")) == "v1" for b in BORROWERS)
    assert all(version_for(b, ScorecardRouting(champion="v3")) == "v3" for b in BORROWERS[:100])


def test_raising_the_share_keeps_every_challenger_borrower_on_the_challenger():
    before = {b for b in BORROWERS if version_for(b, routing("0.1")) == "v2"}
    after = {b for b in BORROWERS if version_for(b, routing("0.25")) == "v2"}
    assert before < after


@pytest.mark.parametrize(
    "fields",
    [
        {"champion": "v1", "challenger": "v1", "challenger_share": "0.1"},  # itself
        {"champion": "v1", "challenger_share": "0.1"},  # a share for nobody
        {"champion": "v1", "challenger": "v2", "challenger_share": "0.51"},  # over 50%
        {"champion": "v1", "challenger": "v2", "challenger_share": "-0.1"},
        {"champion": "one"},  # not a file's name
    ],
)
def test_an_incoherent_routing_is_refused(fields):
    with pytest.raises(ValidationError):
        ScorecardRouting.model_validate(fields)


def test_early_delinquency_is_the_first_day_out_of_the_current_bucket():
    swept = date(2026, 6, 30)
    assert delinquent_since(swept, 30) is None
    assert delinquent_since(swept, 31) == swept
    assert delinquent_since(swept, 41) == date(2026, 6, 20)
    disbursed = date(2026, 3, 20)  # three months on: 20 June
    assert early_delinquent(disbursed, date(2026, 6, 20), months=3)
    assert not early_delinquent(disbursed, date(2026, 6, 21), months=3)  # too late
    assert not early_delinquent(disbursed, None, months=3)  # never 31 days past due
    assert not early_delinquent(None, date(2026, 4, 1), months=3)  # never disbursed


def test_a_tally_counts_decisions_approvals_disbursements_and_early_delinquencies():
    tally = VersionTally("v2", months=3, today=date(2026, 5, 1))
    disbursed = date(2026, 1, 10)
    tally.add("approve", disbursed_on=disbursed, delinquent_since=date(2026, 1, 21))
    tally.add("approve", disbursed_on=disbursed, delinquent_since=None)
    tally.add("approve", disbursed_on=None, delinquent_since=None)
    tally.add("review", disbursed_on=disbursed, delinquent_since=date(2026, 4, 26))
    tally.add("reject", disbursed_on=None, delinquent_since=None)
    # Disbursed on 1 February: its three months end on 1 May, today; not yet observed.
    tally.add("approve", disbursed_on=date(2026, 2, 1), delinquent_since=date(2026, 3, 5))
    assert (tally.decisions, tally.approvals, tally.disbursed, tally.observed) == (6, 4, 4, 3)
    # 31 days past due on 21 January: within 3 months; on 26 April: after them.
    assert tally.early_delinquent == 1
    assert tally.approval_rate == Decimal("0.6667")
    assert tally.early_delinquency_rate == Decimal("0.3333")  # 1 of the 3 observed
    assert VersionTally("v1", months=3, today=date(2026, 5, 1)).approval_rate is None
