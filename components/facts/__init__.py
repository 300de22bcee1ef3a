"""Azure and Pulumi facts as data, with sources: the diagnostic catalog, built-in roles, names and naming rules, and how the Pulumi CLI reads YAML (strict_yaml)."""
