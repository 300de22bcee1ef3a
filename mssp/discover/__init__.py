"""The `discover` command: inventory discovery from Resource Graph and adoption of existing diagnostic settings."""
