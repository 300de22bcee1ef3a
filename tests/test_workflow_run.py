"""pr.yml's jobs run as written against hostile pull requests (issue 20, "what will be checked").

A small local runner (below) executes the workflow file itself: each job in `needs` order with its `if:`,
each step's `if:`, `env:` and `${{ }}` expressions, every `run:` script with bash as GitHub runs it
(`bash -eo pipefail`, $GITHUB_OUTPUT, $RUNNER_TEMP), and the actions the jobs use as what they do to the
job's files: checkout (a clone at HEAD), artifacts (folders passed between jobs), cache restore (a
folder the test seeds). It is a stand-in for GitHub's runner, named as one: what it cannot show (the
runner's own memory, GitHub's token handling) is checked statically in tests/test_workflows.py.
`pulumi/actions` and `actions/github-script` are recorded, not run (no Pulumi backend, no GitHub API).
The `test` job is not run (it is the PR's own test suite; it holds nothing, which is checked statically).

The pull request's code leaves a record whenever it runs: which job's folder it ran in, and whether any
secret of the workflow was in its environment or in the environment of any process above it (/proc:
"readable through /proc" was how the reported attack read the cache key).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PR_YML = ROOT / ".github" / "workflows" / "pr.yml"
SECRET_MARK = "SECRET-VALUE-"
REPOSITORY = "acme-mssp/mssp-sentinel"
_CONTEXT = re.compile(r"\b(github|needs|vars|secrets|steps|matrix|runner|env|inputs)((?:\.[A-Za-z0-9_-]+)+)")
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "-c", "commit.gpgsign=false", *args], check=True, capture_output=True, text=True,
                          timeout=120).stdout


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


class Job:
    """One job's run: its folders, environment, step outputs and what it held."""

    def __init__(self, runner: LocalRunner, name: str, spec: dict[str, Any], matrix: dict[str, Any]):
        self.runner, self.name, self.spec, self.matrix = runner, name, spec, matrix
        self.root = runner.tmp / "jobs" / (name + "".join(f"-{v}" for v in matrix.values()))
        self.workspace, self.temp, self.home = self.root / "workspace", self.root / "temp", self.root / "home"
        for d in (self.workspace, self.temp, self.home):
            d.mkdir(parents=True)
        self.env: dict[str, str] = {}
        self.steps: dict[str, dict[str, str]] = {}
        self.outputs: dict[str, str] = {}
        self.secrets_seen: set[str] = set()
        self.failed = False

    # ---- expressions ----
    def context(self, path: str) -> Any:
        r = self.runner
        parts = path.split(".")
        head, rest = parts[0], parts[1:]
        if head == "secrets":
            self.secrets_seen.add(rest[0])
            return SECRET_MARK + rest[0]
        if head == "vars":
            return r.variables.get(rest[0], "")
        if head == "runner" and rest == ["temp"]:
            return str(self.temp)
        if head == "matrix":
            return self.matrix.get(rest[0], "")
        if head == "env":
            return self.env.get(rest[0], "")
        if head == "needs":
            job = r.jobs.get(rest[0])
            if job is None:
                return ""
            return job.result if rest[1] == "result" else job.outputs.get(rest[2], "")
        if head == "steps":
            return self.steps.get(rest[0], {}).get(rest[2], "")
        if head == "github":
            github = {"sha": r.head, "repository": REPOSITORY, "workspace": str(self.workspace),
                      "event.pull_request.base.sha": r.base, "event.pull_request.number": "7",
                      "event.pull_request.head.repo.full_name": REPOSITORY, "event_name": "pull_request",
                      "event.repository.default_branch": "main", "server_url": "https://github.com",
                      "run_id": "1", "token": SECRET_MARK + "GITHUB_TOKEN"}
            key = ".".join(rest)
            if key == "token":
                self.secrets_seen.add("GITHUB_TOKEN")
            return github.get(key, "")
        raise AssertionError(f"context {path} not simulated")

    def evaluate(self, expr: str) -> Any:
        py = _CONTEXT.sub(lambda m: f"_c({m.group(0)!r})", expr)
        py = py.replace("&&", " and ").replace("||", " or ")
        py = re.sub(r"!(?!=)", " not ", py)
        names: dict[str, Callable[..., Any]] = {
            "_c": self.context, "cancelled": lambda: False, "always": lambda: True, "fromJSON": json.loads,
            "success": lambda: not self.failed, "failure": lambda: self.failed,
            "format": lambda f, *a: f.format(*map(_text, a)),
        }
        return eval(py, {"__builtins__": {}}, names)  # the expressions of this repository's workflow file

    def expand(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = _EXPR.fullmatch(value.strip())
            if whole:
                return _text(self.evaluate(whole.group(1)))
            return _EXPR.sub(lambda m: _text(self.evaluate(m.group(1))), value)
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        return value

    def condition(self, raw: Any, default: bool) -> bool:
        if raw is None:
            return default
        text = str(raw).strip()
        m = _EXPR.fullmatch(text)
        return bool(self.evaluate(m.group(1) if m else text))

    # ---- steps ----
    def run(self) -> None:
        self.env = {k: _text(v) for k, v in self.expand(self.spec.get("env", {})).items()}
        for step in self.spec.get("steps", []):
            if not self.condition(step.get("if"), not self.failed):
                continue
            try:
                self.step(step)
            except subprocess.CalledProcessError:
                self.failed = True
        for key, value in (self.spec.get("outputs") or {}).items():
            self.outputs[key] = self.expand(value)

    def step(self, step: dict[str, Any]) -> None:
        env = {**self.env, **{k: _text(v) for k, v in self.expand(step.get("env", {})).items()}}
        uses = str(step.get("uses", "")).split("@")[0]
        with_ = self.expand(step.get("with", {}))
        if "run" in step:
            return self.shell(step, env)
        if uses == "actions/checkout":
            dest = self.workspace / with_.get("path", "") if with_.get("path") else self.workspace
            if dest.exists():
                shutil.rmtree(dest)
            subprocess.run(["git", "clone", "-q", "--no-local", str(self.runner.repo), str(dest)], check=True,
                           capture_output=True, timeout=120)
            _git(dest, "checkout", "-q", "--detach", with_.get("ref") or self.runner.head)
        elif uses == "actions/setup-python":
            pass  # the test's Python is on PATH
        elif uses == "actions/upload-artifact":
            src = Path(with_["path"]) if Path(with_["path"]).is_absolute() else self.workspace / with_["path"]
            if src.exists():
                dest = self.runner.tmp / "artifacts" / with_["name"]
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(src, dest)
        elif uses == "actions/download-artifact":
            src = self.runner.tmp / "artifacts" / with_["name"]
            if not src.exists():
                raise subprocess.CalledProcessError(1, "download-artifact")
            dest = Path(with_["path"]) if Path(with_["path"]).is_absolute() else self.workspace / with_["path"]
            shutil.copytree(src, dest, dirs_exist_ok=True)
        elif uses == "actions/cache/restore":
            dest = Path(with_["path"].replace("~", str(self.home), 1))
            shutil.copytree(self.runner.cache_seed, dest, dirs_exist_ok=True)
        elif uses in ("pulumi/actions", "actions/github-script"):
            self.runner.recorded.append((self.name, uses, with_, env))
        else:
            raise AssertionError(f"action {uses} not simulated")
        return None

    def shell(self, step: dict[str, Any], env: dict[str, str]) -> None:
        output = self.temp / f"output-{len(self.steps)}"
        output.write_text("")
        full = {"PATH": self.runner.path, "HOME": str(self.home), "LANG": "C.UTF-8", "GITHUB_WORKSPACE":
                str(self.workspace), "RUNNER_TEMP": str(self.temp), "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(self.temp / "summary.md"), "CI": "true", "GITHUB_ACTIONS": "true",
                "MSSP_WORK_RECORD": str(self.runner.record), **env}
        script = self.expand(step["run"])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=self.workspace,
                              env=full, capture_output=True, text=True, timeout=900, check=False)
        self.runner.logs.append(f"== {self.name}: {script[:80]!r} -> {proc.returncode}\n{proc.stdout[-3000:]}"
                                f"{proc.stderr[-3000:]}")
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        if step.get("id"):
            self.steps[step["id"]] = outputs
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, script)

    @property
    def result(self) -> str:
        return "failure" if self.failed else "success"


