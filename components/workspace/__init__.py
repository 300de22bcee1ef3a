"""A customer-mode customer's own Log Analytics workspace with Microsoft Sentinel (docs/topologies.md)."""
