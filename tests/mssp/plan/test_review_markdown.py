"""The Markdown a security reviewer decides on: the plan of each example stack and the PR diff.

Plans are real offline plans (tests/conftest.py); the diff compares the example stacks with stack
files edited as a pull request would: a new customer, a role changed, a just-in-time authorization
added, a setting removed, every setting renamed (a replace forced by `name`).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_DIR, example_manifest, read_stack

from components.facts import roles
from mssp.diff import command as diff
from mssp.diff import markdown as diff_markdown
from mssp.plan import facts
from mssp.plan.command import build_manifest
from mssp.plan.markdown import render_plan, short_id

STACKS = ("mssp", "contoso", "fabrikam")
# What secret values look like offline: the webhook URL's placeholder signature (mssp/plan/mock_azure.py)
# and the ciphertext of the platform's itsmCredential in stacks/Pulumi.mssp.yaml.
SECRET_TEXTS = ("offline-plan-placeholder-not-a-signature", "bm90LWEtcmVhbC1jaXBoZXJ0ZXh0")


def table_rows(markdown: str) -> Iterator[list[str]]:
    """Each table of the document as its lines (header, separator, rows)."""
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
        elif block:
            yield block
            block = []


def cells(line: str) -> int:
    """How many cells a GFM table row has: pipes not escaped with a backslash delimit them."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def assert_tables_intact(markdown: str) -> None:
    for block in table_rows(markdown):
        width = cells(block[0])
        assert all(cells(row) == width for row in block), "\n".join(r for r in block if cells(r) != width)


def lines_with(markdown: str, *needles: str) -> list[str]:
    return [line for line in markdown.splitlines() if all(n in line for n in needles)]


# --------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_every_grant_is_one_row_with_role_name_guid_and_principal(stack):
    m = example_manifest(stack)
    md = render_plan(m)
    rows = facts.access_rows(m)
    assert rows, "every example stack grants something"
    for r in rows:
        assert lines_with(md, f"**{r.role_name}** `{r.role_guid}`", r.principal_name.replace("_", "\\_")), r
        assert r.role_name != "unknown role", r
    assert_tables_intact(md)
    assert not any(s in md for s in SECRET_TEXTS)


def test_contoso_names_every_configured_role_principal_and_jit_policy():
    md = render_plan(example_manifest("contoso"))
    auths = read_stack("contoso")["config"]["mssp-sentinel:customer"]["lighthouse"]["authorizations"]
    for auth in auths:
        role = roles.resolve(auth["role"])
        assert role is not None
        found = lines_with(md, auth["displayName"], f"**{role.name}** `{role.guid}`")
        assert len(found) == 2, auth  # one row per subscription
        jit = auth.get("justInTime")
        if jit:
            for line in found:
                assert f"max `{jit['maximumActivationDuration']}`" in line and "MFA Azure" in line
                assert all(a["displayName"] in line for a in jit["approvers"])
                assert "eligible" in line
        else:
            assert all("| permanent |" in line for line in found)
    # The MSSP identity's own grants, labelled with the identity that holds them.
    for role in ("Monitoring Contributor", "Reader"):
        assert len(lines_with(md, "MSSP Sentinel onboarding", "mssp-identity", f"**{role}**")) == 2
    # Issue 20: the Delete Role is the offboarding group's (people), never the CI deploy identity's.
    assert not lines_with(md, "MSSP Sentinel onboarding", "**Managed Services Registration assignment Delete Role**")
    assert len(lines_with(md, "MSSP Lighthouse offboarding", "**Managed Services Registration assignment Delete Role**")) == 2
    assert "MSSP Sentinel onboarding signs in from: `repo:acme-mssp/mssp-sentinel:environment:production`" in md


