"""The real Pulumi CLI with the program's Python language host attached in-process (`testing/bin/pulumi`).

`pulumi-language-python`, the plugin the CLI normally starts to run a Python program, cannot be had on
this machine (its Go module is not served by the module proxy; tests/realcli/realcli_support.py). The
Automation API in the pinned `pulumi` package runs programs without it: it serves the language runtime
gRPC interface from its own process (pulumi.automation._server.LanguageServer) and hands the CLI its
address with the `--client` flag, which `up`, `preview`, `refresh` and `destroy` accept
(pulumi/pulumi pkg/cmd/pulumi/operations/{up,preview,refresh,destroy}.go; io.go readProjectForUpdate:
"the returned project will always have the runtime set to \"client\""), and `--exec-kind inline`
(pulumi/automation/_stack.py, Stack.up). This module does exactly that, with the program being the
project's own __main__.py run unchanged (runpy), so any caller that runs `pulumi ...` (the tests,
`mssp drift`, `mssp offboard --execute`) drives the real engine.

Usage: python -m testing.engine_host <real pulumi> <pulumi args...>   (cwd: the project folder)
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

NEEDS_PROGRAM = frozenset({"up", "update", "preview", "pre", "refresh", "destroy", "down"})


def project_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise SystemExit(f"testing/engine_host: no Pulumi.yaml in {start} or above")


def program_of(root: Path) -> Callable[[], None]:
    def program() -> None:
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")
    return program


def main(argv: list[str]) -> int:
    real, args = argv[0], argv[1:]
    command = next((a for a in args if not a.startswith("-")), "")
    if command not in NEEDS_PROGRAM:
        return subprocess.run([real, *args], check=False).returncode
    import grpc
    from pulumi.automation._server import LanguageServer
    from pulumi.runtime.proto import language_pb2_grpc

    root = project_root(Path.cwd())
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageServer(program_of(root)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        return subprocess.run([real, *args, f"--client=127.0.0.1:{port}", "--exec-kind", "inline"],
                              check=False, env=env).returncode
    finally:
        server.stop(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
