"""CrossGuard policy pack of mssp-sentinel; the rules live in policies/rules.py."""
