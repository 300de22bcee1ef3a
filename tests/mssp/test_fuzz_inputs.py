"""A seeded fuzzer (issue #23): random mutations of every example stack, inventory and input document, through
every command that reads them, in-process. None may end in a traceback or exit 70 (an internal error), and each
exit code must be one the command documents.

The mutations are bounded (MUTATIONS per document, fixed seeds) so CI stays fast; set MSSP_FUZZ_SEED to explore
other seeds locally (`MSSP_FUZZ_SEED=7 pytest tests/mssp/test_fuzz_inputs.py`) and MSSP_FUZZ_MUTATIONS for more.
A failure prints the seed, the document and the mutated file, so it can be replayed.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_DIR

from mssp import cli

SEED = int(os.environ.get("MSSP_FUZZ_SEED", "2023"))
MUTATIONS = int(os.environ.get("MSSP_FUZZ_MUTATIONS", "6"))
PREVIEWS = PROJECT_DIR / "tests" / "fixtures" / "preview"

# The exit codes each command documents (mssp.cli.COMMANDS); 70 is never one of them.
DOCUMENTED: dict[str, set[int]] = {
    "plan": {0, 1, 2}, "template": {0, 1, 2}, "diff": {0, 1, 2}, "discover": {0, 1, 2}, "drift": {0, 1, 2, 3},
    "health": {0, 1, 2, 3}, "report": {0, 2}, "offboard": {0, 1, 2, 3}, "usage": {0, 1, 2},
}
USAGE_WINDOW = ["--from", "2026-01-01", "--to", "2026-01-02"]

# Values a mutation puts somewhere in a document: wrong types, edge cases, hostile strings.
ODD_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, 2**64, 1.5e308, "", " ", "x" * 5000, "ünïcödé ✓", "\x00", "../../etc/passwd", "/etc/passwd",
    "00000000-0000-0000-0000-000000000000", "98785600-1bb7-4fb9-b9fa-19afe2c8a360", [], {}, [[[[[]]]]],
    {"secure": "v1:abc"}, {"a": {"b": {"c": {"d": 1}}}}, "urn:pulumi:other::project::t::n", "on", "2024-01-01",
    "${pulumi.secret}", "<<<<<<< HEAD", "*alias", "&anchor x", "!!python/object:os.system", ["a"] * 50,
)
# Text-level snippets: YAML and JSON syntax that breaks or tricks a parser.
ODD_TEXT: tuple[str, ...] = (
    "\t", ": ", "- ", "{", "}", "[", "]", "&a ", "*a", "<<: *a\n", "!!binary ", "\n<<<<<<< HEAD\n", "\n=======\n",
    "---\n", "...\n", "'", '"', "\\", "#", "%YAML 1.1\n", "\ufeff", "\u2028", "\x00", "\xff", "9" * 400, "\n" * 3,
    "a: &x [*x]\n", "[" * 300, "{\"a\":" * 300,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (tuple of keys/indexes) to a node of a decoded document, the root first."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


def mutate_data(doc: Any, rng: random.Random) -> Any:
    """A structural mutation: replace, delete, duplicate or rename one node of a decoded document."""
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc))
    action = rng.choice(("replace", "replace", "delete", "duplicate", "rename", "wrap"))
    if action == "replace" or not path:
        return _set(doc, path, copy.deepcopy(rng.choice(ODD_VALUES)))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    elif action == "rename" and isinstance(parent, dict):
        parent[f"{key}{rng.choice(['x', 'X', '_', ' ', ':'])}"] = parent.pop(key)
    else:  # wrap
        parent[key] = [parent[key]] if rng.random() < 0.5 else {"value": parent[key]}
    return doc


def mutate_text(text: str, rng: random.Random) -> str:
    """A textual mutation: delete, duplicate or cut lines, insert odd syntax, flip characters."""
    lines = text.splitlines(keepends=True) or [""]
    action = rng.choice(("delete-line", "dup-line", "insert", "flip", "truncate", "indent"))
    i = rng.randrange(len(lines))
    if action == "delete-line":
        del lines[i]
    elif action == "dup-line":
        lines.insert(i, lines[i])
    elif action == "insert":
        at = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:at] + rng.choice(ODD_TEXT) + lines[i][at:]
    elif action == "flip" and lines[i]:
        at = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:at] + chr(rng.randrange(32, 0x3000)) + lines[i][at + 1:]
    elif action == "truncate":
        return "".join(lines)[: rng.randrange(len(text) + 1)]
    else:
        lines[i] = rng.choice(["  ", "\t", "    "]) + lines[i]
    return "".join(lines)


def mutations(text: str, parse: Callable[[str], Any], dump: Callable[[Any], str], seed: int) -> list[str]:
    """MUTATIONS variants of `text`: about half structural (still parseable), half textual, one to three each."""
    rng = random.Random(seed)
    out = []
    for n in range(MUTATIONS):
        current = text
        for _ in range(rng.randint(1, 3)):
            if n % 2 == 0:
                current = dump(mutate_data(parse(current), rng)) if _parses(parse, current) else current
            else:
                current = mutate_text(current, rng)
        out.append(current)
    return out


def _parses(parse: Callable[[str], Any], text: str) -> bool:
    try:
        parse(text)
        return True
    except Exception:
        return False


def _yaml_dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _json_dump(doc: Any) -> str:
    return json.dumps(doc, indent=1)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str], str], None]:
    """Run one command in-process; fail on a traceback, exit 70 or an undocumented exit code."""
    from mssp.azure.rest import AzureRestError

    class NoSignIn:  # nothing here may reach Azure: sign-in fails at once
        def __init__(self, **_: Any) -> None:
            pass

        def get_token(self, *_: Any, **__: Any) -> Any:
            from azure.core.exceptions import ClientAuthenticationError

            raise ClientAuthenticationError(message="DefaultAzureCredential failed to retrieve a token (fuzz)")

        get_token_info = get_token

    monkeypatch.setattr("azure.identity.DefaultAzureCredential", NoSignIn)
    monkeypatch.setattr("mssp.offboard.command.run_destroy", lambda *a, **k: (127, "no pulumi in the fuzz test"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no pulumi CLI: drift and splunk-ping cannot run one
    del AzureRestError

    def invoke(argv: list[str], context: str) -> None:
        code = cli.main(argv)
        _, err = capsys.readouterr()
        where = f"seed {SEED}, {context}: python -m mssp {' '.join(argv)}"
        assert code != cli.INTERNAL_ERROR and "Traceback" not in err, f"{where}\n{err[-4000:]}"
        assert code in DOCUMENTED[argv[0]], f"{where}: exit {code}\n{err[-2000:]}"

    return invoke


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copytree(PROJECT_DIR / "stacks", project / "stacks")
    for code in ("__main__.py", "components", "policies"):  # the program `report` plans (code, not data)
        (project / code).symlink_to(PROJECT_DIR / code)
    return project


# Every example: the stack files and inventories in stacks/ (a new example is fuzzed without a change here).
STACKS = tuple(sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml")))
INVENTORIES = tuple(sorted(p.stem for p in (PROJECT_DIR / "stacks" / "inventories").glob("*.yaml")))


def _is_platform(stack: str) -> bool:
    doc = yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return doc["config"].get("mssp-sentinel:kind") == "platform"


@pytest.mark.parametrize("stack", STACKS)
def test_mutated_stack_files_through_every_command_that_reads_them(run: Any, tmp_path: Path, stack: str) -> None:
    text = (PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    for n, mutated in enumerate(mutations(text, yaml.safe_load, _yaml_dump, SEED + STACKS.index(stack))):
        project = _project(tmp_path / f"m{n}")
        path = project / "stacks" / f"Pulumi.{stack}.yaml"
        path.write_text(mutated, encoding="utf-8", errors="surrogatepass")
        context = f"{stack} stack file, mutation {n} ({path})"
        run(["plan", stack, "--config", str(path), "--quiet"], context)
        if _is_platform(stack):
            continue
        run(["template", stack, "--config", str(path), "--out", str(tmp_path / f"t{n}")], context)
        for command in (["health", stack], ["discover", stack, "--dry-run"], ["offboard", stack],
                        ["drift", stack, "--settings"], ["usage", stack, *USAGE_WINDOW]):
            run([*command, "--project-dir", str(project)], context)


@pytest.mark.parametrize("stack", INVENTORIES)
def test_mutated_inventories_through_every_command_that_reads_them(run: Any, tmp_path: Path, stack: str) -> None:
    text = (PROJECT_DIR / "stacks" / "inventories" / f"{stack}.yaml").read_text()
    for n, mutated in enumerate(mutations(text, yaml.safe_load, _yaml_dump, SEED + 10 + INVENTORIES.index(stack))):
        project = _project(tmp_path / f"m{n}")
        (project / "stacks" / "inventories" / f"{stack}.yaml").write_text(mutated, encoding="utf-8",
                                                                            errors="surrogatepass")
        context = f"{stack} inventory, mutation {n}"
        for command in (["health", stack], ["discover", stack, "--dry-run"], ["offboard", stack],
                        ["drift", stack, "--settings"]):
            run([*command, "--project-dir", str(project)], context)
        if n < 2:  # the fleet page plans every customer: twice per inventory is enough
            run(["report", "--out", str(tmp_path / f"r{n}"), "--project-dir", str(project)], context)


PREVIEW_FILES = sorted(p.name for p in PREVIEWS.glob("*.json"))


@pytest.mark.parametrize("name", PREVIEW_FILES)
def test_mutated_previews_through_drift(run: Any, tmp_path: Path, name: str) -> None:
    text = (PREVIEWS / name).read_text()
    for n, mutated in enumerate(mutations(text, json.loads, _json_dump, SEED + 20 + PREVIEW_FILES.index(name))):
        path = tmp_path / f"{n}-{name}"
        path.write_text(mutated, encoding="utf-8", errors="surrogatepass")
        run(["drift", "contoso", "--from-json", str(path), "--json", str(tmp_path / f"{n}.out.json")],
            f"preview {name}, mutation {n}")


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The JSON documents the commands write and read back: a manifest, a drift report, a health report."""
    from conftest import example_manifest

    folder = tmp_path_factory.mktemp("documents")
    drift_report = folder / "drift.json"
    assert cli.main(["drift", "contoso", "--from-json", str(PREVIEWS / "update_and_delete.json"),
                     "--json", str(drift_report)]) == 3
    health = {"stack": "contoso", "customer": "contoso", "status": "silent", "exitCode": 3,
              "window": {"hours": 24, "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
              "summary": {"resources": 1, "silent": 1}, "silentResources": [
                  "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg-prod/providers/"
                  "Microsoft.KeyVault/vaults/kv-contoso-prod"], "silentSubscriptions": [], "errors": []}
    return {"manifest": json.dumps(example_manifest("fabrikam"), indent=1), "drift": drift_report.read_text(),
            "health": json.dumps(health, indent=1)}


@pytest.mark.parametrize("kind", ["manifest", "drift", "health"])
def test_mutated_manifests_and_reports_through_diff_and_report(run: Any, tmp_path: Path, documents: dict[str, str],
                                                               kind: str) -> None:
    text = documents[kind]
    original = tmp_path / "original.json"
    original.write_text(text)
    for n, mutated in enumerate(mutations(text, json.loads, _json_dump, SEED + 30 + len(kind))):
        path = tmp_path / f"{n}.json"
        path.write_text(mutated, encoding="utf-8", errors="surrogatepass")
        context = f"{kind} document, mutation {n}"
        if kind == "manifest":
            run(["diff", str(original), str(path)], context)
            run(["diff", str(path), str(path), "--json", str(tmp_path / f"{n}.diff.json")], context)
        elif n < 3:  # the fleet page plans every customer
            run(["report", "--out", str(tmp_path / f"r{n}"), f"--{kind}", str(path)], context)
        run(["drift", "contoso", "--from-json", str(path)], context)


def test_every_example_is_fuzzed() -> None:
    assert {"contoso", "fabrikam", "mssp"} <= set(STACKS) and {"contoso", "fabrikam"} <= set(INVENTORIES)
    assert len(PREVIEW_FILES) >= 5


def test_the_fuzzer_mutates(tmp_path: Path) -> None:
    """The mutations are not no-ops, differ between seeds, and both kinds occur (a fuzzer that changes nothing
    would pass every command)."""
    text = (PROJECT_DIR / "stacks" / "Pulumi.contoso.yaml").read_text()
    first = mutations(text, yaml.safe_load, _yaml_dump, 1)
    assert all(m != text for m in first[1::2])  # textual mutations always change the text
    assert sum(m != text for m in first) >= len(first) - 1
    assert first != mutations(text, yaml.safe_load, _yaml_dump, 2)
    assert first == mutations(text, yaml.safe_load, _yaml_dump, 1)  # seeded: a failure replays
