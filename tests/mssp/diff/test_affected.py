"""Which stacks a change affects (mssp.diff.affected), and `mssp diff` planning only those on git refs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, PROJECT_PARTS, copy_project

from mssp.diff import cache
from mssp.diff import command as diff
from mssp.diff.affected import StackInfo, affected_stacks, classify_path, describe_stacks
from mssp.plan.command import PlanSession, build_manifest

FLEET = [
    StackInfo("mssp", "platform"),
    StackInfo("other-platform", "platform"),
    StackInfo("contoso", "customer", "mssp", "stacks/inventories/contoso.yaml"),
    StackInfo("fabrikam", "customer", "mssp", "stacks/inventories/fabrikam.yaml"),
    StackInfo("tailspin", "customer", "other-platform", "stacks/inventories/tailspin.yaml"),
]
ALL = {"mssp", "other-platform", "contoso", "fabrikam", "tailspin"}


def planned(changed: list[str]) -> set[str]:
    return set(affected_stacks(changed, FLEET).stacks)


def test_a_customer_stack_file_or_inventory_affects_only_that_customer():
    assert planned(["stacks/Pulumi.contoso.yaml"]) == {"contoso"}
    assert planned(["stacks/inventories/fabrikam.yaml"]) == {"fabrikam"}
    # Issue 20: a path is data by its own text, never because a stack file names it. An "inventory" outside
    # stacks/inventories/ is not a known plan input: every stack is planned (and the config loader refuses it).
    assert planned(["inventories/tailspin.yaml"]) == ALL
    verdict = affected_stacks(["stacks/Pulumi.contoso.yaml"], FLEET)
    assert verdict.stacks["contoso"] == ("its stack file changed",)
    assert set(verdict.skipped) == ALL - {"contoso"}


def test_a_platform_stack_file_affects_the_platform_and_only_its_customers():
    assert planned(["stacks/Pulumi.mssp.yaml"]) == {"mssp", "contoso", "fabrikam"}
    assert planned(["stacks/Pulumi.other-platform.yaml"]) == {"other-platform", "tailspin"}
    why = affected_stacks(["stacks/Pulumi.mssp.yaml"], FLEET).stacks["fabrikam"]
    assert why == ("its platform stack file `stacks/Pulumi.mssp.yaml` changed",)


@pytest.mark.parametrize("path", [
    "components/facts/catalog.py", "components/facts/roles.py", "components/config/customer.py", "policies/rules.py",
    "policies/PulumiPolicy.yaml", "requirements.txt", "requirements-dev.txt", "Pulumi.yaml", "__main__.py",
    "mssp/plan/offline.py", "mssp/plan/mock_azure.py",
])
def test_code_affects_every_stack(path):
    assert planned([path]) == ALL
    assert classify_path(path, FLEET) == "code"


@pytest.mark.parametrize("path", ["README.md", "mkdocs.yml", "docs/x.md", "tests/mssp/diff/test_diff.py", "components/NOTES.md",
                                  ".github/workflows/pr.yml", "scripts/benchmark.py"])
def test_docs_and_tests_affect_none(path):
    verdict = affected_stacks([path], FLEET)
    assert verdict.stacks == {}
    assert set(verdict.skipped.values()) == {"only documentation or tests changed"}


def test_unknown_paths_are_conservative():
    assert planned(["data/something.bin"]) == ALL
    assert planned(["stacks/notes.txt"]) == ALL
    assert "not a known plan input" in affected_stacks(["x.cfg"], FLEET).stacks["mssp"][0]


def test_a_mixed_change_is_the_union_and_docs_add_nothing():
    assert planned(["README.md", "stacks/Pulumi.contoso.yaml", "stacks/inventories/fabrikam.yaml"]) == {"contoso", "fabrikam"}


def test_stack_files_are_described_from_their_config():
    infos = describe_stacks({
        "mssp": (PROJECT_DIR / "stacks" / "Pulumi.mssp.yaml").read_text(),
        "contoso": (PROJECT_DIR / "stacks" / "Pulumi.contoso.yaml").read_text(),
        "broken": "config: [unclosed",
    })
    by = {i.name: i for i in infos}
    assert by["mssp"].kind == "platform"
    # platformStack "acme-mssp/mssp-sentinel/mssp": its last segment names the platform stack.
    assert (by["contoso"].kind, by["contoso"].platform, by["contoso"].inventory) == \
        ("customer", "mssp", "stacks/inventories/contoso.yaml")
    assert by["broken"].kind == "unknown"
    # A stack file that does not parse is planned on any non-docs change.
    assert "broken" in affected_stacks(["stacks/Pulumi.contoso.yaml"], infos).stacks
    assert affected_stacks(["README.md"], infos).stacks == {}


def test_stack_files_are_read_as_the_pulumi_cli_reads_them():
    """Keys without the namespace are the project's (the CLI's config.ParseKey), `ns:config:key` is `ns:key`;
    a duplicate key (which the CLI and the plan refuse) makes the file unknown, so it is planned."""
    infos = {i.name: i for i in describe_stacks({
        "short": "config:\n  kind: customer\n  customer:\n    platformStack: org/mssp-sentinel/mssp\n"
                 "    forwarding:\n      inventory: stacks/inventories/short.yaml\n",
        "legacy": "config:\n  mssp-sentinel:config:kind: platform\n",
        "twice": "config:\n  mssp-sentinel:kind: customer\n  mssp-sentinel:kind: platform\n",
        "last-wins": "config:\n  kind: customer\n  mssp-sentinel:kind: platform\n",
    })}
    assert (infos["short"].kind, infos["short"].platform, infos["short"].inventory) == \
        ("customer", "mssp", "stacks/inventories/short.yaml")
    assert infos["legacy"].kind == "platform"
    assert infos["twice"].kind == "unknown"
    assert infos["last-wins"].kind == "platform"
    # The short spelling's inventory is found, so a change to it plans that customer (and only it).
    assert set(affected_stacks(["stacks/inventories/short.yaml"], list(infos.values())).stacks) == {"short", "twice"}


def test_the_cache_key_changes_with_what_the_plan_reads_and_nothing_else():
    contoso = FLEET[2]
    blobs = {"components/facts/catalog.py": "a", "stacks/Pulumi.contoso.yaml": "b", "stacks/Pulumi.mssp.yaml": "c",
             "stacks/inventories/contoso.yaml": "d", "stacks/Pulumi.fabrikam.yaml": "e",
             "stacks/inventories/fabrikam.yaml": "f", "README.md": "g", "requirements.txt": "h"}
    key = cache.plan_key(blobs, contoso, FLEET)
    for unread in ("stacks/Pulumi.fabrikam.yaml", "stacks/inventories/fabrikam.yaml", "README.md"):
        assert cache.plan_key({**blobs, unread: "changed"}, contoso, FLEET) == key, unread
    for read in ("components/facts/catalog.py", "stacks/Pulumi.contoso.yaml", "stacks/Pulumi.mssp.yaml",
                 "stacks/inventories/contoso.yaml", "requirements.txt"):
        assert cache.plan_key({**blobs, read: "changed"}, contoso, FLEET) != key, read


# ------------------------------------------------------------------------------------------------
# The real planner on a copy of the project
# ------------------------------------------------------------------------------------------------
def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", "-C", str(repo), *env_args, *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


@pytest.fixture(scope="module")
def project_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_project(tmp_path_factory.mktemp("affected") / "project",
                        (*PROJECT_PARTS, "requirements.txt", "README.md"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "tag", "base")
    stack = repo / "stacks" / "Pulumi.contoso.yaml"
    stack.write_text(stack.read_text().replace("offerName: Acme MSSP - Sentinel log forwarding", "offerName: Acme MSSP - Sentinel"))
    git(repo, "commit", "-q", "-am", "contoso: new Lighthouse offer name")
    git(repo, "tag", "one-customer")
    (repo / "README.md").write_text("docs only\n")
    git(repo, "commit", "-q", "-am", "docs only")
    git(repo, "tag", "docs-only")  # not "docs": that is a folder here, and a path wins over a ref
    return repo


def test_a_change_to_one_customer_stack_file_plans_only_that_customer(project_repo: Path, run_cli, tmp_path: Path):
    out, md = tmp_path / "d.json", tmp_path / "d.md"
    code, _, err = run_cli(["diff", "base", "one-customer", "--repo", str(project_repo),
                            "--json", str(out), "--markdown", str(md)])
    assert code == 0, err
    report = json.loads(out.read_text())
    assert [s["stack"] for s in report["stacks"]] == ["contoso"]
    assert report["affected"]["planned"] == {"contoso": ["its stack file changed"]}
    assert set(report["affected"]["skipped"]) == {"fabrikam", "mssp", "northwind"}
    assert report["cache"]["planned"] == {"base": 1, "head": 1}
    text = md.read_text()
    assert "Planned 1 of 4 stack(s)" in text and "`contoso` (its stack file changed)" in text
    assert "Skipped 3 stack(s), not planned on either side because no changed file is read by its plan: " \
           "`fabrikam`, `mssp`, `northwind`" in text
    # The offer name feeds the delegation: the diff really compared two plans of contoso.
    assert report["stacks"][0]["changed"]

    # The second run takes both plans from the cache and says so; the report is otherwise the same.
    code, _, err = run_cli(["diff", "base", "one-customer", "--repo", str(project_repo), "--json", str(out)])
    assert code == 0, err
    again = json.loads(out.read_text())
    assert again["cache"] == {"cached": {"base": 1, "head": 1}, "planned": {"base": 0, "head": 0}}
    assert again["stacks"] == report["stacks"]


def test_a_docs_only_change_plans_nothing(project_repo: Path, run_cli, tmp_path: Path):
    out = tmp_path / "d.json"
    code, stdout, err = run_cli(["diff", "one-customer", "docs-only", "--repo", str(project_repo), "--json", str(out)])
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["stacks"] == [] and report["affected"]["planned"] == {}
    assert "because only documentation or tests changed: `contoso`, `fabrikam`, `mssp`" in stdout
    assert "No stack changes." in stdout


def test_all_stacks_plans_every_stack_in_parallel_workers(project_repo: Path, tmp_path: Path):
    sides = diff.plan_refs("base", "one-customer", project_repo, use_cache=False, jobs=2, every_stack=True)
    assert sorted(sides.base) == sorted(sides.head) == ["contoso", "fabrikam", "mssp", "northwind"]
    stacks = {s["stack"]: s for s in diff.diff_sides(sides.base, sides.head)}
    assert stacks["contoso"]["changed"] and not stacks["fabrikam"]["changed"] and not stacks["mssp"]["changed"]


def test_one_process_plans_many_stacks_and_the_platform_once(run_cli, tmp_path: Path):
    session = PlanSession(use_cache=False)
    contoso = build_manifest("contoso", PROJECT_DIR, session=session)
    fabrikam = build_manifest("fabrikam", PROJECT_DIR, session=session)
    assert session.platform_runs == 1
    # Same plans as each on its own.
    assert contoso == build_manifest("contoso", PROJECT_DIR)
    assert fabrikam == build_manifest("fabrikam", PROJECT_DIR)
    code, _, err = run_cli(["plan", "contoso", "fabrikam", "mssp", "--out-dir", str(tmp_path / "o"), "--quiet"])
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "contoso.json").read_text()) == contoso
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["contoso.json", "fabrikam.json", "mssp.json"]


def test_platform_outputs_are_reused_across_runs_from_the_cache():
    first = PlanSession()
    build_manifest("contoso", PROJECT_DIR, session=first)
    assert first.platform_runs == 1
    second = PlanSession()
    cached = build_manifest("contoso", PROJECT_DIR, session=second)
    assert cached == build_manifest("contoso", PROJECT_DIR)
    assert second.platform_runs == 0
    # The cache keeps the platform's registrations too, not only its outputs: the customer's review
    # section names the platform's identities from them (mssp.plan.review.graph_principals).
    identities = {p.get("identity") for p in cached["review"]["principals"].values()}
    assert {"deploy identity (mssp-identity)", "read-only identity (mssp-readonly-identity)"} <= identities


def test_several_stacks_without_out_dir_and_a_stack_that_does_not_plan(run_cli, tmp_path: Path):
    code, _, err = run_cli(["plan", "contoso", "fabrikam"])
    assert code == 2 and "--out-dir" in err
    code, _, err = run_cli(["plan", "contoso", "nope", "--out-dir", str(tmp_path)])
    assert code == 2 and "nope" in err
    assert (tmp_path / "contoso.json").exists() and "no stack file" in (tmp_path / "nope.error.txt").read_text()


def test_path_normalising_agrees_with_pathlib_for_every_short_path() -> None:
    # _norm skips PurePosixPath for paths that are already normal (a per-plan speed-up of the cache key).
    # Bug it catches: a shortcut that keeps a "./", "//", "/." or trailing "/" that pathlib would remove,
    # so the same file gets two spellings and two different cache keys or classes.
    import itertools
    from pathlib import PurePosixPath

    from mssp.diff.affected import _norm_and_name

    def reference(path: str) -> tuple[str, str]:
        normal = str(PurePosixPath(path.strip().replace("\\", "/"))).lstrip("/")
        return normal, PurePosixPath(normal).name

    checked = 0
    for n in range(7):
        for chars in itertools.product("a./\\ ", repeat=n):
            path = "".join(chars)
            assert _norm_and_name(path) == reference(path), repr(path)
            checked += 1
    assert checked == sum(5 ** n for n in range(7))
