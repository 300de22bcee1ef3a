"""Every git command of the judge (`mssp diff` on refs), with the change's `.gitattributes` out of reach.

The PR workflow runs the judge against the PR's own checkout (`--repo $GITHUB_WORKSPACE`), whose work
tree and index hold the PR's `.gitattributes`. git reads attributes from the work tree, else the index
(gitattributes(5)), even for a diff of two commits, and they decide what a diff shows: `policies/** -diff`
turns the guardrail diff into "Binary files differ" (also in `--numstat`, which `--text` does not
override in git 2.39), `diff=<driver>` runs the driver's `textconv` or external diff command, and
`filter=<driver>` its clean/smudge command: attributes can hide the review and run code.

So a read command runs with git's view of the repository reduced to its object store: GIT_DIR is the
repository's git folder, the work tree an empty temporary folder (also the working directory), the
index a file that does not exist, no system attributes (GIT_ATTR_NOSYSTEM), no attributes file
(core.attributesFile=/dev/null), no system config (GIT_CONFIG_NOSYSTEM), no hooks (core.hooksPath) and
no fsmonitor; the diff commands add `--no-textconv --no-ext-diff --text`. Newer git can take attributes
from a tree (`--attr-source`, 2.42); 2.39 cannot, and an empty work tree and index leave nothing to read.
`$GIT_DIR/info/attributes` stays, but no commit can write it. Checking a commit out (`worktree_add`)
uses that commit's own attributes: the judge checks out only the base commit, the reviewed one.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Config that would make git run a command or read attributes; each read command overrides it.
_SAFE_CONFIG: tuple[str, ...] = (
    "core.attributesFile=/dev/null", "core.hooksPath=/dev/null", "core.fsmonitor=false",
    "core.pager=cat", "color.ui=false", "diff.noprefix=false", "diff.mnemonicPrefix=false",
    "diff.relative=false", "core.quotePath=true",
)
# Flags every `git diff` of the judge carries: the text of each file, as stored.
DIFF_FLAGS: tuple[str, ...] = ("--no-textconv", "--no-ext-diff", "--text", "--no-color", "--no-renames")


def _config_args() -> list[str]:
    return [arg for item in _SAFE_CONFIG for arg in ("-c", item)]


def _base_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without any GIT_* variable (GIT_DIR, GIT_EXTERNAL_DIFF, GIT_CONFIG_*, ...)."""
    env = {k: v for k, v in environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_ATTR_NOSYSTEM": "1", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                "GIT_NO_REPLACE_OBJECTS": "1", "GIT_NO_LAZY_FETCH": "1",
                "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    return env


def git_dir(repo: Path) -> Path:
    """The repository's git folder (for a linked worktree: its own folder under the common one)."""
    proc = subprocess.run(["git", *_config_args(), "-C", str(repo), "rev-parse", "--absolute-git-dir"],
                          capture_output=True, text=True, timeout=60, check=False, env=_base_env(os.environ))
    if proc.returncode != 0:
        raise OSError(f"{repo} is not a git repository: {proc.stderr.strip()}")
    return Path(proc.stdout.strip())


def read_env(repo: Path, scratch: Path) -> dict[str, str]:
    """The environment of a read command: only the object store of `repo` is visible (module docstring)."""
    env = _base_env(os.environ)
    env.update({"GIT_DIR": str(git_dir(repo)), "GIT_WORK_TREE": str(scratch),
                "GIT_INDEX_FILE": str(scratch / "no-index")})
    return env


def run(repo: Path, *args: str, text: bool = True, input: str | bytes | None = None,
        timeout: int = 120) -> subprocess.CompletedProcess[Any]:
    """A read-only git command over `repo`'s objects (rev-parse, diff, ls-tree, cat-file), attributes off."""
    with tempfile.TemporaryDirectory(prefix="mssp-git-") as tmp:
        scratch = Path(tmp)
        try:
            env = read_env(repo, scratch)
        except OSError as exc:
            return subprocess.CompletedProcess(["git", *args], 128, "" if text else b"",
                                               str(exc) if text else str(exc).encode())
        return subprocess.run(["git", *_config_args(), *args], cwd=scratch, capture_output=True, text=text,
                              input=input, timeout=timeout, check=False, env=env)


def worktree(repo: Path, *args: Sequence[str] | str) -> subprocess.CompletedProcess[str]:
    """`git worktree ...` in `repo` (add/remove need its work tree), with hooks and fsmonitor off."""
    return subprocess.run(["git", *_config_args(), "-C", str(repo), "worktree", *map(str, args)],
                          capture_output=True, text=True, timeout=300, check=False, env=_base_env(os.environ))
