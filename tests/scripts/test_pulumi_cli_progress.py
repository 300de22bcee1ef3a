"""scripts/pulumi-cli says what it does while it builds the Pulumi CLI (issue #23): the first `./dev test` was
silent for minutes and looked hung. Run against a stand-in `go` (named as one: it only writes a script that
reports the version), so the test takes seconds, not a real build."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from conftest import PROJECT_DIR

FAKE_GO = """#!/bin/sh
# Stand-in for the Go toolchain (tests only): `go list` answers the pinned version, `go build -o OUT` writes a
# script that reports it, after a pause long enough for two heartbeats.
case "$1" in
  list) echo "v$VERSION" ;;
  build)
    while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out=$2; shift; done
    sleep 2
    printf '#!/bin/sh\\necho v%s\\n' "$VERSION" > "$out"; chmod +x "$out" ;;
esac
"""


def test_a_build_says_what_it_does_how_long_it_takes_and_that_it_is_still_going(tmp_path: Path) -> None:
    version = (PROJECT_DIR / ".pulumi-version").read_text().strip()
    tools = tmp_path / "bin"
    tools.mkdir()
    go = tools / "go"
    go.write_text(FAKE_GO)
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(tmp_path), "MSSP_CACHE_DIR": str(tmp_path / "cache"),
           "MSSP_BUILD_HEARTBEAT_SECONDS": "0.5", "VERSION": version}
    proc = subprocess.run([str(PROJECT_DIR / "scripts" / "pulumi-cli")], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "cache" / "pulumi-cli" / f"v{version}" / "bin")  # stdout: the folder
    err = proc.stderr
    assert f"building pulumi {version}" in err and "about 7 minutes" in err
    assert "still building" in err, err  # the heartbeat
    assert f"built pulumi {version} in" in err
    # The second run finds the build and says nothing.
    again = subprocess.run([str(PROJECT_DIR / "scripts" / "pulumi-cli")], capture_output=True, text=True, env=env,
                           timeout=60, check=False)
    assert again.returncode == 0 and again.stderr == "" and again.stdout == proc.stdout
    assert not any(p.name.startswith("pulumi.") for p in Path(proc.stdout.strip()).iterdir())
    assert os.environ.get("MSSP_BUILD_HEARTBEAT_SECONDS") is None  # nothing leaked into this process
