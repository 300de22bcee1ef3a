"""Whose code plans HEAD (issue 10, item 6): the PR workflow's judge runs no code of the pull request.

A change that edits only stack files and inventories is planned with BASE's code over HEAD's data
(`plan_overlay`); a change that edits code takes HEAD's plans from `--head-plans DIR`, written by HEAD's
own planner in a job without credentials, and reads them as data. `--scope-only` tells the workflow
which of the two it is, from git's trees alone. The planner here is a stand-in that says which code ran
(BASE's or HEAD's) and what stack file it read; HEAD's version also leaves a marker file when it runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_diff import git

from mssp.cli import main
from mssp.diff import command as diff

PLANNER = '''\
import json, sys
from pathlib import Path
CODE = {code!r}
MARK = {mark!r}
if MARK:
    Path(MARK).write_text("HEAD's code ran")
args = sys.argv[1:]
if args[:1] != ["plan"] or "--help" in args:
    sys.exit(2)  # no --out-dir support: plan_tree plans one stack per process
stack, out = args[1], args[args.index("--json") + 1]
stack_file = Path("stacks") / f"Pulumi.{{stack}}.yaml"
inventory = Path("stacks") / "inventories" / f"{{stack}}.yaml"
json.dump({{"stack": stack, "resources": [], "policies": [], "outputs": {{
    "code": CODE, "stackFile": stack_file.read_text(),
    "inventory": inventory.read_text() if inventory.exists() else None,
    "splunkWebhookUrl": "[secret]"}}}}, open(out, "w"))
'''

CUSTOMER = ("config:\n  mssp-sentinel:kind: customer\n  mssp-sentinel:customer:\n"
            "    platformStack: organization/mssp-sentinel/mssp\n"
            "    forwarding:\n      inventory: stacks/inventories/{stack}.yaml\n      note: {note}\n")
PLATFORM = "config:\n  mssp-sentinel:kind: platform\n"


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """base: a platform and two customers; tags `data` (contoso's stack file and inventory changed) and
    `code` (the planner changed, leaving a marker when it runs, plus contoso's stack file)."""
    repo = tmp_path / "repo"
    (repo / "mssp").mkdir(parents=True)
    (repo / "stacks" / "inventories").mkdir(parents=True)
    (repo / "mssp" / "__init__.py").write_text("")
    (repo / "mssp" / "__main__.py").write_text(PLANNER.format(code="base", mark=""))
    for stack in ("contoso", "fabrikam"):
        (repo / "stacks" / f"Pulumi.{stack}.yaml").write_text(CUSTOMER.format(stack=stack, note="base"))
        (repo / "stacks" / "inventories" / f"{stack}.yaml").write_text("resources: []\n")
    (repo / "stacks" / "Pulumi.mssp.yaml").write_text(PLATFORM)
    git(repo, "init", "-q")
    commit_all(repo, "base")
    git(repo, "tag", "base")
    (repo / "stacks" / "Pulumi.contoso.yaml").write_text(CUSTOMER.format(stack="contoso", note="head"))
    (repo / "stacks" / "inventories" / "contoso.yaml").unlink()
    commit_all(repo, "data only: contoso's stack file edited, its inventory deleted")
    git(repo, "tag", "data")
    git(repo, "checkout", "-q", "base")
    (repo / "mssp" / "__main__.py").write_text(PLANNER.format(code="head", mark=str(tmp_path / "head-code-ran")))
    (repo / "stacks" / "Pulumi.contoso.yaml").write_text(CUSTOMER.format(stack="contoso", note="head"))
    commit_all(repo, "code: the planner changed")
    git(repo, "tag", "code")
    git(repo, "checkout", "-q", "base")
    return repo


def head_ran(repo: Path) -> bool:
    return (repo.parent / "head-code-ran").exists()


def head_manifest(stack: str, **outputs: Any) -> dict[str, Any]:
    return {"stack": stack, "resources": [], "policies": [],
            "outputs": {"code": "head", "splunkWebhookUrl": "[secret]", **outputs}}


def test_a_data_only_change_is_planned_with_the_base_code_over_heads_data(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    assert main(["diff", "base", "data", "--repo", str(repo), "--json", str(out), "--no-cache"]) == 0
    report = json.loads(out.read_text())
    assert report["headPlans"] == {"source": "base-code", "headCodePaths": []}
    assert report["affected"]["planned"] == {"contoso": ["its stack file changed",
                                                         "its inventory `stacks/inventories/contoso.yaml` changed"]}
    (contoso,) = report["stacks"]
    changed = {c["output"] for c in contoso["outputChanges"]}
    # HEAD's stack file was read, HEAD's deletion of the inventory was applied, BASE's code ran.
    assert changed == {"stackFile", "inventory"}


def test_the_overlay_tree_holds_heads_data_and_nothing_else_of_head(repo: Path) -> None:
    """Even given a HEAD that also changes code, the overlay plans with BASE's code: only the data paths
    named come from HEAD (the bug this catches: an overlay that checks HEAD out)."""
    plans = diff.plan_overlay("base", "code", repo, ["stacks/Pulumi.contoso.yaml"], ["contoso"])
    outputs = plans["contoso"]["outputs"]
    assert outputs["code"] == "base" and "note: head" in outputs["stackFile"]
    assert outputs["inventory"] == "resources: []\n"  # not in data_paths: BASE's file
    assert not head_ran(repo)
    assert git(repo, "worktree", "list").strip().count("\n") == 0


def test_a_code_change_without_head_plans_runs_heads_code_here(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    assert main(["diff", "base", "code", "--repo", str(repo), "--json", str(out), "--no-cache"]) == 0
    report = json.loads(out.read_text())
    assert report["headPlans"] == {"source": "head-code", "headCodePaths": ["mssp/__main__.py"]}
    assert head_ran(repo)


def test_with_head_plans_the_code_of_head_never_runs(repo: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "head-plans"
    folder.mkdir()
    args = ["diff", "base", "code", "--repo", str(repo), "--head-plans", str(folder), "--no-cache"]
    # Nothing there: a usage error naming each missing stack, HEAD's code not run in its place.
    (folder / "fabrikam.error.txt").write_text("planning fabrikam failed: bad key\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "HEAD's plan is missing for 3 affected stack(s)" in err
    assert "contoso (no manifest)" in err and "fabrikam (planning fabrikam failed: bad key)" in err
    assert "Traceback" not in err and not head_ran(repo)

    # The plan-head job's manifests: read as data and judged by this checkout's rules.
    for stack in ("contoso", "fabrikam", "mssp"):
        (folder / f"{stack}.json").write_text(json.dumps(head_manifest(stack)))
    # One of them makes the webhook URL a plain output: the base's rules flag it (exit 1).
    (folder / "contoso.json").write_text(json.dumps(head_manifest(
        "contoso", splunkWebhookUrl="https://prod.westeurope.logic.azure.com/workflows/x?sig=plain")))
    out, md = tmp_path / "d.json", tmp_path / "d.md"
    assert main([*args, "--json", str(out), "--markdown", str(md), "--fail-on-mandatory"]) == 1
    report = json.loads(out.read_text())
    assert report["headPlans"] == {"source": "head-plans", "headCodePaths": ["mssp/__main__.py"]}
    assert report["cache"]["planned"] == {"base": 3, "head": 0}
    contoso = next(s for s in report["stacks"] if s["stack"] == "contoso")
    assert "outputs-stay-secret" in {p["policy"] for p in contoso["policies"] if p["level"] == "mandatory"}
    text = md.read_text()
    assert "HEAD's plans were made by HEAD's own code in a job without credentials (plan-head)" in text
    assert "`mssp/__main__.py`" in text
    assert not head_ran(repo)


def test_head_plans_must_be_the_stacks_they_claim(repo: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "head-plans"
    folder.mkdir()
    for stack in ("contoso", "fabrikam", "mssp"):
        (folder / f"{stack}.json").write_text(json.dumps(head_manifest(stack)))
    (folder / "fabrikam.json").write_text(json.dumps(head_manifest("contoso")))
    assert main(["diff", "base", "code", "--repo", str(repo), "--head-plans", str(folder), "--no-cache"]) == 2
    assert "holds the plan of stack 'contoso', not 'fabrikam'" in capsys.readouterr().err


def test_head_plans_are_unused_when_the_change_edits_no_code(repo: Path, tmp_path: Path) -> None:
    """The PR workflow always passes --head-plans; for a data-only change the folder is empty and the
    judge plans HEAD with the base's code."""
    folder = tmp_path / "empty"
    folder.mkdir()
    out = tmp_path / "d.json"
    assert main(["diff", "base", "data", "--repo", str(repo), "--head-plans", str(folder), "--json", str(out),
                 "--no-cache"]) == 0
    assert json.loads(out.read_text())["headPlans"]["source"] == "base-code"


@pytest.mark.parametrize(("head", "runs_code", "stacks"), [
    ("data", False, ["contoso"]),
    ("code", True, ["contoso", "fabrikam", "mssp"]),
])
def test_scope_only_says_whether_heads_code_is_needed_and_plans_nothing(
        repo: Path, tmp_path: Path, head: str, runs_code: bool, stacks: list[str]) -> None:
    out = tmp_path / "scope.json"
    assert main(["diff", "base", head, "--repo", str(repo), "--scope-only", "--json", str(out)]) == 0
    scope = json.loads(out.read_text())
    assert scope["headRunsCode"] is runs_code and scope["headStacks"] == stacks
    assert scope["headCodePaths"] == (["mssp/__main__.py"] if runs_code else [])
    assert sorted(scope["planned"]) == stacks
    assert not head_ran(repo)


def test_a_stack_file_name_that_is_not_a_stack_name_is_refused(repo: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "stacks" / "Pulumi.a$(touch x).yaml").write_text(PLATFORM)
    commit_all(repo, "a hostile stack file name")
    assert main(["diff", "base", "HEAD", "--repo", str(repo), "--scope-only"]) == 2
    err = capsys.readouterr().err
    assert "'a$(touch x)' is not a stack name" in err and "allowed: letters, digits" in err


@pytest.mark.parametrize("option", ["--scope-only", "--head-plans"])
def test_the_ref_only_options_refuse_manifests(tmp_path: Path, option: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps(head_manifest("contoso")))
    extra = [str(tmp_path)] if option == "--head-plans" else []
    assert main(["diff", str(m), str(m), option, *extra]) == 2
    assert f"{option} needs two git refs" in capsys.readouterr().err


def test_as_the_pr_workflow_runs_it_a_weakened_rule_and_a_plain_webhook_url_are_still_flagged(
        tmp_path: Path) -> None:
    """scope -> plan-head -> plan-diff on a real copy of the project: the branch disables the webhook rule
    and exports the webhook URL in plain text; plan-head runs its code into a folder, and the judge (this
    checkout, the base) reads that folder and decides with its own rules."""
    from conftest import copy_project

    repo = copy_project(tmp_path / "project")
    git(repo, "init", "-q")
    commit_all(repo, "base")
    rules_py = repo / "policies" / "rules.py"
    rules_py.write_text(rules_py.read_text().replace(
        "def check_webhook_outputs(", "def check_webhook_outputs(*_args, **_kw):\n    return []\n\n\ndef _disabled(", 1))
    webhook = repo / "components" / "splunk" / "webhook.py"
    webhook.write_text(webhook.read_text().replace("pulumi.Output.secret(callback.value)", "callback.value"))
    commit_all(repo, "harmless refactoring")

    scope_json = tmp_path / "scope.json"
    assert main(["diff", "HEAD~1", "HEAD", "--repo", str(repo), "--scope-only", "--json", str(scope_json)]) == 0
    scope = json.loads(scope_json.read_text())
    assert scope["headRunsCode"] and scope["headCodePaths"] == ["components/splunk/webhook.py", "policies/rules.py"]
    # plan-head: HEAD's own planner, in its own checkout, writes the manifests (what the job uploads).
    head_tree = tmp_path / "head-checkout"
    git(repo, "worktree", "add", "-q", "--detach", str(head_tree), "HEAD")
    folder = tmp_path / "head-plans"
    plans = diff.plan_tree(head_tree, tmp_path / "plan-head", stacks=scope["headStacks"])
    folder.mkdir()
    for stack, manifest in plans.items():
        (folder / f"{stack}.json").write_text(json.dumps(manifest))
    # HEAD's own rules no longer flag the plain URL in its own manifest.
    assert "webhook-url-secret-output" not in {p["policy"] for p in plans["contoso"]["policies"]}

    out_json, out_md = tmp_path / "d.json", tmp_path / "d.md"
    rc = main(["diff", "HEAD~1", "HEAD", "--repo", str(repo), "--head-plans", str(folder), "--no-cache",
               "--json", str(out_json), "--markdown", str(out_md), "--fail-on-mandatory"])
    assert rc == 1
    report = json.loads(out_json.read_text())
    assert report["headPlans"]["source"] == "head-plans" and report["cache"]["planned"]["head"] == 0
    contoso = next(s for s in report["stacks"] if s["stack"] == "contoso")
    assert {"webhook-url-secret-output", "outputs-stay-secret"} <= {
        p["policy"] for p in contoso["policies"] if p["level"] == "mandatory"}
    assert {f["path"] for f in report["guardrailChanges"]} == {"policies/rules.py"}
    md = out_md.read_text()
    assert "Guardrail change" in md and "HEAD's plans were made by HEAD's own code" in md


def test_a_change_that_cannot_be_planned_still_reports_why(repo: Path, tmp_path: Path) -> None:
    """The judge's report must reach the PR even when HEAD does not plan (here: HEAD's plans are missing);
    the command still exits 2 and the report names the reason and the guardrail change."""
    out_json, out_md, full = tmp_path / "d.json", tmp_path / "d.md", tmp_path / "full.md"
    (tmp_path / "empty").mkdir()
    rc = main(["diff", "base", "code", "--repo", str(repo), "--head-plans", str(tmp_path / "empty"), "--no-cache",
               "--json", str(out_json), "--markdown", str(out_md), "--full-markdown", str(full)])
    assert rc == 2
    md = out_md.read_text()
    assert md.startswith(diff.MARKER) and "could not be planned" in md
    assert "HEAD's plan is missing for 3 affected stack(s)" in md and full.read_text() == md
    report = json.loads(out_json.read_text())
    assert report["stacks"] == [] and "missing" in report["error"]


def test_a_typo_in_a_stack_file_reaches_the_comment(tmp_path: Path) -> None:
    """The everyday failure: a data-only PR whose stack file the plan refuses. The report carries the
    plan's own error (which key, what is allowed), planned with the base's code."""
    from conftest import copy_project

    repo = copy_project(tmp_path / "project")
    git(repo, "init", "-q")
    commit_all(repo, "base")
    stack = repo / "stacks" / "Pulumi.contoso.yaml"
    stack.write_text(stack.read_text().replace("    displayName:", "    displayNmae:", 1))
    commit_all(repo, "contoso: a typo")
    out_md = tmp_path / "d.md"
    rc = main(["diff", "HEAD~1", "HEAD", "--repo", str(repo), "--head-plans", str(tmp_path), "--no-cache",
               "--markdown", str(out_md)])
    assert rc == 2
    md = out_md.read_text()
    assert "planning stack contoso failed (exit 2)" in md and "displayNmae" in md
