"""What keeps a small customer plan's fixed cost down (docs/benchmarks.md "Scale benchmark"), pinned structurally.

No timings: that a plan validates its stack once, that a program run with other config still validates
it, and that a Lighthouse customer's plan imports nothing it does not register (pulumi_azuread, the
platform's components).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
from conftest import PROJECT_DIR

import components.config as config
from mssp.plan.command import PlanSession, build_manifest
from mssp.plan.offline import run_program


def _count_parse_config(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    stacks: list[str] = []
    real = config.parse_config

    def counting(*args, **kwargs):
        stacks.append(kwargs["stack"])
        return real(*args, **kwargs)

    monkeypatch.setattr(config, "parse_config", counting)
    return stacks


@pytest.mark.parametrize("stack", ["contoso", "mssp"])
def test_a_plan_validates_its_stack_once(monkeypatch, stack):
    # Bug: the program under the mocks validated the stack again (stack files, platform file, inventory,
    # fleet), right after the CLI had validated the very same values.
    validated = _count_parse_config(monkeypatch)
    manifest = build_manifest(stack, PROJECT_DIR, session=PlanSession(use_cache=False))
    assert manifest["resources"]
    assert validated.count(stack) == 1, validated


def test_a_program_run_with_other_config_validates_it(stack_doc, tmp_path):
    """The CLI's result stands in only for the values it was validated from."""
    path = config.stack_file(PROJECT_DIR, "contoso")
    loaded = config.load_stack_file(path, PROJECT_DIR, "contoso")
    values, secrets = config.stack_values(path, PROJECT_DIR, "contoso")
    platform = config.stack_file(PROJECT_DIR, "mssp")
    outputs = {loaded.customer.platform_stack: run_program(PROJECT_DIR, "mssp", *config.stack_values(
        platform, PROJECT_DIR, "mssp")).outputs}
    bad = {**values, "mssp-sentinel:customer": {**values["mssp-sentinel:customer"], "tenantId": "not-a-guid"}}
    with config.validated_stack(loaded, values, secrets, PROJECT_DIR), \
            pytest.raises(pulumi.RunError, match=r"customer\.tenantId: 'not-a-guid' is not a GUID"):
        run_program(PROJECT_DIR, "contoso", bad, secrets, outputs)


def test_a_lighthouse_customer_plan_imports_neither_azuread_nor_the_platform_components(tmp_path):
    # Bug: components.stacks imported pulumi_azuread (about 0.09 s) and the platform's components for every
    # plan, though a Lighthouse customer creates nothing in Entra.
    env = {**os.environ, "MSSP_PLAN_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "plan.json"
    # The first plan also plans the platform (which does use azuread) and keeps its outputs in the cache.
    subprocess.run([sys.executable, "-m", "mssp", "plan", "contoso", "--quiet", "--json", str(out)], cwd=PROJECT_DIR,
                   env=env, check=True, capture_output=True, timeout=300)
    probe = (
        "import json, os, runpy, sys\n"
        "_exit = os._exit\n"
        "def done(code):\n"
        "    print(json.dumps(sorted(sys.modules)))\n"
        "    sys.stdout.flush()\n"
        "    _exit(code)\n"
        "os._exit = done\n"
        f"sys.argv = ['mssp', 'plan', 'contoso', '--quiet', '--json', {str(out)!r}]\n"
        "runpy.run_module('mssp', run_name='__main__', alter_sys=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert {"components.stacks", "components.lighthouse.delegation"} <= modules  # the customer was planned
    unneeded = {"components.identity.customer", "components.identity.multitenant", "components.itsm.sync",
                "components.splunk.ingestion"}
    found = [m for m in modules if m.split(".")[0] == "pulumi_azuread" or m in unneeded]
    assert not found, f"imported by the customer's plan (or the platform was planned again, not cached): {found[:5]}"
    assert Path(out).read_text(encoding="utf-8")
