"""The domain demo shows a compliant quote, the three personas' decisions and an exact split."""

import re

from scripts import demo_domain


def test_demo_prints_quote_decisions_and_a_split_that_adds_up(capsys):
    assert demo_domain.main([]) == 0
    out = capsys.readouterr().out
    assert "compliant with OJK caps" in out and "NOT compliant" not in out
    decisions = re.findall(r"-> (APPROVE|REVIEW|REJECT)", out)
    assert decisions == ["APPROVE", "REVIEW", "REJECT"]
    total, collected = re.search(
        r"everything adds up to Rp ([\d.]+) \(collected Rp ([\d.]+)\)", out
    ).groups()
    assert total == collected


def test_demo_flags_a_quote_outside_the_product(capsys):
    import pytest

    from shared.domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        demo_domain.main(["--tenor", "7"])
    assert "tenor" in refused.value.field_errors
