"""Configuration of Splunk alert ingestion: the platform part (table, DCR, analytics rule) and the
per-customer part (the webhook Logic App). The column contract itself lives in components.splunk.schema.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from components.config.base import Model, Region
from components.splunk import schema

Severity = Literal["High", "Medium", "Low", "Informational"]

# Sentinel scheduled rules run every 5 minutes to 14 days and look back 5 minutes to 14 days.
# Source: Microsoft Sentinel docs, "Create a scheduled analytics rule from scratch" (Query scheduling).
_MIN_RULE_MINUTES, _MAX_RULE_MINUTES = 5, 14 * 24 * 60
_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")

# Custom table retention bounds: retentionInDays 4-730 or -1 (workspace default); totalRetentionInDays
# 4-4383 or -1. Source: Microsoft.OperationalInsights 2022-10-01 ARM schema (TableProperties).
_RETENTION = (4, 730)
_TOTAL_RETENTION = (4, 4383)


def duration_minutes(value: str) -> int | None:
    """Minutes of an ISO 8601 duration of days/hours/minutes (P1D, PT5M, P1DT2H), None if not one."""
    m = _ISO_DURATION.match(value)
    if not m or not any(m.groups()) or value.endswith("T"):
        return None
    days, hours, minutes = (int(g or 0) for g in m.groups())
    return days * 1440 + hours * 60 + minutes


def kql_timespan(value: str) -> str:
    """The KQL timespan literal of an ISO duration (P1DT2H -> 1560m)."""
    minutes = duration_minutes(value)
    assert minutes is not None
    return f"{minutes}m"


def _check_column_name(name: str) -> str:
    if not schema.COLUMN_NAME_RE.match(name):
        raise ValueError(f"'{name}' is not a valid column name: start with a letter, then letters, digits or "
                         "underscores, at most 45 characters (allowed: e.g. Host, Urgency)")
    reserved = {r.lower(): r for r in (*schema.RESERVED_COLUMN_NAMES, *schema.HELPER_COLUMN_NAMES)}
    if name.lower() in reserved:
        raise ValueError(f"'{name}' is a reserved column name ({', '.join(reserved.values())}); "
                         "allowed: any other column name")
    return name


class ExtraColumnConfig(Model):
    """A field of Splunk's result row promoted to a typed column of the table (e.g. host, urgency)."""

    name: str
    """Column name: a letter, then letters, digits or underscores (at most 45); not a reserved or existing column."""
    type: Literal["string", "int", "long", "real", "boolean", "dateTime", "dynamic"] = "string"
    """Column type: `string`, `int`, `long`, `real`, `boolean`, `dateTime` or `dynamic`."""
    source_field: Annotated[str, Field(min_length=1, max_length=200)]
    """Field of Splunk's result row whose value fills the column, e.g. `host`."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_column_name(value)


class AnalyticsRuleConfig(Model):
    """The Sentinel scheduled rule that turns each ingested Splunk alert into a Sentinel alert + incident."""

    enabled: bool = True
    """Create the scheduled rule that turns each Splunk alert into a Sentinel alert and incident."""
    display_name: Annotated[str, Field(min_length=1, max_length=256)] = "Splunk alert"
    """Display name of the analytics rule."""
    # Severity of alerts whose result row gives no (known) severity.
    severity: Severity = "Medium"
    """Severity of alerts whose result row gives no known severity: `High`, `Medium`, `Low` or `Informational`."""
    # Optional: the result-row field carrying Splunk's own severity (e.g. "urgency" in Splunk ES) and
    # how its values map to Sentinel severities (compared case-insensitively).
    severity_field: str | None = None
    """Result-row field carrying Splunk's own severity, e.g. `urgency` in Splunk ES."""
    severity_map: dict[str, Severity] = {}
    """Values of `severityField` (compared case-insensitively) mapped to Sentinel severities."""
    query_frequency: str = "PT5M"
    """How often the rule runs, an ISO 8601 duration from `PT5M` to `P14D`."""
    # Lookback: at least queryFrequency; the rule filters on ingestion time, so a longer lookback only
    # lets alerts whose Splunk _time is older still be picked up (see docs/operations/splunk.md).
    query_period: str = "P1D"
    """How far back each run looks, `PT5M` to `P14D` and at least `queryFrequency`."""
    # Incidents of the same customer + search name within this window are grouped into one incident.
    grouping_lookback: str = "PT5H"
    """Alerts of the same customer and search within this window are grouped into one incident."""

    @field_validator("query_frequency", "query_period", "grouping_lookback")
    @classmethod
    def _duration(cls, value: str) -> str:
        minutes = duration_minutes(value)
        if minutes is None:
            raise ValueError(f"'{value}' is not an ISO 8601 duration; allowed: e.g. PT5M, PT1H or P1D")
        if not (_MIN_RULE_MINUTES <= minutes <= _MAX_RULE_MINUTES):
            raise ValueError(f"'{value}' must be from PT5M to P14D (allowed: PT5M..P14D)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AnalyticsRuleConfig:
        freq, period = duration_minutes(self.query_frequency), duration_minutes(self.query_period)
        assert freq is not None and period is not None
        if period < freq:
            raise ValueError(f"queryPeriod ({self.query_period}) must be at least queryFrequency "
                             f"({self.query_frequency}), or alerts between runs are never seen (allowed: "
                             "queryPeriod >= queryFrequency)")
        if self.severity_map and not self.severity_field:
            raise ValueError("severityMap needs severityField (the result-row field holding Splunk's severity); "
                             "allowed: set severityField, or leave severityMap out")
        lowered = [k.lower() for k in self.severity_map]
        if len(set(lowered)) != len(lowered):
            raise ValueError("severityMap keys must differ case-insensitively; allowed: each key once")
        return self


class SplunkPlatformConfig(Model):
    """Splunk alert ingestion on the platform: custom table, Direct DCR, scheduled analytics rule."""

    table_name: str = "SplunkAlerts_CL"
    """Custom table the alerts land in; must end in `_CL`."""
    retention_in_days: int = 90
    """Interactive retention of the table: 4 to 730 days, or -1 for the workspace default."""
    total_retention_in_days: int | None = None
    """Total retention including archive: 4 to 4383 days, or -1; default: the workspace's."""
    dcr_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,62}[A-Za-z0-9_]$")] = "dcr-mssp-splunk-alerts"
    """Name of the data collection rule the webhooks send through."""
    # The DCR's region: must be the workspace's (the platform location); defaults to it.
    location: Region | None = None
    """Region of the data collection rule; must be the workspace's, which is the default."""
    extra_columns: list[ExtraColumnConfig] = []
    """Fields of Splunk's result row promoted to typed columns of the table."""
    analytics_rule: AnalyticsRuleConfig = AnalyticsRuleConfig()
    """The Sentinel scheduled rule over the table."""

    @field_validator("table_name")
    @classmethod
    def _table(cls, value: str) -> str:
        if not value.endswith("_CL"):
            raise ValueError(f"'{value}' must end in _CL (custom log tables are named <name>_CL); allowed: e.g. SplunkAlerts_CL")
        if not schema.TABLE_NAME_RE.match(value) or len(value) > schema.MAX_TABLE_NAME:
            raise ValueError(f"'{value}' must start with a letter and hold only letters, digits and underscores, "
                             f"at most {schema.MAX_TABLE_NAME} characters including _CL (allowed: e.g. SplunkAlerts_CL)")
        return value

    @field_validator("retention_in_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value != -1 and not (_RETENTION[0] <= value <= _RETENTION[1]):
            raise ValueError(f"must be from {_RETENTION[0]} to {_RETENTION[1]} days, or -1 for the workspace default "
                             f"(allowed: {_RETENTION[0]}..{_RETENTION[1]} or -1)")
        return value

    @field_validator("total_retention_in_days")
    @classmethod
    def _total_retention(cls, value: int | None) -> int | None:
        if value is not None and value != -1 and not (_TOTAL_RETENTION[0] <= value <= _TOTAL_RETENTION[1]):
            raise ValueError(f"must be from {_TOTAL_RETENTION[0]} to {_TOTAL_RETENTION[1]} days, or -1 "
                             f"(allowed: {_TOTAL_RETENTION[0]}..{_TOTAL_RETENTION[1]} or -1)")
        return value

    @model_validator(mode="after")
    def _total_covers_interactive(self) -> SplunkPlatformConfig:
        # Total retention includes the interactive period (long-term retention is total minus interactive):
        # a total below the interactive retention cannot be. Source: "Manage data retention in a Log Analytics
        # workspace", https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure.
        total, interactive = self.total_retention_in_days, self.retention_in_days
        if total is not None and total != -1 and interactive != -1 and total < interactive:
            raise ValueError(f"totalRetentionInDays {total} is below retentionInDays {interactive}: the total includes "
                             f"the interactive retention (https://learn.microsoft.com/azure/azure-monitor/logs/"
                             f"data-retention-configure); allowed: totalRetentionInDays of at least {interactive} (or "
                             "leave it out for the workspace default)")
        return self

    @field_validator("extra_columns")
    @classmethod
    def _unique_columns(cls, values: list[ExtraColumnConfig]) -> list[ExtraColumnConfig]:
        taken = {c["name"].lower() for c in schema.table_columns()}
        for i, col in enumerate(values):
            if col.name.lower() in taken:
                raise ValueError(f"[{i}].name: '{col.name}' is already a column of the table "
                                 f"({', '.join(c['name'] for c in schema.table_columns())}) or listed twice; allowed: "
                                 "a new name, each once")
            taken.add(col.name.lower())
        return values

    @property
    def extras(self) -> tuple[schema.ExtraColumn, ...]:
        return tuple(schema.ExtraColumn(c.name, c.type, c.source_field) for c in self.extra_columns)


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not an IP range in CIDR notation: {exc}; allowed: e.g. 203.0.113.0/24") from None


class CustomerSplunkConfig(Model):
    """Per customer: a webhook Logic App that takes the customer's Splunk alerts into the MSSP table."""

    enabled: bool = True
    """Create the customer's webhook Logic App."""
    # Where the customer's Splunk search heads call from; empty: any address (the URL's SAS is the key).
    allowed_caller_ip_ranges: list[str] = []
    """CIDR ranges the customer's Splunk search heads call from; empty: any address (the URL's signature is then the
    only key).
    """
    workflow_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.()-]{0,78}[A-Za-z0-9_)]$")] | None = None
    """Name of the webhook Logic App in the MSSP resource group; default `la-splunk-<customer>`."""

    @field_validator("allowed_caller_ip_ranges")
    @classmethod
    def _ranges(cls, values: list[str]) -> list[str]:
        out = []
        for i, value in enumerate(values):
            try:
                out.append(_cidr(value))
            except ValueError as exc:
                raise ValueError(f"[{i}]: {exc}") from None
        return out
