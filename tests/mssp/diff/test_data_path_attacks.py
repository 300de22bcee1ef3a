"""A path the review treats as data can never name code (issue 20, critical).

The attack: a PR set a customer's `forwarding.inventory: mssp/__init__.py` and edited that file. The judge
classified the change as "data only" (the path was named as an inventory before its code-ness was checked),
wrote HEAD's `mssp/__init__.py` into the base worktree (plan_overlay) and the base's planner imported it:
the PR's code ran inside the judge. The class: every way a data path (stack file, inventory, import file)
can name a file that is imported or executed, through the rule (components.facts.data_paths), the review's
classification (mssp.diff.affected), git's modes (symbolic links, submodules), the overlay and the config
loader.
"""

from __future__ import annotations

import importlib.machinery
import itertools
import json
import posixpath
from pathlib import Path

import pytest
from conftest import copy_project
from test_diff import git

from components.facts import data_paths
from mssp.cli import main
from mssp.diff import command as diff
from mssp.diff.affected import StackInfo, affected_stacks, classify_path, describe_stacks
from mssp.errors import UserError

DATA = {"stack", "inventory", "import"}

# Paths that are code or name code, in every spelling the review could be fooled by.
HOSTILE = [
    "mssp/__init__.py", "mssp/diff/command.py", "components/config/__init__.py", "policies/rules.py", "__main__.py",
    "Pulumi.yaml", "policies/PulumiPolicy.yaml", "requirements.txt", "requirements.lock", "dev", "pyproject.toml",
    "conftest.py", "tests/conftest.py", "scripts/pulumi-cli", ".github/workflows/pr.yml", "sitecustomize.py",
    "x.pth", "stacks/inventories/evil.pth", "stacks/inventories/evil.py", "stacks/inventories/conftest.py",
    "stacks/inventories/Pulumi.yaml", "stacks/inventories/PulumiPolicy.yaml", "stacks/imports/Pulumi.yaml",
    "stacks/inventories/requirements.yaml", "stacks/inventories/__init__.py", "stacks/imports/x.yaml",
    # `..`, `./`, `//`, absolute, backslashes, NUL, newline, trailing slash or space
    "stacks/inventories/../../mssp/__init__.py", "stacks/inventories/../contoso.yaml", "./stacks/inventories/x.yaml",
    "stacks//inventories/x.yaml", "stacks/./inventories/x.yaml", "/stacks/inventories/x.yaml",
    "/home/runner/work/r/r/mssp/__init__.py", "//stacks/inventories/x.yaml", "stacks\\inventories\\x.yaml",
    "stacks/inventories\\..\\..\\mssp\\__init__.py", "stacks/inventories/x.yaml\0.py", "stacks/inventories/x.yaml\n",
    "stacks/inventories/x.yaml/", "stacks/inventories/x.yaml ", " stacks/inventories/x.yaml", "C:/stacks/x.yaml",
    # case: another file on a case-insensitive file system, and not the folder or suffix the rule names
    "Stacks/inventories/x.yaml", "stacks/Inventories/x.yaml", "STACKS/INVENTORIES/X.YAML", "stacks/inventories/x.Yaml",
    "stacks/inventories/x.YAML", "stacks/inventories/x.PY", "stacks/inventories/x.Py", "stacks/Imports/x.json",
    "stacks/imports/x.JSON",
    # hidden files, bare folders, no suffix
    "stacks/inventories/.x.yaml", "stacks/inventories/.yaml", "stacks/inventories/", "stacks/inventories",
    "stacks/inventories/x", "stacks/inventories/.git/config.yaml", "stacks/imports/.json",
]


@pytest.mark.parametrize("path", HOSTILE, ids=repr)
def test_no_hostile_path_is_an_inventory_or_import_file(path: str) -> None:
    # Bug: a stack file's inventory path was trusted as data whatever it named.
    assert data_paths.data_path_problem(path, "inventory") is not None
    assert data_paths.data_path_problem(path, "import") is not None
    assert diff.overlay_problem(path) is not None
    # The review's classification by the path's own text: never data, whatever a stack file says.
    infos = [StackInfo("contoso", "customer", "mssp", path, path)]
    assert classify_path(path, infos) not in DATA


