"""Azure REST clients of the operator CLI beyond the shared ARM client (mssp.azure_rest)."""
