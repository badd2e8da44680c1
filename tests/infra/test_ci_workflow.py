"""The infrastructure CI workflow (.github/workflows/infra.yml) cannot run here; what can be
checked offline is: it is a valid GitHub Actions workflow (the schema check-jsonschema ships),
it plans and previews every stack there is, with the policy pack, as the deployer through
workload identity federation, and checks every stack for drift daily."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml
from croniter import croniter

from infra.manifest import known_entities
from infra.offline import BOOTSTRAP_DIR, REPOSITORY

WORKFLOW = REPOSITORY / ".github" / "workflows" / "infra.yml"
STACKS = {"org", *known_entities()}


def workflow() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True)
    return document


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with the GitHub workflow schema it ships (no network)."""
    command = ["check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)]
    return subprocess.run(
        [sys.executable, "-m", *command], capture_output=True, text=True, check=False
    )


def test_it_is_a_valid_github_actions_workflow():
    result = schema_check(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  plan:\n    steps: not-a-list\n", encoding="utf-8")
    assert schema_check(broken).returncode != 0


def test_pull_requests_plan_offline_and_preview_every_stack_with_the_policy_pack():
    document = workflow()
    assert "pull_request" in document["on"]
    plan = document["jobs"]["plan"]
    assert set(plan["strategy"]["matrix"]["stack"]) == STACKS
    assert any("nox -s plan -- ${{ matrix.stack }}" in s.get("run", "") for s in plan["steps"])
    preview = document["jobs"]["preview"]
    stacks = {entry["stack"]: entry["dir"] for entry in preview["strategy"]["matrix"]["include"]}
    assert set(stacks) == STACKS
    assert stacks["org"] == str(BOOTSTRAP_DIR.relative_to(REPOSITORY))
    assert (REPOSITORY / stacks["org"] / "Pulumi.org.yaml").is_file()
    (pulumi,) = steps_using(preview, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["policyPacks"] == "infra/policy"
    assert (REPOSITORY / "infra" / "policy" / "PulumiPolicy.yaml").is_file()


def test_ci_acts_as_the_deployer_through_workload_identity_without_a_key():
    document = workflow()
    assert document["permissions"] == {"contents": "read"}
    for name in ("preview", "drift"):
        job = document["jobs"][name]
        assert job["permissions"]["id-token"] == "write"
        (auth,) = steps_using(job, "google-github-actions/auth")
        assert auth["with"] == {
            "workload_identity_provider": "${{ vars.WORKLOAD_IDENTITY_PROVIDER }}",
            "service_account": "${{ vars.DEPLOYER_EMAIL }}",
        }
    assert "credentials_json" not in WORKFLOW.read_text(encoding="utf-8")


def test_every_stack_is_checked_for_drift_daily():
    document = workflow()
    (schedule,) = document["on"]["schedule"]
    runs = croniter(schedule["cron"], datetime(2027, 1, 4, tzinfo=UTC))
    first, second = runs.get_next(datetime), runs.get_next(datetime)
    assert (second - first).days == 1
    drift = document["jobs"]["drift"]
    assert {entry["stack"] for entry in drift["strategy"]["matrix"]["include"]} == STACKS
    command = " ".join(s.get("run", "") for s in drift["steps"])
    assert "pulumi refresh" in command
    assert "--preview-only" in command and "--expect-no-changes" in command
