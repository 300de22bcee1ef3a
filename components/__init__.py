"""mssp-sentinel's Pulumi components, configuration models and Azure facts (as data)."""
