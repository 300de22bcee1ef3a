"""Stack configuration, read and validated in one place into typed objects.

Both the Pulumi program (`__main__.py`) and the operator CLI (`python -m mssp plan`) load a stack
through here, so a bad key is reported the same way everywhere: its path, what is wrong, what is
allowed, before any resource is created. Components never read `pulumi.Config`.

A stack file holds the project's keys (`mssp-sentinel:kind`, `mssp-sentinel:platform` or
`mssp-sentinel:customer`). A customer stack is validated together with its platform stack's file
(found in the same stacks/ folder), so cross-stack mistakes such as a customer tenant equal to the
MSSP tenant are caught before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from components.config import fleet
from components.config.base import ConfigError, Model, issues_from
from components.config.customer import CustomerConfig
from components.config.itsm import host_problem, url_problem
from components.config.platform import PlatformConfig
from components.config.project import apply_project_config, load_project, stack_key
from components.facts import config_keys, data_paths, documents, strict_yaml
from components.facts.pulumi_tokens import DIAGNOSTIC_SETTING as _DIAGNOSTIC_SETTING
from components.facts.pulumi_tokens import SECRET as SECRET_PLACEHOLDER
from components.forwarding.inventory import InventoryError, InventoryItem, load_inventory

PROJECT = "mssp-sentinel"
KEYS: Mapping[str, type[Model] | None] = MappingProxyType(
    {"kind": None, "platform": PlatformConfig, "customer": CustomerConfig, "itsmCredential": None}
)
# Keys whose value is a credential: accepted only as Pulumi secrets (`pulumi config set --secret`), and
# only in the platform stack. Their values reach the program in LoadedStack.secret_values.
SECRET_KEYS: Mapping[str, str] = MappingProxyType(
    {"itsmCredential": "the ITSM credential (ServiceNow password, webhook secret or URL)"}
)

__all__ = [
    "PROJECT",
    "ConfigError",
    "CustomerConfig",
    "LoadedStack",
    "PlatformConfig",
    "load_stack",
    "load_stack_file",
    "parse_config",
    "stack_file",
    "stack_values",
]


@dataclass(frozen=True)
class LoadedStack:
    """A validated stack: its own settings and, for a customer, its platform's and its inventory."""

    stack: str
    kind: Literal["platform", "customer"]
    platform: PlatformConfig
    customer: CustomerConfig | None = None
    inventory: tuple[InventoryItem, ...] = ()
    inventory_path: Path | None = None
    secret_keys: frozenset[str] = field(default_factory=frozenset)
    # Logical name -> existing Azure name of diagnostic settings adopted by `mssp discover`.
    adopted_setting_names: Mapping[str, str] = field(default_factory=dict)
    # Values of SECRET_KEYS by short name ("itsmCredential"); never printed. Offline they are the
    # placeholder "[secret]" (the plan cannot decrypt); under the engine, the decrypted value.
    secret_values: Mapping[str, str] = field(default_factory=dict, repr=False)


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / "stacks" / f"Pulumi.{stack}.yaml"