@pytest.mark.parametrize("stack", ("contoso", "fabrikam"))
def test_every_setting_is_a_row_with_its_log_selection_and_metrics(stack):
    m = example_manifest(stack)
    md = render_plan(m)
    settings = facts.resources(m, facts.DIAGNOSTIC_SETTING, facts.SUBSCRIPTION_SETTING)
    assert settings
    for r in settings:
        inputs = r["inputs"]
        groups = [e["categoryGroup"] for e in inputs.get("logs") or [] if "categoryGroup" in e]
        cats = [e["category"] for e in inputs.get("logs") or [] if "category" in e]
        selection = f"group {', '.join(groups)}" if groups else f"categories {', '.join(cats)}" if cats else "none"
        metrics = "| off |" if not inputs.get("metrics") else "| on ("
        short = facts.resource_short(inputs["resourceUri"])[0] if "resourceUri" in inputs else "Activity log"
        assert lines_with(md, f"| `{short}` |", f"| {selection} |", metrics), r["name"]
    # The 150-character workspace id is written once, not once per row.
    workspace = settings[0]["inputs"]["workspaceId"]
    assert md.count(workspace) == 1


def test_fabrikam_template_delegation_and_skipped_resources_are_shown(stack_doc, write_stack, tmp_path):
    md = render_plan(example_manifest("fabrikam"))
    assert lines_with(md, "SOC Analysts", "**Microsoft Sentinel Reader**", "Lighthouse template")
    assert "Pulumi creates none of them" in md
    doc = stack_doc("fabrikam")
    doc["config"]["mssp-sentinel:customer"]["forwarding"]["resourceTypes"].remove("Microsoft.KeyVault/vaults")
    md = render_plan(build_manifest("fabrikam", PROJECT_DIR, write_stack(doc, "fabrikam")))
    (row,) = lines_with(md, "| `kv-fabrikam` |")
    assert "not in forwarding.resourceTypes" in row and "Fabrikam Production" in row


def test_workflows_show_callers_identity_and_what_they_call():
    md = render_plan(example_manifest("contoso"))
    assert "allowed caller ranges: `198.51.100.0/28`" in md
    assert "its identity holds: **Monitoring Metrics Publisher** on dataCollectionRules/dcr-mssp-splunk-alerts" in md
    md = render_plan(example_manifest("mssp"))
    assert "### `itsm-redirect-poller`" in md and "SecurityIncident.Read.All" in md
    assert "acme-mssp.service-now.com" in md


def test_guardrail_results_sit_in_the_row_of_their_resource():
    m = example_manifest("contoso")
    setting = facts.resources(m, facts.DIAGNOSTIC_SETTING)[0]
    m["policies"] = [{"policy": "diagnostic-settings-to-mssp-workspace", "level": "mandatory", "urn": setting["urn"],
                      "message": "sends elsewhere"}]
    md = render_plan(m)
    short = facts.resource_short(setting["inputs"]["resourceUri"])[0]
    (row,) = lines_with(md, f"| `{short}` |", "group")
    assert "❌ `diagnostic-settings-to-mssp-workspace`: sends elsewhere" in row


def test_markdown_special_characters_cannot_break_tables():
    m = example_manifest("contoso")
    evil = "Evil | `Corp` <b>x</b>"
    m["review"]["displayName"] = evil
    m["review"]["tenantId"] = "t|e`n``ant"
    m["review"]["subscriptions"] = {k: "Prod | `x`" for k in m["review"]["subscriptions"]}
    for r in facts.resources(m, facts.REGISTRATION_DEFINITION):
        for a in r["inputs"]["properties"]["authorizations"]:
            a["principalIdDisplayName"] = "SOC | `Team`"
    md = render_plan(m)
    assert_tables_intact(md)
    assert "<b>" not in md and "Evil \\| \\`Corp\\` \\<b\\>x\\</b\\>" in md
    assert "``` t\\|e`n``ant ```" in md  # a fence longer than any run of backticks inside
    report = diff.diff_sides({}, {"contoso": m})
    assert_tables_intact(diff.render_markdown(report, "a|b", "c`d"))


def test_long_ids_are_shortened_in_tables():
    subs = {"3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f": "Contoso Production"}
    rid = ("/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg-mssp-sentinel/providers/"
           "Microsoft.OperationalInsights/workspaces/law-mssp-sentinel")
    assert short_id(rid, subs) == "workspaces/law-mssp-sentinel"
    assert short_id("/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", subs) == "subscription Contoso Production"
    assert short_id("/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg", {}) == "resource group rg (3c8d0e5f…)"
    assert short_id("5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091") == "5e0f2a7b…"
    assert facts.resource_short(rid + "/tables/T_CL") == ("law-mssp-sentinel/T_CL", "Microsoft.OperationalInsights/workspaces/tables")


