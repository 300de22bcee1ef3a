"""Records real Pulumi CLI output as test fixtures (tests/fixtures/preview/real/); not a test.

    MSSP_PULUMI_BIN_DIR=<folder of pulumi> MSSP_PULUMI_LANGUAGE_HOST_DIR=<folder of pulumi-language-python> \
        .venv/bin/python tests/realcli/record_fixtures.py

Each fixture is the stdout of one `pulumi preview --json` of a copy of the project (the same workspace
the real-CLI tests use: file backend, passphrase, no plugin downloads), with the command, the CLI
version and whether a language host was present written to tests/fixtures/preview/real/INDEX.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from realcli_support import PROJECT_DIR, VERSION, Workspace, clean_env, example_stacks, language_host_dir

OUT = PROJECT_DIR / "tests" / "fixtures" / "preview" / "real"
NUMBERS = Path(__file__).resolve().parent / "programs" / "numbers"


def workspace(tmp: Path, bin_dir: Path, host: Path | None, project: Path | None = None) -> Workspace:
    root = tmp / "project"
    if project is None:
        root.mkdir()
        for part in ("Pulumi.yaml", "__main__.py", "components", "mssp", "policies", "stacks"):
            src = PROJECT_DIR / part
            (shutil.copytree if src.is_dir() else shutil.copy)(src, root / part)
    else:
        shutil.copytree(project, root)
    (root / ".venv").symlink_to(PROJECT_DIR / ".venv")
    (tmp / "state").mkdir()
    return Workspace(root=root, env=clean_env(bin_dir, tmp / "home", tmp / "state", host))


def record(name: str, ws: Workspace, stack: str, args: list[str], host: Path | None, index: dict) -> None:
    ws.init(stack)
    result = ws.run("preview", "-s", stack, "--non-interactive", *args)
    (OUT / f"{name}.json").write_text(json.dumps(json.loads(result.stdout), indent=2, sort_keys=True) + "\n")
    index[name] = {"command": " ".join(["pulumi", "preview", "-s", stack, "--non-interactive", *args]),
                   "cliVersion": VERSION, "languageHost": host is not None, "exitCode": result.returncode}


def main() -> int:
    bin_dir = Path(os.environ["MSSP_PULUMI_BIN_DIR"])
    host = language_host_dir(bin_dir)
    OUT.mkdir(parents=True, exist_ok=True)
    index_path = OUT / "INDEX.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    from mssp.plan.command import build_manifest

    outputs = build_manifest("mssp", PROJECT_DIR)["outputs"]
    suffix = "provider-missing" if host else "no-language-host"
    for stack in example_stacks():
        with tempfile.TemporaryDirectory() as tmp:
            ws = workspace(Path(tmp), bin_dir, host)
            ws.point_customers_at_file_backend()
            ws.import_platform(outputs)
            record(f"{stack}-{suffix}", ws, stack, ["--json", "--refresh"], host, index)
    if host:
        with tempfile.TemporaryDirectory() as tmp:
            record("numbers", workspace(Path(tmp), bin_dir, host, NUMBERS), "dev", ["--json"], host, index)
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    print(f"wrote {len(index)} fixture(s) to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
