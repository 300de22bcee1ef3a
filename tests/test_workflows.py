"""The GitHub workflows parse, call only commands the project has, and never hand credentials to forks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from mssp.diff import command as diff

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def mssp_commands() -> set[str]:
    from mssp.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)


def dev_commands() -> set[str]:
    """Sub-commands the ./dev script handles itself, plus every mssp command it forwards."""
    text = (ROOT / "dev").read_text()
    own = set()
    for label in re.findall(r"^\s*([a-z|\-]+)\)\s*$", text, flags=re.M):
        own.update(label.split("|"))
    return own | mssp_commands()


def run_lines(doc: dict[str, Any]) -> list[str]:
    lines = []
    for job in doc["jobs"].values():
        for step in job.get("steps", []):
            lines += [ln.strip() for ln in str(step.get("run", "")).splitlines() if ln.strip()]
    return lines


def pr_workflow() -> dict[str, Any]:
    return load(ROOT / ".github" / "workflows" / "pr.yml")


def test_there_is_a_pull_request_workflow():
    assert ROOT / ".github" / "workflows" / "pr.yml" in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_parses_and_references_only_existing_commands(path: Path):
    doc = load(path)
    assert doc["jobs"] and doc["on"]
    dev_ok, mssp_ok = dev_commands(), mssp_commands()
    seen = 0
    for line in run_lines(doc):
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # a shell continuation or quote that spans lines: plain words are enough here
            words = line.split()
        for i, w in enumerate(words):
            if w == "./dev" and i + 1 < len(words):
                assert words[i + 1] in dev_ok, f"{path.name}: `{line}` uses ./dev {words[i + 1]}"
                seen += 1
            if w == "-m" and i + 1 < len(words) and words[i + 1] == "mssp":
                assert i + 2 < len(words) and words[i + 2] in mssp_ok, f"{path.name}: `{line}`"
                seen += 1
        assert not re.search(r"\bpulumi (up|destroy)\b", line), f"{path.name}: a PR workflow must not deploy"
    assert seen, f"{path.name} runs no project command"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_target_and_minimal_permissions(path: Path):
    doc = load(path)
    triggers = doc["on"] if isinstance(doc["on"], (dict, list)) else [doc["on"]]
    assert "pull_request_target" not in triggers
    # Workflow-level permissions are read-only at most; jobs ask for what they write.
    assert doc.get("permissions") in ({}, {"contents": "read"})
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"job {name} must state its permissions"
        assert "write-all" not in str(job["permissions"])


def test_jobs_run_the_tests_plan_the_diff_and_comment_once():
    jobs = pr_workflow()["jobs"]
    assert "./dev test" in run_lines({"jobs": {"t": jobs["test"]}})
    diff_lines = run_lines({"jobs": {"d": jobs["plan-diff"]}})
    assert any(line.startswith("./dev diff ") and "--json" in line and "--markdown" in line for line in diff_lines)
    checkout = jobs["plan-diff"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert jobs["plan-diff"]["permissions"] == {"contents": "read"}
    comment = jobs["diff-comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert SAME_REPO in comment["if"]
    # The comment job runs no code from the PR: no checkout, only the artifact and github-script.
    assert [s["uses"].split("@")[0] for s in comment["steps"]] == ["actions/download-artifact", "actions/github-script"]
    script = comment["steps"][1]["with"]["script"]
    assert diff.MARKER in script and "updateComment" in script and "createComment" in script


def test_real_preview_uses_pulumi_actions_for_same_repository_prs_with_oidc_only():
    job = pr_workflow()["jobs"]["preview"]
    condition = " ".join(job["if"].split())
    assert SAME_REPO in condition and "vars.ARM_CLIENT_ID != ''" in condition
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert job["env"]["ARM_USE_OIDC"] == "true" and "ARM_CLIENT_SECRET" not in job["env"]
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert step["uses"] == "pulumi/actions@v6"
    w = step["with"]
    assert w["command"] == "preview" and w["diff"] is True and w["comment-on-pr"] is True
    assert w["edit-pr-comment"] is True
    assert (ROOT / w["policyPacks"] / "PulumiPolicy.yaml").exists()
    assert "matrix.stack" in w["stack-name"]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.plan-diff.outputs.stacks) }}"


def test_only_the_preview_job_sees_secrets_or_an_oidc_token():
    doc = pr_workflow()
    for name, job in doc["jobs"].items():
        text = yaml.safe_dump(job)
        if name == "preview":
            continue
        assert "secrets." not in text, name
        assert "id-token" not in str(job.get("permissions")), name
