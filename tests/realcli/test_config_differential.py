"""Differential: config mistakes through the real Pulumi CLI and through `mssp plan`; the two must agree.

Every case mutates a copy of the project (a stack file, or Pulumi.yaml) and asks both:
- the CLI: does `pulumi preview` refuse the config before the program runs (stack init or config
  validation), or does it get past config validation (to the language host, or, with one, into the
  program: then the program's own verdict counts);
- `mssp plan`: exit 2 (refused, no traceback) or exit 0.
Agreement: the CLI refuses => the plan exits 2. The CLI accepts a mutation that is harmless to the
program => the plan exits 0. With a language host, the plan's verdict must equal the program's verdict
under the real engine for every case.

The bug this catches: the offline plan accepting a stack the real CLI refuses (the project shipped
exactly that), or refusing one the CLI accepts.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from realcli_support import PROJECT_DIR, Workspace, platform_outputs, pulumi_bin_dir, workspace  # noqa: F401
from test_real_cli import stage

pytestmark = pytest.mark.realcli


@dataclass(frozen=True)
class Case:
    name: str
    stack: str
    # Edits the copy: (project root) -> None.
    mutate: Callable[[Path], None]
    # Whether the mutation leaves a config the program accepts, if the CLI lets it through.
    harmless: bool = False


def stack_text(stack: str) -> str:
    return (PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")


def write_stack(stack: str, text: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")

    return mutate


def edit_stack(stack: str, old: str, new: str) -> Callable[[Path], None]:
    text = stack_text(stack)
    assert old in text, (stack, old)
    return write_stack(stack, text.replace(old, new, 1))


def add_config(stack: str, lines: str) -> Callable[[Path], None]:
    return edit_stack(stack, "config:\n", "config:\n" + lines)


def edit_project(old: str, new: str) -> Callable[[Path], None]:
    text = (PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8")
    assert old in text, old

    def mutate(root: Path) -> None:
        (root / "Pulumi.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")

    return mutate


def section_to(stack: str, key: str, value: str) -> Callable[[Path], None]:
    """Replace a top-level config key's whole value (a mapping block) by `value`."""
    lines = stack_text(stack).splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"  {key}:"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  ") and not lines[i].startswith("   ")
                and not lines[i].startswith("  #")), len(lines))
    return write_stack(stack, "".join([*lines[:start], f"  {key}: {value}\n", *lines[end:]]))


CASES = [
    # Missing or misplaced `kind`.
    Case("empty-file", "contoso", write_stack("contoso", "")),
    Case("no-config-block", "contoso", write_stack("contoso", "something: else\n")),
    Case("config-is-a-list", "contoso", write_stack("contoso", "config:\n  - a\n")),
    Case("config-is-text", "contoso", write_stack("contoso", "config: hello\n")),
    Case("kind-removed", "contoso", edit_stack("contoso", "  mssp-sentinel:kind: customer\n", "")),
    Case("kind-in-another-namespace", "contoso", edit_stack("contoso", "mssp-sentinel:kind:", "other:kind:")),
    Case("kind-namespace-wrong-case", "mssp", edit_stack("mssp", "mssp-sentinel:kind:", "Mssp-Sentinel:kind:")),
    Case("kind-empty-namespace", "mssp", edit_stack("mssp", "mssp-sentinel:kind:", ":kind:")),
    # Keys without a namespace belong to the project: accepted by the CLI, and by the plan.
    Case("kind-without-namespace", "contoso", edit_stack("contoso", "mssp-sentinel:kind:", "kind:"), harmless=True),
    # Only the keys lose their namespace: values (a federated credential's subject) hold the text too.
    Case("all-keys-without-namespace", "mssp",
         write_stack("mssp", re.sub(r"(?m)^  mssp-sentinel:", "  ", stack_text("mssp"))), harmless=True),
    Case("legacy-config-namespace", "contoso", edit_stack("contoso", "mssp-sentinel:kind:", "mssp-sentinel:config:kind:"),
         harmless=True),
    # Keys of another project's namespace are not the project's business.
    Case("foreign-key", "contoso", add_config("contoso", "  azure-native:location: westeurope\n"), harmless=True),
    # Wrong declared types.
    Case("kind-is-a-mapping", "contoso", edit_stack("contoso", "mssp-sentinel:kind: customer", "mssp-sentinel:kind: {a: 1}")),
    Case("kind-is-a-list", "mssp", edit_stack("mssp", "mssp-sentinel:kind: platform", "mssp-sentinel:kind: [platform]")),
    Case("customer-is-text", "contoso", section_to("contoso", "mssp-sentinel:customer", "contoso")),
    Case("customer-is-a-list", "contoso", section_to("contoso", "mssp-sentinel:customer", "[1, 2]")),
    Case("customer-is-null", "contoso", section_to("contoso", "mssp-sentinel:customer", "")),
    Case("platform-is-a-number", "mssp", section_to("mssp", "mssp-sentinel:platform", "5")),
    # Scalars are text to the CLI: `kind: 5` passes its string check; the program refuses it.
    Case("kind-is-a-number", "contoso", edit_stack("contoso", "mssp-sentinel:kind: customer", "mssp-sentinel:kind: 5")),
    # Keys the CLI cannot parse.
    Case("three-part-key", "contoso", add_config("contoso", "  mssp-sentinel:customer:name: x\n")),
    Case("integer-key", "contoso", add_config("contoso", "  2024: x\n")),
    Case("duplicate-key", "contoso", add_config("contoso", "  mssp-sentinel:kind: customer\n")),
    # Project declarations the CLI refuses or enforces.
    Case("project-requires-an-unset-key", "contoso",
         edit_project("config:\n", "config:\n  region:\n    type: string\n")),
    Case("project-kind-integer", "mssp", edit_project("  kind:\n    type: string\n", "  kind:\n    type: integer\n")),
    Case("project-array-without-items", "contoso",
         edit_project("config:\n", "config:\n  tags:\n    type: array\n    default: []\n")),
    Case("project-default-wrong-type", "contoso",
         edit_project("config:\n", "config:\n  retries:\n    type: integer\n    default: many\n")),
    Case("project-default-and-value", "contoso",
         edit_project("config:\n", "config:\n  retries:\n    default: 1\n    value: 2\n")),
    Case("project-typed-foreign-key", "contoso",
         edit_project("config:\n", "config:\n  azure-native:location:\n    type: string\n    value: westeurope\n")),
    Case("project-foreign-value", "contoso",
         edit_project("config:\n", "config:\n  azure-native:location:\n    value: westeurope\n"), harmless=True),
    # A declared default reaches every stack; the program refuses a project key it does not know.
    Case("project-default-for-a-new-key", "contoso",
         edit_project("config:\n", "config:\n  retries:\n    type: integer\n    default: 3\n")),
]


