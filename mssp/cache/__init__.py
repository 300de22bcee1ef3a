"""`python -m mssp cache-prune`: keep the plan cache (mssp.diff.cache) from growing forever."""
