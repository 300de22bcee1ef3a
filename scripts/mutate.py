"""Mutation testing of the product code with mutmut: which small, plausible bugs does the suite miss?

    ./dev mutate [PATH ...] [--tests TEST ...] [--max-children N] [--markdown OUT] [--json OUT]

PATH is a product file or folder (under components/, mssp/ or policies/); without one, the whole
product is mutated (hours on 2 cores: that is the scheduled workflow .github/workflows/mutation.yml).
For each PATH the tests that mirror it are selected: the mirror folder of the tree (components/x/y.py
-> tests/components/x/) and every test file that imports the mutated module. `--tests` replaces that
choice.

mutmut (https://github.com/boxed/mutmut) works on a copy of the tree: this script copies the files git
tracks (as they are in the work tree, uncommitted edits included) into a work folder outside the
repository (~/.cache/mssp-sentinel/mutate/<checkout>/), writes mutmut's [tool.mutmut] configuration
there and runs `mutmut run` in it. mutmut keeps its results in that folder, so a second run of the
same PATH only retests what changed.

A mutant that no test can tell apart from the original (an equivalent mutant) is marked in the code
with mutmut's own pragma and the reason, `# pragma: no mutate (equivalent: why)`; mutmut then does not
generate it. The report counts:
- killed: a selected test failed (timeouts count as killed: the mutant hung the code under test);
- survived: every selected test passed: a bug of that shape would go unnoticed;
- no tests: no selected test runs that code at all.
The kill rate is killed / (killed + survived + no tests). Exit 0 when nothing survived, 3 when some
mutant survived, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tokenize
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ("components", "mssp", "policies")
# Tests that need the real Pulumi CLI or engine take minutes each; the mirror tests are enough.
PYTEST_ARGS = ["-p", "no:cacheprovider", "-q", "-x", "-m", "not realcli and not realengine"]
# mutmut copies these besides the mutated packages and tests/: what the tests read.
ALSO_COPY = ["stacks", "testing", "scripts", "docs", "tools", "Pulumi.yaml", "__main__.py", ".pulumi-version",
             "README.md", "dev"]


class UsageError(Exception):
    """A bad argument: the message says which and what is allowed."""


@dataclass(frozen=True)
class Target:
    """One PATH to mutate and the tests chosen for it."""

    path: str  # repository-relative, POSIX, a .py file or a folder
    tests: tuple[str, ...]


def normal_target(raw: str, root: Path) -> str:
    """`raw` as a repository-relative POSIX path inside the product, or UsageError."""
    candidate = (root / raw).resolve() if not Path(raw).is_absolute() else Path(raw).resolve()
    try:
        rel = PurePosixPath(candidate.relative_to(root.resolve()).as_posix())
    except ValueError:
        raise UsageError(f"{raw}: not inside the checkout {root}") from None
    if not rel.parts or rel.parts[0] not in PRODUCT:
        raise UsageError(f"{raw}: mutate product code only, a file or folder under {', '.join(PRODUCT)}")
    if not candidate.exists():
        raise UsageError(f"{raw}: no such file or folder")
    if candidate.is_file() and candidate.suffix != ".py":
        raise UsageError(f"{raw}: not a Python file")
    return str(rel)


def module_names(path: str, root: Path) -> list[str]:
    """The dotted module names of the Python files at `path` (a file or a folder)."""
    base = root / path
    files = [base] if base.is_file() else sorted(base.rglob("*.py"))
    names = []
    for file in files:
        parts = list(PurePosixPath(file.relative_to(root).as_posix()).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def mirror_folder(path: str) -> str:
    """tests/<the folder that holds path>: components/x/y.py -> tests/components/x."""
    rel = PurePosixPath(path)
    folder = rel.parent if rel.suffix == ".py" else rel
    return str(PurePosixPath("tests") / folder)


def imports_module(text: str, module: str) -> bool:
    """Does a test's source import `module` (import a.b.c / from a.b import c / from a.b.c import x)?"""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any(name == module or name.startswith(module + ".") for name in names):
            return True
    return False


def select_tests(path: str, root: Path) -> tuple[str, ...]:
    """The mirror folder (if any) and every test file that imports a module of `path`."""
    chosen: set[str] = set()
    mirror = mirror_folder(path)
    if (root / mirror).is_dir():
        chosen.add(mirror)
    modules = module_names(path, root)
    for test in sorted((root / "tests").rglob("test_*.py")):
        rel = test.relative_to(root).as_posix()
        if any(rel.startswith(folder + "/") for folder in chosen):
            continue
        text = test.read_text(encoding="utf-8")
        if any(imports_module(text, module) for module in modules):
            chosen.add(rel)
    return tuple(sorted(chosen))