def cli_init(ws: Workspace, stack: str) -> tuple[str, str] | None:
    """`pulumi stack init`: ('refused', text) when the CLI refuses the stack file there, else None.

    Run before the plan starts, never beside it: init rewrites the stack file (it adds the stack's
    encryptionsalt), and a plan reading it meanwhile could see half a file."""
    init = ws.run("stack", "init", stack)
    return ("refused", init.stdout + init.stderr) if init.returncode != 0 else None


def cli_verdict(ws: Workspace, stack: str) -> tuple[str, str]:
    """('refused', text) when the CLI's preview refuses before the program; else (stage, text)."""
    result = ws.run("preview", "-s", stack, "--non-interactive")
    where = stage(result)
    return ("refused" if where == "config" else where), result.stdout + result.stderr


def plan_verdict(ws: Workspace, stack: str) -> tuple[int, str]:
    result: subprocess.CompletedProcess[str] = ws.mssp("plan", stack, "--quiet")
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_plan_and_the_real_cli_agree(case: Case, workspace: Workspace, platform_outputs: dict) -> None:
    if case.stack != "mssp":
        # A customer's preview reads its platform's outputs: a platform deployment must exist.
        workspace.import_platform(platform_outputs)
    case.mutate(workspace.root)
    workspace.point_customers_at_file_backend()
    refused = cli_init(workspace, case.stack)
    with ThreadPoolExecutor(2) as pool:
        # Bug this ordering fixes: with init beside the plan, the plan now and then read the stack file
        # while init rewrote it, and refused a file the CLI accepted (a flaky "the plan refused").
        cli_future = pool.submit(lambda: refused or cli_verdict(workspace, case.stack))
        plan_code, plan_text = plan_verdict(workspace, case.stack)
        cli, cli_text = cli_future.result()
    assert "Traceback" not in plan_text, plan_text
    assert plan_code in (0, 2), plan_text
    if cli == "refused":
        assert plan_code == 2, f"the CLI refused, the plan accepted:\nCLI: {cli_text}\nplan: {plan_text}"
    elif cli in ("language-host", "provider"):
        # Past config validation (and, with a language host, through the whole program).
        if case.harmless or cli == "provider":
            assert plan_code == 0, f"the CLI accepted, the plan refused:\nCLI: {cli_text}\nplan: {plan_text}"
    elif cli == "program-config":
        # The program refused it under the real engine: so must the plan.
        assert plan_code == 2, f"the program refused under the CLI, the plan accepted:\n{cli_text}\n{plan_text}"
    else:
        pytest.fail(f"the CLI stopped somewhere unexpected:\n{cli_text}")
    if not case.harmless and cli in ("language-host",):
        # Without a language host the program's verdict is not known; the plan must still refuse a
        # mutation that breaks the program's config (every non-harmless case here does).
        assert plan_code == 2, plan_text


def test_every_case_is_exercised_against_a_readable_project() -> None:
    # Bug: a case whose edit silently did nothing (the text to replace moved), testing nothing.
    assert len({c.name for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.stack in ("contoso", "mssp", "fabrikam")
    assert yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]["kind"]["type"] == "string"
