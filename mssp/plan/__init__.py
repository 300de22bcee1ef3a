"""The `plan` command: the offline run of the real program under mocks, the manifest, its Markdown, and the offline stand-ins for Azure ids."""
