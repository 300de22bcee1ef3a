"""The `diff` command: what a change does to each stack, from two plans (manifests or git refs), as Markdown."""