@pytest.mark.parametrize("path", ["stacks/inventories/contoso.yaml", "stacks/inventories/contoso.yml",
                                  "stacks/inventories/contoso.json", "stacks/inventories/eu/fabrikam-2.yaml",
                                  "stacks/imports/contoso.json"])
def test_the_folders_meant_for_data_still_hold_data(path: str) -> None:
    kind = "import" if path.startswith("stacks/imports/") else "inventory"
    assert data_paths.data_path_problem(path, kind) is None and classify_path(path) == kind


def _grid() -> list[str]:
    prefixes = ["", "./", "/", "../", "stacks/../", "x/../"]
    folders = ["stacks/inventories", "stacks/imports", "Stacks/inventories", "stacks/INVENTORIES", "stacks",
               "mssp", "components", "policies", "tests", "scripts", ".github", "stacks/inventories/sub", "."]
    names = ["contoso", "__init__", "conftest", "Pulumi", "PulumiPolicy", "requirements", "sitecustomize", ".hidden",
             "Pulumi.contoso", "dev"]
    suffixes = sorted({*importlib.machinery.all_suffixes(), ".pth", ".yaml", ".yml", ".json", ".YAML", ".Json",
                       ".PY", ".txt", ".lock", ".toml", ".cfg", ".sh", ""})
    return [f"{p}{f}/{n}{s}" for p, f, n, s in itertools.product(prefixes, folders, names, suffixes)]


def test_every_path_the_review_calls_data_is_a_plain_yaml_or_json_file_under_stacks() -> None:
    """The class, not the examples: over a grid of prefixes, folders, names and every suffix Python imports,
    whatever is classified as data is written as git writes it, lies under stacks/, and has a suffix no
    interpreter or installer loads by itself; every importable suffix is code or unknown (or a test)."""
    importable = (*importlib.machinery.all_suffixes(), ".pth")
    grid = _grid()
    assert len(grid) > 5000
    data = []
    for path in grid:
        kind = classify_path(path)
        if kind in DATA:
            data.append(path)
            assert posixpath.normpath(path) == path and not path.startswith("/") and ".." not in path.split("/")
            assert path.startswith("stacks/") and path.endswith((".yaml", ".yml", ".json")), path
            assert not path.lower().endswith(importable), path
            assert not path.rpartition("/")[2].startswith("."), path
        if path.lower().endswith(importable) and not path.startswith(("tests/", "scripts/", ".github/")):
            assert kind in ("code", "unknown"), (path, kind)
    assert "stacks/inventories/contoso.yaml" in data and "stacks/Pulumi.contoso.yaml" in data


def test_a_stack_file_that_names_code_as_its_inventory_does_not_make_it_data() -> None:
    # The stack file is read as the review reads it: its inventory path is taken only when it is data.
    text = ("config:\n  mssp-sentinel:kind: customer\n  mssp-sentinel:customer:\n    platformStack: o/p/mssp\n"
            "    forwarding:\n      inventory: mssp/__init__.py\n      importFile: mssp/cli.py\n")
    (info,) = describe_stacks({"contoso": text})
    assert info.inventory is None and info.import_file is None
    verdict = affected_stacks(["stacks/Pulumi.contoso.yaml", "mssp/__init__.py"], [info, StackInfo("mssp", "platform")])
    assert verdict.stacks["contoso"] == ("its stack file changed", "`mssp/__init__.py` is read by every plan")


# --------------------------------------------------------------------------------------------------
# The attack end to end, as the PR workflow runs the judge (a real copy of the project in a git repository)
# --------------------------------------------------------------------------------------------------
def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_project(tmp_path_factory.mktemp("attack") / "repo")
    git(repo, "init", "-q")
    _commit(repo, "base")
    git(repo, "tag", "base")
    return repo


def _branch(repo: Path, name: str) -> None:
    git(repo, "checkout", "-q", "-B", name, "base")


