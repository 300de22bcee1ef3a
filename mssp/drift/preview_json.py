"""Parse and classify the output of `pulumi preview --json` for drift reports.

`pulumi preview --refresh --json` first reads every resource back from Azure and then diffs that
refreshed state against the program, so each step that is not `same` is drift: a setting edited by
hand (`update`), a resource deleted outside Pulumi (`create`: refresh dropped it from the state), a
forced replacement (`replace`), a resource still in the state but gone from the program (`delete`).

The document is Pulumi's `PreviewDigest`. Source: pulumi/pulumi sdk/go/common/display/json.go
    {config, steps[{op, urn, provider, oldState, newState, diffReasons, replaceReasons,
     detailedDiff{path: {kind, inputDiff}}}], diagnostics[{urn, prefix, message, severity}],
     duration, changeSummary{op: count}, maybeCorrupt}
filled in by pulumi/pulumi pkg/backend/display/json.go (ShowPreviewDigest): secret values in
oldState/newState are written as the string "[secret]"; config secrets are blinded; a diagnostic's
message carries its prefix ("error: ..."); non-logical steps (refresh, create-replacement,
delete-replaced) appear only with --show-replacement-steps. Everything here is pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.facts.pulumi_tokens import REGISTRATION_ASSIGNMENT, REGISTRATION_DEFINITION, SECRET
from components.facts.pulumi_tokens import STACK as ROOT_STACK_TYPE

# How a serialized property map marks a secret: {SigKey: SecretSig, "plaintext"|"ciphertext": ...}.
# pulumi's --json display never emits it (it writes "[secret]"), but a hand-made or future document
# might; such a value is never shown. Source: pulumi/pulumi sdk/go/common/resource/properties.go
# (SigKey, SecretSig).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

# Step operations. Source: pulumi/pulumi pkg/resource/deploy/step.go (OpSame ... OpImportReplacement).
KNOWN_OPS = frozenset(
    {
        "same", "create", "update", "delete", "replace", "create-replacement", "delete-replaced", "read",
        "read-replacement", "refresh", "discard", "discard-replaced", "remove-pending-replace", "import",
        "import-replacement",
    }
)  # fmt: skip
# Operations that change nothing in the cloud or the state, as engine.HasChanges counts them
# (pulumi/pulumi pkg/engine/update.go: same, read, discard, read-replacement), plus refresh: with
# --refresh it is the read-back that precedes each resource's real step, not a change of its own.
NO_CHANGE_OPS = frozenset({"same", "read", "discard", "read-replacement", "refresh"})
REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced", "import-replacement", "discard-replaced"})
# Per-property diff kinds. Source: pulumi/pulumi sdk/go/common/resource/plugin/provider.go (DiffKind.String).
DIFF_KINDS = frozenset({"add", "add-replace", "delete", "delete-replace", "update", "update-replace"})
# Diagnostic severities. Source: pulumi/pulumi sdk/go/common/diag/sink.go.
SEVERITIES = frozenset({"debug", "info", "info#err", "warning", "error"})

# Azure Lighthouse delegation types (azure-native 3.x tokens; see pulumi_azure_native/managedservices).
DELEGATION_TYPES = frozenset({REGISTRATION_ASSIGNMENT, REGISTRATION_DEFINITION})

# Categories, in the order a report lists them (most severe first).
CATEGORIES: tuple[str, ...] = (
    "delegation-removed",  # a Lighthouse delegation in the program but no longer in Azure
    "deleted",  # deleted outside Pulumi: refreshed away, so the preview would create it again
    "missing",  # in the program, not in the state, no refresh step seen: deleted outside Pulumi or never deployed
    "replaced",  # the preview would replace it (replaceReasons say which properties force that)
    "changed",  # differs from the program: changed outside Pulumi, or a program change not yet applied
    "removed-from-program",  # in the state, no longer in the program: `pulumi up` would delete it
    "other",  # any other change-making step (import, an operation this code does not know)
)

_MISSING = object()


class PreviewFormatError(ValueError):
    """The document is not (complete) `pulumi preview --json` output."""


@dataclass(frozen=True)
class PropertyChange:
    path: str
    kind: str | None  # a DIFF_KINDS value, or None when only diffReasons named the property
    input_diff: bool | None
    current: Any = _MISSING  # value in the (refreshed) state: what Azure holds
    desired: Any = _MISSING  # value the program asks for

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind}
        if self.current is not _MISSING:
            out["current"] = self.current
        if self.desired is not _MISSING:
            out["desired"] = self.desired
        return out


@dataclass(frozen=True)
class Step:
    op: str
    urn: str
    type: str
    name: str
    provider: str | None
    old_state: Mapping[str, Any] | None
    new_state: Mapping[str, Any] | None
    diff_reasons: tuple[str, ...]
    replace_reasons: tuple[str, ...]
    detailed_diff: Mapping[str, Mapping[str, Any]] | None


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    message: str
    urn: str | None


@dataclass(frozen=True)
class PreviewDigest:
    steps: tuple[Step, ...]
    diagnostics: tuple[Diagnostic, ...]
    change_summary: Mapping[str, int]
    maybe_corrupt: bool


@dataclass(frozen=True)
class ResourceDrift:
    category: str
    ops: tuple[str, ...]  # every step operation seen for this URN, in document order
    urn: str
    type: str
    name: str
    custom: bool | None
    delegation: bool
    refreshed: bool  # a refresh step for this URN was in the document (it existed in the state)
    properties: tuple[PropertyChange, ...] = ()
    replace_reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "operation": _main_op(self.ops),
            "ops": list(self.ops),
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "delegation": self.delegation,
            "refreshed": self.refreshed,
            "properties": [p.as_dict() for p in self.properties],
            "replaceReasons": list(self.replace_reasons),
        }


@dataclass(frozen=True)
class Classification:
    resources: tuple[ResourceDrift, ...]
    errors: tuple[str, ...]  # error diagnostics: the preview failed
    warnings: tuple[str, ...]
    summary_changes: Mapping[str, int] = field(default_factory=dict)  # change-making ops in changeSummary

    @property
    def has_changes(self) -> bool:
        return bool(self.resources) or bool(self.summary_changes)

    @property
    def unattributed(self) -> bool:
        """changeSummary counts changes that no step in the document explains."""
        return bool(self.summary_changes) and not self.resources


# --- parsing --------------------------------------------------------------------------------------


def loads(text: str, name: str = "the preview") -> PreviewDigest:
    """Parse the text `pulumi preview --json` printed (or a saved copy of it), within the limits of
    components.facts.documents (size, nesting)."""
    from components.facts import documents

    stripped = text.strip()
    if not stripped:
        raise PreviewFormatError("the document is empty: `pulumi preview --json` printed nothing")
    try:
        data = documents.loads_json(stripped, name)
    except documents.DocumentError as exc:
        raise PreviewFormatError(str(exc)) from None
    except json.JSONDecodeError as exc:
        # Something (a program's print, a plugin notice) may precede the JSON on stdout: accept one
        # JSON object that starts a line and runs to the end, nothing looser.
        data = _object_at_line_start(stripped)
        if data is None:
            raise PreviewFormatError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return parse(data, name)


def _object_at_line_start(text: str) -> Any:
    decoder = json.JSONDecoder()
    for m in re.finditer(r"^\{", text, re.MULTILINE):
        try:
            value, end = decoder.raw_decode(text, m.start())
        except (json.JSONDecodeError, RecursionError):
            continue
        if not text[end:].strip():
            from components.facts import documents

            try:
                documents.check_depth(value, "the preview")
            except documents.DocumentError as exc:
                raise PreviewFormatError(str(exc)) from None
            return value
    return None


def parse(data: Any, name: str = "the document") -> PreviewDigest:
    """Validate a decoded document against the PreviewDigest shape; raise PreviewFormatError naming the bad path."""
    if not isinstance(data, dict):
        raise PreviewFormatError(
            f"not the output of `pulumi preview --json`: the document is a JSON {_json_type(data)}, "
            "not an object with 'steps' and 'changeSummary'"
        )
    from mssp.documents import wrong_kind

    other = wrong_kind(data, "preview", name)
    if other is not None:  # a plan manifest or an mssp report: never "no steps, so clean"
        raise PreviewFormatError(other)
    diagnostics = tuple(_parse_diagnostic(d, f"diagnostics[{i}]") for i, d in enumerate(_list(data, "diagnostics")))
    failed = any(d.severity == "error" for d in diagnostics)
    missing = [key for key in ("steps", "changeSummary") if data.get(key) is None]
    # A failed preview may stop before its summary event; its error diagnostics are the answer then.
    if missing and not failed:
        found = ", ".join(sorted(map(str, data))) or "none"
        raise PreviewFormatError(
            "not the output of `pulumi preview --json`: missing "
            + " and ".join(repr(k) for k in missing)
            + f" (keys found: {found}); expected Pulumi's PreviewDigest "
            "(pulumi/pulumi sdk/go/common/display/json.go)"
        )
    if data.get("config") is not None:
        config = data["config"]
        if not isinstance(config, dict) or not all(isinstance(v, str) for v in config.values()):
            raise PreviewFormatError("config: must be an object of strings")
    steps = tuple(_parse_step(s, f"steps[{i}]") for i, s in enumerate(_list(data, "steps")))
    summary = _parse_summary(data.get("changeSummary"))
    maybe_corrupt = data.get("maybeCorrupt")
    if maybe_corrupt is None:  # absent or null
        maybe_corrupt = False
    if not isinstance(maybe_corrupt, bool):
        raise PreviewFormatError(f"maybeCorrupt: must be true or false (got {_json_type(maybe_corrupt)})")
    duration = data.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)):
        raise PreviewFormatError(f"duration: must be a number of nanoseconds (got {_json_type(duration)})")
    return PreviewDigest(steps=steps, diagnostics=diagnostics, change_summary=summary, maybe_corrupt=maybe_corrupt)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PreviewFormatError(f"{key}: must be a list (got {_json_type(value)})")
    return value


def _parse_summary(value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PreviewFormatError(f"changeSummary: must be an object of counts per operation (got {_json_type(value)})")
    for op, count in value.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise PreviewFormatError(f"changeSummary[{op!r}]: must be a non-negative integer (got {count!r})")
    return dict(value)


def _parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise PreviewFormatError(f"{where}: must be an object (got {_json_type(raw)})")
    op = _required_str(raw, "op", where)
    urn = _required_str(raw, "urn", where)
    parsed = parse_urn(urn)
    if parsed is None:
        raise PreviewFormatError(f"{where}.urn: {urn!r} is not a Pulumi URN (urn:pulumi:stack::project::type::name)")
    old_state = _optional_state(raw, "oldState", where)
    new_state = _optional_state(raw, "newState", where)
    rtype, name = parsed
    return Step(
        op=op,
        urn=urn,
        type=rtype,
        name=name,
        provider=_optional_str(raw, "provider", where),
        old_state=old_state,
        new_state=new_state,
        diff_reasons=_str_list(raw, "diffReasons", where),
        replace_reasons=_str_list(raw, "replaceReasons", where),
        detailed_diff=_detailed_diff(raw.get("detailedDiff"), where),
    )


def _parse_diagnostic(raw: Any, where: str) -> Diagnostic:
    if not isinstance(raw, dict):
        raise PreviewFormatError(f"{where}: must be an object (got {_json_type(raw)})")
    severity = _optional_str(raw, "severity", where) or ""
    message = (_optional_str(raw, "prefix", where) or "") + (_optional_str(raw, "message", where) or "")
    return Diagnostic(severity=severity, message=message.strip(), urn=_optional_str(raw, "urn", where))


def _required_str(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise PreviewFormatError(f"{where}.{key}: must be a non-empty string (got {_json_type(value)})")
    return value


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise PreviewFormatError(f"{where}.{key}: must be a string (got {_json_type(value)})")
    return value


def _optional_state(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PreviewFormatError(f"{where}.{key}: must be a resource state object (got {_json_type(value)})")
    for part in ("inputs", "outputs"):
        if value.get(part) is not None and not isinstance(value[part], dict):
            raise PreviewFormatError(f"{where}.{key}.{part}: must be an object (got {_json_type(value[part])})")
    return value


def _str_list(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PreviewFormatError(f"{where}.{key}: must be a list of property names")
    return tuple(value)


def _detailed_diff(value: Any, where: str) -> dict[str, dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PreviewFormatError(f"{where}.detailedDiff: must be an object (got {_json_type(value)})")
    out: dict[str, dict[str, Any]] = {}
    for path, diff in value.items():
        at = f"{where}.detailedDiff[{path!r}]"
        if not isinstance(diff, dict):
            raise PreviewFormatError(f"{at}: must be an object with 'kind' and 'inputDiff' (got {_json_type(diff)})")
        kind = diff.get("kind")
        if not isinstance(kind, str):
            raise PreviewFormatError(f"{at}.kind: must be a string (got {_json_type(kind)})")
        input_diff = diff.get("inputDiff", False)
        if not isinstance(input_diff, bool):
            raise PreviewFormatError(f"{at}.inputDiff: must be true or false (got {_json_type(input_diff)})")
        out[path] = {"kind": kind, "inputDiff": input_diff}
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_urn(urn: str) -> tuple[str, str] | None:
    """(type, name) of a URN urn:pulumi:<stack>::<project>::<qualified type>::<name>; None if malformed.

    The qualified type chains parent types with '$'; the resource's own type is the last link.
    Source: pulumi/pulumi sdk/go/common/resource/urn.go.
    """
    if not urn.startswith("urn:pulumi:"):
        return None
    parts = urn.split("::", 3)
    if len(parts) != 4 or not parts[2] or not parts[3]:
        return None
    return parts[2].split("$")[-1], parts[3]


# --- secrets and property values ------------------------------------------------------------------


def redact(value: Any) -> Any:
    """A copy of value in which every secret reads "[secret]", whatever form the secret arrived in."""
    if isinstance(value, dict):
        if _is_secret(value):
            return SECRET
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def parse_property_path(path: str) -> list[str | int] | None:
    """Elements of a Pulumi property path (`a.b[0]["c.d"]`); None when it does not parse.

    Grammar: pulumi/pulumi sdk/go/common/resource/properties_path.go (ParsePropertyPath).
    """
    elements: list[str | int] = []
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch == ".":
            i += 1
        elif ch == "[":
            if path.startswith('"', i + 1):
                j, key = i + 2, []
                while True:
                    if j >= n:
                        return None
                    if path[j] == '"':
                        j += 1
                        break
                    if path.startswith('\\"', j):  # an escaped quote
                        key.append('"')
                        j += 2
                    else:
                        key.append(path[j])
                        j += 1
                if j >= n or path[j] != "]":
                    return None
                elements.append("".join(key))
                i = j + 1
            else:
                close = path.find("]", i)
                if close == -1 or not path[i + 1 : close].isdigit():
                    return None
                elements.append(int(path[i + 1 : close]))
                i = close + 1
        else:
            j = i
            while j < n and path[j] not in ".[":
                j += 1
            elements.append(path[i:j])
            i = j
    return elements or None


def lookup(properties: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a property path, "[secret]" when a secret covers any part of it, _MISSING if absent."""
    elements = parse_property_path(path)
    if properties is None or elements is None:
        return _MISSING
    value: Any = properties
    for element in elements:
        if _is_secret(value):
            return SECRET
        if isinstance(element, int) and isinstance(value, list) and 0 <= element < len(value):
            value = value[element]
        elif isinstance(element, str) and isinstance(value, dict) and element in value:
            value = value[element]
        else:
            return _MISSING
    return SECRET if _is_secret(value) else redact(value)  # pragma: no mutate (equivalent: redact maps a secret to SECRET too)


