"""The layout shows the architecture (docs/development/layout.md): one folder per command
in mssp/, one package per concern, and the test doubles in testing/ out of the product's reach."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import pytest

from mssp import cli

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = [ROOT / "__main__.py", *sorted(p for d in ("mssp", "components", "policies") for p in (ROOT / d).rglob("*.py"))]
PACKAGES = sorted({p.parent for d in ("mssp", "components", "policies", "testing") for p in (ROOT / d).rglob("*.py")})
# What may sit directly in mssp/: the entry points and what every command shares; commands get folders.
MSSP_TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "documents.py", "errors.py", "escape.py", "output.py"}


def imports_of(source: str) -> set[str]:
    """Every module an ast-parsed source imports, as dotted names (`from a.b import c` gives a.b and a.b.c)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def doubles_imported(source: str) -> set[str]:
    return {m for m in imports_of(source) if m == "testing" or m.startswith("testing.")}


def test_the_import_check_sees_every_form():
    src = ("import testing\nimport testing.fake_arm as f\ndef g():\n    from testing.fake_arm import FakeArm\n"
           "    from testing import fake_arm\nimport testingx\nfrom mssp.testing_notes import x\n")
    assert doubles_imported(src) == {"testing", "testing.fake_arm", "testing.fake_arm.FakeArm"}


def test_no_product_module_imports_the_test_doubles():
    assert len(PRODUCT) > 40  # the walk really found the product
    offenders = {str(p.relative_to(ROOT)): sorted(doubles_imported(p.read_text(encoding="utf-8"))) for p in PRODUCT}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_test_doubles_are_importable_from_testing():
    from testing.fake_arm import FakeArm

    assert FakeArm.__module__ == "testing.fake_arm"
    assert not (ROOT / "mssp" / "fake_arm.py").exists()


def commands() -> dict[str, str]:
    """Sub-command name -> module of the function that runs it."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: p.get_default("func").__module__ for name, p in sub.choices.items()}


def command_folder(name: str) -> str:
    """The folder named for a command: `plan` -> mssp/plan/, `splunk-ping` -> mssp/splunk/ (ping.py)."""
    return name.split("-")[0].replace("-", "_")


def test_each_command_lives_in_a_folder_named_for_it():
    found = commands()
    assert set(found) == {"plan", "template", "diff", "discover", "drift", "splunk-ping", "health", "report", "usage", "offboard",
                          "cache-prune", "cache-keygen"}
    for name, module in found.items():
        folder = command_folder(name)
        assert module.startswith(f"mssp.{folder}."), (name, module)
        path = Path(sys.modules[module].__file__).resolve()
        assert path.parent == ROOT / "mssp" / folder, (name, path)
    # a `splunk-<verb>` command is the module named for the verb
    assert found["splunk-ping"] == "mssp.splunk.ping"
    assert found["cache-prune"] == "mssp.cache.prune"


def test_mssp_holds_only_shared_modules_at_the_top():
    assert {p.name for p in (ROOT / "mssp").glob("*.py")} == MSSP_TOP_LEVEL


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_package_says_in_one_line_what_it_owns(package: Path):
    init = package / "__init__.py"
    assert init.exists(), f"{package.relative_to(ROOT)} has no __init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    summary = doc.split("\n\n")[0]
    assert summary.strip() and "\n" not in summary, f"{init.relative_to(ROOT)}: a one-line summary of what it owns"


def test_the_package_walk_found_the_concerns():
    names = {str(p.relative_to(ROOT)) for p in PACKAGES}
    assert {"mssp/plan", "mssp/azure", "components/facts", "components/splunk", "testing"} <= names
