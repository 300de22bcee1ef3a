"""The operator CLI of mssp-sentinel: `python -m mssp <command>` (plan, template, diff, discover, drift)."""