def _is_secret(value: Any) -> bool:
    return value == SECRET or (isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG)


def _secret_outputs(*states: Mapping[str, Any] | None) -> frozenset[str]:
    names: set[str] = set()
    for state in states:
        extra = (state or {}).get("additionalSecretOutputs") or []
        names.update(n for n in extra if isinstance(n, str))
    return frozenset(names)


def property_changes(step: Step, with_values: bool = True) -> tuple[PropertyChange, ...]:
    """What changed on one step: detailedDiff paths when the provider gave them, else diffReasons keys.

    `current` comes from the old (refreshed) state: its inputs when the diff is an input diff, else its
    outputs; `desired` from the new state's inputs. Secrets, including properties the resource declares
    as additionalSecretOutputs, read "[secret]".
    """
    old_inputs = (step.old_state or {}).get("inputs") or {}
    old_outputs = (step.old_state or {}).get("outputs") or {}
    new_inputs = (step.new_state or {}).get("inputs")  # None: no new state (a delete), or no inputs in it
    secret_names = _secret_outputs(step.old_state, step.new_state)
    if step.detailed_diff:
        entries = [(p, d["kind"], d["inputDiff"]) for p, d in sorted(step.detailed_diff.items())]
    else:
        keys = list(dict.fromkeys([*step.diff_reasons, *step.replace_reasons]))
        entries = [(k, None, None) for k in sorted(keys)]
    out = []
    for path, kind, input_diff in entries:
        current: Any = _MISSING
        desired: Any = _MISSING
        if with_values:
            first = parse_property_path(path)
            hidden = bool(first) and isinstance(first[0], str) and first[0] in secret_names
            if step.old_state is not None:
                primary, fallback = (old_inputs, old_outputs) if input_diff else (old_outputs, old_inputs)
                current = lookup(primary, path)
                if current is _MISSING:
                    current = lookup(fallback, path)
            if new_inputs is not None:
                desired = lookup(new_inputs, path)
            if hidden:
                current = SECRET if current is not _MISSING else current
                desired = SECRET if desired is not _MISSING else desired
        out.append(PropertyChange(path=path, kind=kind, input_diff=input_diff, current=current, desired=desired))
    return tuple(out)