def _set_inventory(repo: Path, value: str) -> None:
    path = repo / "stacks" / "Pulumi.contoso.yaml"
    text = path.read_text()
    assert "inventory: stacks/inventories/contoso.yaml" in text
    path.write_text(text.replace("inventory: stacks/inventories/contoso.yaml", f"inventory: {value}"))


def _sentinel_code(sentinel: Path) -> str:
    return ("from pathlib import Path as _P\n"
            f"_P({str(sentinel)!r}).write_text('the PR code ran')\n")


def _scope(repo: Path, head: str, tmp_path: Path) -> dict:
    out = tmp_path / "scope.json"
    assert main(["diff", "base", head, "--repo", str(repo), "--scope-only", "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_the_attack_inventory_names_mssp_init_and_edits_it(project: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The reported attack: `inventory: mssp/__init__.py` plus an edit of that file. The change edits code,
    so HEAD's plans must come from plan-head (--head-plans); the judge runs none of the PR's code."""
    sentinel = tmp_path / "pr-code-ran"
    _branch(project, "attack")
    _set_inventory(project, "mssp/__init__.py")
    init = project / "mssp" / "__init__.py"
    init.write_text(init.read_text() + _sentinel_code(sentinel))
    head = _commit(project, "onboarding tweak")
    scope = _scope(project, head, tmp_path)
    assert scope["headRunsCode"] is True and "mssp/__init__.py" in scope["headCodePaths"]
    assert "contoso" in scope["headStacks"]
    # The judge, as pr.yml runs it: plan-head's folder is empty (say the job was skipped): refused, not overlaid.
    empty = tmp_path / "head-plans"
    empty.mkdir()
    code = main(["diff", "base", head, "--repo", str(project), "--head-plans", str(empty), "--no-cache",
                 "--json", str(tmp_path / "d.json"), "--fail-on-mandatory"])
    err = capsys.readouterr().err
    assert code == 2 and "HEAD's plan is missing" in err
    assert not sentinel.exists(), "the judge ran the PR's mssp/__init__.py"


def test_a_data_only_change_naming_code_as_inventory_is_refused_by_the_base_loader(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without editing the file, the change is data only: planned with the base's code, whose config loader
    refuses an inventory outside stacks/inventories/ with the key and why (exit 2, in the report)."""
    _branch(project, "names-code")
    _set_inventory(project, "mssp/__init__.py")
    head = _commit(project, "inventory moved")
    assert _scope(project, head, tmp_path)["headRunsCode"] is False
    md = tmp_path / "d.md"
    code = main(["diff", "base", head, "--repo", str(project), "--no-cache", "--markdown", str(md)])
    err = capsys.readouterr().err
    assert code == 2
    assert "customer.forwarding.inventory" in err and "'mssp/__init__.py' is not under stacks/inventories/" in err
    assert "customer.forwarding.inventory" in md.read_text()


@pytest.mark.parametrize("target", ["../../mssp/__init__.py", "../Pulumi.mssp.yaml", "/etc/hostname"])
def test_a_symbolic_link_in_git_is_never_data(project: Path, tmp_path: Path, target: str) -> None:
    """git stores a link as mode 120000 whose blob is the target's name: the review must not take it as an
    inventory (the overlay would write a file, the PR's checkout would follow the link)."""
    _branch(project, "link")
    inventory = project / "stacks" / "inventories" / "contoso.yaml"
    inventory.unlink()
    inventory.symlink_to(target)
    head = _commit(project, "link the inventory")
    scope = _scope(project, head, tmp_path)
    assert scope["headRunsCode"] is True and scope["headCodePaths"] == ["stacks/inventories/contoso.yaml"]
    with pytest.raises(UserError, match=r"mode 120000"):
        diff.plan_overlay("base", head, project, ["stacks/inventories/contoso.yaml"], ["contoso"])
    assert git(project, "worktree", "list").count("\n") == 1  # refused before any worktree was made


@pytest.mark.parametrize("path", ["mssp/__init__.py", "stacks/inventories/../../mssp/__init__.py",
                                  "Stacks/inventories/contoso.yaml", "stacks/inventories/contoso.PY",
                                  "/tmp/x.yaml", "stacks/inventories/x.pth", "./stacks/Pulumi.contoso.yaml"])
def test_the_overlay_refuses_any_other_path(project: Path, path: str) -> None:
    with pytest.raises(UserError, match="refuses to write"):
        diff.plan_overlay("base", "base", project, [path], ["contoso"])


def test_a_symbolic_link_in_the_tree_is_refused_by_the_config_loader(tmp_path: Path) -> None:
    """On disk (the PR's own checkout, a developer's clone), an inventory that is a link is not read."""
    from components.config import ConfigError, load_stack

    repo = copy_project(tmp_path / "p")
    inventory = repo / "stacks" / "inventories" / "contoso.yaml"
    inventory.unlink()
    inventory.symlink_to(repo / "mssp" / "__init__.py")
    with pytest.raises(ConfigError) as info:
        load_stack("contoso", repo)
    assert any(p == "customer.forwarding.inventory" and "symbolic link" in m for p, m in info.value.issues)
    folder = repo / "stacks" / "inventories"
    (repo / "stacks" / "real").mkdir()
    for f in folder.iterdir():
        f.rename(repo / "stacks" / "real" / f.name)
    folder.rmdir()
    folder.symlink_to(repo / "stacks" / "real")  # a linked folder, the file itself plain
    with pytest.raises(ConfigError) as info:
        load_stack("fabrikam", repo)
    assert any(p == "customer.forwarding.inventory" and "symbolic link" in m for p, m in info.value.issues)


@pytest.mark.parametrize("value", ["mssp/__init__.py", "stacks/inventories/../../mssp/__init__.py",
                                   "./stacks/inventories/contoso.yaml", "stacks//inventories/contoso.yaml",
                                   "Stacks/inventories/contoso.yaml", "stacks/inventories/contoso.YAML",
                                   "stacks/Pulumi.fabrikam.yaml", "Pulumi.yaml", "requirements.txt", "dev"])
def test_the_config_loader_refuses_an_inventory_that_is_not_data(tmp_path: Path, value: str) -> None:
    from components.config import ConfigError, load_stack

    repo = copy_project(tmp_path / "p", ("components", "stacks", "Pulumi.yaml"))
    (repo / "Stacks").mkdir(exist_ok=True)
    _set_inventory(repo, value)
    with pytest.raises(ConfigError) as info:
        load_stack("contoso", repo)
    (issue,) = [m for p, m in info.value.issues if p == "customer.forwarding.inventory"]
    assert f"'{value}'" in issue and "allowed:" in issue and "stacks/inventories/" in issue


def test_the_config_loader_refuses_an_import_file_that_is_not_data(tmp_path: Path) -> None:
    from components.config import ConfigError, load_stack

    repo = copy_project(tmp_path / "p", ("components", "stacks", "Pulumi.yaml"))
    path = repo / "stacks" / "Pulumi.contoso.yaml"
    path.write_text(path.read_text().replace("inventory: stacks/inventories/contoso.yaml",
                                             "inventory: stacks/inventories/contoso.yaml\n      importFile: mssp/cli.py"))
    with pytest.raises(ConfigError) as info:
        load_stack("contoso", repo)
    assert any(p == "customer.forwarding.importFile" and "stacks/imports/" in m for p, m in info.value.issues)


def test_an_inventory_cannot_run_code_or_name_another_file(tmp_path: Path) -> None:
    """An inventory is read with a safe YAML loader: a Python tag is refused, not run; other keys name nothing."""
    from components.config import ConfigError, load_stack

    repo = copy_project(tmp_path / "p", ("components", "stacks", "Pulumi.yaml"))
    sentinel = tmp_path / "yaml-ran"
    (repo / "stacks" / "inventories" / "contoso.yaml").write_text(
        f"resources: !!python/object/apply:os.system ['touch {sentinel}']\ninclude: ../../mssp/__init__.py\n")
    with pytest.raises(ConfigError) as info:
        load_stack("contoso", repo)
    assert any(p.startswith("customer.forwarding.inventory") for p, _ in info.value.issues)
    assert not sentinel.exists()
