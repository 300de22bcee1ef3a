"""`mssp usage`: billable ingestion per customer (chargeback)."""