def tracked_top_level(root: Path) -> list[str]:
    """The top-level files and folders git tracks, besides the product: the tests read them too (a workflow
    under .github/, the lock files, mkdocs.yml), so mutmut's copy of the tree must hold them."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True).stdout
    tops = {name.split("/", 1)[0] for name in listed.decode().split("\0") if name}
    return sorted(tops - set(PRODUCT))


def mutmut_config(targets: Sequence[Target], sources: Sequence[str] = PRODUCT,
                  also_copy: Sequence[str] = ()) -> str:
    """The [tool.mutmut] table for these targets (TOML, JSON-quoted strings)."""
    only = sorted({t.path if t.path.endswith(".py") else t.path.rstrip("/") + "/*" for t in targets})
    tests = sorted({test for t in targets for test in t.tests})

    def toml_list(items: Iterable[str]) -> str:
        return "[" + ", ".join(json.dumps(item) for item in items) + "]"

    return "\n".join([
        "[tool.mutmut]",
        f"source_paths = {toml_list(sources)}",
        f"only_mutate = {toml_list(only)}",
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}",
        f"pytest_add_cli_args = {toml_list(PYTEST_ARGS)}",
        f"also_copy = {toml_list(sorted({*ALSO_COPY, *also_copy}))}",
        "",
    ])


@dataclass(frozen=True)
class Summary:
    """Counts per mutmut status and the survivors' names."""

    counts: Mapping[str, int]
    survivors: tuple[str, ...]
    untested: tuple[str, ...]

    @property
    def killed(self) -> int:
        return self.counts.get("killed", 0) + self.counts.get("timeout", 0)

    @property
    def judged(self) -> int:
        return self.killed + len(self.survivors) + len(self.untested)

    @property
    def kill_rate(self) -> float | None:
        return self.killed / self.judged if self.judged else None


def summarise(status_by_mutant: Mapping[str, str]) -> Summary:
    """Summary of mutmut statuses ('killed', 'survived', 'no tests', 'timeout', 'skipped', ...)."""
    counts = Counter(status_by_mutant.values())
    survivors = tuple(sorted(name for name, status in status_by_mutant.items() if status == "survived"))
    untested = tuple(sorted(name for name, status in status_by_mutant.items() if status == "no tests"))
    return Summary(counts=dict(counts), survivors=survivors, untested=untested)


def read_statuses(work: Path, targets: Sequence[Target]) -> dict[str, str]:
    """Every mutant of the targets' files and its status, from mutmut's .meta files in `work`."""
    from mutmut.stats import status_by_exit_code  # mutmut's own table: its exit codes change between versions

    statuses: dict[str, str] = {}
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        source = meta.relative_to(work / "mutants").as_posix()[: -len(".meta")]
        if not any(source == t.path or source.startswith(t.path.rstrip("/") + "/") for t in targets):
            continue
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data.get("exit_code_by_key", {}).items():
            statuses[name] = status_by_exit_code[code]
    return statuses


