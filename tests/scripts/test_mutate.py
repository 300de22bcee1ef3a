"""scripts/mutate.py (`./dev mutate`): which tests it picks, the mutmut configuration it writes, how it
counts, and what it refuses. One tiny end-to-end run proves mutmut itself works with that configuration."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("mssp_mutate", REPO / "scripts" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


mutate = _load()


@pytest.mark.parametrize("text", [
    "import mssp.azure.rest\n",
    "from mssp.azure.rest import AzureRestClient\n",
    "from mssp.azure import rest\n",
    "from mssp.azure import arm, rest\n",
    "from mssp.azure import (\n    rest,\n)\n",
    "def test():\n    from mssp.azure.rest import status_text  # inside a test\n",
])
def test_an_import_of_the_module_in_any_form_selects_the_test(text):
    # Bug caught: a test that imports the module in another spelling is not run against its mutants,
    # so its kills are missed and the report shows survivors that the suite actually kills.
    assert mutate.imports_module(text, "mssp.azure.rest")


@pytest.mark.parametrize("text", [
    "import mssp.azure.restore\n",           # a longer name that starts the same
    "from mssp.azure import restful\n",
    "# from mssp.azure import rest\n",       # a comment
    "from mssp.azure.arm import ARM_ENDPOINT\n",
])
def test_a_module_that_only_looks_similar_is_not_an_import(text):
    # Bug caught: prefix matching selects unrelated tests, which makes every mutant run slower.
    assert not mutate.imports_module(text, "mssp.azure.rest")


def test_tests_are_the_mirror_folder_and_the_importers(tmp_path):
    (tmp_path / "mssp" / "azure").mkdir(parents=True)
    (tmp_path / "mssp" / "azure" / "rest.py").write_text("X = 1\n")
    (tmp_path / "tests" / "mssp" / "azure").mkdir(parents=True)
    (tmp_path / "tests" / "mssp" / "azure" / "test_rest.py").write_text("def test(): pass\n")
    (tmp_path / "tests" / "other").mkdir(parents=True)
    (tmp_path / "tests" / "other" / "test_uses.py").write_text("from mssp.azure import rest\n")
    (tmp_path / "tests" / "other" / "test_unrelated.py").write_text("import json\n")
    chosen = mutate.select_tests("mssp/azure/rest.py", tmp_path)
    assert chosen == ("tests/mssp/azure", "tests/other/test_uses.py")


def test_a_folder_target_selects_tests_of_every_module_in_it(tmp_path):
    pkg = tmp_path / "components" / "lighthouse"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "template.py").write_text("")
    (tmp_path / "tests" / "x").mkdir(parents=True)
    (tmp_path / "tests" / "x" / "test_t.py").write_text("from components.lighthouse.template import build\n")
    (tmp_path / "tests" / "x" / "test_pkg.py").write_text("import components.lighthouse\n")
    assert mutate.module_names("components/lighthouse", tmp_path) == [
        "components.lighthouse", "components.lighthouse.template"]
    assert mutate.select_tests("components/lighthouse", tmp_path) == ("tests/x/test_pkg.py", "tests/x/test_t.py")


@pytest.mark.parametrize("raw, why", [
    ("tests/mssp", "product code only"),
    ("scripts/mutate.py", "product code only"),
    ("../outside.py", "not inside the checkout"),
    ("mssp/no_such_module.py", "no such file"),
    ("stacks/Pulumi.contoso.yaml", "product code only"),
    ("mssp/../README.md", "product code only"),
])
def test_paths_outside_the_product_are_refused_with_the_reason(raw, why):
    with pytest.raises(mutate.UsageError, match=why):
        mutate.normal_target(raw, REPO)


def test_a_product_path_is_normalised(tmp_path):
    assert mutate.normal_target("./mssp//azure/rest.py", REPO) == "mssp/azure/rest.py"
    assert mutate.normal_target(str(REPO / "policies"), REPO) == "policies"


def test_the_configuration_is_toml_that_mutmut_reads():
    targets = [mutate.Target("mssp/azure/rest.py", ("tests/mssp/discover",)),
               mutate.Target("components/lighthouse", ("tests/x/test_t.py", "tests/mssp/discover"))]
    config = tomllib.loads(mutate.mutmut_config(targets))["tool"]["mutmut"]
    assert config["only_mutate"] == ["components/lighthouse/*", "mssp/azure/rest.py"]
    assert config["pytest_add_cli_args_test_selection"] == ["tests/mssp/discover", "tests/x/test_t.py"]
    assert set(config["source_paths"]) == {"components", "mssp", "policies"}
    # The real-CLI/engine tiers take minutes per run: a mutant run must never include them.
    assert "not realcli and not realengine" in config["pytest_add_cli_args"]


def test_the_kill_rate_counts_timeouts_as_kills_and_untested_code_against_it():
    summary = mutate.summarise({"a": "killed", "b": "killed", "c": "timeout", "d": "survived", "e": "no tests",
                                "f": "skipped", "g": "not checked"})
    assert summary.killed == 3
    assert summary.judged == 5  # skipped and unchecked mutants are not judged either way
    assert summary.kill_rate == pytest.approx(0.6)
    assert summary.survivors == ("d",)
    assert summary.untested == ("e",)
    assert mutate.summarise({}).kill_rate is None


@pytest.mark.parametrize("diff, expected", [
    ('-    raise UserError("bad input")\n+    raise UserError("XXbad inputXX")\n', True),
    ('-    p.add_argument("stack", help="a stack")\n+    p.add_argument("stack", help="A STACK")\n', True),
    ('-    if a < b:\n+    if a <= b:\n', False),
    ('-    raise UserError("bad input")\n+    raise UserError(None)\n', False),
    ('-    x = ["a", "b"]\n+    x = ["a"]\n', False),
    ('-    return "[secret]"\n+    return "XX[secret]XX"\n', True),
    ("", False),
])
def test_text_only_mutants_are_told_apart_from_code_changes(diff, expected):
    assert mutate.text_only("--- f.py\n+++ f.py\n" + diff) is expected


def test_mutmut_runs_with_the_written_configuration_and_finds_the_survivor(tmp_path):
    """End to end on a tiny repository: one bound is tested at both ends, one is not."""
    root = tmp_path / "repo"
    (root / "mssp").mkdir(parents=True)
    (root / "tests" / "mssp").mkdir(parents=True)
    (root / "mssp" / "__init__.py").write_text("")
    (root / "mssp" / "bounds.py").write_text(
        "def in_range(n):\n    return 1 <= n <= 10\n\n\ndef short(text):\n    return len(text) < 5\n")
    (root / "tests" / "mssp" / "test_bounds.py").write_text(
        "from mssp.bounds import in_range, short\n\n\n"
        "def test_range():\n    assert in_range(1) and in_range(10) and not in_range(0) and not in_range(11)\n\n\n"
        "def test_short():\n    assert short('ab') and not short('abcdefgh')\n")
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\nmarkers = ["realcli: x", "realengine: y"]\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    out = tmp_path / "report.json"
    code = mutate.main(["mssp/bounds.py", "--root", str(root), "--work", str(tmp_path / "work"),
                        "--max-children", "1", "--json", str(out)])
    report = json.loads(out.read_text())
    # `len(text) < 5` -> `<= 5` survives: no test has a text of exactly five characters.
    assert code == 3
    assert any("short" in name for name in report["survivors"])
    assert not any("in_range" in name for name in report["survivors"])
    assert 0 < report["kill_rate"] < 1


def test_mutmuts_copy_holds_every_tracked_top_level_file_the_tests_read():
    # Bug caught: a test that reads .github/workflows/*.yml (or the lock files, mkdocs.yml) failed in
    # mutmut's copy of the tree, so "mutate" stopped before judging a single mutant.
    tops = mutate.tracked_top_level(REPO)
    for needed in (".github", "requirements-dev.txt", "mkdocs.yml", ".ci"):
        assert needed in tops
    assert not set(tops) & set(mutate.PRODUCT)
    targets = [mutate.Target("mssp/drift/preview_json.py", ("tests/mssp/drift",))]
    config = tomllib.loads(mutate.mutmut_config(targets, also_copy=tops))["tool"]["mutmut"]
    assert ".github" in config["also_copy"] and "stacks" in config["also_copy"]