class SkippedJob:
    result = "skipped"

    def __init__(self) -> None:
        self.outputs: dict[str, str] = {}


class LocalRunner:
    """pr.yml's jobs, in `needs` order (a stand-in for GitHub's runner; see the module docstring)."""

    def __init__(self, tmp: Path, repo: Path, base: str, head: str, cache_seed: Path, variables: dict[str, str]):
        self.tmp, self.repo, self.base, self.head, self.cache_seed = tmp, repo, base, head, cache_seed
        self.variables = variables
        self.record = tmp / "pr-code-ran.jsonl"
        self.jobs: dict[str, Any] = {}
        self.recorded: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
        self.logs: list[str] = []
        self.path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])

    def run(self, skip: set[str]) -> None:
        spec = yaml.safe_load(PR_YML.read_text())["jobs"]
        todo = [n for n in spec if n not in skip]
        for n in skip:
            self.jobs[n] = SkippedJob()
        while todo:
            ready = [n for n in todo if all(d in self.jobs for d in _needs(spec[n]))]
            assert ready, f"cycle in needs: {todo}"
            for name in ready:
                todo.remove(name)
                self.jobs[name] = self.run_job(name, spec[name])

    def run_job(self, name: str, spec: dict[str, Any]) -> Any:
        probe = Job(self, name + "-if", spec, {})
        needs_ok = all(self.jobs[d].result == "success" for d in _needs(spec))
        if not probe.condition(spec.get("if"), needs_ok):
            return SkippedJob()
        matrix = (spec.get("strategy") or {}).get("matrix")
        if matrix:
            (key, values), = matrix.items()
            values = json.loads(probe.expand(values)) if isinstance(values, str) else values
            runs = []
            for value in values:
                job = Job(self, name, spec, {key: value})
                job.run()
                runs.append(job)
            return runs[0] if runs else SkippedJob()
        job = Job(self, name, spec, {})
        job.run()
        return job

    def pr_code_records(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]

    def job_of(self, folder: str) -> str:
        rel = Path(folder).resolve().relative_to((self.tmp / "jobs").resolve())
        return rel.parts[0]


