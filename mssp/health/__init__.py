"""`python -m mssp health`: proof that each configured resource, subscription and Splunk feed sends data."""

from mssp.health.command import register

__all__ = ["register"]
