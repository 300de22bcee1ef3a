"""Splunk alert ingestion: the contract (schema), the platform-side table/DCR and the customer-side webhook Logic App."""
