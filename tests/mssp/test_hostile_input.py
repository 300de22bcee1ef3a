"""Hostile and huge input to every command (issue #23): alias bombs, recursive aliases, deep nesting, huge files,
conflict markers, symbolic links. Each is refused with the documented exit code and a message naming the file,
within bounded memory: the memory-sensitive cases run in a subprocess under RLIMIT_AS (a limit, not a timing)."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_DIR

from components.facts import documents

# Far below what expanding a 9**9-leaf alias bomb needs (many GiB), well above what a plan needs (about 400 MiB
# of address space): a command that expands the bomb dies with MemoryError (exit 70) or is killed.
MEMORY_LIMIT = 1536 * 1024 * 1024
CPU_SECONDS = 120


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def run_limited(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`python -m mssp ARGV` in a subprocess with an address-space and CPU-time limit."""
    return subprocess.run([sys.executable, "-m", "mssp", *argv], cwd=PROJECT_DIR, capture_output=True, text=True,
                          preexec_fn=_limited, timeout=600, check=False)


def bomb(levels: int = 9, indent: str = "    ") -> str:
    """Billion laughs: each anchor is a list of nine aliases of the previous one (9**levels leaves)."""
    lines = [f"{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{indent}a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _contoso_with(extra: str, where: str = "config:\n") -> str:
    text = (PROJECT_DIR / "stacks" / "Pulumi.contoso.yaml").read_text()
    assert where in text
    return text.replace(where, where + extra, 1)


def project_with(tmp_path: Path, contoso: str | None = None, inventory: str | None = None) -> Path:
    """Pulumi.yaml and a copy of stacks/ in tmp_path, with contoso's stack file or inventory replaced."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(PROJECT_DIR / "stacks", tmp_path / "stacks")
    if contoso is not None:
        (tmp_path / "stacks" / "Pulumi.contoso.yaml").write_text(contoso)
    if inventory is not None:
        (tmp_path / "stacks" / "inventories" / "contoso.yaml").write_text(inventory)
    return tmp_path


def _assert_refused(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr and "This is a bug" not in proc.stderr, proc.stderr[-3000:]
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr[-3000:])
    assert len(proc.stderr) < 20_000


# --- alias bombs: every command that reads stack files ---------------------------------------------------

# Another provider's namespace (the JSON conversion of config values expanded it until killed), the project's
# own section, and a key the project does not know.
BOMB_PLACES = {
    "azure-native:tags": ("config:\n", "  azure-native:tags:\n" + bomb()),
    "customer section": ("    displayName: Contoso Ltd\n", "    extra:\n" + bomb(indent="      ")),
    "unknown project key": ("config:\n", "  mssp-sentinel:junk:\n" + bomb()),
}


@pytest.mark.parametrize("place", sorted(BOMB_PLACES))
def test_plan_refuses_an_alias_bomb_anywhere_in_a_stack_file_within_bounded_memory(tmp_path: Path, place: str) -> None:
    where, extra = BOMB_PLACES[place]
    path = tmp_path / "Pulumi.contoso.yaml"
    path.write_text(_contoso_with(extra, where))
    out = tmp_path / "plan.json"
    proc = run_limited(["plan", "contoso", "--config", str(path), "--json", str(out)])
    _assert_refused(proc, 2, str(path), "alias bomb", "docs/input-limits.md")
    assert not out.exists()  # nothing written


@pytest.mark.parametrize("argv", [
    ["discover", "contoso"], ["drift", "contoso", "--settings"], ["health", "contoso"], ["offboard", "contoso"],
    ["report", "--out", "{tmp}/report"], ["template", "contoso", "--out", "{tmp}/template"],
])
def test_every_command_that_reads_stack_files_refuses_an_alias_bomb(tmp_path: Path, argv: list[str]) -> None:
    project = project_with(tmp_path / "p", contoso=_contoso_with("  azure-native:tags:\n" + bomb()))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "template":  # template reads the project's own stacks/; give it the file
        argv += ["--config", str(project / "stacks" / "Pulumi.contoso.yaml")]
    else:
        argv += ["--project-dir", str(project)]
    proc = run_limited(argv)
    _assert_refused(proc, 2, "Pulumi.contoso.yaml", "alias bomb")
    assert not (tmp_path / "report").exists() and not (tmp_path / "template").exists()


def test_an_alias_bomb_in_an_inventory_is_refused(tmp_path: Path) -> None:
    project = project_with(tmp_path, inventory="resources: []\nx:\n" + bomb(indent="  "))
    proc = run_limited(["health", "contoso", "--project-dir", str(project)])
    _assert_refused(proc, 2, "inventories/contoso.yaml", "alias bomb")


# --- recursive aliases, deep nesting, huge files ---------------------------------------------------------

@pytest.mark.parametrize(("extra", "needle"), [
    ("  azure-native:tags: &r {self: *r}\n", "recursive alias *r"),
    ("  azure-native:tags: &r [x, *r]\n", "recursive alias *r"),
    ("  azure-native:tags: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than"),  # libyaml segfaulted
    ("  azure-native:tags:\n" + "".join("  " * (i + 2) + f"k{i}:\n" for i in range(300)) + "      v: 1\n",
     "nested more than"),
])
def test_recursive_aliases_and_deep_yaml_are_clean_errors(tmp_path: Path, extra: str, needle: str) -> None:
    path = tmp_path / "Pulumi.contoso.yaml"
    path.write_text(_contoso_with(extra))
    proc = run_limited(["plan", "contoso", "--config", str(path)])
    _assert_refused(proc, 2, str(path), needle)


def _deep_json(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_deep_json_is_a_clean_error_in_diff_drift_and_report(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"stack": "contoso", "resources": ' + _deep_json(50_000) + ', "policies": []}')
    manifest = tmp_path / "m.json"
    manifest.write_text('{"stack": "contoso", "resources": [], "policies": [], "outputs": ' + "{\"a\":" * 200
                        + "1" + "}" * 200 + "}")
    for argv, code in (
        (["diff", str(deep), str(deep)], 2),
        (["diff", str(manifest), str(manifest)], 2),
        (["drift", "contoso", "--from-json", str(deep)], 1),
        (["report", "--out", str(tmp_path / "r"), "--health", str(deep)], 2),
    ):
        proc = run_limited(argv)
        _assert_refused(proc, code, "nested more than")
        assert str(deep) in proc.stderr or str(manifest) in proc.stderr


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def test_huge_files_are_refused_before_they_are_read(tmp_path: Path, run_cli: Any) -> None:
    stack = _sparse(tmp_path / "Pulumi.contoso.yaml", documents.MAX_YAML_BYTES + 1)
    code, _, err = run_cli(["plan", "contoso", "--config", str(stack)])
    assert code == 2 and str(stack) in err and "at most 16 MiB" in err
    big = _sparse(tmp_path / "big.json", documents.MAX_JSON_BYTES + 1)
    for argv, want in ((["diff", str(big), str(big)], 2), (["drift", "contoso", "--from-json", str(big)], 1),
                       (["report", "--out", str(tmp_path / "r"), "--drift", str(big)], 2)):
        code, _, err = run_cli(argv)
        assert code == want and str(big) in err and "at most 64 MiB" in err, err
        assert "Traceback" not in err
    project = project_with(tmp_path / "p")
    _sparse(project / "stacks" / "inventories" / "contoso.yaml", documents.MAX_YAML_BYTES + 1)
    code, _, err = run_cli(["offboard", "contoso", "--project-dir", str(project)])
    assert code == 2 and "inventories/contoso.yaml" in err and "at most 16 MiB" in err


# --- conflict markers and symbolic links ---------------------------------------------------------------

def test_git_conflict_markers_are_named_as_a_merge_conflict_on_their_line(tmp_path: Path, run_cli: Any) -> None:
    text = (PROJECT_DIR / "stacks" / "Pulumi.contoso.yaml").read_text()
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "displayName: Contoso Ltd" in line)
    conflicted = "".join([*lines[:at], "<<<<<<< HEAD\n", lines[at], "=======\n",
                          "    displayName: Contoso Limited\n", ">>>>>>> feature\n", *lines[at + 1:]])
    path = tmp_path / "Pulumi.contoso.yaml"
    path.write_text(conflicted)
    code, _, err = run_cli(["plan", "contoso", "--config", str(path)])
    assert code == 2 and f"line {at + 1}" in err and "merge conflict" in err, err
    # The same in an inventory, and in a JSON document.
    project = project_with(tmp_path / "p", inventory="resources: []\n=======\n")
    code, _, err = run_cli(["health", "contoso", "--project-dir", str(project)])
    assert code == 2 and "merge conflict" in err and "line 2" in err, err
    manifest = tmp_path / "m.json"
    manifest.write_text('{"stack": "contoso",\n>>>>>>> theirs\n"resources": []}')
    code, _, err = run_cli(["diff", str(manifest), str(manifest)])
    assert code == 2 and "merge conflict" in err and "line 2" in err, err


def test_a_symlinked_inventory_is_named_as_a_link_to_its_target(tmp_path: Path, run_cli: Any) -> None:
    project = project_with(tmp_path)
    inventory = project / "stacks" / "inventories" / "contoso.yaml"
    inventory.unlink()
    inventory.symlink_to(project / "stacks" / "inventories" / "gone.yaml")
    code, _, err = run_cli(["health", "contoso", "--project-dir", str(project)])
    assert code == 2 and "contoso.yaml is a symbolic link to" in err and "gone.yaml" in err, err
    # A link to a file that exists is refused the same way (data by construction), still naming the target.
    (project / "stacks" / "inventories" / "gone.yaml").write_text("resources: []\n")
    code, _, err = run_cli(["health", "contoso", "--project-dir", str(project)])
    assert code == 2 and "contoso.yaml is a symbolic link to" in err and "gone.yaml" in err, err


def test_documents_recognises_each_kind_it_names() -> None:
    from mssp import documents as kinds

    manifest = json.loads((PROJECT_DIR / "tests" / "fixtures" / "preview" / "clean.json").read_text())
    assert kinds.kind_of(manifest) == "preview"
    assert kinds.kind_of({"stack": "c", "resources": [], "policies": [], "outputs": {}}) == "manifest"
    assert kinds.kind_of({"stack": "c", "status": "clean", "exitCode": 0, "summary": {}, "source": {}}) == "drift"
    assert kinds.kind_of({"stack": "c", "status": "healthy", "exitCode": 0, "window": {}}) == "health"
    assert kinds.kind_of({"resources": [{"id": "/subscriptions/x", "type": "t"}]}) == "inventory"
    assert kinds.kind_of({"unknown": 1}) is None and kinds.kind_of([]) is None


# --- exit codes and transport (issue #23, class 4) -----------------------------------------------------

@pytest.mark.parametrize("endpoint", [
    "http://api.loganalytics.io", "http://127.0.0.1:9", "HTTP://api.loganalytics.io/", "ftp://api.loganalytics.io",
    "api.loganalytics.io", "https://user:pw@api.loganalytics.io", "https://api.loganalytics.io/?x=1", "https://:9",
])
def test_health_refuses_any_endpoint_that_is_not_plain_https(run_cli: Any, monkeypatch: pytest.MonkeyPatch,
                                                             endpoint: str) -> None:
    # Bug: http:// switched azure-core's https check off and would have sent the bearer token in clear.
    asked: list[str] = []
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **_: asked.append("token") or None)
    code, _, err = run_cli(["health", "contoso", "--endpoint", endpoint])
    assert code == 2 and "--endpoint" in err and "allowed: an https:// endpoint" in err, err
    assert not asked  # refused before any credential is made
    monkeypatch.setenv("MSSP_LOGANALYTICS_ENDPOINT", endpoint)
    code, _, err = run_cli(["health", "contoso"])
    assert code == 2 and "$MSSP_LOGANALYTICS_ENDPOINT" in err, err


@pytest.mark.parametrize("argv", [["discover", "contoso"], ["offboard", "contoso", "--verify-only"]])
def test_arm_endpoints_must_be_https_too(run_cli: Any, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setenv("MSSP_ARM_ENDPOINT", "http://management.azure.com")
    monkeypatch.setattr("mssp.azure.rest.default_token_provider", lambda *a, **k: pytest.fail("asked for a token"))
    code, _, err = run_cli(argv)
    assert code == 2 and "$MSSP_ARM_ENDPOINT" in err and "in clear" in err, err


@pytest.mark.parametrize(("url", "timeout", "needle"), [
    ("https://portal.azure.com/#@contoso.onmicrosoft.com/resource/subscriptions/x/resourceGroups/rg/providers/"
     "Microsoft.Logic/workflows/wf/logicApp", "10", "Azure portal link"),
    ("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?api-version=2016-10-01"
     "&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0", "10", "no `sig` parameter"),
    ("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=", "10",
     "no `sig` parameter"),
    ("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke#sig=abc", "10",
     "no `sig` parameter"),
    ("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=abc", "0", "--timeout"),
    ("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=abc", "-5", "--timeout"),
    ("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=abc", "nan", "--timeout"),
])
def test_splunk_ping_usage_mistakes_exit_2_with_a_hint(run_cli: Any, monkeypatch: pytest.MonkeyPatch, url: str,
                                                       timeout: str, needle: str) -> None:
    import mssp.splunk.ping as ping

    monkeypatch.setattr(ping, "post", lambda *a: pytest.fail("nothing may be sent"))
    code, _, err = run_cli(["splunk-ping", "contoso", "--url", url, "--timeout", timeout])
    assert code == 2 and needle in err and "allowed" in err, err
    assert "could not reach" not in err and "sig=abc" not in err


@pytest.mark.parametrize("argv", [
    ["template", "contoso", "--out", "{file}"], ["report", "--out", "{file}"],
    ["plan", "contoso", "fabrikam", "--out-dir", "{file}"], ["plan", "contoso", "--json", "{file}/x.json"],
    ["plan", "contoso", "--markdown", "{dir}"], ["drift", "contoso", "--from-json", "{preview}", "--json", "{dir}"],
    ["health", "contoso", "--markdown", "{file}/x.md"], ["offboard", "contoso", "--json", "{dir}"],
    ["discover", "contoso", "--import-file", "{dir}"],
])
def test_an_output_path_of_the_wrong_kind_is_a_usage_error_before_any_work(run_cli: Any, tmp_path: Path,
                                                                            argv: list[str]) -> None:
    file = tmp_path / "a-file"
    file.write_text("keep me\n")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    preview = PROJECT_DIR / "tests" / "fixtures" / "preview" / "clean.json"
    argv = [a.format(file=file, dir=folder, preview=preview) for a in argv]
    code, out, err = run_cli(argv)
    assert code == 2, err
    assert "is a file" in err or "is a folder" in err, err
    assert file.read_text() == "keep me\n" and list(folder.iterdir()) == []
    assert not out.strip()  # refused before the command printed anything


@pytest.mark.parametrize("argv", [
    ["discover", "{stack}"], ["health", "{stack}"], ["offboard", "{stack}"], ["report", "--stack", "{stack}"],
    ["drift", "{stack}"], ["plan", "{stack}"], ["template", "{stack}", "--out", "/tmp/mssp-never"],
])
@pytest.mark.parametrize("stack", ["nosuch", "stacks/Pulumi.contoso.yaml", "Pulumi.contoso.yaml"])
def test_an_unknown_stack_lists_the_known_ones_and_a_path_is_named_as_one(run_cli: Any, argv: list[str],
                                                                          stack: str) -> None:
    code, _, err = run_cli([a.format(stack=stack) for a in argv])
    assert code == 2, err
    assert "contoso" in err and "fabrikam" in err and "allowed: one of these" in err, err
    if stack != "nosuch" and argv[0] != "report":
        assert "is a file path, but STACK is a stack name" in err, err


# --- sign-in failures (issue #23, class 5) -------------------------------------------------------------

# What DefaultAzureCredential raises when no source gives a token (azure-identity 1.x's text, abridged).
CHAIN = ("DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n"
         "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not "
         "fully configured.\nVisit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to "
         "troubleshoot this issue.\n\tManagedIdentityCredential: ManagedIdentityCredential authentication "
         "unavailable.\n\tAzureCliCredential: Azure CLI not found on path\n\tAzurePowerShellCredential: PowerShell "
         "is not installed\nTo mitigate this issue, please refer to the troubleshooting guidelines here at "
         "https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot.")


class _NoSignIn:
    def __init__(self, **_: Any) -> None:
        pass

    def get_token(self, *_: Any, **__: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(message=CHAIN)

    def get_token_info(self, *_: Any, **__: Any) -> Any:
        return self.get_token()


@pytest.mark.parametrize("argv", [
    ["health", "contoso", "--endpoint", "https://api.loganalytics.io"],
    ["drift", "contoso", "--settings"],
    ["discover", "contoso"],
])
def test_a_failed_sign_in_is_one_paragraph_naming_the_sources_tried(run_cli: Any, monkeypatch: pytest.MonkeyPatch,
                                                                    argv: list[str], tmp_path: Path) -> None:
    # Bugs: health printed "<class 'azure.monitor.query._exceptions.LogsQueryError'>" after azure-identity's
    # 14-line chain; drift --settings said it had read 19 settings when it read none.
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", _NoSignIn)
    code, out, err = run_cli([*argv] + (["--project-dir", str(project_with(tmp_path))] if argv[0] == "discover"
                                        else []))
    assert code == 1, err
    assert "<class" not in err + out and "Attempted credentials" not in err and "Traceback" not in err
    paragraph = next(line for line in err.splitlines() if "signing in to" in line)
    assert "failed" in paragraph and "environment variables" in paragraph and "managed identity" in paragraph
    assert "Azure CLI" in paragraph and "`az login`" in paragraph
    assert len(err.splitlines()) <= 3
    assert "settings read with" not in out


def test_repeated_errors_are_capped_and_summarised(run_cli: Any, tmp_path: Path) -> None:
    # Bug: an inventory exported with extra fields printed one "unknown key" per entry (1.6 million characters).
    sub = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
    rows = "".join(f"- id: /subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv{i:05d}\n"
                   f"  type: Microsoft.KeyVault/vaults\n  location: westeurope\n" for i in range(3000))
    project = project_with(tmp_path, inventory="resources:\n" + rows)
    code, _, err = run_cli(["health", "contoso", "--project-dir", str(project)])
    assert code == 2
    assert len(err) < 6000, len(err)
    assert "and 2,980 more problems" in err and "2,980 x unknown key; allowed keys: id, type, kind" in err, err
    assert err.count("unknown key") == 21  # twenty listed, one summary line


# --- progress (issue #23, class 6) ---------------------------------------------------------------------

def test_long_commands_say_what_they_do_on_stderr_only(run_cli: Any, tmp_path: Path) -> None:
    code, out, err = run_cli(["report", "--out", str(tmp_path / "r")])
    assert code == 0, err
    customers = [line for line in err.splitlines() if line.startswith("report: planning customer ")]
    assert len(customers) >= 2 and customers[0].startswith("report: planning customer 1/") and "contoso" in err, err
    assert "planning" not in out  # stdout and the written files stay the report's
    assert "planning" not in (tmp_path / "r" / "coverage.json").read_text()


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf"])
def test_drift_refuses_a_timeout_that_is_no_positive_number(run_cli: Any, timeout: str) -> None:
    code, _, err = run_cli(["drift", "contoso", "--timeout", timeout])
    assert code == 2 and "--timeout" in err and "above 0" in err, err


@pytest.mark.parametrize(("argv", "needle"), [
    (["usage", "contoso", "--from", "2026-01-01", "--to", "2026-01-02", "--endpoint", "http://api.loganalytics.io"],
     "in clear"),
    (["usage", "contoso", "--from", "2026-01-01", "--to", "2026-01-02", "--out", "{dir}"], "is a folder"),
    (["usage", "nosuch", "--from", "2026-01-01", "--to", "2026-01-02"], "allowed: one of these"),
])
def test_usage_is_held_to_the_same_rules(run_cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         argv: list[str], needle: str) -> None:
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **_: pytest.fail("no token may be asked for"))
    code, _, err = run_cli([a.format(dir=tmp_path) for a in argv])
    assert code == 2 and needle in err, err


def test_usage_out_is_a_file_and_may_replace_one(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `usage --out FILE` writes a file: an existing file there is replaced, not refused as "a file" (as a folder
    # option would be).
    from mssp.output import check_outputs

    existing = tmp_path / "usage.md"
    existing.write_text("old\n")
    args = type("Args", (), {"command": "usage", "out": existing})()
    check_outputs(args)  # no UserError