# --------------------------------------------------------------------------------------------------
# Access changes (pure)
# --------------------------------------------------------------------------------------------------
SUB = "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"


def grant(**kw: Any) -> facts.AccessRow:
    base: dict[str, Any] = {"scope": SUB, "principal_id": "p1", "principal_name": "SOC", "principal_type": "Group",
                            "identity": "", "role_name": "Reader", "role_guid": roles.READER.guid, "via": "Lighthouse"}
    return facts.AccessRow(**(base | kw))


JIT = {"eligible": True, "max_duration": "PT2H", "mfa": "Azure", "approvers": ("SOC Leads",)}
CONTRIBUTOR = {"role_name": "Monitoring Contributor", "role_guid": roles.MONITORING_CONTRIBUTOR.guid}


@pytest.mark.parametrize(("old", "new", "reason"), [
    ({}, CONTRIBUTOR, "role Reader → Monitoring Contributor (broader)"),
    (JIT, {}, "permanent instead of eligible"),
    (JIT, JIT | {"max_duration": "PT8H"}, "maximum activation PT2H → PT8H (longer)"),
    (JIT, JIT | {"mfa": "None"}, "MFA no longer required"),
    (JIT, JIT | {"approvers": ()}, "approvers removed"),
    ({"scope": SUB + "/resourceGroups/rg"}, {}, "(broader)"),
])
def test_widened_grants(old, new, reason):
    (change,) = facts.access_changes([grant(**old)], [grant(**new)])
    assert change.kind == "widened"
    assert any(reason in r for r in change.reasons), change.reasons


@pytest.mark.parametrize(("old", "new"), [
    (CONTRIBUTOR, {}),                                   # narrower role
    ({}, JIT),                                           # eligible instead of permanent
    (JIT | {"max_duration": "PT8H"}, JIT),               # shorter activation
    (JIT, JIT | {"approvers": ("Other",)}),              # other approvers, approval still needed
    ({}, {"scope": SUB + "/resourceGroups/rg"}),         # narrower scope
])
def test_narrowed_or_equal_grants_are_changes_not_widenings(old, new):
    (change,) = facts.access_changes([grant(**old)], [grant(**new)])
    assert change.kind == "changed" and change.reasons


def test_added_removed_and_unchanged_grants():
    a, b = grant(), grant(principal_id="p2", principal_name="Other")
    assert facts.access_changes([a], [a]) == []
    kinds = sorted(c.kind for c in facts.access_changes([a], [b]))
    assert kinds == ["added", "removed"]


def test_outputs_that_stop_being_secret_are_flagged():
    rows = {o.name: o for o in facts.compare_outputs({"url": "[secret]", "n": 1, "gone": 2},
                                                     {"url": "https://x?sig=y", "n": 2, "new": "[secret]"})}
    assert rows["url"].stopped_being_secret and rows["url"].op == "changed"
    assert not rows["n"].stopped_being_secret and rows["n"].op == "changed"
    assert rows["gone"].op == "removed" and rows["new"].op == "added" and rows["new"].secret_after
    md = diff_markdown.outputs_section(list(rows.values()))
    (url,) = [line for line in md if "`url`" in line]
    assert "stopped being secret" in url and "sig=y" not in url


