"""Azure facts as data, with sources: the diagnostic catalog, built-in roles, deterministic names."""
