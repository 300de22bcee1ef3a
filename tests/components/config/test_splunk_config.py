"""Splunk configuration: each bad input of issue 3 through `python -m mssp plan --config` (exit 2, the key
path on stderr, no traceback), plus the duration and CIDR rules."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import mssp.plan.command
from components.config.splunk import AnalyticsRuleConfig, CustomerSplunkConfig, duration_minutes, kql_timespan
from mssp.cli import main

REPO = Path(__file__).resolve().parents[3]


def stack_doc(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text(encoding="utf-8"))


def plan_with(tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str, doc: dict[str, Any]) -> tuple[int, str]:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    rc = main(["plan", stack, "--config", str(path), "--quiet"])
    err = capsys.readouterr().err
    return rc, err


def platform_with_splunk(**splunk: Any) -> dict[str, Any]:
    doc = stack_doc("mssp")
    doc["config"]["mssp-sentinel:platform"]["splunk"].update(splunk)
    return doc


@pytest.mark.parametrize(
    ("splunk", "path", "needle"),
    [
        ({"tableName": "SplunkAlerts"}, "platform.splunk.tableName", "must end in _CL"),
        ({"tableName": "9Splunk_CL"}, "platform.splunk.tableName", "start with a letter"),
        ({"extraColumns": [{"name": "TenantId", "sourceField": "tenant"}]},
         "platform.splunk.extraColumns[0].name", "reserved column name"),
        ({"extraColumns": [{"name": "_ResourceId", "sourceField": "x"}]},
         "platform.splunk.extraColumns[0].name", "not a valid column name"),
        ({"extraColumns": [{"name": "id", "sourceField": "x"}]}, "platform.splunk.extraColumns[0].name", "reserved"),
        ({"extraColumns": [{"name": "host-name", "sourceField": "x"}]},
         "platform.splunk.extraColumns[0].name", "not a valid column name"),
        ({"extraColumns": [{"name": "A" * 46, "sourceField": "x"}]},
         "platform.splunk.extraColumns[0].name", "at most 45"),
        ({"extraColumns": [{"name": "Sid", "sourceField": "x"}]}, "platform.splunk.extraColumns", "already a column"),
        ({"location": "northeurope"}, "platform.splunk.location", "differs from the workspace's region"),
        ({"retentionInDays": 1000}, "platform.splunk.retentionInDays", "from 4 to 730"),
        ({"analyticsRule": {"queryFrequency": "PT1H", "queryPeriod": "PT30M"}},
         "platform.splunk.analyticsRule", "must be at least queryFrequency"),
        ({"analyticsRule": {"queryFrequency": "PT1M"}}, "platform.splunk.analyticsRule.queryFrequency", "PT5M to P14D"),
        ({"analyticsRule": {"queryPeriod": "1 day"}}, "platform.splunk.analyticsRule.queryPeriod", "ISO 8601"),
        ({"analyticsRule": {"severity": "Critical"}}, "platform.splunk.analyticsRule.severity", "High"),
        ({"analyticsRule": {"severityMap": {"high": "High"}}}, "platform.splunk.analyticsRule", "needs severityField"),
        ({"tabelName": "X_CL"}, "platform.splunk.tabelName", "unknown key"),
    ],
)
def test_bad_platform_splunk(tmp_path: Path, capsys: pytest.CaptureFixture[str], splunk: dict[str, Any],
                             path: str, needle: str) -> None:
    rc, err = plan_with(tmp_path, capsys, "mssp", platform_with_splunk(**splunk))
    assert rc == 2
    assert "Traceback" not in err
    line = next((ln for ln in err.splitlines() if ln.strip().startswith(path + ":")), None)
    assert line is not None, err
    assert needle in line, err


@pytest.mark.parametrize(
    ("splunk", "path", "needle"),
    [
        ({"enabled": True, "allowedCallerIpRanges": ["198.51.100.0/33"]}, "customer.splunk.allowedCallerIpRanges",
         "CIDR"),
        ({"enabled": True, "allowedCallerIpRanges": ["198.51.100.1/24"]}, "customer.splunk.allowedCallerIpRanges",
         "host bits"),
        ({"enabled": "maybe"}, "customer.splunk.enabled", "bool"),
    ],
)
def test_bad_customer_splunk(tmp_path: Path, capsys: pytest.CaptureFixture[str], splunk: dict[str, Any],
                             path: str, needle: str) -> None:
    doc = stack_doc("contoso")
    doc["config"]["mssp-sentinel:customer"]["splunk"] = splunk
    rc, err = plan_with(tmp_path, capsys, "contoso", doc)
    assert rc == 2 and "Traceback" not in err
    assert any(ln.strip().startswith(path + ":") and needle in ln for ln in err.splitlines()), err


def isolated_project(tmp_path: Path, platform_splunk: bool) -> Path:
    """A project dir with the example platform stack (with or without splunk) and contoso's inventory."""
    project = tmp_path / "project"
    (project / "stacks" / "inventories").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    doc = stack_doc("mssp")
    if not platform_splunk:
        doc["config"]["mssp-sentinel:platform"].pop("splunk")
    (project / "stacks" / "Pulumi.mssp.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    shutil.copy(REPO / "stacks" / "inventories" / "contoso.yaml", project / "stacks" / "inventories" / "contoso.yaml")
    return project


def test_customer_splunk_without_platform_ingestion(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mssp.plan.command, "PROJECT_DIR", isolated_project(tmp_path, platform_splunk=False))
    rc, err = plan_with(tmp_path, capsys, "contoso", stack_doc("contoso"))
    assert rc == 2 and "Traceback" not in err
    assert any(ln.strip().startswith("customer.splunk:") and "no platform.splunk" in ln for ln in err.splitlines()), err


def test_customer_splunk_disabled_without_platform_ingestion_is_fine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mssp.plan.command, "PROJECT_DIR", isolated_project(tmp_path, platform_splunk=False))
    doc = stack_doc("contoso")
    doc["config"]["mssp-sentinel:customer"]["splunk"] = {"enabled": False}
    from components.config import load_stack_file

    path = tmp_path / "Pulumi.contoso.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    loaded = load_stack_file(path, mssp.plan.command.PROJECT_DIR, "contoso")
    assert loaded.customer is not None and loaded.customer.splunk is not None
    assert loaded.customer.splunk.enabled is False and loaded.platform.splunk is None


def test_examples_parse() -> None:
    from components.config import load_stack

    platform = load_stack("mssp", REPO).platform
    assert platform.splunk is not None and platform.splunk.table_name.endswith("_CL")
    contoso = load_stack("contoso", REPO).customer
    assert contoso is not None and contoso.splunk is not None and contoso.splunk.enabled


def test_durations() -> None:
    assert duration_minutes("PT5M") == 5
    assert duration_minutes("P1DT2H30M") == 1590
    assert duration_minutes("P14D") == 20160
    for bad in ("P", "PT", "5M", "P1W", "PT1.5H", "P1DT"):
        assert duration_minutes(bad) is None, bad
    assert kql_timespan("PT1H") == "60m"
    assert AnalyticsRuleConfig(query_frequency="PT1H", query_period="PT1H").query_period == "PT1H"


def test_cidr_normalised() -> None:
    assert CustomerSplunkConfig(allowed_caller_ip_ranges=["2001:DB8::/32"]).allowed_caller_ip_ranges == ["2001:db8::/32"]
