"""Azure clients of the operator CLI built on the Azure SDK (Log Analytics queries; later ARM batch)."""
