"""Splunk commands of the operator CLI (`splunk-ping`: a test alert to a customer's webhook)."""
