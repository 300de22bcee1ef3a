"""`mssp report` in a real headless browser: Debian's chromium driven by Playwright (system browser, nothing
downloaded). The page's counts, as the browser renders them, must equal the example stacks' plans."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.forwarding.inventory import parse_resource_id

PROJECT_DIR = Path(__file__).resolve().parents[3]
ARTIFACTS = PROJECT_DIR / "out" / "test-artifacts"  # git-ignored (/out/)


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run installs Debian's chromium (apt-get install chromium)")
        pytest.skip("no chromium on this machine: install Debian's package (apt-get install chromium) to run the "
                    "browser test; .ci/run does")
    return found


def plan_counts(manifest: dict) -> dict[str, Counter]:
    """Independent of mssp.report: resources with a setting, and skipped/excluded ones, per type."""
    forwarding: dict[str, set[str]] = {}
    for r in manifest["resources"]:
        if r["type"] == "azure-native:monitor:DiagnosticSetting":
            uri = r["inputs"]["resourceUri"]
            # A storage service's setting, or a SQL server's audit setting on its master database: the parent's.
            if uri.endswith("Services/default") or uri.lower().endswith("/databases/master"):
                uri = uri.rsplit("/", 2)[0]
            rid = parse_resource_id(uri)
            forwarding.setdefault(rid.type, set()).add(uri.lower())
    out = {t: Counter(forwarding=len(ids)) for t, ids in forwarding.items()}
    for s in manifest["outputs"]["skippedResources"]:
        kind = "excluded" if s["reason"].startswith("excluded") else "skipped"
        out.setdefault(parse_resource_id(s["id"]).type, Counter())[kind] += 1
    subs = sum(1 for r in manifest["resources"] if r["type"] == "azure-native:monitor:SubscriptionDiagnosticSetting")
    out["Activity log"] = Counter(forwarding=subs)
    return out


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _health_report(silent_fragment: str) -> tuple[dict, str]:
    """A real `mssp health` report for contoso in which one resource is silent (built by its own assess)."""
    from mssp.health import query as hq

    exp = hq.expectations("contoso", PROJECT_DIR)
    silent = next(r.id for r in exp.resources if silent_fragment in r.id)
    now = datetime.now(UTC)
    rows = [{"Kind": "resource", "Key": r.id.lower(), "LastSeen": now, "Rows": 5} for r in exp.resources
            if r.id != silent]
    rows += [{"Kind": "subscription", "Key": s.lower(), "LastSeen": now, "Rows": 9} for s in exp.all_subscriptions]
    report = hq.assess(exp, rows, failed=False, partial=False, errors=[], start=now, end=now, hours=24, query="")
    return report, silent


def test_page_counts_equal_the_plans_and_sorting_works(browser, manifest, run_cli, tmp_path):
    import json

    from mssp.drift.command import Assessment, build_report

    health, silent_id = _health_report("kv-contoso-shared")
    assert health["silentResources"] == [silent_id]
    (tmp_path / "health-contoso.json").write_text(json.dumps(health))
    # Coverage drift for fabrikam: one NSG in Azure that the inventory lacks (the drift command's own report).
    nsg = "/subscriptions/9c4d6e1f-2a3b-4c5d-a4f7-809102132435/resourceGroups/rg-fab/providers/Microsoft.Network/networkSecurityGroups/nsg-new"
    drift = build_report("fabrikam", {"kind": "file"}, None, Assessment(),
                         [{"id": nsg, "type": "microsoft.network/networksecuritygroups", "reason": "not in inventory"}])
    (tmp_path / "drift-fabrikam.json").write_text(json.dumps(drift))
    out = tmp_path / "site"
    # The two central customers (the mixed fleet's customer-mode one is in tests/mssp/report/test_report.py).
    code, _, err = run_cli(["report", "--out", str(out), "--stack", "contoso", "--stack", "fabrikam",
                            "--health", str(tmp_path / "health-contoso.json"),
                            "--drift", str(tmp_path / "drift-fabrikam.json")])
    assert code == 0, err
    html = (out / "index.html").read_text()
    assert "<link" not in html and " src=" not in html and "http://" not in html and "https://" not in html

    page = browser.new_page(viewport={"width": 1800, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((out / "index.html").as_uri())
    assert [u for u in requests if not u.startswith("file://")] == []  # self-contained: nothing fetched

    expected = {s: plan_counts(manifest(s)) for s in ("contoso", "fabrikam")}
    expected["contoso"]["Microsoft.KeyVault/vaults"]["forwarding"] -= 1  # the silent one
    expected["contoso"]["Microsoft.KeyVault/vaults"]["silent"] += 1
    expected["fabrikam"].setdefault("Microsoft.Network/networkSecurityGroups", Counter())["notInInventory"] += 1
    cells = page.locator("td[data-customer][data-type]")
    seen = 0
    for i in range(cells.count()):
        cell = cells.nth(i)
        customer, rtype = cell.get_attribute("data-customer"), cell.get_attribute("data-type")
        want = expected[customer].get(rtype, Counter())
        text = cell.inner_text()
        for kind, label in (("forwarding", "forwarding"), ("silent", "silent"), ("notInInventory", "not in inventory"),
                            ("excluded", "excluded"), ("skipped", "skipped")):
            n = want[kind]
            assert int(cell.get_attribute(f"data-{kind.lower()}")) == n, (customer, rtype, kind)
            if n:
                assert f"{n} {label}" in text, (customer, rtype, text)  # the word, not only the colour
                seen += 1
    assert seen >= 14
    assert "1 silent" in page.locator('td[data-customer="contoso"][data-type="Microsoft.KeyVault/vaults"]').inner_text()

    def order() -> list[str]:
        return page.locator("#coverage tbody tr").evaluate_all("rows => rows.map(r => r.dataset.customer)")

    assert order() == ["contoso", "fabrikam"]
    header = page.locator("#coverage thead th", has_text="Forwarding").first
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert order() == ["fabrikam", "contoso"]  # numeric: 2 < 11 (a text sort would say "11" < "2")
    header.locator("button").click()
    assert order() == ["contoso", "fabrikam"]
    page.locator("#coverage thead th", has_text="Customer").locator("button").click()
    page.locator("#coverage thead th", has_text="Customer").locator("button").click()
    assert order() == ["fabrikam", "contoso"]

    page.get_by_role("link", name="Contoso Ltd").click()
    assert page.url.endswith("#customer-contoso")
    details = page.locator("#customer-contoso").inner_text()
    assert "Monitoring Contributor" in details and "eligible (just in time)" in details
    assert "Contoso Shared Services" in details and "lighthouse (deploy mode)" in details
    assert "1 silent resources" in details
    assert "drift" in page.locator("#customer-fabrikam").inner_text()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for target in (tmp_path / "coverage.png", ARTIFACTS / "coverage.png"):
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
    page.close()
