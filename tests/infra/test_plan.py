"""`nox -s plan -- <entity>`: the offline review ops read before `pulumi up`."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial

from infra.archives import SourceTree
from infra.offline import REPOSITORY, simulate
from scripts import infra_plan
from scripts.infra_plan import main


def test_the_plan_lists_every_resource_with_its_location_and_a_count_per_type(capsys):
    assert main(["cooperative"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Offline plan of stack 'cooperative'")
    assert "-> project patungan-cooperative-prod" in out
    table = out[out.index("TYPE ") : out.index("\nResidency:")]
    header, *rows = [line for line in table.splitlines() if line.strip()]
    assert header.split() == ["TYPE", "NAME", "LOCATION", "KEY", "SETTINGS"]
    functions = [row for row in rows if row.startswith("cloudfunctionsv2/Function ")]
    assert functions and all(" asia-southeast2 " in row for row in functions)
    assert any(row.startswith("billing/Budget ") and "IDR 10,000,000/month" in row for row in rows)
    assert any(
        row.startswith("firestore/Field ")
        and "outbox.expire_at: TTL; single-field indexes off" in row
        for row in rows
    )
    assert any(
        row.startswith("firestore/Index ")
        and "loans (state ascending, submitted_at ascending, id ascending); scope COLLECTION" in row
        for row in rows
    )
    assert any(" ack deadline 120s; " in row for row in rows if "push-scoring@" in row)
    assert "Residency: every location-bearing resource is in asia-southeast2." in out
    counts = dict(
        (m.group(2), int(m.group(1)))
        for m in re.finditer(r"^\s+(\d+)\s+(\S+)$", out[out.index("Resources per type:") :], re.M)
    )
    assert counts.pop("total") == len(rows) == sum(counts.values())
    assert counts["cloudfunctionsv2/Function"] == len(functions)


def test_the_plan_shows_what_pulumi_up_would_refuse_and_strict_mode_fails_on_it(
    capsys, monkeypatch, tmp_path
):
    # A tree without function folders: the plan still prints, with placeholders, and says why
    # a real deploy would be refused.
    empty = replace(SourceTree.of_repository(REPOSITORY), functions_dir=tmp_path)
    monkeypatch.setattr(infra_plan, "simulate", partial(simulate, tree=empty))
    assert infra_plan.main(["p2p-lending", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "Preflight: `pulumi up` would refuse this stack until these are fixed:" in out
    assert f"  - function source missing: {tmp_path / 'scoring' / 'main.py'}" in out
    assert "cloudfunctionsv2/Function" in out


def test_an_unknown_entity_is_a_usage_error(capsys):
    assert main(["auto-invest"]) == 2
    assert "unknown entity 'auto-invest'; known: cooperative, msme-banking, p2p-lending" in (
        capsys.readouterr().err
    )