def _needs(spec: dict[str, Any]) -> list[str]:
    needs = spec.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


# What the pull request's code does when Python imports it: say where it ran and what it could see.
SPY = '''
import json as _json, os as _os
def _spy():
    seen, pid = [], _os.getpid()
    while pid > 1:
        try:
            data = open(f"/proc/{pid}/environ", "rb").read().decode("utf-8", "replace")
            ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        seen += [kv.split("=", 1)[0] for kv in data.split("\\0") if "SECRET-VALUE-" in kv]
        pid = ppid
    record = _os.environ.get("MSSP_WORK_RECORD") or RECORD
    with open(record, "a") as f:
        f.write(_json.dumps({"cwd": _os.getcwd(), "secrets": sorted(set(seen))}) + "\\n")
RECORD = "@RECORD@"
_spy()
'''


def _project(dest: Path) -> Path:
    from conftest import copy_project

    copy_project(dest, ("components", "mssp", "policies", "stacks", "__main__.py", "Pulumi.yaml"))
    for name in ("dev", "requirements.txt", "requirements-dev.txt", "requirements.lock", "requirements-dev.lock",
                 "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    # ./dev uses the project's .venv and installs into it when the requirements' hash is not its stamp. The
    # test gives it a view of the test's own environment instead (python, pyvenv.cfg, lib: links), stamped
    # with the hash ./dev computes, committed as a link in this test repository only: ./dev installs nothing.
    import hashlib

    env = Path(sys.prefix)
    if not (env / "pyvenv.cfg").exists() or not (env / "bin" / "python").exists():
        pytest.skip("the tests do not run in a virtual environment (./dev needs one to use)")
    view = dest.parent / "venv-view"
    (view / "bin").mkdir(parents=True)
    (view / "bin" / "python").symlink_to(env / "bin" / "python")
    (view / "lib").symlink_to(env / "lib")
    shutil.copy(env / "pyvenv.cfg", view / "pyvenv.cfg")
    want = hashlib.sha256(b"".join((dest / n).read_bytes() for n in (
        "requirements.txt", "requirements-dev.txt", "requirements.lock", "requirements-dev.lock"))).hexdigest()
    (view / ".requirements.sha256").write_text(want + "\n")
    (dest / ".venv").symlink_to(view)
    return dest


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A", "--force")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = _project(tmp_path_factory.mktemp("wf") / "repo")
    _git(repo, "init", "-q", "-b", "main")
    return repo, _commit(repo, "base")


def _assert_pr_code_held_nothing(runner: LocalRunner) -> set[str]:
    """Every place the PR's code ran: a job that holds no secret, no write permission, no environment."""
    spec = yaml.safe_load(PR_YML.read_text())["jobs"]
    jobs = set()
    for rec in runner.pr_code_records():
        job = runner.job_of(rec["cwd"]) if str(runner.tmp / "jobs") in rec["cwd"] else "outside a job: " + rec["cwd"]
        jobs.add(job)
        assert rec["secrets"] == [], f"the PR's code could read {rec['secrets']} in job {job}"
        assert job in spec, job
        held = runner.jobs[job]
        assert held.secrets_seen == set(), (job, held.secrets_seen)
        perms = spec[job].get("permissions", {})
        assert all(v in ("read", "none") for v in perms.values()), (job, perms)
        assert "environment" not in spec[job], job
    return jobs


def test_a_code_change_naming_code_as_inventory_never_runs_in_a_job_that_holds_anything(
        base_repo: tuple[Path, str], tmp_path: Path) -> None:
    """The reported attack (inventory: mssp/__init__.py, that file edited to run), with a .gitattributes that
    hides the guardrail diff. The PR's code runs in plan-head only, where it holds nothing; the judge shows
    the rule change as text and runs none of it."""
    repo, base = base_repo
    _git(repo, "checkout", "-q", "-B", "attack", base)
    stack = repo / "stacks" / "Pulumi.contoso.yaml"
    stack.write_text(stack.read_text().replace("inventory: stacks/inventories/contoso.yaml", "inventory: mssp/__init__.py"))
    init = repo / "mssp" / "__init__.py"
    init.write_text(init.read_text() + SPY.replace("@RECORD@", str(tmp_path / "pr-code-ran.jsonl")))
    rules = repo / "policies" / "rules.py"
    rules.write_text(rules.read_text() + "\n# weakened by the pull request\n")
    (repo / ".gitattributes").write_text("policies/** -diff\nmssp/** -diff\n")
    head = _commit(repo, "onboarding tweak")
    _git(repo, "checkout", "-q", "main")

    runner = LocalRunner(tmp_path, repo, base, head, tmp_path / "seed", {"PREVIEW_ENABLED": "true"})
    (tmp_path / "seed").mkdir()
    runner.run(skip={"test"})
    logs = "\n".join(runner.logs)
    assert runner.jobs["scope"].outputs["head-runs-code"] == "true", logs
    ran = _assert_pr_code_held_nothing(runner)
    assert ran == {"plan-head"}, (ran, logs)  # it did run (the spy works), and only there
    assert isinstance(runner.jobs["preview"], SkippedJob)  # a code change: no real preview
    # The judge's report: its own output, the rule change in text despite the attributes.
    report = runner.jobs["plan-diff"].temp / "out" / "diff.md"
    assert report.exists(), logs
    text = report.read_text()
    assert "# weakened by the pull request" in text and "Binary files" not in text, text[:3000]


def test_a_data_only_change_is_previewed_by_the_base_program_and_a_poisoned_cache_is_not_believed(
        base_repo: tuple[Path, str], tmp_path: Path) -> None:
    """An onboarding change (stack file and inventory only): planned and previewed by the base's code, with
    the Pulumi secrets on the preview step only; cache entries a PR job could have written are not used."""
    from mssp.diff import cache
    from mssp.diff import command as diff

    repo, base = base_repo
    _git(repo, "checkout", "-q", "-B", "onboard", base)
    stack = repo / "stacks" / "Pulumi.contoso.yaml"
    text = stack.read_text()
    assert "offerName: Acme MSSP - Sentinel log forwarding" in text
    stack.write_text(text.replace("offerName: Acme MSSP - Sentinel log forwarding", "offerName: Acme MSSP - Sentinel"))
    head = _commit(repo, "rename contoso")
    _git(repo, "checkout", "-q", "main")
    # A PR job can save entries into this PR's cache scope: forged plans of the base under the judge's keys.
    seed = tmp_path / "seed"
    seed.mkdir()
    scope = diff.ref_scope(base, head, repo)
    infos = {s.name: s for s in scope.infos["base"]}
    forged = {"stack": "contoso", "commit": base, "manifest": {"stack": "contoso", "resources": [], "outputs": {}}}
    key = cache.plan_key(scope.blobs["base"], infos["contoso"], scope.infos["base"])
    (seed / f"{key}.json").write_text(json.dumps({**forged, "hmac": "0" * 64}))

    runner = LocalRunner(tmp_path, repo, base, head, seed, {"PREVIEW_ENABLED": "true"})
    runner.run(skip={"test"})
    logs = "\n".join(runner.logs)
    assert runner.jobs["scope"].outputs["head-runs-code"] == "false", logs
    assert isinstance(runner.jobs["plan-head"], SkippedJob)
    assert _assert_pr_code_held_nothing(runner) == set()
    report = json.loads((runner.jobs["plan-diff"].temp / "out" / "diff.json").read_text())
    assert report["cache"]["cached"] == {"base": 0, "head": 0}, logs  # the forged entry was a miss
    assert report["headPlans"]["source"] == "base-code"
    assert runner.jobs["plan-diff"].outputs["stacks"] == '["contoso"]', logs
    # The preview ran the base's program over the PR's stack file; its secrets were on that step only.
    (preview,) = [r for r in runner.recorded if r[1] == "pulumi/actions"]
    _, _, with_, env = preview
    work = Path(with_["work-dir"])
    changed = _git(work, "status", "--porcelain", "--untracked-files=no").split("\n")
    assert [c for c in changed if c.strip()] == [" M stacks/Pulumi.contoso.yaml"], changed
    assert "offerName: Acme MSSP - Sentinel\n" in (work / "stacks" / "Pulumi.contoso.yaml").read_text()
    assert _git(work, "rev-parse", "HEAD").strip() == base
    assert {k for k, v in env.items() if SECRET_MARK in v} == {"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"}
    assert runner.jobs["plan-diff"].secrets_seen == set() and runner.jobs["scope"].secrets_seen == set()
