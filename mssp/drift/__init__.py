"""The `drift` command: parsing `pulumi preview --json` and the drift report."""
