"""Subscription-scope ARM template deployments for the local Azure: what a customer does in template mode.

A customer deploys `python -m mssp template STACK`'s template.json with its parameters file
(`New-AzSubscriptionDeployment` / `az deployment sub create`): ARM's PUT
/subscriptions/{id}/providers/Microsoft.Resources/deployments/{name} with {location, properties:
{mode, template, parameters}} (Azure/azure-rest-api-specs specification/resources/resource-manager/
Microsoft.Resources/stable/2024-03-01/resources.json, Deployments_CreateOrUpdateAtSubscriptionScope).
The local Azure evaluates the template and PUTs each resource, in dependsOn order, through the same
store and contracts as any other write, signed in as the deploying tenant.

Only the template functions the exported template uses are evaluated (learn.microsoft.com/azure/
azure-resource-manager/templates/template-functions): parameters(), deployment() (its .location),
subscription() (its .subscriptionId), resourceId() at subscription scope, concat(). Any other function
is refused with InvalidTemplate, as ARM refuses an unknown one, so a template that starts using one
fails here instead of deploying half-evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEPLOYMENT_API_VERSIONS = ("2021-04-01", "2022-09-01", "2024-03-01")


class TemplateError(ValueError):
    """The template cannot be evaluated (ARM: 400 InvalidTemplate)."""


@dataclass(frozen=True)
class Context:
    subscription: str
    location: str
    parameters: Mapping[str, Any]


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),.\[\]]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise TemplateError(f"cannot read the template expression at {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str, ctx: Context):
        self.tokens = _tokens(text)
        self.i = 0
        self.ctx = ctx

    def _next(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise TemplateError("the template expression ends too early")
        self.i += 1
        return self.tokens[self.i - 1]

    def _peek(self) -> str:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else ""

    def expression(self) -> Any:
        kind, value = self._next()
        if kind == "str":
            result: Any = value[1:-1].replace("''", "'")
        elif kind == "name":
            if self._next()[1] != "(":
                raise TemplateError(f"{value} must be called")
            args = []
            while self._peek() != ")":
                args.append(self.expression())
                if self._peek() == ",":
                    self._next()
            self._next()
            result = self._call(value, args)
        else:
            raise TemplateError(f"unexpected {value!r} in a template expression")
        while self._peek() == ".":
            self._next()
            prop = self._next()[1]
            if not isinstance(result, Mapping) or prop not in result:
                raise TemplateError(f"the value has no property {prop!r}")
            result = result[prop]
        return result

    def _call(self, name: str, args: list[Any]) -> Any:
        functions: dict[str, Callable[..., Any]] = {
            "parameters": self._parameter,
            "deployment": lambda: {"location": self.ctx.location, "name": "deployment"},
            "subscription": lambda: {"subscriptionId": self.ctx.subscription, "id": f"/subscriptions/{self.ctx.subscription}"},
            "resourceId": self._resource_id,
            "concat": lambda *a: "".join(str(x) for x in a),
        }
        if name not in functions:
            raise TemplateError(f"The template function '{name}' is not valid (the local Azure evaluates "
                                f"{', '.join(sorted(functions))})")
        return functions[name](*args)

    def _parameter(self, name: str) -> Any:
        if name not in self.ctx.parameters:
            raise TemplateError(f"The template parameter '{name}' is not found")
        return self.ctx.parameters[name]

    def _resource_id(self, resource_type: str, *names: str) -> str:
        types = resource_type.split("/")
        if len(types) - 1 != len(names):
            raise TemplateError(f"resourceId('{resource_type}', ...) needs {len(types) - 1} name(s)")
        segs = "/".join(f"{t}/{n}" for t, n in zip(types[1:], names, strict=True))
        return f"/subscriptions/{self.ctx.subscription}/providers/{types[0]}/{segs}"


def evaluate(value: Any, ctx: Context) -> Any:
    """Every "[...]" string in `value` evaluated; "[[" escapes a literal "[" (ARM's rule)."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]") and not value.startswith("[["):
        parser = _Parser(value[1:-1], ctx)
        result = parser.expression()
        if parser.i != len(parser.tokens):
            raise TemplateError(f"unexpected text after the expression in {value!r}")
        return result
    if isinstance(value, str) and value.startswith("[["):
        return value[1:]
    if isinstance(value, dict):
        return {k: evaluate(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, ctx) for v in value]
    return value


def resolve_parameters(template: Mapping[str, Any], given: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Parameter values: the given {name: {value}} or the template's defaultValue; missing ones refused."""
    declared = template.get("parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"The parameters {unknown} are not declared in the template")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = (given[name] or {}).get("value")
        elif "defaultValue" in spec:
            values[name] = evaluate(spec["defaultValue"], Context(ctx.subscription, ctx.location, values))
        else:
            raise TemplateError(f"The value for the template parameter '{name}' is not provided")
    return values


def planned_writes(body: Mapping[str, Any], subscription: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, api-version, body) of each resource of a subscription deployment, in dependsOn order."""
    props = body.get("properties") or {}
    template = props.get("template")
    if not isinstance(template, Mapping):
        raise TemplateError("properties.template is required (templateLink is not served by the local Azure)")
    location = str(body.get("location") or "")
    if not location:
        raise TemplateError("a subscription deployment needs a location")
    ctx = Context(subscription, location, {})
    ctx = Context(subscription, location, resolve_parameters(template, props.get("parameters") or {}, ctx))
    writes = []
    for resource in evaluate(list(template.get("resources") or []), ctx):
        rtype, name = resource["type"], resource["name"]
        path = ArmResourcePath.of(subscription, rtype, name)
        payload = {k: v for k, v in resource.items() if k not in ("type", "name", "apiVersion", "dependsOn", "condition")}
        writes.append((path, resource["apiVersion"], payload, [str(d) for d in resource.get("dependsOn") or []]))
    done: list[tuple[str, str, dict[str, Any]]] = []
    pending = list(writes)
    while pending:  # dependsOn: each resource after the ones it names
        ready = [w for w in pending if all(any(d.lower() == p.lower() for p, _, _ in done) for d in w[3])]
        if not ready:
            raise TemplateError("dependsOn names a resource the template does not deploy (or a cycle)")
        for w in ready:
            pending.remove(w)
            done.append((w[0], w[1], w[2]))
    return done


class ArmResourcePath:
    @staticmethod
    def of(subscription: str, rtype: str, name: str) -> str:
        namespace, *types = rtype.split("/")
        names = name.split("/")
        if len(types) != len(names):
            raise TemplateError(f"resource name {name!r} does not fit type {rtype!r}")
        segs = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
        return f"/subscriptions/{subscription}/providers/{namespace}/{segs}"
