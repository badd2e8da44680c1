"""The settings' default champion/challenger routing: read, and refused when incoherent
(docs/lending-rules.md#champion-and-challenger)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain.scoring.routing import ScorecardRouting
from shared.settings import ConfigurationError, ReviewSettings, load_settings
from tests.unit.plumbing.test_settings import clean_environment, local

__all__ = ["clean_environment"]  # the autouse fixture: no PATUNGAN_ variable leaks in


def test_without_a_challenger_the_champion_scores_everyone(monkeypatch):
    local(monkeypatch)
    routing = load_settings(ReviewSettings).default_scorecard_routing()
    assert routing == ScorecardRouting(champion="v1")


def test_a_challenger_and_its_share_are_read(monkeypatch):
    local(
        monkeypatch,
        PATUNGAN_SCORECARD_CHALLENGER_VERSION="v2",
        PATUNGAN_SCORECARD_CHALLENGER_SHARE="0.15",
    )
    routing = load_settings(ReviewSettings).default_scorecard_routing()
    assert (routing.challenger, routing.challenger_share) == ("v2", Decimal("0.15"))


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"PATUNGAN_SCORECARD_CHALLENGER_VERSION": "v1"}, "another version"),
        ({"PATUNGAN_SCORECARD_CHALLENGER_SHARE": "0.2"}, "needs a challenger"),
        (
            {
                "PATUNGAN_SCORECARD_CHALLENGER_VERSION": "v2",
                "PATUNGAN_SCORECARD_CHALLENGER_SHARE": "0.6",
            },
            "PATUNGAN_SCORECARD_CHALLENGER_SHARE",
        ),
    ],
)
def test_an_incoherent_routing_fails_at_load(monkeypatch, extra, named):
    local(monkeypatch, **extra)
    with pytest.raises(ConfigurationError, match=named):
        load_settings(ReviewSettings)
