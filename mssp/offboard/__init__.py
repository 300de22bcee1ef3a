"""`python -m mssp offboard`: removing a customer as one reviewed flow (plan, runbook, destroy, verify)."""

from mssp.offboard.command import register

__all__ = ["register"]
