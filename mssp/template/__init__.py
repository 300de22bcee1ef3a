"""The `template` command: the Lighthouse ARM template (and parameters, UI definition, instructions) a customer deploys themselves."""
