"""Template mode: what the reviewer approves (the plan's access table, the diff's "Access changes") is what
`mssp template` hands the customer, for every template-mode stack, including stacks written from scratch.

Bug this catches: the review built its own copy of the delegation and left out the read-only identity's
Reader, so fabrikam's review listed 5 authorizations while template.json held 6.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_DIR, read_stack

from mssp.plan import facts

SOC = [  # MSSP-tenant groups (fictitious ids)
    ("5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091", "SOC Analysts"),
    ("6f1a3b8c-9d0e-4f2a-b1c4-5d6e7f809102", "SOC Tier 3"),
    ("1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d", "Detection Engineers"),
]
APPROVER = {"principalId": "7a2b4c9d-0e1f-4a3b-82d5-6e7f80910213", "displayName": "SOC Leads"}
PERMANENT_ROLES = ["Reader", "Microsoft Sentinel Reader", "Microsoft Sentinel Responder",
                   "Microsoft Sentinel Contributor", "Monitoring Reader", "Log Analytics Reader"]
ELIGIBLE_ROLES = ["Monitoring Contributor", "Microsoft Sentinel Contributor", "Log Analytics Contributor"]


def template_mode_stacks() -> list[str]:
    found = []
    for path in sorted((PROJECT_DIR / "stacks").glob("Pulumi.*.yaml")):
        customer = (yaml.safe_load(path.read_text())["config"] or {}).get("mssp-sentinel:customer") or {}
        if (customer.get("lighthouse") or {}).get("mode") == "template":
            found.append(path.name[len("Pulumi."):-len(".yaml")])
    return found


def generated_stack(seed: int, folder: Path) -> dict[str, Any]:
    """A template-mode customer stack written from scratch: its own tenant and subscriptions, random SOC
    authorizations (permanent, eligible with approvers, User Access Administrator with delegated roles) and an
    inventory with or without SQL servers (which add SQL Security Manager)."""
    rng = random.Random(seed)
    base = "contoso" if rng.random() < 0.5 else "fabrikam"
    doc = read_stack(base)
    customer = doc["config"]["mssp-sentinel:customer"]
    customer.pop("splunk", None)
    customer["name"] = f"gen{seed}"
    customer["displayName"] = f"Generated Customer {seed}"
    customer["accessModel"] = "lighthouse"
    customer["tenantId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    inventory = (PROJECT_DIR / customer["forwarding"]["inventory"]).read_text()
    subs = customer["subscriptions"][:rng.randint(1, len(customer["subscriptions"]))]
    for sub in customer["subscriptions"]:
        new = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        inventory = inventory.replace(sub["id"], new)
        sub["id"] = new
        sub["displayName"] = f"Generated {seed} {sub['displayName']}"
    customer["subscriptions"] = subs
    kept = [r for r in yaml.safe_load(inventory)["resources"]
            if r["id"].split("/")[2] in {s["id"] for s in subs}]
    (folder / f"gen{seed}.inventory.yaml").write_text(yaml.safe_dump({"resources": kept}))
    customer["forwarding"]["inventory"] = str(folder / f"gen{seed}.inventory.yaml")
    auths = []
    for pid, name in rng.sample(SOC, rng.randint(1, len(SOC))):
        for role in rng.sample(PERMANENT_ROLES, rng.randint(1, 2)):
            auths.append({"principalId": pid, "displayName": name, "role": role})
        if rng.random() < 0.5:
            auths.append({"principalId": pid, "displayName": name, "role": rng.choice(ELIGIBLE_ROLES),
                          "justInTime": {"maximumActivationDuration": rng.choice(["PT1H", "PT4H", "PT8H"]),
                                         "approvers": [APPROVER]}})
    if rng.random() < 0.4:
        pid, name = SOC[0]
        auths.append({"principalId": pid, "displayName": name, "role": "User Access Administrator",
                      "delegatedRoles": ["Monitoring Contributor"],
                      "acknowledgeBroadRole": "CAB-1234: the SOC assigns Monitoring Contributor"})
    customer["lighthouse"] = {"mode": "template", "authorizations": auths}
    return doc


def template_authorizations(out: Path, subscription: str) -> list[tuple[Any, ...]]:
    """What the customer deploys into one subscription: the template's authorizations with that
    subscription's parameters file filled in, as ARM would."""
    template = json.loads((out / "template.json").read_text())
    params = json.loads((out / f"parameters.{subscription}.json").read_text())["parameters"]
    text = json.dumps(template["resources"][0]["properties"])
    for name, p in params.items():
        text = text.replace(f"[parameters('{name}')]", p["value"])
    props = json.loads(text)
    rows = [(f"/subscriptions/{subscription}", a["principalId"], a["principalIdDisplayName"], a["roleDefinitionId"],
             False, tuple(a.get("delegatedRoleDefinitionIds") or ())) for a in props["authorizations"]]
    rows += [(f"/subscriptions/{subscription}", a["principalId"], a["principalIdDisplayName"], a["roleDefinitionId"],
              True, ()) for a in props.get("eligibleAuthorizations") or []]
    return rows


