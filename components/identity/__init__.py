"""Identities: the MSSP's multitenant application (platform stack) and its service principal in each customer tenant."""
