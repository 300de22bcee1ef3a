"""A pull request's `.gitattributes` cannot hide, change or run anything in the judge's git commands (issue 20).

The bug: a PR's `.gitattributes` with `policies/** -diff` turned the comment's guardrail diff into "Binary
files differ" (git reads attributes from the work tree, i.e. the PR's checkout, even for a diff of two
commits). A `diff=<driver>` attribute also selects a textconv or external diff command, and `filter=<driver>`
a clean/smudge command, so attributes can change the text shown and run code. The drivers here are
configured in the repository's own config, as a runner or a developer may have them (git-lfs, diff tools);
the PR only names them. Every command of mssp.diff.gitsafe must show the stored text and run none of them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_diff import git

from mssp.diff import cache, gitsafe
from mssp.diff import command as diff

ATTRIBUTES = {
    "minus-diff": ".gitattributes", "binary": ".gitattributes", "macro": ".gitattributes",
    "textconv": ".gitattributes", "filter": ".gitattributes", "external": ".gitattributes",
    "nested": "policies/.gitattributes", "all-files": ".gitattributes",
}
TEXT = {
    "minus-diff": "policies/** -diff\n",
    "binary": "policies/** binary\n",
    "macro": "[attr]hide -diff -text\npolicies/** hide\n",
    "textconv": "policies/** diff=evil\n",
    "filter": "policies/** filter=evil diff=evil\ncomponents/** filter=evil\n",
    "external": "policies/** diff=ext\n",
    "nested": "* -diff\n",
    "all-files": "* binary filter=evil diff=evil\n",
}


def _drivers(repo: Path, ran: Path) -> None:
    """Drivers that leave a file behind when git runs them (and would change the text they convert)."""
    touch = f"touch {ran}/$0-ran"
    git(repo, "config", "diff.evil.textconv", f"sh -c '{touch.replace('$0', 'textconv')}; tr a-z A-Z < \"$0\"'")
    git(repo, "config", "filter.evil.clean", f"sh -c '{touch.replace('$0', 'clean')}; cat'")
    git(repo, "config", "filter.evil.smudge", f"sh -c '{touch.replace('$0', 'smudge')}; cat'")
    git(repo, "config", "diff.ext.command", f"sh -c '{touch.replace('$0', 'external')}'")


@pytest.fixture(params=sorted(TEXT))
def pr_repo(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    """base: a rule file; HEAD (checked out, as the PR's checkout in CI): the rule weakened plus attributes."""
    repo, ran = tmp_path / "repo", tmp_path / "ran"
    ran.mkdir()
    (repo / "policies").mkdir(parents=True)
    (repo / "components" / "facts").mkdir(parents=True)
    (repo / "policies" / "rules.py").write_text("def check():\n    return ['mandatory finding']\n")
    (repo / "components" / "facts" / "roles.py").write_text("OWNER = 'forbidden'\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "tag", "base")
    _drivers(repo, ran)
    (repo / "policies" / "rules.py").write_text("def check():\n    return []  # weakened\n")
    (repo / "components" / "facts" / "roles.py").write_text("OWNER = 'allowed'\n")
    (repo / ATTRIBUTES[request.param]).write_text(TEXT[request.param])
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "harmless")
    git(repo, "tag", "head")
    for f in ran.iterdir():
        f.unlink()  # what the test's own commits ran (clean filters on `git add`)
    return repo, ran


def test_the_guardrail_diff_shows_the_stored_text_and_runs_no_driver(pr_repo: tuple[Path, Path]) -> None:
    repo, ran = pr_repo
    # Plain git, for contrast: the attributes are in force in this checkout (else the test proves nothing).
    plain = subprocess.run(["git", "-C", str(repo), "diff", "--numstat", "base", "head", "--", "policies"],
                           capture_output=True, text=True, check=True).stdout
    textconv = subprocess.run(["git", "-C", str(repo), "diff", "base", "head", "--", "policies/rules.py"],
                              capture_output=True, text=True, check=False).stdout
    assert plain.startswith("-\t-") or "RETURN" in textconv or list(ran.iterdir()), (plain, textconv)
    for f in ran.iterdir():
        f.unlink()

    changes = diff.guardrail_changes("base", "head", repo)
    assert changes is not None
    files = {f["path"]: (f["added"], f["deleted"]) for f in changes["files"]}
    assert files["policies/rules.py"] == (1, 1) and files["components/facts/roles.py"] == (1, 1)
    text = changes["diff"]
    assert "Binary files" not in text
    assert "-    return ['mandatory finding']" in text and "+    return []  # weakened" in text
    assert "RETURN" not in text  # no textconv
    assert list(ran.iterdir()) == [], "a driver named by the PR's .gitattributes ran"


def test_scope_tree_and_blob_reads_run_no_driver_either(pr_repo: tuple[Path, Path], tmp_path: Path) -> None:
    repo, ran = pr_repo
    scope = diff.ref_scope("base", "head", repo)
    assert "policies/rules.py" in scope.head_code_paths
    blobs = cache.tree_blobs(repo, "head")
    (data,) = diff._cat_blobs(repo, [blobs["policies/rules.py"]])
    assert data == b"def check():\n    return []  # weakened\n"
    assert list(ran.iterdir()) == []


def test_git_runs_with_only_the_object_store_in_view(tmp_path: Path) -> None:
    """The mechanism, pinned: no work tree file and no index entry is visible to a read command."""
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitattributes").write_text("* -diff\n")
    (repo / "a.txt").write_text("x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    plain = subprocess.run(["git", "-C", str(repo), "check-attr", "diff", "a.txt"], capture_output=True, text=True,
                           check=True).stdout
    assert plain.strip() == "a.txt: diff: unset"
    safe = gitsafe.run(repo, "check-attr", "diff", "a.txt")
    assert safe.returncode == 0 and safe.stdout.strip() == "a.txt: diff: unspecified", safe
    assert gitsafe.run(repo, "ls-files").stdout == ""  # no index
