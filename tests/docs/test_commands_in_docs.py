"""Every `python -m mssp` / `./dev` command that README.md and the docs pages name exists, with the options
they give it, read as a user reads them: through the CLI's own argparse parser (mssp.cli.build_parser); the
concrete examples (no placeholder) parse completely, and the offline ones run.

Bug this catches: docs and `--help` naming an option that does not exist (`mssp diff --help` promised
`--fail-on-guardrail-change`), a renamed command or flag, an example that no longer runs.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

from mssp.cli import build_parser

PAGES = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").rglob("*.md"))]
# ./dev's own commands (the case arms of the `dev` script); everything else is `python -m mssp COMMAND`.
DEV_SCRIPT = (PROJECT_DIR / "dev").read_text(encoding="utf-8")
DEV_OWN = frozenset(re.findall(r"^\s+([a-z|-]+)\)\s*$", DEV_SCRIPT, re.M)[0].split("|")) | frozenset(
    w for arm in re.findall(r"^\s+([a-z|-]+(?:\|[a-z-]+)*)\)", DEV_SCRIPT, re.M) for w in arm.split("|"))
# Words that stand for a value the reader fills in.
PLACEHOLDER = re.compile(r"^(?:<[^>]*>|[A-Z][A-Z_]*|\$[A-Z_]+|\.\.\.|…)$")
COMMAND_START = re.compile(r"(?:python -m mssp|\./dev)(?=\s|$)")


@dataclass(frozen=True)
class Mention:
    page: str
    text: str

    @property
    def argv(self) -> list[str]:
        """The command's words after `python -m mssp` / `./dev`, comments and shell redirections dropped."""
        text = re.sub(r"\s+#.*$", "", self.text)
        text = COMMAND_START.sub("", text, count=1)
        text = re.sub(r"<[^>]*>", "<value>", text)  # `<customer stack>` is one value
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        return [w for w in words if w not in {"\\", ">", "2>&1"}]

    @property
    def concrete(self) -> bool:
        """A complete example: arguments and no placeholder. A bare `python -m mssp plan` or `./dev` names the
        command (the prose says what to give it); it is checked by name only."""
        if len(self.argv) < 2 and self.argv != ["--help"]:
            return False
        return not any(PLACEHOLDER.match(w.strip("[]|")) or w in {"[", "]", "|"} or w.startswith("[")
                       or w.endswith("]") for w in self.argv)


def _spans(markdown: str) -> list[str]:
    """Inline code spans and the lines of fenced code blocks."""
    found: list[str] = []
    fence = False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            fence = not fence
            continue
        if fence:
            found.append(line.strip())
        else:
            found += re.findall(r"`([^`]+)`", line)
    return found


def mentions() -> list[Mention]:
    found: dict[tuple[str, str], Mention] = {}
    for page in PAGES:
        rel = str(page.relative_to(PROJECT_DIR))
        for span in _spans(page.read_text(encoding="utf-8")):
            m = COMMAND_START.search(span)
            if m:
                text = span[m.start():].strip()
                if span[:m.start()].count("(") > span[:m.start()].count(")") and text.endswith(")"):
                    text = text[:-1]  # `tests (./dev test)`: the parenthesis belongs to the prose
                found.setdefault((rel, text), Mention(rel, text))
    return sorted(found.values(), key=lambda m: (m.page, m.text))


MENTIONS = mentions()
PARSER = build_parser()
SUBPARSERS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices


def _command(m: Mention) -> tuple[str | None, list[str]]:
    argv = m.argv
    if not argv or argv[0].startswith("-") or PLACEHOLDER.match(argv[0]):
        return None, argv  # `python -m mssp --help`, `./dev COMMAND ...`: the top level
    return argv[0], argv[1:]


def test_the_docs_name_commands():
    # Not vacuous: the pages do name commands, of both spellings, and concrete examples among them.
    assert len(MENTIONS) > 30
    assert any(m.text.startswith("./dev") for m in MENTIONS) and any(m.text.startswith("python") for m in MENTIONS)
    assert any(m.concrete and _command(m)[0] == "plan" for m in MENTIONS)


@pytest.mark.parametrize("mention", MENTIONS, ids=lambda m: f"{m.page}:{m.text[:60]}")
def test_every_named_command_and_option_exists(mention: Mention):
    name, rest = _command(mention)
    if name is None:
        flags = [w for w in rest if w.startswith("-")]
        assert set(flags) <= {"--help", "-h"}, mention
        return
    if mention.text.startswith("./dev") and name in DEV_OWN:
        return  # ./dev's own command (test, mutate, help): the dev script, not the CLI
    assert name in SUBPARSERS, f"{mention.page}: `{mention.text}` names no command {name!r}; commands: {sorted(SUBPARSERS)}"
    known = set(SUBPARSERS[name]._option_string_actions)
    for word in rest:
        flag = word.strip("[]|").split("=", 1)[0]
        if flag.startswith("-") and flag not in {"-", "--"} and not re.match(r"^-\d", flag):
            assert flag in known, f"{mention.page}: `{mention.text}`: {name} has no option {flag}; it has {sorted(known)}"


@pytest.mark.parametrize("mention", [m for m in MENTIONS if m.concrete], ids=lambda m: f"{m.page}:{m.text[:60]}")
def test_every_concrete_example_parses(mention: Mention):
    name, _ = _command(mention)
    if mention.text.startswith("./dev") and name in DEV_OWN:
        return
    argv = mention.argv
    try:
        PARSER.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0 and ("--help" in argv or "-h" in argv), f"{mention.page}: `{mention.text}` does not parse"


# Examples that run offline and write only where they are told: run them, outputs moved to a temporary folder.
RUNNABLE = ("plan", "template")


def _runnable() -> list[Mention]:
    seen: dict[tuple[str, ...], Mention] = {}
    for m in MENTIONS:
        if m.concrete and _command(m)[0] in RUNNABLE:
            seen.setdefault(tuple(m.argv), m)  # one run per distinct command line
    return list(seen.values())


@pytest.mark.parametrize("mention", _runnable(), ids=lambda m: f"{m.page}:{m.text[:60]}")
def test_every_offline_example_runs(mention: Mention, run_cli, tmp_path: Path):
    argv = list(mention.argv)
    for i, word in enumerate(argv[:-1]):
        if word in ("--json", "--markdown", "--out", "--out-dir", "--full-markdown"):
            argv[i + 1] = str(tmp_path / Path(argv[i + 1]).name)
    if argv[0] == "template" and "--mssp-principal-id" not in argv:
        argv.append("--allow-placeholders")  # no logged-in Pulumi CLI here to read the platform outputs
    code, _, err = run_cli(argv)
    assert code == 0, f"{mention.page}: `{mention.text}` exited {code}: {err}"


def test_no_help_text_names_an_option_its_command_lacks():
    # The same class inside the CLI: every `--option` a command's description, epilog or option help names
    # is one of that command's options (or, for the top level, of some command).
    every = set().union(*(set(p._option_string_actions) for p in SUBPARSERS.values()))
    for name, sub in SUBPARSERS.items():
        texts = [sub.description or "", sub.epilog or "", *(a.help or "" for a in sub._actions)]
        # Another tool's options (`pulumi preview --refresh --json`) are that tool's: drop its commands.
        text = re.sub(r"`?pulumi [^`;.]*", "", " ".join(texts))
        for flag in set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text)):
            assert flag in sub._option_string_actions or flag in every, f"mssp {name} --help names {flag}"