# --------------------------------------------------------------------------------------------------
# The diff of a pull request
# --------------------------------------------------------------------------------------------------
def edited_plans(tmp_path: Path) -> dict[str, dict[str, Any]]:
    docs = {s: read_stack(s) for s in ("contoso", "fabrikam")}
    fab = docs["fabrikam"]["config"]["mssp-sentinel:customer"]
    sentinel_reader = next(a for a in fab["lighthouse"]["authorizations"] if a["role"] == "Microsoft Sentinel Reader")
    sentinel_reader["role"] = "Microsoft Sentinel Contributor"  # widened
    fab["lighthouse"]["authorizations"].append({  # a new just-in-time authorization
        "principalId": "6f1a3b8c-9d0e-4f2a-b1c4-5d6e7f809102", "displayName": "SOC Tier 3", "role": "Monitoring Contributor",
        "justInTime": {"maximumActivationDuration": "PT2H",
                       "approvers": [{"principalId": "7a2b4c9d-0e1f-4a3b-82d5-6e7f80910213", "displayName": "SOC Leads"}]}})
    fab["forwarding"]["resourceTypes"].remove("Microsoft.KeyVault/vaults")  # a setting removed
    fab["forwarding"]["settingName"] = "mssp-sentinel-v2"  # every remaining setting replaced (name forces it)
    new = docs["contoso"]["config"]["mssp-sentinel:customer"]  # a new customer, shaped like contoso
    new.update(name="northwind", displayName="Northwind Traders", tenantId="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
    # Its own subscriptions and inventory: the plan refuses two customer stacks that manage the same
    # Azure objects (components/config/fleet.py).
    own = {"3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f": "5e1f3a7b-8c9d-4e0f-a1b2-c3d4e5f60718",
           "4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80": "6f2a4b8c-9d0e-4f1a-b2c3-d4e5f6071829"}
    for sub in new["subscriptions"]:
        sub["id"] = own[sub["id"]]
        sub["displayName"] = sub["displayName"].replace("Contoso", "Northwind")  # names of its own, too
    inventory = (PROJECT_DIR / new["forwarding"]["inventory"]).read_text(encoding="utf-8")
    for old, mine in own.items():
        inventory = inventory.replace(old, mine)
    (tmp_path / "northwind-inventory.yaml").write_text(inventory, encoding="utf-8")
    new["forwarding"]["inventory"] = str(tmp_path / "northwind-inventory.yaml")
    plans = {}
    for stack, doc in (("fabrikam", docs["fabrikam"]), ("northwind", docs["contoso"])):
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        plans[stack] = build_manifest(stack, PROJECT_DIR, path)
    return plans


@pytest.fixture(scope="module")
def pr_report(tmp_path_factory) -> tuple[list[dict[str, Any]], str]:
    heads = edited_plans(tmp_path_factory.mktemp("pr"))
    base = {s: example_manifest(s) for s in STACKS}
    head = {"mssp": example_manifest("mssp"), "contoso": example_manifest("contoso"), **heads}
    stacks = diff.diff_sides(base, head)
    return stacks, diff.render_markdown(stacks, "main", "pr", limit=diff.COMMENT_LIMIT)


def test_access_changes_come_first_and_show_the_widened_role_and_the_new_jit(pr_report):
    stacks, md = pr_report
    access = md.index("### Access changes")
    assert access < md.index("### `fabrikam`")
    (widened,) = lines_with(md, "⚠️ widened", "`fabrikam`")
    assert "**Microsoft Sentinel Reader**" in widened and "**Microsoft Sentinel Contributor**" in widened
    assert "SOC Analysts" in widened and "(broader)" in widened
    (jit,) = lines_with(md, "➕ added", "`fabrikam`", "SOC Tier 3")
    assert "max `PT2H`" in jit and "MFA Azure" in jit and "SOC Leads" in jit
    fab = next(s for s in stacks if s["stack"] == "fabrikam")
    assert sorted(c["change"] for c in fab["accessChanges"]) == ["added", "widened"]


def test_a_new_customer_shows_its_roles_principals_and_log_selections(pr_report):
    _, md = pr_report
    for role in ("Monitoring Contributor", "Reader"):
        assert len(lines_with(md, "➕ added", "`northwind`", "MSSP Sentinel onboarding", f"**{role}**")) == 2
    assert len(lines_with(md, "➕ added", "`northwind`", "MSSP Lighthouse offboarding",
                          "**Managed Services Registration assignment Delete Role**")) == 2
    assert len(lines_with(md, "➕ added", "`northwind`", "SOC Tier 3", "max `PT4H`", "SOC Leads")) == 2
    assert "Northwind Traders" in md
    # The created settings carry their log selection, by row and by type.
    assert lines_with(md, "🟢 create", "`kv-contoso-prod`: logs group audit; metrics on (AllMetrics)")
    # SQL audit comes through the server's master database; the user database sends the other categories.
    assert lines_with(md, "🟢 create", "`sql-contoso-prod/master`: logs categories SQLSecurityAuditEvents, DevOpsOperationsAudit")
    assert lines_with(md, "🟢 create", "`sql-contoso-prod/sqldb-orders`: logs categories SQLInsights, Errors, Timeouts")
    assert lines_with(md, "| 🟢 create | Microsoft.KeyVault/vaults | group audit | on (AllMetrics) | 2 |")
    # A new delegation lists who gets what.
    assert lines_with(md, "🟢 create", "RegistrationDefinition", "**Reader** to SOC Analysts (Group), permanent")


def test_removed_settings_replaces_and_outputs(pr_report):
    _, md = pr_report
    (deleted,) = lines_with(md, "🔴 delete", "kv-fabrikam")
    assert "`kv-fabrikam`: logs group allLogs" in deleted
    replaced = lines_with(md, "🟠 replace (forced by `name`)")
    assert replaced and all("`name`: `\"mssp-sentinel\"` → `\"mssp-sentinel-v2\"` **(forces replacement)**" in r
                            for r in replaced)
    assert lines_with(md, "`diagnosticSettings`", "changed", "`2` → `1`")
    assert lines_with(md, "`splunkWebhookUrl`", "added", "| - | yes |")  # the new customer's secret output


def test_no_secret_reaches_the_diff(pr_report):
    stacks, md = pr_report
    text = md + diff.report_json(stacks, "main", "pr") + diff.render_markdown(stacks, "main", "pr")
    assert not any(s in text for s in SECRET_TEXTS)
    assert_tables_intact(md)


# --------------------------------------------------------------------------------------------------
# Size: a 10,000-resource customer
# --------------------------------------------------------------------------------------------------
def _benchmark():
    spec = importlib.util.spec_from_file_location("mssp_benchmark_gen", PROJECT_DIR / "scripts" / "benchmark.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def large_manifest(tmp_path: Path, size: int) -> dict[str, Any]:
    """The benchmark's synthetic customer at `size` resources.

    Planning 10,000 resources takes a minute and 1.3 GiB (docs/benchmarks.md "Scale benchmark"), so the synthetic
    customer is planned for real with one resource per type, and each type's planned setting is then
    repeated for the rest of the benchmark's inventory (`synthetic_inventory`): same inputs, the
    generator's resource id, URN and name.
    """
    bench = _benchmark()
    small = bench.write_project(tmp_path, len(bench.BENCH_TYPES))
    m = build_manifest(bench.STACK, small)
    by_type: dict[str, dict[str, Any]] = {}
    for r in facts.resources(m, facts.DIAGNOSTIC_SETTING):
        by_type.setdefault(facts.resource_short(r["inputs"]["resourceUri"])[1], r)
    kept = [r for r in m["resources"] if r["type"] != facts.DIAGNOSTIC_SETTING]
    for i, item in enumerate(bench.synthetic_inventory(size)):
        clone = json.loads(json.dumps(by_type[item.type]))
        clone["inputs"]["resourceUri"] = item.id
        clone["name"] = f"diag-{i}"
        clone["urn"] = clone["urn"].rsplit("::", 1)[0] + f"::diag-{i}"
        clone["provider"] = f"forward-{item.id.split('/')[2]}"
        kept.append(clone)
    m["resources"] = sorted(kept, key=lambda r: r["urn"])
    return m


def test_a_10000_resource_customer_fits_in_one_comment(tmp_path):
    m = large_manifest(tmp_path, 10_000)
    assert len(facts.resources(m, facts.DIAGNOSTIC_SETTING)) == 10_000
    hint = "in the plan-diff artifact of this workflow run (out/diff-full.md)"
    for base, head in (({}, {"bench": m}), ({"bench": m}, {})):  # onboarded, then offboarded
        stacks = diff.diff_sides(base, head)
        comment = diff.render_markdown(stacks, "main", "pr", limit=diff.COMMENT_LIMIT, hint=hint)
        assert diff_markdown.comment_length(comment) < diff.COMMENT_LIMIT
        assert comment.startswith(diff.MARKER) and hint in comment
        assert "### Access changes" in comment and "<details>" in comment
        # The gist survives the cut: counts per type and selection, and every grant.
        assert lines_with(comment, "Microsoft.KeyVault/vaults", "group audit", "on (AllMetrics)")
        for r in facts.access_rows(m):
            assert lines_with(comment, f"**{r.role_name}**", r.principal_name), r
        full = diff.render_markdown(stacks, "main", "pr")
        assert len(full) > diff.COMMENT_LIMIT and "diag-9999" in full


def test_many_large_stacks_still_fit_and_say_where_the_full_report_is(tmp_path):
    m = large_manifest(tmp_path, 2_000)
    heads = {}
    for i in range(40):  # forty customers onboarded in one pull request
        copy = json.loads(json.dumps(m))
        copy["stack"] = f"bench{i}"
        heads[copy["stack"]] = copy
    stacks = diff.diff_sides({}, heads)
    comment = diff.render_markdown(stacks, "main", "pr", limit=diff.COMMENT_LIMIT, hint="HINT-X")
    assert diff_markdown.comment_length(comment) < diff.COMMENT_LIMIT and "HINT-X" in comment
    assert "### Access changes" in comment


def test_the_pr_workflow_uploads_the_full_report():
    wf = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "pr.yml").read_text(encoding="utf-8"))
    steps = wf["jobs"]["plan-diff"]["steps"]
    run = next(s["run"] for s in steps if "./dev diff" in str(s.get("run")))
    assert "--markdown \"$RUNNER_TEMP/out/diff.md\"" in run
    assert "--full-markdown \"$RUNNER_TEMP/out/diff-full.md\"" in run
    assert "plan-diff artifact" in run
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "plan-diff" and upload["with"]["path"].rstrip("/") == "${{ runner.temp }}/out"