# --- classification -------------------------------------------------------------------------------

_OP_RANK = {  # which operation names a URN when several steps touch it
    "replace": 0, "create-replacement": 1, "delete-replaced": 2, "import-replacement": 3, "discard-replaced": 4,
    "create": 5, "import": 6, "delete": 7, "update": 8, "remove-pending-replace": 9,
}  # fmt: skip
_UNRANKED = len(_OP_RANK)  # an operation this code does not know ranks after every known one


def _main_op(ops: tuple[str, ...]) -> str:
    changing = [op for op in ops if op not in NO_CHANGE_OPS] or list(ops)
    return min(changing, key=lambda op: _OP_RANK.get(op, _UNRANKED))


def _category(ops: tuple[str, ...], refreshed: bool, delegation: bool) -> str:
    op = _main_op(ops)
    if op in REPLACE_OPS:
        return "replaced"
    if op == "create":
        if delegation:
            return "delegation-removed"
        return "deleted" if refreshed else "missing"
    if op == "update":
        return "changed"
    if op == "delete":
        return "removed-from-program"
    return "other"


def classify(digest: PreviewDigest) -> Classification:
    """Group steps by URN and sort each drifting resource into one of CATEGORIES."""
    by_urn: dict[str, list[Step]] = {}
    for step in digest.steps:
        by_urn.setdefault(step.urn, []).append(step)

    resources = []
    for urn, steps in by_urn.items():
        ops = tuple(s.op for s in steps)
        if all(op in NO_CHANGE_OPS for op in ops):
            continue
        first = steps[0]
        refreshed = "refresh" in ops
        delegation = first.type in DELEGATION_TYPES
        changing = [s for s in steps if s.op not in NO_CHANGE_OPS]
        properties = _merge_properties([property_changes(s) for s in changing])
        replace_reasons = tuple(dict.fromkeys(r for s in changing for r in s.replace_reasons))
        resources.append(
            ResourceDrift(
                category=_category(ops, refreshed, delegation),
                ops=ops,
                urn=urn,
                type=first.type,
                name=first.name,
                custom=_custom(steps),
                delegation=delegation,
                refreshed=refreshed,
                properties=properties,
                replace_reasons=replace_reasons,
            )
        )
    resources.sort(key=lambda r: (CATEGORIES.index(r.category), r.type, r.name, r.urn))

    errors = tuple(_diagnostic_text(d) for d in digest.diagnostics if d.severity == "error")
    warnings = [_diagnostic_text(d) for d in digest.diagnostics if d.severity == "warning" and d.message]
    if digest.maybe_corrupt:
        warnings.append("Pulumi reports that one or more resources may be corrupt (maybeCorrupt: true)")
    unknown = sorted({s.op for s in digest.steps} - KNOWN_OPS)
    if unknown:
        warnings.append(f"operations this tool does not know were counted as changes: {', '.join(unknown)}")
    summary_changes = {op: n for op, n in sorted(digest.change_summary.items()) if n > 0 and op not in NO_CHANGE_OPS}
    return Classification(
        resources=tuple(resources), errors=errors, warnings=tuple(warnings), summary_changes=summary_changes
    )


