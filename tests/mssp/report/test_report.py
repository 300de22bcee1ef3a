"""`mssp report` without a browser: the data behind the page, the Markdown, bad input and the workflow step."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mssp.report import fleet

PROJECT_DIR = Path(__file__).resolve().parents[3]
WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "drift.yml"


def test_counts_and_details_from_the_plans(run_cli, tmp_path):
    code, out, err = run_cli(["report", "--out", str(tmp_path)])
    assert code == 0, err
    assert "(3 customers)" in out
    data = json.loads((tmp_path / "coverage.json").read_text())
    assert [c["customer"] for c in data["customers"]] == ["contoso", "fabrikam", "northwind"]
    contoso, fabrikam, northwind = data["customers"]
    # A mixed fleet: each customer's topology, where its logs are stored and the SOC's workspace roles.
    assert contoso["topology"]["mode"] == fabrikam["topology"]["mode"] == "central"
    assert contoso["topology"]["region"] == "westeurope" and contoso["topology"]["workspaceAuthorizations"] == []
    assert northwind["topology"]["mode"] == "customer" and northwind["topology"]["region"] == "northeurope"
    assert northwind["topology"]["workspaceResourceId"].endswith("/workspaces/law-northwind-sentinel")
    assert northwind["topology"]["allowedRegions"] == ["northeurope", "westeurope"]
    assert ("SOC Tier 3", "Microsoft Sentinel Contributor") in {
        (a["principal"], a["role"]) for a in northwind["topology"]["workspaceAuthorizations"]}
    assert contoso["cells"]["Microsoft.Storage/storageAccounts"]["forwarding"] == 1  # 5 settings, one account
    assert contoso["settings"]["Microsoft.Storage/storageAccounts"] == 5
    assert contoso["cells"]["Microsoft.KeyVault/vaults"]["forwarding"] == 2
    # The SQL server forwards through its master database's setting, counted for the server, not as a database.
    assert contoso["cells"]["Microsoft.Sql/servers"]["forwarding"] == 1
    assert contoso["cells"]["Microsoft.Sql/servers/databases"]["forwarding"] == 1
    assert contoso["cells"][fleet.ACTIVITY]["forwarding"] == 2 and fabrikam["cells"][fleet.ACTIVITY]["forwarding"] == 1
    assert contoso["totals"]["forwarding"] == 13 and fabrikam["totals"]["forwarding"] == 2
    roles = {(a["principal"], a["role"], a["kind"]) for a in contoso["authorizations"]}
    assert ("SOC Tier 3", "Monitoring Contributor", "eligible (just in time)") in roles
    assert ("SOC Analysts", "Reader", "permanent") in roles
    assert all(not a["role"].count("-") == 4 for a in contoso["authorizations"])  # names, never bare GUIDs
    assert fabrikam["lighthouseMode"] == "template"
    md = (tmp_path / "coverage.md").read_text()
    assert "| [Contoso Ltd](#customer-contoso) | 13 | 0 | central (westeurope) |" in md
    assert "| [Northwind Traders](#customer-northwind) | 3 | 0 | customer workspace (northeurope; allowed: northeurope, westeurope) |" in md
    assert 'data-topology="customer"' in (tmp_path / "index.html").read_text()
    assert "**Microsoft Sentinel Reader**" in md
    assert (tmp_path / "index.html").read_text().startswith("<!DOCTYPE html>")


def test_excluded_and_skipped_are_counted(tmp_path, stack_doc, project_dir):
    # A copy of the project's stacks with contoso excluding one vault and scoping out NSGs.
    import shutil

    proj = tmp_path / "proj"
    shutil.copytree(project_dir / "stacks", proj / "stacks")
    doc = stack_doc("contoso")
    fwd = doc["config"]["mssp-sentinel:customer"]["forwarding"]
    fwd["inventory"] = "stacks/inventories/contoso.yaml"  # inside the copy (paths may not leave a project)
    kv = ("/subscriptions/4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80/resourceGroups/rg-shared/providers/"
          "Microsoft.KeyVault/vaults/kv-contoso-shared")
    fwd["exclude"] = [kv]
    fwd["resourceTypes"] = [t for t in fleet.columns()[:-1] if t != "Microsoft.Network/networkSecurityGroups"]
    (proj / "stacks" / "Pulumi.contoso.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(project_dir / name, proj / name)
    shutil.copytree(project_dir / "components", proj / "components")
    row = fleet.customer_row("contoso", proj, None, None)
    assert row["cells"]["Microsoft.KeyVault/vaults"] == {"forwarding": 1, "silent": 0, "notInInventory": 0,
                                                         "excluded": 1, "skipped": 0}
    assert row["cells"]["Microsoft.Network/networkSecurityGroups"]["skipped"] == 2


def test_bad_input_is_exit_2(run_cli, tmp_path):
    bad = tmp_path / "h.json"
    bad.write_text("{not json")
    code, _, err = run_cli(["report", "--out", str(tmp_path / "o"), "--health", str(bad)])
    assert code == 2 and str(bad) in err and "Traceback" not in err
    bad.write_text("[]")
    assert run_cli(["report", "--out", str(tmp_path / "o"), "--drift", str(bad)])[0] == 2
    code, _, err = run_cli(["report", "--out", str(tmp_path / "o"), "--stack", "mssp"])
    assert code == 2 and "platform" in err


def test_the_drift_workflow_publishes_the_page():
    wf = yaml.safe_load(WORKFLOW.read_text())
    job = wf["jobs"]["coverage-report"]
    assert job["needs"] == "drift" and job["permissions"] == {"contents": "read"}  # no OIDC, no secrets
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "python -m mssp report --out coverage-report" in runs and "--drift" in runs
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "coverage-report/"
    downloads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact")]
    assert downloads and downloads[0]["with"]["pattern"] == "drift-*"
    assert "secrets." not in json.dumps(job)
