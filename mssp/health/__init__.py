"""`python -m mssp health`: proof that each configured resource, subscription and Splunk feed sends data."""