def _diagnostic_text(diagnostic: Diagnostic) -> str:
    # json.go folds the prefix ("error: ", "warning: ") into the message; the report states the severity itself.
    # The message was stripped, so a bare prefix has lost its trailing space: "error:" is no message either.
    message = re.sub(r"^(error|warning):\s*", "", diagnostic.message) or "(no message)"
    parsed = parse_urn(diagnostic.urn) if diagnostic.urn else None
    if parsed is None or parsed[0] == ROOT_STACK_TYPE:
        return message
    return f"{parsed[1]} ({parsed[0]}): {message}"


def _merge_properties(groups: list[tuple[PropertyChange, ...]]) -> tuple[PropertyChange, ...]:
    # A replacement shows the same paths on its replace, create-replacement and delete-replaced steps:
    # keep the first entry per path that carries the most detail.
    merged: dict[str, PropertyChange] = {}
    for group in groups:
        for change in group:
            have = merged.get(change.path)
            if have is None or (have.kind is None and change.kind is not None):
                merged[change.path] = change
    return tuple(merged[p] for p in sorted(merged))


def _custom(steps: list[Step]) -> bool | None:
    for step in steps:
        for state in (step.new_state, step.old_state):
            if state is not None and isinstance(state.get("custom"), bool):
                return state["custom"]
    return None