def review_authorizations(manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    from components.facts import roles

    rows = []
    for r in facts.access_rows(manifest):
        if r.via != "Lighthouse template":
            continue
        delegated = tuple(roles.resolve(d).guid for d in r.delegated_roles)  # type: ignore[union-attr]
        rows.append((r.scope, r.principal_id, r.principal_name, r.role_guid, r.eligible, delegated))
    return rows


def check_stack(run_cli, tmp_path: Path, stack: str, config: Path | None = None) -> int:
    extra = ["--config", str(config)] if config else []
    code, _, err = run_cli(["plan", stack, *extra, "--json", str(tmp_path / "plan.json")])
    assert code == 0, err
    manifest = json.loads((tmp_path / "plan.json").read_text())
    values = facts.review(manifest)["delegationTemplate"]["parameterValues"]
    out = tmp_path / "template"
    code, _, err = run_cli(["template", stack, *extra, "--out", str(out),
                            "--mssp-principal-id", values["msspServicePrincipalObjectId"],
                            "--read-only-principal-id", values["msspReadOnlyServicePrincipalObjectId"]])
    assert code == 0, err
    delegation = facts.review(manifest)["delegationTemplate"]
    # The very files: what the review holds is what was written.
    assert delegation["template"] == json.loads((out / "template.json").read_text())
    assert delegation["uiDefinition"] == json.loads((out / "createUiDefinition.json").read_text())
    deployed = sorted(row for s in manifest["review"]["subscriptions"] for row in template_authorizations(out, s))
    reviewed = sorted(review_authorizations(manifest))
    assert reviewed == deployed
    return len(deployed)


@pytest.mark.parametrize("stack", template_mode_stacks())
def test_every_template_mode_stack_reviews_what_the_customer_deploys(run_cli, tmp_path, stack):
    assert check_stack(run_cli, tmp_path, stack) > 0


def test_fabrikam_review_includes_the_read_only_identity(run_cli, tmp_path):
    # The reported case: 6 in the template, 6 in the review (the read-only identity's Reader among them).
    assert check_stack(run_cli, tmp_path, "fabrikam") == 6


@pytest.mark.parametrize("seed", range(6))
def test_stacks_written_from_scratch_review_what_the_customer_deploys(run_cli, write_stack, tmp_path, seed):
    doc = generated_stack(seed, tmp_path)
    path = write_stack(doc, f"gen{seed}")
    assert check_stack(run_cli, tmp_path, f"gen{seed}", path) > 0


def test_a_platform_without_read_only_identity_exports_and_reviews_no_read_only_parameter(tmp_path):
    # The template's parameters follow the platform: without a read-only identity there is no such
    # parameter, no such authorization, and the review agrees.
    from conftest import copy_project

    from components.config import load_stack
    from components.lighthouse.template import READ_ONLY_PARAMETER, exported_template

    project = copy_project(tmp_path / "project")
    platform = project / "stacks" / "Pulumi.mssp.yaml"
    doc = yaml.safe_load(platform.read_text())
    del doc["config"]["mssp-sentinel:platform"]["readOnlyIdentity"]
    platform.write_text(yaml.safe_dump(doc, sort_keys=False))
    from mssp.plan.command import build_manifest

    manifest = build_manifest("fabrikam", project)
    template = exported_template(load_stack("fabrikam", project))
    assert READ_ONLY_PARAMETER not in template["parameters"]
    assert facts.review(manifest)["delegationTemplate"]["template"] == template
    assert len(review_authorizations(manifest)) == len(template["resources"][0]["properties"]["authorizations"]) == 5