def test_deploy_mode_role_widening_and_role_assignment_scope_broadening_are_access_changes():
    base, head = example_manifest("contoso"), example_manifest("contoso")
    for r in facts.resources(head, facts.REGISTRATION_DEFINITION):
        if "/resourceGroups/" in r["inputs"]["scope"]:  # the SQL-auditing delegation holds no SOC authorization
            continue
        props = r["inputs"]["properties"]
        soc = next(a for a in props["authorizations"] if a["principalIdDisplayName"] == "SOC Analysts")
        soc["roleDefinitionId"] = roles.BY_NAME["contributor"].guid
        props["eligibleAuthorizations"][0]["justInTimeAccessPolicy"]["maximumActivationDuration"] = "PT8H"
    (stack,) = diff.diff_sides({"contoso": base}, {"contoso": head})
    md = diff.render_markdown([stack], "a", "b")
    widened = lines_with(md, "⚠️ widened", "SOC Analysts", "**Reader**", "**Contributor**", "(broader)")
    assert len(widened) == 2  # both subscriptions
    assert len(lines_with(md, "⚠️ widened", "SOC Tier 3", "maximum activation PT4H → PT8H (longer)")) == 2
    assert md.index("### Access changes") < md.index("🟡 update")

    base, head = example_manifest("mssp"), example_manifest("mssp")
    (la,) = [r for r in facts.resources(head, facts.ROLE_ASSIGNMENT) if r["name"].endswith("workspace-diagnostic-destination")]
    la["inputs"]["scope"] = la["inputs"]["scope"].split("/providers/")[0]  # the workspace's resource group
    (stack,) = diff.diff_sides({"mssp": base}, {"mssp": head})
    (change,) = stack["accessChanges"]
    assert change["change"] == "widened" and "(broader)" in change["reasons"][0]
    md = diff.render_markdown([stack], "a", "b")
    assert lines_with(md, "⚠️ widened", "MSSP Sentinel onboarding", "deploy identity (mssp-identity)",
                      "**MSSP Sentinel diagnostic destination (law-mssp-sentinel) (custom role:")
    assert lines_with(md, "🟠 replace (forced by `scope`)")  # a role assignment's scope forces a replace


def test_direct_model_grants_name_the_msp_application_in_the_customer_tenant(stack_doc, write_stack):
    doc = stack_doc("contoso")
    cust = doc["config"]["mssp-sentinel:customer"]
    cust["accessModel"] = "direct"
    cust["lighthouse"] = {}
    md = render_plan(build_manifest("contoso", PROJECT_DIR, write_stack(doc, "contoso")))
    rows = lines_with(md, "MSSP Sentinel onboarding (its service principal in this tenant)", "contoso-identity",
                      "**Monitoring Contributor**", "role assignment")
    assert len(rows) == 2 and all("subscription Contoso" in r for r in rows)