def _code_tokens(lines: Sequence[str]) -> list[str] | None:
    """The non-string tokens of some source lines, or None when they do not tokenize on their own."""
    source = "\n".join(line.strip() for line in lines) + "\n"
    try:
        return [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type not in (tokenize.STRING, tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT,
                                    tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def text_only(diff: str) -> bool:
    """Does a mutant change only the text of string literals (a message or help text), no code?

    Such survivors mean no test pins that wording; they are reported apart from the mutants that
    change what the code does, which are the bugs the kill rate is about."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if not removed or not added:
        return False
    before, after = _code_tokens(removed), _code_tokens(added)
    return before is not None and before == after


def markdown(summary: Summary, targets: Sequence[Target], diffs: Mapping[str, str]) -> str:
    """The report: counts, the kill rate, each survivor with its diff."""
    rate = "n/a" if summary.kill_rate is None else f"{summary.kill_rate:.1%}"
    lines = [
        "# Mutation testing",
        "",
        "Mutated: " + ", ".join(f"`{t.path}`" for t in targets),
        "",
        f"Kill rate: **{rate}** ({summary.killed} killed of {summary.judged}: "
        f"{len(summary.survivors)} survived, {len(summary.untested)} not reached by any selected test)",
        "",
        "| status | mutants |",
        "|---|---:|",
        *(f"| {status} | {count} |" for status, count in sorted(summary.counts.items())),
        "",
    ]
    for title, names in (("Survivors", summary.survivors), ("Not reached by a test", summary.untested)):
        if names:
            lines += [f"## {title}", ""]
            for name in names:
                lines += [f"### `{name}`", "", "```diff", diffs.get(name, "(diff not available)").rstrip(), "```", ""]
    return "\n".join(lines)


def checkout_key(root: Path) -> str:
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]


def prepare_work(root: Path, work: Path, config: str) -> None:
    """Copy the files git tracks (their work-tree content) into `work`, with mutmut's configuration."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True).stdout
    wanted = {name for name in listed.decode().split("\0") if name}
    work.mkdir(parents=True, exist_ok=True)
    for name in sorted(wanted):
        source = root / name
        if not source.is_file() or source.is_symlink():
            continue
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)
    pyproject = work / "pyproject.toml"
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[tool\.mutmut\]\n(?:[^\[].*\n?)*", "\n", text)
    pyproject.write_text(text.rstrip() + "\n\n" + config, encoding="utf-8")


_DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
names = json.load(sys.stdin)
json.dump({name: get_diff_for_mutant(name, path=find_mutant(name).path) for name in names}, sys.stdout)
"""


def mutant_diffs(work: Path, names: Sequence[str]) -> dict[str, str]:
    """Each mutant's diff against the original, from mutmut in one process (mutmut reads its config in `work`)."""
    if not names:
        return {}
    shown = subprocess.run([sys.executable, "-c", _DIFFS], cwd=work, input=json.dumps(list(names)),
                           capture_output=True, text=True, timeout=600)
    return json.loads(shown.stdout) if shown.returncode == 0 else {}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./dev mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", metavar="PATH", help="product file or folder (default: all of it)")
    parser.add_argument("--tests", nargs="+", metavar="TEST", help="tests to run instead of the mirrored ones")
    parser.add_argument("--max-children", type=int, default=max(1, (os.cpu_count() or 1)),
                        help="parallel mutant runs (default: the CPU count)")
    parser.add_argument("--work", type=Path, help="work folder (default: ~/.cache/mssp-sentinel/mutate/<checkout>)")
    parser.add_argument("--markdown", type=Path, metavar="OUT", help="write the report as Markdown")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write counts and survivors as JSON")
    parser.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    root: Path = args.root.resolve()
    try:
        if args.max_children < 1:
            raise UsageError(f"--max-children {args.max_children}: must be 1 or more")
        paths = [normal_target(raw, root) for raw in args.paths] or [p for p in PRODUCT if (root / p).is_dir()]
        targets = [Target(path, tuple(args.tests) if args.tests else select_tests(path, root)) for path in paths]
        for target in targets:
            if not target.tests:
                raise UsageError(f"{target.path}: no test mirrors or imports it; name the tests with --tests")
    except UsageError as error:
        print(f"mutate: {error}", file=sys.stderr)
        return 2
    work = args.work or Path.home() / ".cache" / "mssp-sentinel" / "mutate" / checkout_key(root)
    print(f"mutate: copying the checkout to {work} and mutating {', '.join(paths)} "
          f"(tests: {sum(len(t.tests) for t in targets)} files or folders); mutmut shows its progress",
          file=sys.stderr)
    prepare_work(root, work, mutmut_config(targets, [p for p in PRODUCT if (root / p).is_dir()],
                                           tracked_top_level(root)))
    run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)], cwd=work)
    if run.returncode not in (0, 1):
        print(f"mutate: mutmut run failed (exit {run.returncode}); its log is above", file=sys.stderr)
        return 1
    summary = summarise(read_statuses(work, targets))
    diffs = mutant_diffs(work, [*summary.survivors, *summary.untested])
    report = markdown(summary, targets, diffs)
    if args.markdown:
        args.markdown.write_text(report, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({
            "paths": paths, "counts": dict(summary.counts), "killed": summary.killed, "judged": summary.judged,
            "kill_rate": summary.kill_rate, "survivors": list(summary.survivors), "untested": list(summary.untested),
        }, indent=2) + "\n", encoding="utf-8")
    print(report)
    return 3 if summary.survivors or summary.untested else 0


if __name__ == "__main__":
    sys.exit(main())
