"""Stand-in provider plugins (azure-native, azuread) for the real Pulumi engine: NOT the real providers (testing/README.md)."""