def read_stack_values(path: Path, text: str | None = None) -> tuple[dict[str, Any], set[str]]:
    """The config values of a stack file, keyed as the CLI keys them, and which keys are Pulumi secrets.

    Keys are parsed as `pulumi` parses them (components.config.project.stack_key): a key without a
    namespace belongs to the project, so `kind:` is `mssp-sentinel:kind`; of two spellings of one
    key the later wins, as in the CLI. `secure:` values are ciphertext only the Pulumi CLI can
    decrypt; here they stand as the placeholder "[secret]" and their keys are marked secret, which
    is all validation needs. `text`: the file's content, when the caller has read it already.
    """
    try:
        doc = strict_yaml.load_file(path, "stack file") if text is None else strict_yaml.loads(text, str(path))
    except FileNotFoundError:
        raise ConfigError([(documents.describe(path), "stack file not found")]) from None
    except documents.DocumentError as exc:
        raise ConfigError([(_document_where(exc), exc.problem)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([(str(path), f"cannot read the stack file: {_read_problem(exc)}; "
                                       "allowed: a UTF-8 YAML file with a 'config' mapping")]) from None
    except strict_yaml.YamlKeyError as exc:
        raise ConfigError([(_config_key_path(where), f"{path} line {line}: {msg}")
                           for line, where, msg in exc.problems]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([(str(path), f"not valid YAML: {_yaml_problem(exc)}; allowed: a YAML "
                                       "mapping with a 'config' key (check the indentation near that line)")]) from None
    if doc is None:
        # Empty: no `kind`, which the project's rules report as the CLI does (missing configuration value).
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError([(str(path), f"a stack file is a mapping with a 'config' key (found {type(doc).__name__}); "
                                          f"allowed: a YAML mapping `config: {{{PROJECT}:kind: ..., ...}}`")])
    config = doc.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError([(f"{path}:config", f"expected a mapping of config keys (found {type(config).__name__}); "
                            f"allowed: a mapping, e.g. `config: {{{PROJECT}:kind: customer, ...}}`")])
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for raw_key, value in config.items():
        key = stack_key(PROJECT, raw_key, f"{path}:config")
        values.pop(key, None)
        secrets.discard(key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = SECRET_PLACEHOLDER
            secrets.add(key)
        else:
            values[key] = value
    return values, secrets


def stack_values(path: Path, project_dir: Path, stack: str) -> tuple[dict[str, Any], set[str]]:
    """A stack file's config as the engine hands it to the program: the CLI's rules applied
    (components.config.project), the project's defaults filled in; refused where `pulumi preview` refuses."""
    values, secrets = read_stack_values(path)
    return apply_project_config(load_project(project_dir), values, secrets, stack=stack, where=str(path)), secrets


def _document_where(exc: documents.DocumentError) -> str:
    return f"{exc.name} line {exc.line}" if exc.line is not None else exc.name


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: what and where, without PyYAML's multi-line excerpt (cut if huge)."""
    mark = getattr(exc, "problem_mark", None)
    problem = strict_yaml.shown(getattr(exc, "problem", None) or exc, 300)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def file_exists(path: Path) -> bool:
    """Path.exists() that answers False, not OSError, for a name the file system cannot even look up
    (ENAMETOOLONG): a user's absurd path is "not found", not a crash."""
    try:
        return path.exists()
    except OSError:
        return False


def _read_problem(exc: OSError | UnicodeDecodeError) -> str:
    """Why a file could not be read, in a user's words."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory, not a file"
    return exc.strerror or str(exc)


def _config_key_path(where: str) -> str:
    """`config.mssp-sentinel:customer.name` as the key path every other message uses (`customer.name`)."""
    return where.removeprefix("config.").removeprefix(f"{PROJECT}:")


def _section(values: Mapping[str, Any], key: str) -> Any:
    value = values.get(f"{PROJECT}:{key}")
    # Under the Pulumi engine, structured config arrives as JSON text.
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):  # not JSON, or nested past Python's limit: validated as text
            return value
    return value


def _validate(model: type[Model], data: Any, prefix: str) -> Any:
    if data is None:
        raise ConfigError([(prefix, "required key is missing")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(issues_from(exc, model, prefix)) from None


def _check_keys(values: Mapping[str, Any], kind: str) -> list[tuple[str, str]]:
    issues = []
    for key in values:
        namespace, _, name = key.partition(":")
        if namespace == PROJECT and name not in KEYS:
            issues.append((name, f"unknown key; allowed keys: {', '.join(KEYS)}"))
    other = "customer" if kind == "platform" else "platform"
    # Pulumi.yaml gives both sections the default {} (the CLI requires every declared key without a
    # default in every stack), so an empty one is the project default, not a misplaced section.
    if values.get(f"{PROJECT}:{other}") not in (None, {}, "{}"):
        issues.append((other, f"not allowed in a {kind} stack"))
    if kind == "customer":
        issues.extend((key, "not allowed in a customer stack (it belongs to the platform stack); allowed keys here: kind, customer")
                      for key in SECRET_KEYS if f"{PROJECT}:{key}" in values)
    return issues


def _secret_values(values: Mapping[str, Any], secret_keys: set[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The SECRET_KEYS values, and an issue for each one given as plain (non-secret) config."""
    found: dict[str, str] = {}
    issues: list[tuple[str, str]] = []
    for key, what in SECRET_KEYS.items():
        full = f"{PROJECT}:{key}"
        if full not in values:
            continue
        if full not in secret_keys:
            issues.append((key, f"{what} is given as plain config; it must be a secret: "
                                f"`pulumi config set --secret {key} <value>` (then rotate it: it was in plain text); "
                                "allowed: a secure: value only"))
        else:
            found[key] = str(values[full])
    return found, issues


def _itsm_issues(platform: PlatformConfig, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Cross-key rules of the ITSM sync: where its credential comes from (a plain one is reported apart)."""
    itsm = platform.itsm
    has_secret = f"{PROJECT}:itsmCredential" in values
    if itsm is None:
        return [("itsmCredential", "set, but platform.itsm is not configured")] if has_secret else []
    if has_secret and itsm.credential is not None:
        return [("platform.itsm.credential", "give the credential once: the secret key itsmCredential or "
                                             "credential.keyVaultSecretUri, not both")]
    has_credential = has_secret or itsm.credential is not None
    if itsm.kind == "servicenow" and not has_credential:
        return [("platform.itsm.credential", "ServiceNow needs the password of servicenow.userName: "
                                             "`pulumi config set --secret itsmCredential <password>`, "
                                             "or credential.keyVaultSecretUri")]
    if itsm.kind == "webhook" and itsm.webhook is not None and itsm.webhook.url is None and not has_credential:
        return [("platform.itsm.webhook.url", "required unless the whole URL is the secret key itsmCredential "
                                              "(or a Key Vault secret in credential.keyVaultSecretUri)")]
    if itsm.kind == "webhook" and itsm.webhook is not None and itsm.webhook.url is None and has_secret:
        # The secret IS the URL: validated like webhook.url, wherever it is decrypted (pulumi preview/up;
        # the offline plan only has the placeholder), and never quoted.
        value = str(values.get(f"{PROJECT}:itsmCredential", ""))
        problem = None if value == SECRET_PLACEHOLDER else url_problem(value)
        if problem is None and value != SECRET_PLACEHOLDER and host_problem(value, itsm.allowed_hosts):
            problem = ("names a host that is neither <instance>.service-now.com nor listed in platform.itsm.allowedHosts "
                       "(or names a port, an IP address or a punycode name)")
        if problem:
            return [("itsmCredential", f"the secret webhook URL (platform.itsm.webhook without url) {problem}; "
                                       "its value is not shown")]
    return []


def parse_platform(values: Mapping[str, Any]) -> PlatformConfig:
    kind = _section(values, "kind")
    if kind != "platform":
        raise ConfigError([("kind", f"the platform stack must have kind: platform (found {kind!r})")])
    issues = _check_keys(values, "platform")
    if issues:
        raise ConfigError(issues)
    platform: PlatformConfig = _validate(PlatformConfig, _section(values, "platform"), "platform")
    identity_issues = platform.identity_issues()
    if identity_issues:
        raise ConfigError(identity_issues)
    if platform.splunk is not None and platform.splunk.location not in (None, platform.location):
        # A DCR sends only to workspaces in its own region (MicrosoftDocs/azure-monitor-docs
        # articles/azure-monitor/logs/logs-ingestion-api-overview.md).
        raise ConfigError([("platform.splunk.location", f"'{platform.splunk.location}' differs from the workspace's "
                            f"region platform.location '{platform.location}'; the DCR must be in the workspace's "
                            f"region; allowed: '{platform.location}', or leave it out to use that region")])
    return platform


def parse_config(
    values: Mapping[str, Any],
    secret_keys: set[str],
    *,
    stack: str,
    project_dir: Path,
    platform_values: Mapping[str, Any] | None = None,
    require_inventory: bool = True,
    source: str = "stack config",
    stack_dir: Path | None = None,
    file: str | None = None,
) -> LoadedStack:
    """Validate a stack's config values (and, for a customer, its platform's) into a LoadedStack.

    `require_inventory=False` accepts a customer whose inventory file does not exist yet (discovery
    is what writes it); everything else is validated the same way. `source` names where the values
    come from in messages (the stack file, or the engine's config). `stack_dir`: the folder of a stack
    file given explicitly (`--config`), whose own tree may hold its inventory too. `file`: the stack file
    as messages name it (relative to the project), for the fleet checks.
    """
    values = apply_project_config(load_project(project_dir), values, secret_keys, stack=stack, where=source)
    kind = _section(values, "kind")
    if kind not in ("platform", "customer"):
        raise ConfigError([("kind", f"must be 'platform' or 'customer' (found {kind!r})")])
    issues = _check_keys(values, kind)
    if issues:
        raise ConfigError(issues)
    if kind == "platform":
        secrets, issues = _secret_values(values, secret_keys)
        try:
            platform_config = parse_platform(values)
        except ConfigError as exc:
            raise ConfigError(issues + exc.issues) from None
        issues += _itsm_issues(platform_config, values)
        if issues:
            raise ConfigError(issues)
        return LoadedStack(stack=stack, kind="platform", platform=platform_config,
                           secret_keys=frozenset(secret_keys), secret_values=secrets)

    customer: CustomerConfig = _validate(CustomerConfig, _section(values, "customer"), "customer")
    reference = customer.platform_stack.split("/")
    if len(reference) == 3 and reference[1] != PROJECT:
        # `org/project/stack` (pulumi/pulumi sdk/go/common/tokens: a fully qualified stack name): a platform stack
        # of another project exports other outputs (or none), and its stacks/ file here is not what it runs.
        raise ConfigError([("customer.platformStack", f"'{customer.platform_stack}' names project '{reference[1]}'; "
                            f"allowed: a platform stack of this project, '{reference[0]}/{PROJECT}/{reference[2]}' "
                            f"or '{reference[2]}'")])
    if platform_values is None:
        platform_file = stack_file(project_dir, customer.platform_stack_name)
        if not file_exists(platform_file):
            known = _platform_stacks(project_dir)
            raise ConfigError([("customer.platformStack", f"no platform stack file stacks/{platform_file.name} for "
                                f"'{customer.platform_stack}' (its last segment names the platform stack); allowed: "
                                f"{', '.join(known) or 'a platform stack in stacks/'} (or org/project/<name>)")])
        platform_values, _ = stack_values(platform_file, project_dir, customer.platform_stack_name)
    try:
        platform = parse_platform(platform_values)
    except ConfigError as exc:
        raise ConfigError([(f"customer.platformStack ({customer.platform_stack_name}): {p}", m)
                           for p, m in exc.issues]) from None
    issues = customer.authorization_issues()
    if customer.tenant_id == platform.tenant_id:
        issues.append(("customer.tenantId", "must differ from the MSSP tenant (Lighthouse needs two tenants; "
                       f"the platform stack's tenantId is {platform.tenant_id}); allowed: the customer's own tenant id"))
    mssp_subscriptions = {platform.workspace.parts(platform.subscription_id)[0].lower(): "the MSSP workspace's subscription",
                          platform.subscription_id.lower(): "the platform's subscriptionId"}
    for i, sub in enumerate(customer.subscriptions):
        what = mssp_subscriptions.get(sub.id.lower())
        if what is not None:
            # Onboarding the MSSP's own subscription as a customer's would send its logs to itself as a customer's,
            # delegate it through Lighthouse to its own tenant, and let offboarding delete its settings.
            issues.append((f"customer.subscriptions[{i}].id", f"'{sub.id}' is {what} in platform stack "
                           f"{customer.platform_stack_name}: the MSSP's own subscription, not a customer's; allowed: "
                           "the customer's subscriptions only"))
    if customer.splunk is not None and customer.splunk.enabled and platform.splunk is None:
        issues.append(("customer.splunk", "Splunk is enabled for this customer but its platform stack "
                       f"({customer.platform_stack_name}) has no platform.splunk ingestion configured; "
                       "allowed: add platform.splunk there or set customer.splunk.enabled: false"))
    path_issues = [issue for key, kind, value in (
                       ("customer.forwarding.inventory", "inventory", customer.forwarding.inventory),
                       ("customer.forwarding.importFile", "import", customer.forwarding.import_file))
                   if value is not None and (issue := data_file_issue(key, value, kind, project_dir, stack_dir))]
    if path_issues:
        raise ConfigError(issues + path_issues)
    inv_path = customer.inventory_path(project_dir)
    inventory: list[InventoryItem] = []
    try:
        # Read through the configured name (not the resolved one), so a symbolic link is named as one.
        inventory = load_inventory(project_dir / customer.forwarding.inventory, customer.subscription_ids)
    except FileNotFoundError:
        if require_inventory:
            issues.append(("customer.forwarding.inventory", "file not found: "
                           f"{documents.describe(project_dir / customer.forwarding.inventory)} "
                           f"(create it by hand or with `python -m mssp discover {stack}`); allowed: a path relative to the "
                           "project directory, e.g. stacks/inventories/<customer>.yaml"))
    except InventoryError as exc:
        issues.extend((f"customer.forwarding.inventory ({customer.forwarding.inventory}) {p}", m)
                      for p, m in exc.problems)
    except documents.DocumentError as exc:
        issues.append((f"customer.forwarding.inventory ({_document_where(exc)})", exc.problem))
    except yaml.YAMLError as exc:
        issues.append(("customer.forwarding.inventory", f"{inv_path}: not valid YAML: {_yaml_problem(exc)}; "
                       "allowed: a YAML mapping with a 'resources' list"))
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(("customer.forwarding.inventory", f"cannot read {inv_path}: {_read_problem(exc)}; "
                       "allowed: a UTF-8 YAML file with a 'resources' list"))
    if customer.name != stack:
        issues.append(("customer.name", f"'{customer.name}' differs from the stack's name '{stack}' (stack file "
                       f"Pulumi.{stack}.yaml); allowed: '{stack}': the name derives Azure names (the Splunk "
                       "workflow) and the fleet checks compare stacks by it"))
    issues.extend(_fleet_issues(stack, customer, inventory, project_dir, file))
    for i, rid in enumerate(customer.forwarding.exclude):
        if rid.lower() not in {it.id.lower() for it in inventory} and not issues and file_exists(inv_path):
            issues.append((f"customer.forwarding.exclude[{i}]", f"'{rid}' is not in the inventory; allowed: ids the inventory lists "
                           "(compared case-insensitively)"))
    issues.extend(_sql_audit_issues(customer, inventory))
    adopted, import_issue = _adopted_setting_names(project_dir, stack, customer)
    if import_issue:
        issues.append(import_issue)
    if issues:
        raise ConfigError(issues)
    return LoadedStack(
        stack=stack,
        kind="customer",
        adopted_setting_names=adopted,
        platform=platform,
        customer=customer,
        inventory=tuple(inventory),
        inventory_path=inv_path,
        secret_keys=frozenset(secret_keys),
    )


def _sql_audit_issues(customer: CustomerConfig, inventory: list[InventoryItem]) -> list[tuple[str, str]]:
    """SQL auditing by the MSSP with resource-group delegations needs Pulumi to create them (deploy mode or the
    direct model): the exported template (template mode) carries one subscription-scope delegation only."""
    audit = customer.forwarding.sql_audit
    template = customer.access_model == "lighthouse" and customer.lighthouse.mode == "template"
    if not template or audit.enabled_by != "mssp" or audit.scope != "resourceGroups":
        return []
    from components.forwarding.diagnostics import plan_settings

    if not plan_settings(inventory, customer.forwarding).audits:
        return []
    return [("customer.forwarding.sqlAudit", "the inventory holds SQL servers whose auditing the MSSP would enable, "
             "but in lighthouse.mode: template the exported delegation cannot carry the per-resource-group SQL "
             "Security Manager delegations; allowed: enabledBy: customer (the customer enables auditing, e.g. with "
             "Microsoft's built-in policy 25da7dfb-0666-4a15-a8f5-402127efd8bb), or scope: subscription with "
             "acknowledgeSubscriptionScope: '<who decided and why>'")]


# The folder of a stack file planned explicitly with `mssp plan --config FILE` from outside the project:
# the program, run in-process under mocks, validates the same file and may read paths inside that folder.
_EXTRA_ROOT: ContextVar[Path | None] = ContextVar("mssp_sentinel_extra_config_root", default=None)


@contextmanager
def allow_stack_dir(stack_dir: Path | None) -> Iterator[None]:
    """Within the block, config paths may also point inside `stack_dir` (see project_path_issue)."""
    token = _EXTRA_ROOT.set(stack_dir)
    try:
        yield
    finally:
        _EXTRA_ROOT.reset(token)


@dataclass(frozen=True)
class _Validated:
    """A stack validated by `mssp plan`, and the config values its program is about to be run with."""

    stack: str
    project_dir: Path
    engine_values: Mapping[str, str]
    secret_keys: frozenset[str]
    loaded: LoadedStack


# The stack `mssp plan` has just validated, for the program it runs in-process right after
# (mssp.plan.command): validating the same values again would give the same LoadedStack (or the same
# errors, which the CLI has already reported), so the program takes this one (docs/benchmarks.md "Measurements behind the code").
_VALIDATED: ContextVar[_Validated | None] = ContextVar("mssp_sentinel_validated_stack", default=None)


@contextmanager
def validated_stack(loaded: LoadedStack, values: Mapping[str, Any], secret_keys: set[str],
                    project_dir: Path) -> Iterator[None]:
    """Within the block, load_from_pulumi returns `loaded` to the program of the same stack and project
    when its config is exactly `values` with `secret_keys` (what `loaded` was validated from); any other
    program run validates its config as always."""
    token = _VALIDATED.set(_Validated(loaded.stack, project_dir.resolve(), config_keys.engine_values(values),
                                      frozenset(secret_keys), loaded))
    try:
        yield
    finally:
        _VALIDATED.reset(token)


def outside_stack_dir(path: Path, project_dir: Path) -> Path | None:
    """The folder of a stack file outside the project (None for one inside it)."""
    return None if project_dir.resolve() in path.resolve().parents else path.parent


def project_path_issue(key: str, value: str, project_dir: Path, stack_dir: Path | None = None) -> tuple[str, str] | None:
    """A config path must stay inside the project: no `..` segment, no absolute path elsewhere.

    A stack file is reviewed config, but a path like ../../home/runner/.azure/... or /etc/... would make
    the plan read (and a diff show parts of) files outside the checkout. A stack file named explicitly
    with `--config` outside the project may also use paths inside its own folder."""
    parts = Path(value).parts
    if ".." in parts or "\\" in value:
        return (key, f"'{value}' must not contain '..' (or backslashes); give a path inside the project, "
                     "relative to it (e.g. stacks/inventories/<customer>.yaml)")
    root = project_dir.resolve()
    resolved = (project_dir / value).resolve()
    extra = stack_dir if stack_dir is not None else _EXTRA_ROOT.get()
    roots = [root] + ([extra.resolve()] if extra is not None else [])
    if not any(resolved == r or r in resolved.parents for r in roots):
        return (key, f"'{value}' is outside the project ({root}); give a path inside the project, relative to the "
                     "project directory")
    return None


def data_file_issue(key: str, value: str, kind: data_paths.DataKind, project_dir: Path,
                    stack_dir: Path | None = None) -> tuple[str, str] | None:
    """An inventory or import file is only ever a YAML/JSON file under the folder meant for it
    (components.facts.data_paths: stacks/inventories/, stacks/imports/), a plain file, no symbolic link.

    The PR review plans a change to data with the base's code over the change's data files, so a path that
    named code (`inventory: mssp/__init__.py`) would make the base's planner import the change's code. A stack
    file named explicitly with `--config` outside the project may keep its data files in its own folder
    (same suffix and name rules)."""
    issue = project_path_issue(key, value, project_dir, stack_dir)
    if issue:
        return (key, f"{issue[1]}; allowed: {data_paths.allowed(kind)}")
    extra = stack_dir if stack_dir is not None else _EXTRA_ROOT.get()
    root, rel = project_dir.resolve(), value
    if Path(value).is_absolute():
        # Written absolute (a --config file's own folder, or the project): judged relative to that root.
        for where in (Path(os.path.normpath(value)), Path(os.path.realpath(value))):
            found = next((r for r in [root] + ([extra.resolve()] if extra is not None else [])
                          if where.is_relative_to(r)), None)
            if found is not None:
                root, rel = found, where.relative_to(found).as_posix()
                break
    full = root / rel
    if full.is_dir() and not full.is_symlink():
        return (key, f"'{value}' is a directory; allowed: {data_paths.allowed(kind)}")
    # In a --config file's own folder (outside the project), the folder rule does not apply; the others do.
    outside = root != project_dir.resolve()
    problem = data_paths.data_path_problem(f"{data_paths.FOLDERS[kind]}/{rel}" if outside else rel, kind)
    if problem:
        return (key, f"'{value}' {problem}; allowed: {data_paths.allowed(kind)}")
    if os.path.realpath(full) != str(root / rel):
        return (key, f"'{value}' goes through a symbolic link ({_link_text(full)}); allowed: {data_paths.allowed(kind)}")
    try:
        mode = full.lstat().st_mode
    except OSError:
        return None  # missing: the loader says "file not found" where the file is required
    if not stat.S_ISREG(mode):
        return (key, f"'{value}' is not a plain file; allowed: {data_paths.allowed(kind)}")
    return None


def _link_text(path: Path) -> str:
    """Which link `path` goes through and where it points: the file itself or a folder on the way."""
    for link in (path, *path.parents):
        try:
            if link.is_symlink():
                return f"{link} is a symbolic link to {os.readlink(link)}"
        except OSError:
            continue
    return f"it resolves to {os.path.realpath(path)}"


def _platform_stacks(project_dir: Path) -> list[str]:
    """The names of the platform stack files in project_dir/stacks (for a hint; unreadable ones are skipped)."""
    names = []
    for path in sorted((project_dir / "stacks").glob("Pulumi.*.yaml")):
        try:
            if read_stack_values(path)[0].get(f"{PROJECT}:kind") == "platform":
                names.append(path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
        except ConfigError:
            continue
    return names


# Other stack files' values by (path, sha256 of the bytes), for the fleet check (values are read-only).
_OTHER_STACK_VALUES: dict[tuple[str, str], Mapping[str, Any] | None] = {}


def _fleet_issues(stack: str, customer: CustomerConfig, inventory: list[InventoryItem], project_dir: Path,
                  file: str | None) -> list[tuple[str, str]]:
    """What this customer stack shares with another customer stack in stacks/ (components.config.fleet)."""
    me = fleet.FleetMember(
        stack=stack,
        file=file or f"stacks/Pulumi.{stack}.yaml",
        tenant_id=customer.tenant_id.lower(),
        subscription_ids=frozenset(s.lower() for s in customer.subscription_ids
                                   | ({customer.workspace_subscription_id} if customer.workspace_subscription_id else set())),
        resource_ids=frozenset(it.id.lower() for it in inventory),
        workflow_name=(customer.splunk_workflow_name or "").lower() or None,
        platform_stack=customer.platform_stack.lower(),
        display_name=fleet.display_key(customer.display_name),
        subscription_names=frozenset(fleet.display_key(s.display_name) for s in customer.subscriptions) - {""},
    )

    def read_values(path: Path) -> Mapping[str, Any]:
        # Every customer plan reads every other stack file: one parse per file version and process.
        try:
            data = path.read_bytes()
        except OSError:
            return read_stack_values(path)[0]  # raises the ConfigError that says why
        key = (str(path), hashlib.sha256(data).hexdigest())
        if key not in _OTHER_STACK_VALUES:
            try:
                _OTHER_STACK_VALUES[key] = MappingProxyType(read_stack_values(path, data.decode("utf-8"))[0])
            except (ConfigError, UnicodeDecodeError):
                _OTHER_STACK_VALUES[key] = None
        values = _OTHER_STACK_VALUES[key]
        if values is None:
            raise ConfigError([(str(path), "unreadable")])  # other_members skips it; its own plan says why
        return values

    def read_inventory(path: Path) -> frozenset[str]:
        # Another stack's inventory is read only where its own plan may read it: an inventory of the project.
        rel = os.path.relpath(path, project_dir) if path.is_absolute() else str(path)
        if data_file_issue("", rel, "inventory", project_dir) is not None:
            return frozenset()
        return fleet.claimed_ids(path)

    return fleet.conflicts(me, fleet.other_members(project_dir, stack, read_values, read_inventory))


# The Pulumi type of the settings an import file may adopt.


def _adopted_setting_names(
    project_dir: Path, stack: str, customer: CustomerConfig
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """{logical name: Azure setting name} from the stack's `pulumi import` file, if there is one.

    A diagnostic setting's name is part of its ARM id: an adopted setting must keep the name it has,
    or the next `pulumi up` would replace it. Format: pulumi/pulumi pkg/cmd/pulumi/operations/import.go.
    """
    configured = customer.forwarding.import_file
    path = (project_dir / configured) if configured else project_dir / "stacks" / "imports" / f"{stack}.json"
    if not file_exists(path):
        return {}, (("customer.forwarding.importFile", f"file not found: {path}; allowed: a `pulumi import` file "
                     "relative to the project directory, or leave importFile out") if configured else None)
    try:
        text = documents.read_text(path, documents.MAX_JSON_BYTES, "import file")
    except documents.DocumentError as exc:
        return {}, ("customer.forwarding.importFile", str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        return {}, ("customer.forwarding.importFile", f"cannot read {documents.describe(path)}: {_read_problem(exc)}; "
                    "allowed: a UTF-8 JSON `pulumi import` file (written by `mssp discover --on-conflict adopt`)")
    try:
        doc = documents.loads_json(text, documents.describe(path), pairs_hook=_unique_pairs)
        specs = doc.get("resources") or []
        names = {
            str(spec["name"]): str(spec["id"]).rstrip("/").rsplit("/", 1)[-1]
            for spec in specs
            if spec.get("type") == _DIAGNOSTIC_SETTING and spec.get("name") and spec.get("id")
        }
    except documents.DocumentError as exc:
        return {}, ("customer.forwarding.importFile", str(exc))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        return {}, ("customer.forwarding.importFile", f"{path} is not a pulumi import file: {exc}; allowed: "
                    "a JSON object with a 'resources' list of {type, name, id}, as `mssp discover --on-conflict adopt` writes it")
    return dict(sorted(names.items())), None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that refuses a key written twice (json keeps the last one silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key '{strict_yaml.shown(key)}' in one object")
        out[key] = value
    return out


def load_stack_file(
    path: Path, project_dir: Path, stack: str | None = None, *, require_inventory: bool = True
) -> LoadedStack:
    """Load and validate a stack file (any path; platform files are looked up in project_dir/stacks)."""
    try:
        values, secrets = read_stack_values(path)
        name = stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml").removesuffix(".yml")
        return parse_config(values, secrets, stack=name, project_dir=project_dir, require_inventory=require_inventory,
                            source=str(path), stack_dir=outside_stack_dir(path, project_dir),
                            file=_shown_path(path, project_dir))
    except ConfigError as exc:
        raise ConfigError(exc.issues, file=exc.file or _shown_path(path, project_dir)) from None


def _shown_path(path: Path, project_dir: Path) -> str:
    """The stack file as a user names it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


def known_stacks(project_dir: Path) -> list[str]:
    """The stack names of project_dir/stacks/Pulumi.*.yaml."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (project_dir / "stacks").glob("Pulumi.*.yaml"))


def stack_name_problem(stack: str, project_dir: Path) -> str | None:
    """Why `stack` names no stack file of the project (a path given for a name, an unknown name), listing the
    known stacks; None when stacks/Pulumi.<stack>.yaml exists."""
    known = ", ".join(known_stacks(project_dir)) or "none"
    shown_name = strict_yaml.shown(stack)
    if "/" in stack or "\\" in stack or stack.endswith((".yaml", ".yml")):
        name = Path(stack).name.removeprefix("Pulumi.").removesuffix(".yaml").removesuffix(".yml")
        return (f"'{shown_name}' is a file path, but STACK is a stack name (e.g. '{strict_yaml.shown(name)}' for "
                f"stacks/Pulumi.{strict_yaml.shown(name)}.yaml); stacks: {known} (allowed: one of these; a stack file "
                "elsewhere: --config FILE where the command has it)")
    if not file_exists(stack_file(project_dir, stack)):
        return f"no stack file stacks/Pulumi.{shown_name}.yaml; stacks: {known} (allowed: one of these)"
    return None


def load_stack(stack: str, project_dir: Path, *, require_inventory: bool = True) -> LoadedStack:
    """Load and validate stacks/Pulumi.<stack>.yaml (an unknown name is refused listing the known stacks)."""
    problem = stack_name_problem(stack, project_dir)
    if problem is not None:
        raise ConfigError([("STACK", problem)])
    return load_stack_file(stack_file(project_dir, stack), project_dir, stack, require_inventory=require_inventory)


def load_from_pulumi(project_dir: Path) -> LoadedStack:
    """Inside a Pulumi run: the engine's config for this stack, validated the same way."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    # The Python language host hands config over as PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS; mocks
    # and providers set it explicitly (set_all_config). Take both.
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secrets = set(runtime_config.get_config_secret_keys_env()) | {
        k for k in values if runtime_config.is_config_secret(k)
    }
    done = _VALIDATED.get()
    if (done is not None and done.stack == pulumi.get_stack() and done.project_dir == project_dir.resolve()
            and done.secret_keys == secrets and done.engine_values == values):
        return done.loaded
    return parse_config(values, secrets, stack=pulumi.get_stack(), project_dir=project_dir)
