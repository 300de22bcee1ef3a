"""`python -m mssp offboard`: removing a customer as one reviewed flow (plan, runbook, destroy, verify)."""
